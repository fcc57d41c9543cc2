import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, type OrderSpec } from "../../src/domain/order.js";
import { rebaseTotalsFills } from "../../src/domain/apply-venue-update.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import type { VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";
import { synthesizeFill } from "../../src/adapters/venues/translator.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import { createManualClock, createMemoryAudit, limitOrder } from "./support.js";

// Venues whose answers and streams carry cumulative totals only (Coinbase, Alpaca, Kraken REST):
// a fill is synthesized from the growth of the totals against the order as the adapter saw it.
// A push stream and a REST answer in flight at the same time see the order at different moments;
// these cases check the order ends with exactly what the venue filled, once.

function setup() {
  const clock = createManualClock(1_000);
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit: createMemoryAudit("buffered", false), fills: createLocalFillSequence() });
  const o = orders.createPending(limitOrder({ quantity: "2", symbol: "BTC-USD" }) as OrderSpec, "vc", 1_000);
  const acked = orders.applyUpdate(o.orderId, { status: OrderStatus.NEW, venueOrderId: "V1", fills: [] }, "ack", 1_000);
  assert.ok(acked.ok);
  return { orders, view0: acked.value.order };
}
const totals = (filled: string, avg: string, fee: string): VenueOrderUpdate => ({
  status: filled === "2" ? OrderStatus.FILLED : OrderStatus.PARTIALLY_FILLED,
  venueOrderId: "V1",
  filledQuantity: filled,
  averageFillPrice: avg,
  cumulativeFee: fee,
  fills: [],
});

test("a stale REST answer (0 -> 0.5) after the stream applied 0 -> 1 adds nothing", () => {
  const { orders, view0 } = setup();
  const rest = synthesizeFill(view0, totals("0.5", "100", "0.3"), 5); // asked before the stream moved the order
  const s = orders.applyUpdate(view0.orderId, synthesizeFill(view0, totals("1", "101", "0.606"), 6), "stream", 2_000);
  assert.ok(s.ok);
  assert.equal(s.value.fills.length, 1);
  const r = orders.applyUpdate(view0.orderId, rest, "poll", 3_000);
  assert.ok(r.ok);
  assert.equal(r.value.fills.length, 0);
  const o = orders.get(view0.orderId)!;
  assert.equal(o.filledQuantity, "1");
  assert.equal(o.status, OrderStatus.PARTIALLY_FILLED);
  assert.equal(o.venueFeeTotal, "0.606");
});

test("a REST answer (0 -> 1) computed before the stream applied 0 -> 0.5 adds only the rest, priced from the averages", () => {
  const { orders, view0 } = setup();
  const rest = synthesizeFill(view0, totals("1", "101", "0.606"), 5);
  const s = orders.applyUpdate(view0.orderId, synthesizeFill(view0, totals("0.5", "100", "0.3"), 6), "stream", 2_000);
  assert.ok(s.ok);
  const r = orders.applyUpdate(view0.orderId, rest, "poll", 3_000);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.fills.map((f) => [f.venueTradeId, f.quantity, f.price, f.fee]),
    [["V1:1", "0.5", "102", "0.306"]],
  );
  const o = orders.get(view0.orderId)!;
  assert.equal(o.filledQuantity, "1");
  assert.equal(o.averageFillPrice, "101");
  assert.equal(o.venueFeeTotal, "0.606");
});

test("the same progress from both sources, either order, is one fill", () => {
  for (const first of ["stream", "poll"]) {
    const { orders, view0 } = setup();
    const a = synthesizeFill(view0, totals("0.5", "100", "0.3"), 5);
    const b = synthesizeFill(view0, totals("0.5", "100", "0.3"), 6);
    const r1 = orders.applyUpdate(view0.orderId, first === "stream" ? a : b, first, 2_000);
    const r2 = orders.applyUpdate(view0.orderId, first === "stream" ? b : a, "other", 3_000);
    assert.ok(r1.ok && r2.ok);
    assert.equal(r1.value.fills.length + r2.value.fills.length, 1, first);
    assert.equal(orders.get(view0.orderId)!.filledQuantity, "0.5");
  }
});

test("rebaseTotalsFills leaves real venue executions alone and passes unmoved synthesized fills through", () => {
  const { view0 } = setup();
  const real = { venueTradeId: "t1", quantity: "2", price: "1", fee: "0", feeCurrency: "", timeMs: 1 };
  assert.deepEqual(rebaseTotalsFills({ ...view0, filledQuantity: "5" }, totals("1", "1", "0"), [real]), [real]);
  const synth = synthesizeFill(view0, totals("0.5", "100", "0.3"), 5).fills;
  assert.deepEqual(rebaseTotalsFills(view0, totals("0.5", "100", "0.3"), synth), synth);
});
