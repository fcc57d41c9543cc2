/**
 * The memory index keeps finished orders and fills as JSON in an arena of 1 MB Buffers: records
 * on both sides of a chunk boundary come back exactly. (Ordering and filters: the shared suite,
 * test/use-cases/list-orders.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryOrderHistory } from "../../../src/adapters/audit/memory-order-history.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../../../src/domain/order.js";

test("finished orders and fills over several arena chunks come back exactly, newest first", async () => {
  const h = createMemoryOrderHistory();
  const orders: Order[] = [];
  const fills: Fill[] = [];
  // About 300 bytes of JSON per order with its fill: 12,000 of them span several 1 MB chunks.
  for (let i = 0; i < 12_000; i++) {
    const o: Order = {
      clientOrderId: `client-order-${i}-${"x".repeat(i % 50)}`,
      account: "acct",
      venue: "paper",
      symbol: "BTC-USD",
      side: Side.SELL,
      type: OrderType.LIMIT,
      timeInForce: TimeInForce.GTC,
      quantity: "1.5",
      price: "50000.25",
      stopPrice: "",
      idempotencyKey: `k-${i}`,
      orderId: `o-${String(i).padStart(6, "0")}`,
      venueClientOrderId: `v-${i}`,
      venueOrderId: `pv-${i}`,
      status: OrderStatus.FILLED,
      filledQuantity: "1.5",
      averageFillPrice: "50000.25",
      rejectReason: "",
      // Non-ASCII: the arena counts bytes, not characters.
      ...(i % 7 === 0 ? { rejectReason: "prix modifié €" } : {}),
      createdAtMs: 1_000 + i,
      updatedAtMs: 2_000 + i,
    };
    const f: Fill = {
      sequence: BigInt(i + 1),
      fillId: `f-${i}`,
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      account: "acct",
      venue: "paper",
      symbol: "BTC-USD",
      side: Side.SELL,
      quantity: "1.5",
      price: "50000.25",
      fee: "0.01",
      feeCurrency: "USD",
      timeMs: 2_000 + i,
      venueTradeId: `t-${i}`,
    };
    h.record([
      { ts: o.updatedAtMs, type: "fill", requestId: "r", order: o, fill: f },
      { ts: o.updatedAtMs, type: "order_filled", requestId: "r", order: o },
    ]);
    orders.push(o);
    fills.push(f);
  }
  const got = await h.listOrders({ account: "acct", venue: "", symbol: "", statuses: [], openOnly: false, limit: 20_000 });
  assert.ok(got.ok);
  assert.deepEqual(got.value, [...orders].reverse());
  const gotFills = await h.listFills({ account: "acct", orderId: "", symbol: "", venue: "", limit: 20_000 });
  assert.ok(gotFills.ok);
  assert.deepEqual(gotFills.value, [...fills].reverse());
});
