import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, type OrderSpec } from "../../src/domain/order.js";
import { createOrderManager, type OrderManagerOptions } from "../../src/use-cases/order-manager.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import type { VenueFill, VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";
import { createManualClock, createMemoryAudit, limitOrder } from "./support.js";

function setup(over: Partial<OrderManagerOptions> = {}, auditMode: "buffered" | "fsync" = "buffered") {
  const clock = createManualClock(1_000);
  const audit = createMemoryAudit(auditMode, false);
  const fills = createLocalFillSequence();
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills, ...over });
  return { clock, audit, fills, orders };
}
const spec = (o: object = {}): OrderSpec => limitOrder(o) as OrderSpec;
const vf = (id: string, quantity: string, price: string): VenueFill => ({ venueTradeId: id, quantity, price, fee: "0", feeCurrency: "USD", timeMs: 5 });
const upd = (status: OrderStatus, fills: VenueFill[] = [], extra: Partial<VenueOrderUpdate> = {}): VenueOrderUpdate => ({ status, venueOrderId: "V1", fills, ...extra });

test("creates PENDING_NEW orders findable by id and by (account, client_order_id)", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ clientOrderId: "x" }), "vc-1", 1_000);
  assert.equal(o.status, OrderStatus.PENDING_NEW);
  assert.equal(o.orderId, "o1");
  assert.equal(o.filledQuantity, "0");
  assert.equal(orders.get("o1"), o);
  assert.equal(orders.getByClientOrderId("acct-1", "x"), o);
  assert.equal(orders.getByClientOrderId("acct-2", "x"), undefined);
});

test("fills: de-duplicated by venue trade id, exact decimal quantity and average price, increasing sequences", () => {
  const { orders, audit } = setup();
  const o = orders.createPending(spec({ quantity: "4" }), "vc", 1_000);
  const a1 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t1", "1", "100")]), "r1", 2_000);
  assert.ok(a1.ok);
  assert.equal(a1.value.order.status, OrderStatus.PARTIALLY_FILLED);
  assert.equal(a1.value.order.filledQuantity, "1");
  assert.equal(a1.value.order.averageFillPrice, "100");
  assert.equal(a1.value.order.venueOrderId, "V1");
  assert.deepEqual(a1.value.events.map((e) => e.type), ["fill", "order_partially_filled"]);
  // A poll repeats t1 and adds t2 and t3.
  const a2 = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t1", "1", "100"), vf("t2", "0.1", "104"), vf("t3", "2.9", "104")]), "r2", 3_000);
  assert.ok(a2.ok);
  assert.equal(a2.value.fills.length, 2);
  assert.equal(a2.value.order.status, OrderStatus.FILLED);
  assert.equal(a2.value.order.filledQuantity, "4");
  assert.equal(a2.value.order.averageFillPrice, "103"); // (100 + 0.1*104 + 2.9*104) / 4
  assert.deepEqual([...a1.value.fills, ...a2.value.fills].map((f) => f.sequence), [1n, 2n, 3n]);
  assert.deepEqual(a2.value.events.map((e) => e.type), ["fill", "fill", "order_filled"]);
  assert.equal(a2.value.events[0]!.fill?.orderId, o.orderId);
  // Repeating the final answer changes nothing and writes nothing.
  const a3 = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t2", "0.1", "104")]), "r3", 4_000);
  assert.ok(a3.ok);
  assert.equal(a3.value.events.length, 0);
  assert.equal(audit.events.length, 0, "applyUpdate itself does not append");
});

test("0.1 + 0.2 style fills add up exactly", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ quantity: "0.3" }), "vc", 1_000);
  orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("a", "0.1", "0.3")]), "r", 1);
  const r = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("b", "0.2", "0.6")]), "r", 2);
  assert.ok(r.ok);
  assert.equal(r.value.order.filledQuantity, "0.3");
  assert.equal(r.value.order.averageFillPrice, "0.5");
});

test("the venue's cumulative figures win when it reports more than the trades we saw", () => {
  const { orders } = setup();
  const o = orders.createPending(spec(), "vc", 1_000);
  const r = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [], { filledQuantity: "0.7", averageFillPrice: "99.5" }), "r", 1);
  assert.ok(r.ok);
  assert.equal(r.value.order.filledQuantity, "0.7");
  assert.equal(r.value.order.averageFillPrice, "99.5");
});

test("an impossible transition is an error and changes nothing", () => {
  const { orders } = setup();
  const o = orders.createPending(spec(), "vc", 1_000);
  assert.ok(orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t", "1.5", "1")]), "r", 1).ok);
  const bad = orders.applyUpdate(o.orderId, upd(OrderStatus.NEW), "r", 2);
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.message, /FILLED \+ accepted/);
  assert.equal(orders.get(o.orderId)?.status, OrderStatus.FILLED);
  const unspecified = orders.applyUpdate(o.orderId, upd(OrderStatus.UNSPECIFIED), "r", 2);
  assert.equal(unspecified.ok, false);
  assert.equal(orders.applyUpdate("nope", upd(OrderStatus.NEW), "r", 2).ok, false);
});

test("cancel rules: working -> PENDING_CANCEL; terminal and PENDING_NEW refused naming the status; cancel rejection restores", () => {
  const { orders } = setup();
  const pending = orders.createPending(spec({ clientOrderId: "p" }), "vc1", 1_000);
  const r0 = orders.requestCancel(pending.orderId, "r", 1);
  assert.equal(!r0.ok && r0.error.kind, "failed_precondition");
  assert.match(!r0.ok ? r0.error.message : "", /is PENDING_NEW/);

  const w = orders.createPending(spec({ clientOrderId: "w" }), "vc2", 1_000);
  orders.applyUpdate(w.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t", "0.5", "10")]), "r", 1);
  const r1 = orders.requestCancel(w.orderId, "r", 2);
  assert.ok(r1.ok);
  assert.equal(r1.value.order.status, OrderStatus.PENDING_CANCEL);
  assert.deepEqual(r1.value.events.map((e) => e.type), ["cancel_requested"]);
  const again = orders.requestCancel(w.orderId, "r", 3);
  assert.match(!again.ok ? again.error.message : "", /PENDING_CANCEL: a cancel is already in progress/);
  const back = orders.cancelRejected(w.orderId, "too late", "r", 4);
  assert.equal(back.order.status, OrderStatus.PARTIALLY_FILLED, "back to working, through NEW + partial_fill");
  assert.deepEqual(back.events.map((e) => e.type), ["cancel_rejected"]);

  const f = orders.createPending(spec({ clientOrderId: "f" }), "vc3", 1_000);
  orders.applyUpdate(f.orderId, upd(OrderStatus.FILLED, [vf("t9", "1.5", "10")]), "r", 1);
  const r2 = orders.requestCancel(f.orderId, "r", 5);
  assert.ok(!r2.ok && r2.error.kind === "failed_precondition" && r2.error.reason === "ORDER_TERMINAL");
  assert.match(!r2.ok ? r2.error.message : "", /is FILLED/);
  assert.equal(orders.requestCancel("nope", "r", 5).ok ? "" : "not_found", "not_found");
});

test("retention: terminal orders leave memory after retentionMs or beyond maxTerminalOrders; working orders stay", () => {
  const { orders, clock } = setup({ retentionMs: 1_000, maxTerminalOrders: 3 });
  const working = orders.createPending(spec({ clientOrderId: "w" }), "vw", clock.nowMs());
  orders.applyUpdate(working.orderId, upd(OrderStatus.NEW), "r", clock.nowMs());
  const done: string[] = [];
  for (let i = 0; i < 5; i++) {
    const o = orders.createPending(spec({ clientOrderId: `d${i}` }), `v${i}`, clock.nowMs());
    orders.applyUpdate(o.orderId, upd(OrderStatus.CANCELED), "r", clock.nowMs());
    done.push(o.orderId);
  }
  orders.sweep(clock.nowMs());
  assert.equal(orders.size, 4, "3 terminal + 1 working");
  assert.equal(orders.get(done[0]!), undefined);
  assert.equal(orders.getByClientOrderId("acct-1", "d0"), undefined);
  assert.ok(orders.get(done[4]!));
  clock.advance(1_000);
  orders.sweep(clock.nowMs());
  assert.equal(orders.size, 1);
  assert.equal(orders.get(working.orderId)?.status, OrderStatus.NEW);
  // Creating orders sweeps a few as it goes (no timer needed).
  const o = orders.createPending(spec({ clientOrderId: "late" }), "vl", clock.nowMs());
  orders.applyUpdate(o.orderId, upd(OrderStatus.CANCELED), "r", clock.nowMs());
  clock.advance(5_000);
  orders.createPending(spec({ clientOrderId: "later" }), "vl2", clock.nowMs());
  assert.equal(orders.get(o.orderId), undefined);
});

test("commit: buffered publishes fills at once; fsync publishes only after the append is durable", async () => {
  const b = setup();
  const o = b.orders.createPending(spec(), "vc", 1);
  const a = b.orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t", "1.5", "1")]), "r", 2);
  assert.ok(a.ok);
  assert.equal(b.orders.commit(a.value), null);
  assert.equal(b.fills.published.length, 1);
  assert.equal(b.audit.events.length, 2);

  const f = setup({}, "fsync");
  const o2 = f.orders.createPending(spec(), "vc", 1);
  const a2 = f.orders.applyUpdate(o2.orderId, upd(OrderStatus.FILLED, [vf("t", "1.5", "1")]), "r", 2);
  assert.ok(a2.ok);
  const p = f.orders.commit(a2.value);
  assert.ok(p instanceof Promise);
  await Promise.resolve();
  assert.equal(f.fills.published.length, 0, "not before the fsync");
  f.audit.flush();
  await p;
  assert.equal(f.fills.published.length, 1);
});

test("OrderUpdateSink: openOrders per venue, applyVenueUpdate audits and publishes; restore keeps trade ids", async () => {
  const errors: string[] = [];
  const { orders, audit, fills } = setup({ onError: (m) => errors.push(m) });
  const o = orders.createPending(spec(), "vc", 1);
  orders.createPending(spec({ clientOrderId: "other", venue: "binance" }), "vc2", 1);
  assert.deepEqual([...orders.openOrders("paper")].map((x) => x.orderId), [o.orderId]);
  await orders.applyVenueUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t1", "1.5", "2")]), "poll");
  assert.equal(orders.get(o.orderId)?.status, OrderStatus.FILLED);
  assert.deepEqual(audit.events.map((e) => e.type), ["fill", "order_filled"]);
  assert.equal(audit.events[0]!.requestId, "venue-poll");
  assert.equal(fills.published.length, 1);
  assert.deepEqual([...orders.openOrders("paper")], []);
  await orders.applyVenueUpdate(o.orderId, upd(OrderStatus.NEW), "reconcile");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /FILLED \+ accepted/);

  const fresh = setup();
  fresh.orders.restore({ ...o, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "1", averageFillPrice: "2" }, ["t1"]);
  const r = fresh.orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t1", "1", "2"), vf("t2", "0.5", "5")]), "r", 9);
  assert.ok(r.ok);
  assert.equal(r.value.fills.length, 1);
  assert.equal(r.value.order.filledQuantity, "1.5");
  assert.equal(r.value.order.averageFillPrice, "3");
});

test("a venue total without a price, then a trade: quantities add up and the average stays unknown (no throw)", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ quantity: "4" }), "vc", 1_000);
  const a1 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [], { filledQuantity: "1" }), "r1", 2_000);
  assert.ok(a1.ok);
  assert.equal(a1.value.order.filledQuantity, "1");
  assert.equal(a1.value.order.averageFillPrice, "");
  const a2 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t2", "0.5", "100")]), "r2", 3_000);
  assert.ok(a2.ok);
  assert.equal(a2.value.order.filledQuantity, "1.5");
  assert.equal(a2.value.order.averageFillPrice, "");
  assert.equal(a2.value.fills.length, 1);
});

test("an update that fails half-way marks none of its trades as seen: the next poll still applies them", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ quantity: "4" }), "vc", 1_000);
  // A malformed second trade (adapters validate decimals; this is the belt to their braces).
  assert.throws(() => orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t1", "1", "100"), vf("t2", "x", "100")]), "r1", 2_000));
  assert.equal(orders.get(o.orderId)?.filledQuantity, "0");
  const again = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t1", "1", "100")]), "r2", 3_000);
  assert.ok(again.ok);
  assert.equal(again.value.fills.length, 1);
  assert.equal(again.value.order.filledQuantity, "1");
});

test("venue fee total: recorded with the fills it paid for, never lowered, untouched by an update without new fills", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ quantity: "4" }), "vc", 1_000);
  const a1 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("V1:1", "1", "100")], { filledQuantity: "1", cumulativeFee: "0.26" }), "r1", 2_000);
  assert.ok(a1.ok);
  assert.equal(a1.value.order.venueFeeTotal, "0.26");
  // A total that moved without a new fill (its fill was not synthesized): not recorded, so the
  // next synthesized fill still carries the whole increase.
  const a2 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [], { filledQuantity: "1", cumulativeFee: "0.5" }), "r2", 3_000);
  assert.ok(a2.ok);
  assert.equal(orders.get(o.orderId)?.venueFeeTotal, "0.26");
  // A repeated fill adds nothing and records nothing.
  const a3 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("V1:1", "1", "100")], { filledQuantity: "1", cumulativeFee: "0.9" }), "r3", 4_000);
  assert.ok(a3.ok);
  assert.equal(orders.get(o.orderId)?.venueFeeTotal, "0.26");
  // A lower total with a new fill never lowers the recorded one.
  const a4 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("V1:2", "1", "100")], { filledQuantity: "2", cumulativeFee: "0.1" }), "r4", 5_000);
  assert.ok(a4.ok);
  assert.equal(a4.value.order.venueFeeTotal, "0.26");
  const a5 = orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("V1:3", "1", "100")], { filledQuantity: "3", cumulativeFee: "0.78" }), "r5", 6_000);
  assert.ok(a5.ok);
  assert.equal(a5.value.order.venueFeeTotal, "0.78");
  // Venues without a running total never get the field.
  const p = orders.createPending(spec({ clientOrderId: "plain", quantity: "1" }), "vc2", 1_000);
  const b = orders.applyUpdate(p.orderId, upd(OrderStatus.FILLED, [vf("t9", "1", "100")]), "r6", 2_000);
  assert.ok(b.ok);
  assert.equal("venueFeeTotal" in b.value.order, false);
});

test("terminal orders live packed outside the heap: late fills are still de-duplicated, applied and kept, client ids released", () => {
  const { orders } = setup();
  const o = orders.createPending(spec({ clientOrderId: "late", quantity: "3" }), "vc", 1_000);
  assert.ok(orders.applyUpdate(o.orderId, upd(OrderStatus.PARTIALLY_FILLED, [vf("t1", "1", "100")]), "r", 1_001).ok);
  // FILLED with a second trade: the order leaves the working maps with both trade ids.
  const done = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t1", "1", "100"), vf("t2", "1", "130")]), "r", 1_002);
  assert.ok(done.ok && done.value.fills.length === 1);
  assert.deepEqual(orders.get(o.orderId), done.value.order, "rebuilt field for field");
  assert.deepEqual(orders.getByClientOrderId("acct-1", "late"), done.value.order);
  assert.deepEqual([...orders.openOrders("paper")], [], "no longer polled");
  // A poll repeating every trade plus a third the venue reported late (FILLED self-loop).
  const again = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t1", "1", "100"), vf("t2", "1", "130"), vf("t3", "1", "160")]), "r", 1_003);
  assert.ok(again.ok);
  assert.deepEqual(again.value.fills.map((f) => f.venueTradeId), ["t3"], "t1 and t2 came back from the packed record");
  assert.equal(again.value.order.filledQuantity, "3");
  assert.equal(again.value.order.averageFillPrice, "130", "(100 + 130 + 160) / 3, the notional recomputed from the packed figures");
  assert.equal(orders.get(o.orderId)?.filledQuantity, "3", "the re-packed order replaced the old one");
  const repeat = orders.applyUpdate(o.orderId, upd(OrderStatus.FILLED, [vf("t3", "1", "160")]), "r", 1_004);
  assert.ok(repeat.ok && repeat.value.events.length === 0, "nothing new: no events");
  assert.equal(orders.size, 1);
  orders.releaseClientOrderId(again.value.order);
  assert.equal(orders.getByClientOrderId("acct-1", "late"), undefined, "a released client order id is free");
  assert.equal(orders.get(o.orderId)?.status, OrderStatus.FILLED, "the order itself stays queryable by id");
});
