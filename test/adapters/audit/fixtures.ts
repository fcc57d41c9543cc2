import pino, { type Logger } from "pino";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../../../src/domain/order.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";

/** A pino logger whose records land in `records` (pino's destination is any object with write()). */
export function captureLogger(): { logger: Logger; records: Array<{ level: number; msg: string; [k: string]: unknown }> } {
  const records: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void records.push(JSON.parse(s)) });
  return { logger, records };
}

export function sampleOrder(over: Partial<Order> = {}): Order {
  return {
    orderId: "o-1",
    clientOrderId: "c-1",
    account: "acct-1",
    venue: "paper",
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "0.10000000000000000001",
    price: "65000.5",
    stopPrice: "",
    idempotencyKey: "idem-1",
    venueClientOrderId: "gw-abc",
    venueOrderId: "v-9",
    status: OrderStatus.PARTIALLY_FILLED,
    filledQuantity: "0.05",
    averageFillPrice: "65000.25",
    rejectReason: "",
    createdAtMs: 1_767_000_000_123,
    updatedAtMs: 1_767_000_000_456,
    ...over,
  };
}

export function sampleFill(sequence: bigint, over: Partial<Fill> = {}): Fill {
  return {
    sequence,
    fillId: `f-${sequence}`,
    orderId: "o-1",
    clientOrderId: "c-1",
    account: "acct-1",
    venue: "paper",
    symbol: "BTC-USD",
    side: Side.BUY,
    quantity: "0.05",
    price: "65000.25",
    fee: "0.0001",
    feeCurrency: "USD",
    timeMs: 1_767_000_000_400,
    venueTradeId: `t-${sequence}`,
    ...over,
  };
}

export function sampleEvent(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    ts: 1_767_000_000_000 + i,
    type: "order_accepted",
    requestId: `req-${i}`,
    idempotency: { key: `acct-1\u0000c-${i}`, fingerprint: `fp-${i}` },
    order: sampleOrder({ orderId: `o-${i}`, clientOrderId: `c-${i}` }),
    ...over,
  };
}
