import { readFileSync } from "node:fs";
import type { Order } from "../../../src/domain/order.js";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../src/domain/order.js";

/** An order as the pipeline hands it to an adapter; override what a case needs. */
export function makeOrder(over: Partial<Order> = {}): Order {
  return {
    clientOrderId: "cli-1",
    account: "acc-1",
    venue: "v",
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "0.1",
    stopPrice: "",
    idempotencyKey: "k-1",
    orderId: "ord-1",
    venueClientOrderId: "cid-1",
    venueOrderId: "",
    status: OrderStatus.PENDING_NEW,
    filledQuantity: "0",
    averageFillPrice: "",
    rejectReason: "",
    createdAtMs: 0,
    updatedAtMs: 0,
    ...over,
  };
}

export function fixture<T = Record<string, unknown>>(venue: string, name: string): T {
  // Read synchronously: fixtures are tiny and tests want plain values.
  return JSON.parse(readFileSync(new URL(`../../fixtures/venues/${venue}/${name}`, import.meta.url), "utf8")) as T;
}
