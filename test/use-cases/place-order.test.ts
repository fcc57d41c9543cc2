import { test } from "node:test";
import assert from "node:assert/strict";
import type { GatewayError } from "../../src/domain/errors.js";
import { OrderStatus, OrderType, TimeInForce, type OrderSpec } from "../../src/domain/order.js";
import { ANONYMOUS, type Principal } from "../../src/domain/principal.js";
import { createMemoryIdempotencyStore } from "../../src/adapters/stores/memory-store.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { createAuditGuard } from "../../src/use-cases/audit-guard.js";
import { idempotencyScopeKey, requestFingerprint } from "../../src/use-cases/idempotency.js";
import { createPlaceOrder, type CallInfo } from "../../src/use-cases/place-order.js";
import { createRiskCheck, type RiskLimitsConfig } from "../../src/use-cases/risk.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import { createOrderValidator } from "../../src/use-cases/validate.js";
import type { VenueAdapter, VenueCallContext, VenueError } from "../../src/use-cases/venue-adapter.js";
import { deriveVenueClientOrderId } from "../../src/use-cases/client-order-id.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { waitFor } from "../helpers/wait-for.js";
import { createManualClock, createMemoryAudit, createScriptedVenue, limitOrder, marketOrder } from "./support.js";

function setup(opts: { risk?: RiskLimitsConfig; audit?: "buffered" | "fsync"; autoFlush?: boolean; signal?: AbortSignal } = {}) {
  const clock = createManualClock();
  const audit = createMemoryAudit(opts.audit ?? "buffered", opts.autoFlush ?? true);
  const fills = createLocalFillSequence();
  const paper = createPaperVenue({ clock, ids: createCounterIds("p") });
  const scripted = createScriptedVenue();
  const venues = new Map<string, VenueAdapter>([["paper", paper], ["scripted", scripted]]);
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills });
  const idempotency = createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 100 });
  const errors: string[] = [];
  const failures: string[] = [];
  const auditGuard = createAuditGuard((m) => failures.push(m));
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: createRiskCheck(opts.risk ?? {}, (v, s) => venues.get(v)?.referencePrice?.(s)),
    venues,
    idempotency,
    orders,
    audit,
    signal: opts.signal ?? new AbortController().signal,
    onError: (m) => errors.push(m),
    auditGuard,
  });
  return { clock, audit, fills, paper, scripted, orders, idempotency, placeOrder, errors, failures };
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

test("transient venue failures, word for word; each releases key and client order id, while a rejection keeps the client order id", async () => {
  const cases: Array<[VenueError, GatewayError]> = [
    [{ kind: "rate_limited", reason: "429", retryAfterMs: 1500 }, { kind: "resource_exhausted", message: "venue rate limit: 429", retryAfterMs: 1500 }],
    [{ kind: "unavailable", reason: "connection refused" }, { kind: "unavailable", message: "venue unavailable: connection refused" }],
    [{ kind: "unavailable", reason: "503", retryAfterMs: 2000 }, { kind: "unavailable", message: "venue unavailable: 503", retryAfterMs: 2000 }],
    [{ kind: "auth", reason: "invalid API key" }, { kind: "unavailable", message: "venue refused the gateway's credentials: invalid API key" }],
  ];
  for (const [venueError, answer] of cases) {
    const s = setup();
    s.scripted.next.push({ ok: false, error: venueError });
    assert.deepEqual(await s.placeOrder(marketOrder({ venue: "scripted" }), call()), { ok: false, error: answer });
    // Released: the same client order id under another key is a new order, not a duplicate.
    const retry = await s.placeOrder(marketOrder({ venue: "scripted", idempotencyKey: "k-2" }), call());
    assert.ok(retry.ok && !retry.value.replayed, JSON.stringify(retry));
  }
  const s = setup();
  s.scripted.next.push({ ok: false, error: { kind: "rejected", reason: "no" } });
  const rejected = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(rejected.ok && rejected.value.order.status === OrderStatus.REJECTED);
  const other = await s.placeOrder(marketOrder({ venue: "scripted", idempotencyKey: "k-2" }), call());
  assert.ok(!other.ok && other.error.kind === "already_exists" && other.error.reason === "DUPLICATE_CLIENT_ORDER_ID");
});

test("a client_order_id still in memory: another key is DUPLICATE_CLIENT_ORDER_ID naming the order; the same request whose record was evicted replays", async () => {
  const s = setup();
  s.scripted.next.push({ ok: true, value: { status: OrderStatus.NEW, venueOrderId: "V-1", fills: [] } });
  const first = await s.placeOrder(limitOrder({ venue: "scripted", idempotencyKey: "k-1" }), call());
  assert.ok(first.ok);
  const id = first.value.order.orderId;
  const dup = await s.placeOrder(limitOrder({ venue: "scripted", idempotencyKey: "k-2" }), call());
  assert.deepEqual(dup, {
    ok: false,
    error: {
      kind: "already_exists",
      reason: "DUPLICATE_CLIENT_ORDER_ID",
      message: `client_order_id "c-1" is already used by order ${id} of account acct-1`,
      metadata: { order_id: id },
    },
  });
  // The idempotency record is gone (evicted) but the order is still in memory.
  s.idempotency.delete("acct-1|k:k-1");
  const same = await s.placeOrder(limitOrder({ venue: "scripted", idempotencyKey: "k-1" }), call());
  assert.deepEqual(same, { ok: true, value: { order: s.orders.get(id), replayed: true } });
  // Same key, other fields: not the same request, so still a duplicate client order id.
  const changed = await s.placeOrder(limitOrder({ venue: "scripted", idempotencyKey: "k-1", quantity: "2" }), call());
  assert.ok(!changed.ok && changed.error.kind === "already_exists" && changed.error.reason === "DUPLICATE_CLIENT_ORDER_ID");
  assert.equal(s.scripted.placed.length, 1);
});

test("shutting down: a new order is refused before the venue, nothing is stored", async () => {
  const ac = new AbortController();
  const s = setup({ signal: ac.signal });
  ac.abort();
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.deepEqual(r, { ok: false, error: { kind: "unavailable", message: "the gateway is shutting down" } });
  assert.equal(s.scripted.placed.length, 0);
  assert.equal(s.idempotency.size, 0);
  assert.equal(s.orders.size, 0);
});

test("the venue call gets the gateway's signal and the call's deadline, and a venue client order id of its kind", async () => {
  const ac = new AbortController();
  const s = setup({ signal: ac.signal });
  const seen: VenueCallContext[] = [];
  const place = s.scripted.placeOrder.bind(s.scripted);
  s.scripted.placeOrder = (o, ctx) => {
    seen.push(ctx);
    return place(o, ctx);
  };
  const c = { ...call(), deadlineMs: 1_700_000_009_000 };
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), c);
  assert.ok(r.ok);
  assert.deepEqual(seen, [{ signal: ac.signal, deadlineMs: 1_700_000_009_000 }]);
  const key = idempotencyScopeKey(marketOrder({ venue: "scripted" }) as OrderSpec);
  assert.equal(s.scripted.placed[0]!.venueClientOrderId, deriveVenueClientOrderId("rest-json", key));
  assert.notEqual(s.scripted.placed[0]!.venueClientOrderId, key);
  // The in-process paper venue uses the scope key itself.
  const p = await s.placeOrder(marketOrder({ clientOrderId: "p-1" }), call());
  assert.ok(p.ok);
  assert.equal(p.value.order.venueClientOrderId, "acct-1|c:p-1");
});

test("unknown outcome and refused answers are audited as order_pending, carrying the idempotency key", async () => {
  for (const next of [
    { ok: false, error: { kind: "unknown_outcome", reason: "timeout" } },
    { ok: true, value: { status: OrderStatus.UNSPECIFIED, venueOrderId: "x", fills: [] } },
  ] as const) {
    const s = setup();
    s.scripted.next.push(next as never);
    const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
    assert.ok(r.ok && r.value.order.status === OrderStatus.PENDING_NEW);
    assert.deepEqual(s.audit.events.map((e) => [e.type, e.requestId, e.order?.orderId]), [
      ["order_received", "req-1", r.value.order.orderId],
      ["order_pending", "req-1", r.value.order.orderId],
    ]);
    assert.deepEqual(s.audit.events[1]!.idempotency, { key: "acct-1|c:c-1", fingerprint: requestFingerprint(r.value.order) });
    assert.equal(s.fills.published.length, 0);
  }
});

test("what onError is told: an adapter that threw, an answer the state machine refused", async () => {
  const s = setup();
  s.scripted.placeOrder = async () => {
    throw new Error("boom");
  };
  const r = await s.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r.ok);
  const t = setup();
  t.scripted.next.push({ ok: true, value: { status: OrderStatus.UNSPECIFIED, venueOrderId: "x", fills: [] } });
  const r2 = await t.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.ok(r2.ok);
  assert.deepEqual(s.errors, [`venue scripted threw on placeOrder for order ${r.value.order.orderId}`]);
  assert.deepEqual(t.errors, [`venue scripted answer for order ${r2.value.order.orderId} not applied: venue reported status UNSPECIFIED for order ${r2.value.order.orderId}`]);
});

test("permission denied names the account", async () => {
  const s = setup();
  const r = await s.placeOrder(marketOrder(), call({ keyId: "k", accounts: new Set(["acct-9"]) }));
  assert.deepEqual(r, { ok: false, error: { kind: "permission_denied", message: "this API key may not trade account acct-1" } });
});

test("fsync: a risk rejection is answered only once its audit record is durable", async () => {
  const s = setup({ risk: { "*": { maxQuantity: "1" } }, audit: "fsync", autoFlush: false });
  let done = false;
  const p = s.placeOrder(marketOrder(), call()).then((r) => {
    done = true;
    return r;
  });
  await waitFor(() => s.audit.pending === 1);
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  s.audit.flush();
  const r = await p;
  assert.ok(!r.ok && r.error.kind === "failed_precondition");
});

test("audit failures: what the client and the guard are told at each step", async () => {
  const disk = new Error("ENOSPC");
  const refused = "audit log unavailable: the gateway accepts no new orders or cancels until it is restarted";
  // The risk rejection cannot be recorded.
  const a = setup({ risk: { "*": { maxQuantity: "1" } } });
  a.audit.failWith(disk);
  assert.deepEqual(await a.placeOrder(marketOrder(), call()), {
    ok: false,
    error: { kind: "unavailable", message: `${refused}; the risk rejection of this request was not recorded` },
  });
  assert.deepEqual(a.failures, ["audit log unavailable: risk rejection of client order c-1 (account acct-1) not recorded"]);
  // The write-ahead record cannot be written: not sent, the order is REJECTED for that reason.
  const b = setup();
  b.audit.failWith(disk);
  const unsent = await b.placeOrder(marketOrder({ venue: "scripted" }), call());
  assert.equal(b.scripted.placed.length, 0);
  assert.match(b.failures[0]!, /^audit log unavailable: order (\S+) not recorded before its venue call; it was not sent$/);
  const orderId = /order (\S+) not recorded/.exec(b.failures[0]!)![1]!;
  // The refusal names the order (issue 18, item 1: the client can look it up after the restart).
  assert.deepEqual(unsent, { ok: false, error: { kind: "unavailable", message: `${refused}; order ${orderId} was not sent` } });
  assert.equal(b.orders.get(orderId)?.status, OrderStatus.REJECTED);
  assert.equal(b.orders.get(orderId)?.rejectReason, "audit log unavailable");
  // It never left, so its client order id is free again (for the client's retry after the restart).
  assert.equal(b.orders.getByClientOrderId("acct-1", "c-1"), undefined);
  // And from now on every new order is refused before anything else, even once the log works again.
  b.audit.failWith(undefined);
  const next = await b.placeOrder(marketOrder({ venue: "scripted", clientOrderId: "c-2" }), call());
  assert.deepEqual(next, { ok: false, error: { kind: "unavailable", message: refused } });
  assert.equal(b.scripted.placed.length, 0);
  assert.equal(b.audit.events.length, 0);
  // The outcome cannot be recorded.
  const c = setup();
  c.audit.failWith(disk);
  const r = await c.placeOrder(marketOrder(), call());
  assert.ok(!r.ok);
  const id = /order (\S+) was not recorded/.exec(r.error.message)?.[1];
  assert.deepEqual(r.error, {
    kind: "unavailable",
    message: `audit log unavailable: the outcome of this order for order ${id} was not recorded; query it with GetOrderStatus or retry with the same key (a retry never sends a second order)`,
  });
  assert.deepEqual(c.failures, [`audit log unavailable: events of order ${id} not recorded`]);
});

test("a venue the router does not know (validator and routing table out of step) is refused, never sent", async () => {
  const s = setup();
  const ghost = createScriptedVenue("ghost");
  const clock = createManualClock();
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(new Map<string, VenueAdapter>([["ghost", ghost]])),
    risk: createRiskCheck({}, () => undefined),
    venues: new Map(),
    idempotency: s.idempotency,
    orders: s.orders,
    audit: s.audit,
    signal: new AbortController().signal,
  });
  const r = await placeOrder(marketOrder({ venue: "ghost" }), call());
  assert.ok(!r.ok && r.error.kind === "invalid_argument");
  assert.equal(ghost.placed.length, 0);
});
