import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { ANONYMOUS } from "../../src/domain/principal.js";
import type { GatewayError } from "../../src/domain/errors.js";
import type { Result } from "../../src/domain/result.js";
import { createOrderPipeline, type OrderPipelineOptions } from "../../src/composition-root.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import { recoverState } from "../../src/use-cases/recover.js";
import { createVenuePoller } from "../../src/adapters/venues/reconciler.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { deriveVenueClientOrderId } from "../../src/use-cases/client-order-id.js";
import type { CallInfo } from "../../src/use-cases/place-order.js";
import type { ReplaceOrderInput } from "../../src/use-cases/replace-order.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import { createCounterIds } from "../helpers/counter-ids.js";
import { createBookVenue, type BookVenue } from "../helpers/book-venue.js";
import { createManualClock, createMemoryAudit, limitOrder, type MemoryAudit } from "./support.js";

const call: CallInfo = { requestId: "req-r", principal: ANONYMOUS };

function core(venue: VenueAdapter, over: Partial<OrderPipelineOptions> & { audit?: MemoryAudit } = {}) {
  const clock = createManualClock();
  const audit = over.audit ?? createMemoryAudit("buffered");
  const hub = createFillHub({ retain: 100, subscriberBuffer: 16 });
  const venues = new Map<string, VenueAdapter>([[venue.name, venue]]);
  const outcomes: string[] = [];
  const c = createOrderPipeline({
    venues,
    audit,
    fills: hub,
    signal: new AbortController().signal,
    clock,
    orderIds: createCounterIds("o"),
    onReplaceOutcome: (m, o) => outcomes.push(`${m}:${o}`),
    ...over,
  });
  return { ...c, clock, audit, hub, venues, outcomes };
}

/** A resting LIMIT GTC order of 10 at 100 on `venue`. */
async function resting(c: ReturnType<typeof core>, venue: string, clientOrderId = "c1", over: Partial<Parameters<typeof limitOrder>[0]> = {}) {
  const r = await c.placeOrder(limitOrder({ venue, clientOrderId, quantity: "10", price: "100", timeInForce: TimeInForce.GTC, ...over }), call);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.order.status, OrderStatus.NEW);
  return r.value.order;
}

/** What a venue poll would apply for the order now. */
async function poll(c: ReturnType<typeof core>, orderId: string): Promise<void> {
  const order = c.orders.get(orderId)!;
  const q = await c.venues.get(order.venue)!.queryOrder(order, { signal: new AbortController().signal });
  assert.ok(q.ok);
  await c.orders.applyVenueUpdate(orderId, q.value, "poll");
}

function rep(over: Partial<ReplaceOrderInput>): ReplaceOrderInput {
  return { orderId: "", clientOrderId: "", account: "", newClientOrderId: "c2", quantity: "", price: "", stopPrice: "", ...over };
}

function errorOf<T>(r: Result<T, GatewayError>): GatewayError {
  assert.ok(!r.ok, `expected an error, got ${JSON.stringify(r)}`);
  return r.error;
}

test("validation: every field rule at once, fields inapplicable to the type, quantity not above filled", async () => {
  const c = core(createBookVenue());
  const o = await resting(c, "book");
  const bad = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "" }), call));
  assert.equal(bad.kind, "invalid_argument");
  const fields = bad.kind === "invalid_argument" ? bad.violations.map((v) => v.field).sort() : [];
  assert.deepEqual(fields, ["new_client_order_id", "quantity"]);
  const dec = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "bad id", price: "1e3" }), call));
  assert.deepEqual(dec.kind === "invalid_argument" ? dec.violations.map((v) => v.field).sort() : [], ["new_client_order_id", "price"]);
  const stop = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, stopPrice: "90" }), call));
  assert.equal(stop.kind === "invalid_argument" ? stop.violations[0]?.field : "", "stop_price");
  const none = errorOf(await c.replaceOrder(rep({ clientOrderId: "c1", quantity: "5" }), call));
  assert.equal(none.kind === "invalid_argument" ? none.violations[0]?.field : "", "account");
  const missing = errorOf(await c.replaceOrder(rep({ orderId: "nope", quantity: "5" }), call));
  assert.equal(missing.kind, "not_found");
  // 4 of 10 filled: the new total must exceed 4.
  (c.venues.get("book") as BookVenue).fill(o.orderId, "4");
  await poll(c, o.orderId);
  const low = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, quantity: "4" }), call));
  assert.equal(low.kind === "invalid_argument" ? low.violations[0]?.field : "", "quantity");
  assert.equal(c.outcomes.length, 0);
});

test("native amend (paper): same order id, new client id, old ids kept and still finding it, audited request then result", async () => {
  const clock = createManualClock();
  const paper = createPaperVenue({ clock, ids: createCounterIds("p") });
  const c = core(paper);
  const o = await resting(c, "paper", "c1", { price: "100" });
  const r = await c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "c2", quantity: "12", price: "101" }), call);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.method, "amend");
  assert.deepEqual(r.value.steps, [{ step: "amend", succeeded: true, detail: "" }]);
  const after = r.value.order;
  assert.equal(after.orderId, o.orderId);
  assert.equal(after.clientOrderId, "c2");
  assert.deepEqual(after.replacedClientOrderIds, ["c1"]);
  assert.equal(after.quantity, "12");
  assert.equal(after.price, "101");
  assert.equal(after.status, OrderStatus.NEW);
  assert.equal(after.venueClientOrderId, o.venueClientOrderId, "amended in place");
  assert.equal(c.orders.getByClientOrderId("acct-1", "c1")?.orderId, o.orderId);
  assert.equal(c.orders.getByClientOrderId("acct-1", "c2")?.orderId, o.orderId);
  const types = c.audit.events.filter((e) => e.order?.orderId === o.orderId).map((e) => e.type);
  assert.deepEqual(types.slice(-2), ["replace_requested", "order_replaced"]);
  // A second replace of the chain, named by its first client id; then one crossing the price fills.
  const r2 = await c.replaceOrder(rep({ clientOrderId: "c1", account: "acct-1", newClientOrderId: "c3", price: "70000" }), call);
  assert.ok(r2.ok);
  assert.equal(r2.value.order.status, OrderStatus.FILLED);
  assert.deepEqual(r2.value.order.replacedClientOrderIds, ["c1", "c2"]);
  assert.equal(r2.value.order.filledQuantity, "12");
  for (const id of ["c1", "c2", "c3"]) assert.equal(c.orders.getByClientOrderId("acct-1", id)?.orderId, o.orderId, id);
  assert.deepEqual(c.outcomes, ["amend:replaced", "amend:replaced"]);
});

test("idempotent: a retry replays without a venue call; other fields -> IDEMPOTENCY_KEY_REUSED; a used client id -> DUPLICATE_CLIENT_ORDER_ID", async () => {
  const book = createBookVenue({ amend: true });
  const c = core(book);
  const o = await resting(c, "book");
  await resting(c, "book", "other");
  const first = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "8" }), call);
  assert.ok(first.ok);
  const callsBefore = book.calls.length;
  const again = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "8" }), call);
  assert.ok(again.ok);
  assert.equal(again.value.replayed, true);
  assert.equal(again.value.method, "amend");
  assert.equal(again.value.order.quantity, "8");
  // Named by its old client id: the same request.
  const viaOld = await c.replaceOrder(rep({ clientOrderId: "c1", account: "acct-1", quantity: "8" }), call);
  assert.ok(viaOld.ok && viaOld.value.replayed);
  // order_id with an earlier client id of its chain names the same order; with a foreign one, none.
  const both = await c.replaceOrder(rep({ orderId: o.orderId, clientOrderId: "c1", quantity: "8" }), call);
  assert.ok(both.ok && both.value.replayed, JSON.stringify(both));
  assert.equal(errorOf(await c.replaceOrder(rep({ orderId: o.orderId, clientOrderId: "other", quantity: "8" }), call)).kind, "not_found");
  assert.equal(book.calls.length, callsBefore, "no venue call for a replay");
  const reuse = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, quantity: "7" }), call));
  assert.equal(reuse.kind === "already_exists" ? reuse.reason : "", "IDEMPOTENCY_KEY_REUSED");
  assert.match(reuse.message, /quantity/);
  const dup = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "other", quantity: "7" }), call));
  assert.equal(dup.kind === "already_exists" ? dup.reason : "", "DUPLICATE_CLIENT_ORDER_ID");
  // Concurrent duplicates: one venue call.
  const [a, b] = await Promise.all([c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "c3", quantity: "6" }), call), c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "c3", quantity: "6" }), call)]);
  assert.ok(a.ok && b.ok);
  assert.deepEqual([a.value.replayed, b.value.replayed].sort(), [false, true]);
  assert.equal(book.calls.filter((x) => x.startsWith("amend")).length, 2);
});

test("cancel-then-new: cancel confirmed first, then the remainder under a derived venue client id; one live venue order throughout", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.fill(o.orderId, "3");
  const r = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "12", price: "99" }), call);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.method, "cancel_then_new");
  assert.deepEqual(r.value.steps.map((s) => `${s.step}:${s.succeeded}`), ["cancel:true", "new:true"]);
  const after = r.value.order;
  const vcid = deriveVenueClientOrderId("book", "acct-1|r:c2");
  assert.equal(after.venueClientOrderId, vcid);
  assert.notEqual(after.venueOrderId, o.venueOrderId);
  // The 3 that filled before the cancel count; the new venue order carries the remaining 9.
  assert.equal(after.filledQuantity, "3");
  assert.equal(after.status, OrderStatus.PARTIALLY_FILLED);
  assert.deepEqual(book.liveOf(o.orderId), [{ venueClientOrderId: vcid, quantity: "9", price: "99" }]);
  assert.deepEqual(book.calls.slice(-2), [`cancel ${o.venueClientOrderId}`, `place ${vcid} 9`]);
  assert.equal(book.maxLive.get(o.orderId), 1);
  // Fills of the new venue order add to the chain's.
  book.fill(o.orderId, "9", "99");
  await poll(c, o.orderId);
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.FILLED);
  assert.equal(c.orders.get(o.orderId)?.filledQuantity, "12");
});

test("race with a fill: the cancel finds the order filled -> REPLACE_REJECTED, order FILLED, nothing placed; stored for retries", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.fill(o.orderId, "10");
  const r = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, price: "99" }), call));
  assert.equal(r.kind === "failed_precondition" ? r.reason : "", "REPLACE_REJECTED");
  assert.match(r.message, /FILLED/);
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.FILLED);
  assert.equal(c.orders.get(o.orderId)?.filledQuantity, "10");
  assert.equal(book.calls.filter((x) => x.startsWith("place")).length, 1);
  const again = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, price: "99" }), call));
  assert.equal(again.kind === "failed_precondition" ? again.reason : "", "REPLACE_REJECTED");
  assert.equal(c.audit.events.at(-1)?.type, "replace_rejected");
});

test("racing cancel: no cancel while a replace is in flight, no replace while a cancel is", async () => {
  const book = createBookVenue();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: VenueAdapter = { ...book, name: "book", cancelOrder: async (order, ctx) => (await gate, book.cancelOrder(order, ctx)) };
  const c = core(slow);
  const o = await resting(c, "book");
  const p = c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.PENDING_REPLACE);
  const cancel = errorOf(await c.cancelOrder({ orderId: o.orderId, clientOrderId: "", account: "" }, call));
  assert.equal(cancel.kind === "failed_precondition" ? cancel.reason : "", "ORDER_NOT_CANCELABLE");
  const other = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, newClientOrderId: "c9", quantity: "6" }), call));
  assert.equal(other.kind === "failed_precondition" ? other.reason : "", "ORDER_NOT_REPLACEABLE");
  release();
  assert.ok((await p).ok);
  assert.equal(book.maxLive.get(o.orderId), 1);
});

test("faults: 429 on the cancel releases the key and leaves the order working; a retry goes through", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.faults.cancel.push("429");
  const r = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call));
  assert.equal(r.kind, "resource_exhausted");
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.NEW);
  assert.equal(c.orders.getByClientOrderId("acct-1", "c2"), undefined, "the reserved id is released");
  const ok2 = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.ok(ok2.ok);
  assert.equal(ok2.value.replayed, false);
  assert.equal(book.maxLive.get(o.orderId), 1);
});

test("faults: drop after accept on the new leg -> PENDING_REPLACE; the retry finds the new venue order and never places twice", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.faults.place.push("drop");
  const r = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.ok(r.ok);
  assert.equal(r.value.order.status, OrderStatus.PENDING_REPLACE);
  assert.deepEqual(r.value.steps.map((s) => `${s.step}:${s.succeeded}`), ["cancel:true", "new:false"]);
  assert.deepEqual(c.outcomes, ["cancel_then_new:pending"]);
  const retry = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.ok(retry.ok, JSON.stringify(retry));
  assert.equal(retry.value.order.status, OrderStatus.NEW);
  assert.equal(retry.value.order.clientOrderId, "c2");
  assert.equal(book.calls.filter((x) => x.startsWith("place")).length, 2, "the original order and one new leg");
  assert.equal(book.maxLive.get(o.orderId), 1);
});

test("faults: 500 on the cancel (it happened) -> PENDING_REPLACE; the retry learns the old is canceled and places the new leg", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.faults.cancel.push("500");
  const r = await c.replaceOrder(rep({ orderId: o.orderId, price: "98" }), call);
  assert.ok(r.ok);
  assert.equal(r.value.order.status, OrderStatus.PENDING_REPLACE);
  // A 429 on the new leg after the cancel is confirmed: nothing live, retry asked.
  book.faults.place.push("429");
  const second = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, price: "98" }), call));
  assert.equal(second.kind, "resource_exhausted");
  assert.match(second.message, /retry the same request/);
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.PENDING_REPLACE);
  const third = await c.replaceOrder(rep({ orderId: o.orderId, price: "98" }), call);
  assert.ok(third.ok, JSON.stringify(third));
  assert.equal(third.value.order.price, "98");
  assert.equal(third.value.order.status, OrderStatus.NEW);
  assert.equal(book.liveOf(o.orderId).length, 1);
  assert.equal(book.maxLive.get(o.orderId), 1);
});

test("faults: amend 500 -> PENDING_REPLACE; the venue poller finds nothing new and keeps waiting; the retry re-sends the absolute amend once", async () => {
  const book = createBookVenue({ amend: true });
  const c = core(book);
  const o = await resting(c, "book");
  book.faults.amend.push("500");
  const r = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "7" }), call);
  assert.ok(r.ok);
  assert.equal(r.value.order.status, OrderStatus.PENDING_REPLACE);
  const retry = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "7" }), call);
  assert.ok(retry.ok);
  assert.equal(retry.value.order.quantity, "7");
  assert.deepEqual(book.liveOf(o.orderId), [{ venueClientOrderId: o.venueClientOrderId, quantity: "7", price: "100" }]);
});

test("the venue poller settles a lost new-leg answer by the derived venue client id", async () => {
  const book = createBookVenue();
  const c = core(book);
  const o = await resting(c, "book");
  book.faults.place.push("drop");
  const r = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.ok(r.ok && r.value.order.status === OrderStatus.PENDING_REPLACE);
  const poller = createVenuePoller({ adapters: c.venues, sink: c.orders, intervalMs: 1000, clock: c.clock });
  await poller.pollOnce();
  await poller.stop();
  const after = c.orders.get(o.orderId)!;
  assert.equal(after.status, OrderStatus.NEW);
  assert.equal(after.clientOrderId, "c2");
  assert.equal(after.venueClientOrderId, deriveVenueClientOrderId("book", "acct-1|r:c2"));
  // The client's retry now is a replay, not a DUPLICATE_CLIENT_ORDER_ID.
  const retry = await c.replaceOrder(rep({ orderId: o.orderId, quantity: "5" }), call);
  assert.ok(retry.ok && retry.value.replayed);
});

test("risk limits apply to the amended order; the refusal is stored for retries", async () => {
  const book = createBookVenue();
  const c = core(book, { riskLimits: { "*": { maxQuantity: "20" } } });
  const o = await resting(c, "book");
  const r = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, quantity: "21" }), call));
  assert.equal(r.kind, "failed_precondition");
  assert.equal(c.orders.get(o.orderId)?.status, OrderStatus.NEW);
  const again = errorOf(await c.replaceOrder(rep({ orderId: o.orderId, quantity: "21" }), call));
  assert.equal(again.kind, "failed_precondition");
  assert.equal(book.calls.filter((x) => x.startsWith("cancel")).length, 0);
});

test("restart: the order is found by new and old client ids, a retried replace is replayed, and one in flight is driven on", async () => {
  const audit = createMemoryAudit("buffered");
  const book = createBookVenue();
  const c = core(book, { audit });
  const o = await resting(c, "book");
  assert.ok((await c.replaceOrder(rep({ orderId: o.orderId, quantity: "8" }), call)).ok);
  const o2 = await resting(c, "book", "d1");
  book.faults.place.push("drop");
  const pend = await c.replaceOrder(rep({ orderId: o2.orderId, newClientOrderId: "d2", quantity: "4" }), call);
  assert.ok(pend.ok && pend.value.order.status === OrderStatus.PENDING_REPLACE);

  const state = await recoverState(audit.events, { nowMs: c.clock.nowMs(), idempotencyTtlMs: 86_400_000, idempotencyMaxEntries: 1000, orderRetentionMs: 600_000, maxTerminalOrders: 1000 });
  const c2 = core(book, { recovered: state });
  for (const id of ["c1", "c2"]) assert.equal(c2.orders.getByClientOrderId("acct-1", id)?.orderId, o.orderId, id);
  const replay = await c2.replaceOrder(rep({ orderId: o.orderId, quantity: "8" }), call);
  assert.ok(replay.ok, JSON.stringify(replay));
  assert.equal(replay.value.replayed, true);
  assert.equal(replay.value.method, "unspecified");
  const reuse = errorOf(await c2.replaceOrder(rep({ orderId: o.orderId, quantity: "9" }), call));
  assert.equal(reuse.kind === "already_exists" ? reuse.reason : "", "IDEMPOTENCY_KEY_REUSED");
  // The replace in flight at the stop: its target came back; the retry finds the new leg.
  assert.equal(c2.orders.get(o2.orderId)?.status, OrderStatus.PENDING_REPLACE);
  assert.equal(c2.orders.getByClientOrderId("acct-1", "d2")?.orderId, o2.orderId);
  const driven = await c2.replaceOrder(rep({ orderId: o2.orderId, newClientOrderId: "d2", quantity: "4" }), call);
  assert.ok(driven.ok, JSON.stringify(driven));
  assert.equal(driven.value.order.status, OrderStatus.NEW);
  assert.equal(driven.value.order.quantity, "4");
  assert.equal(book.maxLive.get(o2.orderId), 1);
  assert.equal(book.calls.filter((x) => x.startsWith("place")).length, 4, "two orders, two new legs");
});

test("STOP orders: stop_price is replaceable, price is not", async () => {
  const book = createBookVenue();
  const c = core(book);
  const r0 = await c.placeOrder(limitOrder({ venue: "book", clientOrderId: "s1", type: OrderType.STOP, price: "", stopPrice: "90", quantity: "1" }), call);
  assert.ok(r0.ok);
  const bad = errorOf(await c.replaceOrder(rep({ orderId: r0.value.order.orderId, price: "91" }), call));
  assert.equal(bad.kind === "invalid_argument" ? bad.violations[0]?.field : "", "price");
  const r = await c.replaceOrder(rep({ orderId: r0.value.order.orderId, stopPrice: "91" }), call);
  assert.ok(r.ok);
  assert.equal(r.value.order.stopPrice, "91");
});
