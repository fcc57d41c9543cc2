/**
 * The memory index keeps finished orders and fills as JSON in an arena of 1 MB Buffers: records
 * on both sides of a chunk boundary come back exactly. (Ordering and filters: the shared suite,
 * test/use-cases/list-orders.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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

test("a finished order costs the heap nothing: 50,000 filled orders with their fills add under 40 bytes of heap each", async () => {
  // Why it matters: the index grows with every order ever placed; kept as objects it made every
  // scavenge and full GC slower as the count rose (docs/performance.md, issues 20 and 21).
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const h = createMemoryOrderHistory();
  const record = (i: number): void => {
    const o: Order = {
      clientOrderId: `c-${i}`, account: `acct-${i % 3}`, venue: "paper", symbol: i % 2 === 0 ? "BTC-USD" : "ETH-USD", side: Side.BUY,
      type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1", price: "", stopPrice: "", idempotencyKey: `k-${i}`,
      orderId: `o-${i}`, venueClientOrderId: `v-${i}`, venueOrderId: `pv-${i}`, status: OrderStatus.NEW, filledQuantity: "0",
      averageFillPrice: "", rejectReason: "", createdAtMs: 1_000 + i, updatedAtMs: 1_000 + i,
    };
    const done: Order = { ...o, status: OrderStatus.FILLED, filledQuantity: "1", averageFillPrice: "100" };
    const f: Fill = {
      sequence: BigInt(i + 1), fillId: `f-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: "paper",
      symbol: o.symbol, side: Side.BUY, quantity: "1", price: "100", fee: "0.1", feeCurrency: "USD", timeMs: 2_000 + i, venueTradeId: `t-${i}`,
    };
    h.record([{ ts: 1, type: "order_accepted", requestId: "r", order: o }]);
    h.record([{ ts: 2, type: "fill", requestId: "r", order: done, fill: f }, { ts: 2, type: "order_filled", requestId: "r", order: done }]);
  };
  for (let i = 0; i < 5_000; i++) record(i); // warm: columns and Maps at their working size
  gc();
  const before = process.memoryUsage().heapUsed;
  const n = 50_000;
  for (let i = 5_000; i < 5_000 + n; i++) record(i);
  gc();
  const perOrder = (process.memoryUsage().heapUsed - before) / n;
  assert.ok(perOrder < 40, `heap per finished order: ${perOrder.toFixed(1)} bytes`);
  // And they are all there.
  const got = await h.listOrders({ account: "acct-1", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1_000 });
  assert.ok(got.ok);
  assert.equal(got.value.length, 1_000);
  assert.equal(got.value[0]!.status, OrderStatus.FILLED);
});
