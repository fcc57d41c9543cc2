import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { ANONYMOUS, type Principal } from "../../src/domain/principal.js";
import { createMemoryIdempotencyStore } from "../../src/adapters/stores/memory-store.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { createPlaceOrder, type CallInfo } from "../../src/use-cases/place-order.js";
import { createRiskCheck, type RiskLimitsConfig } from "../../src/use-cases/risk.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import { createOrderValidator } from "../../src/use-cases/validate.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createManualClock, createMemoryAudit, createScriptedVenue, limitOrder, marketOrder } from "./support.js";

function setup(opts: { risk?: RiskLimitsConfig; audit?: "buffered" | "fsync"; autoFlush?: boolean } = {}) {
  const clock = createManualClock();
  const audit = createMemoryAudit(opts.audit ?? "buffered", opts.autoFlush ?? true);
  const fills = createLocalFillSequence();
  const paper = createPaperVenue({ clock, ids: createCounterIds("p") });
  const scripted = createScriptedVenue();
  const venues = new Map<string, VenueAdapter>([["paper", paper], ["scripted", scripted]]);
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills });
  const idempotency = createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 100 });
  const errors: string[] = [];
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: createRiskCheck(opts.risk ?? {}, (v, s) => venues.get(v)?.referencePrice?.(s)),
    venues,
    idempotency,
    orders,
    audit,
    signal: new AbortController().signal,
    onError: (m) => errors.push(m),
  });
  return { clock, audit, fills, paper, scripted, orders, idempotency, placeOrder, errors };
}
const call = (principal: Principal = ANONYMOUS): CallInfo => ({ requestId: "req-1", principal });

test("a MARKET order on paper fills; audit holds received (with idempotency), fill, filled (with idempotency); fill published", async () => {
  const s = setup();
  const r = await s.placeOrder(marketOrder(), call());
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.replayed, false);
  assert.equal(r.value.order.status, OrderStatus.FILLED);
  assert.equal(r.value.order.filledQuantity, "1.5");
  assert.equal(r.value.order.averageFillPrice, s.paper.referencePrice!("BTC-USD"));
  assert.deepEqual(s.audit.events.map((e) => e.type), ["order_received", "fill", "order_filled"]);
  assert.ok(s.audit.events.every((e) => e.requestId === "req-1" && e.order !== undefined && e.ts > 0));
  assert.deepEqual(s.audit.events[0]!.idempotency, { key: "acct-1|c:c-1", fingerprint: s.audit.events[2]!.idempotency!.fingerprint });
  assert.equal(s.audit.events[1]!.idempotency, undefined);
  assert.equal(s.fills.published.length, 1);
  assert.equal(s.fills.published[0]!.sequence, 1n);
});

test("replay: same key, same fields -> stored result, replayed, no audit, no venue call", async () => {
  const s = setup();
  const first = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  const n = s.audit.events.length;
  const again = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(first.ok && again.ok);
  assert.equal(again.value.replayed, true);
  assert.equal(again.value.order.orderId, first.value.order.orderId);
  assert.equal(s.audit.events.length, n);
  assert.equal(s.scripted.placed.length, 1);
  assert.equal(s.fills.published.length, 1);
});

test("same key with different fields -> already_exists IDEMPOTENCY_KEY_REUSED naming the fields; an idempotency_key scopes it", async () => {
  const s = setup();
  await s.placeOrder(marketOrder({ idempotencyKey: "k1", clientOrderId: "a" }), call());
  const r = await s.placeOrder(marketOrder({ idempotencyKey: "k1", clientOrderId: "a", quantity: "2" }), call());
  assert.ok(!r.ok && r.error.kind === "already_exists");
  if (!r.ok && r.error.kind === "already_exists") {
    assert.equal(r.error.reason, "IDEMPOTENCY_KEY_REUSED");
    assert.match(r.error.message, /quantity/);
  }
  // Another key but the same client_order_id: refused, never a second order with that id.
  const dup = await s.placeOrder(marketOrder({ idempotencyKey: "k2", clientOrderId: "a" }), call());
  assert.ok(!dup.ok && dup.error.kind === "already_exists" && dup.error.reason === "DUPLICATE_CLIENT_ORDER_ID");
  // The same key in another account is another order.
  const other = await s.placeOrder(marketOrder({ idempotencyKey: "k1", clientOrderId: "a", account: "acct-2" }), call());
  assert.ok(other.ok && !other.value.replayed);
});

test("concurrent duplicates wait for the first and get its result: exactly one venue call", async () => {
  const s = setup();
  s.scripted.hold = true;
  const req = marketOrder({ venue: "scripted", clientOrderId: "dup" });
  const calls = Array.from({ length: 5 }, () => s.placeOrder(req, call()));
  const conflicting = s.placeOrder({ ...req, quantity: "3" }, call());
  const c = await conflicting;
  assert.ok(!c.ok && c.error.kind === "already_exists", "a different request with the same key is refused even while in flight");
  await Promise.resolve();
  assert.equal(s.scripted.placed.length, 1);
  s.scripted.release();
  const results = await Promise.all(calls);
  assert.equal(s.scripted.placed.length, 1);
  const ids = new Set(results.map((r) => (r.ok ? r.value.order.orderId : "err")));
  assert.equal(ids.size, 1);
  assert.deepEqual(results.map((r) => r.ok && r.value.replayed), [false, true, true, true, true]);
  assert.ok(results.every((r) => r.ok && r.value.order.status === OrderStatus.FILLED));
});

test("risk breach is failed_precondition, stored (replays the same error) and audited with the key", async () => {
  const s = setup({ risk: { "*": { maxQuantity: "1" } } });
  const r = await s.placeOrder(marketOrder(), call());
  assert.ok(!r.ok && r.error.kind === "failed_precondition" && r.error.reason === "MAX_QUANTITY_EXCEEDED");
  assert.deepEqual(s.audit.events.map((e) => [e.type, e.error?.kind, e.order]), [["order_rejected", "failed_precondition", undefined]]);
  assert.ok(s.audit.events[0]!.idempotency);
  const again = await s.placeOrder(marketOrder(), call());
  assert.deepEqual(again, r);
  assert.equal(s.audit.events.length, 1);
});

test("venue rejection: the order is REJECTED with the reason, answered OK and stored", async () => {
  const s = setup();
  s.scripted.next.push({ ok: false, error: { kind: "rejected", reason: "insufficient balance" } });
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r.ok);
  assert.equal(r.value.order.status, OrderStatus.REJECTED);
  assert.equal(r.value.order.rejectReason, "insufficient balance");
  const again = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(again.ok && again.value.replayed && again.value.order.status === OrderStatus.REJECTED);
  assert.equal(s.scripted.placed.length, 1);
  // Real venues get a write-ahead order_received before the call.
  assert.deepEqual(s.audit.events.map((e) => e.type), ["order_received", "order_rejected"]);
});

test("transient venue failures answer resource_exhausted / unavailable and release the key for a retry", async () => {
  const s = setup();
  s.scripted.next.push({ ok: false, error: { kind: "rate_limited", reason: "429", retryAfterMs: 1500 } });
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(!r.ok && r.error.kind === "resource_exhausted" && r.error.retryAfterMs === 1500);
  assert.equal(s.audit.events.at(-1)!.error?.kind, "resource_exhausted");
  s.scripted.next.push({ ok: false, error: { kind: "unavailable", reason: "connection refused" } });
  const r2 = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(!r2.ok && r2.error.kind === "unavailable");
  const r3 = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r3.ok && !r3.value.replayed && r3.value.order.status === OrderStatus.FILLED);
  assert.equal(s.scripted.placed.length, 3);
  // Same venue client order id each time: derived from the key, so the venue itself de-duplicates too.
  assert.equal(new Set(s.scripted.placed.map((o) => o.venueClientOrderId)).size, 1);
});

test("unknown outcome leaves the order PENDING_NEW, answered and stored; a retry does not call the venue again", async () => {
  const s = setup();
  s.scripted.next.push({ ok: false, error: { kind: "unknown_outcome", reason: "timeout" } });
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r.ok && r.value.order.status === OrderStatus.PENDING_NEW);
  assert.deepEqual([...s.orders.openOrders("scripted")].map((o) => o.orderId), [r.value.order.orderId]);
  const again = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(again.ok && again.value.replayed);
  assert.equal(s.scripted.placed.length, 1);
  // Reconciliation later settles it; the replay then shows the current state.
  await s.orders.applyVenueUpdate(r.value.order.orderId, { status: OrderStatus.NEW, venueOrderId: "V9", fills: [] }, "reconcile");
  const later = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(later.ok && later.value.order.status === OrderStatus.NEW);
});

test("a venue answer the state machine refuses keeps PENDING_NEW and is reported", async () => {
  const s = setup();
  s.scripted.next.push({ ok: true, value: { status: OrderStatus.UNSPECIFIED, venueOrderId: "x", fills: [] } });
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r.ok && r.value.order.status === OrderStatus.PENDING_NEW);
  assert.equal(s.errors.length, 1);
});

test("the answer waits for the audit append to be durable (fsync) and fills are published after it", async () => {
  const s = setup({ audit: "fsync", autoFlush: false });
  let done = false;
  const p = s.placeOrder(marketOrder(), call()).then((r) => {
    done = true;
    return r;
  });
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.equal(done, false);
  assert.equal(s.fills.published.length, 0);
  assert.ok(s.audit.pending > 0);
  s.audit.flush();
  const r = await p;
  assert.ok(r.ok);
  assert.equal(s.fills.published.length, 1);
});

test("permission: a principal limited to other accounts gets permission_denied; validation errors are not stored", async () => {
  const s = setup();
  const r = await s.placeOrder(marketOrder(), call({ keyId: "k", accounts: new Set(["acct-9"]) }));
  assert.ok(!r.ok && r.error.kind === "permission_denied");
  const bad = await s.placeOrder(marketOrder({ quantity: "0" }), call());
  assert.ok(!bad.ok && bad.error.kind === "invalid_argument");
  assert.equal(s.idempotency.size, 0);
  assert.equal(s.audit.events.length, 0);
});

test("LIMIT resting on paper is NEW; STOP rests NEW", async () => {
  const s = setup();
  const r = await s.placeOrder(limitOrder({ clientOrderId: "l1" }), call());
  assert.ok(r.ok && r.value.order.status === OrderStatus.NEW);
  const stop = await s.placeOrder(marketOrder({ clientOrderId: "s1", type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPrice: "70000" }), call());
  assert.ok(stop.ok && stop.value.order.status === OrderStatus.NEW);
  assert.deepEqual(s.audit.events.filter((e) => e.type === "order_accepted").length, 2);
});

test("an adapter that throws is an unknown outcome: PENDING_NEW, reported, never a second venue call", async () => {
  const s = setup();
  s.scripted.placeOrder = async (o) => {
    s.scripted.placed.push(o);
    throw new Error("boom");
  };
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r.ok && r.value.order.status === OrderStatus.PENDING_NEW);
  assert.equal(s.errors.length, 1);
  const again = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(again.ok && again.value.replayed);
  assert.equal(s.scripted.placed.length, 1);
});

test("fills of concurrent orders are published in sequence order after their fsync", async () => {
  const s = setup({ audit: "fsync", autoFlush: false });
  const ps = Array.from({ length: 6 }, (_, i) => s.placeOrder(marketOrder({ clientOrderId: `c-${i}` }), call()));
  for (let i = 0; i < 20 && s.audit.pending < 6; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.audit.pending, 6);
  assert.equal(s.fills.published.length, 0);
  s.audit.flush();
  await Promise.all(ps);
  assert.deepEqual(s.fills.published.map((f) => f.sequence), [1n, 2n, 3n, 4n, 5n, 6n]);
  // The log holds them in the same order.
  assert.deepEqual(s.audit.events.filter((e) => e.fill !== undefined).map((e) => e.fill!.sequence), [1n, 2n, 3n, 4n, 5n, 6n]);
});

test("real venues: order_received is durable before the venue call (write-ahead awaited)", async () => {
  const s = setup({ audit: "fsync", autoFlush: false });
  const p = s.placeOrder(marketOrder({ venue: "scripted" }), call());
  for (let i = 0; i < 20 && s.audit.pending < 1; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.audit.pending, 1);
  assert.equal(s.scripted.placed.length, 0, "nothing leaves before the log knows the order");
  s.audit.flush();
  for (let i = 0; i < 20 && s.audit.pending < 1; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.scripted.placed.length, 1);
  s.audit.flush();
  const r = await p;
  assert.ok(r.ok && r.value.order.status === OrderStatus.FILLED);
  assert.deepEqual(s.audit.events.map((e) => e.type), ["order_received", "fill", "order_filled"]);
});

test("an order's idempotency record keeps no fingerprint copy; retries still replay or conflict field by field", async () => {
  const s = setup();
  const first = await s.placeOrder(marketOrder({ clientOrderId: "fp-1", quantity: "2.5" }), call());
  assert.ok(first.ok);
  const rec = s.idempotency.get("acct-1|c:fp-1", s.clock.nowMs());
  assert.ok(rec !== undefined && rec.outcome.ok);
  assert.equal(rec.fingerprint, undefined, "the order's own fields stand for the fingerprint");
  assert.deepEqual(rec.outcome.value, s.orders.get(first.value.order.orderId), "the record holds the order as answered");
  // A stored business error has no order to derive it from: it keeps its fingerprint.
  const risky = setup({ risk: { "*": { maxQuantity: "1" } } });
  const breach = await risky.placeOrder(marketOrder({ clientOrderId: "fp-2", quantity: "2" }), call());
  assert.ok(!breach.ok);
  assert.equal(typeof risky.idempotency.get("acct-1|c:fp-2", risky.clock.nowMs())?.fingerprint, "string");

  const again = await s.placeOrder(marketOrder({ clientOrderId: "fp-1", quantity: "2.5" }), call());
  assert.ok(again.ok && again.value.replayed && again.value.order.orderId === first.value.order.orderId);
  // Each fingerprinted field is compared, through the order, and named in the refusal.
  const diffs: Array<[Partial<Parameters<typeof marketOrder>[0]>, string]> = [
    [{ quantity: "3" }, "quantity"],
    [{ symbol: "ETH-USD" }, "symbol"],
    [{ timeInForce: TimeInForce.FOK }, "time_in_force"],
  ];
  for (const [over, field] of diffs) {
    const r = await s.placeOrder(marketOrder({ clientOrderId: "fp-1", quantity: "2.5", ...over }), call());
    assert.ok(!r.ok && r.error.kind === "already_exists", JSON.stringify(r));
    if (!r.ok && r.error.kind === "already_exists") {
      assert.equal(r.error.reason, "IDEMPOTENCY_KEY_REUSED");
      assert.equal(r.error.metadata?.["fields"], field);
    }
  }
});
