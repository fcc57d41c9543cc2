import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeAuditLine, encodeAuditEvent } from "../../src/adapters/audit/audit-codec.js";
import type { AuditEvent } from "../../src/use-cases/audit-sink.js";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { ANONYMOUS } from "../../src/domain/principal.js";
import { createMemoryIdempotencyStore } from "../../src/adapters/stores/memory-store.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { applyRecoveredState, recoverState, type RecoverOptions } from "../../src/use-cases/recover.js";
import { createPlaceOrder } from "../../src/use-cases/place-order.js";
import { createRiskCheck } from "../../src/use-cases/risk.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import { createOrderValidator } from "../../src/use-cases/validate.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createManualClock, createMemoryAudit, createScriptedVenue, limitOrder, marketOrder } from "./support.js";

/** One gateway "process": everything in memory, its audit events kept by the test. */
function gateway(clock = createManualClock(), prior?: { events: AuditEvent[]; options?: Partial<RecoverOptions> }) {
  const audit = createMemoryAudit("buffered");
  const paper = createPaperVenue({ clock, ids: createCounterIds(`p${Math.random()}`) });
  const scripted = createScriptedVenue();
  const venues = new Map<string, VenueAdapter>([["paper", paper], ["scripted", scripted]]);
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds(`o${Math.random()}-`), audit, fills: createLocalFillSequence() });
  const idempotency = createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 1000 });
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: createRiskCheck({ "*": { maxQuantity: "100" } }, () => undefined),
    venues,
    idempotency,
    orders,
    audit,
    signal: new AbortController().signal,
  });
  return { clock, audit, paper, scripted, orders, idempotency, placeOrder, prior };
}

const opts = (nowMs: number, over: Partial<RecoverOptions> = {}): RecoverOptions => ({
  nowMs,
  idempotencyTtlMs: 60_000,
  idempotencyMaxEntries: 1000,
  orderRetentionMs: 60_000,
  maxTerminalOrders: 1000,
  ...over,
});
const call = { requestId: "r", principal: ANONYMOUS };

test("after a restart, retries are replays, open orders are back, fills continue after the last sequence", async () => {
  const g1 = gateway();
  const filled = await g1.placeOrder(marketOrder({ clientOrderId: "m1" }), call);
  const resting = await g1.placeOrder(limitOrder({ clientOrderId: "l1" }), call);
  const risky = await g1.placeOrder(marketOrder({ clientOrderId: "big", quantity: "101" }), call);
  g1.scripted.next.push({ ok: false, error: { kind: "unknown_outcome", reason: "timeout" } });
  const unknown = await g1.placeOrder(marketOrder({ clientOrderId: "u1", venue: "scripted" }), call);
  g1.scripted.next.push({ ok: false, error: { kind: "unavailable", reason: "down" } });
  await g1.placeOrder(marketOrder({ clientOrderId: "t1", venue: "scripted" }), call);
  assert.ok(filled.ok && resting.ok && !risky.ok && unknown.ok);

  // Through the real codec: what B2's reader gives back after a restart.
  const lines = g1.audit.events.map(encodeAuditEvent);
  const decoded = lines.map((l) => {
    const r = decodeAuditLine(l.trimEnd());
    assert.ok(r.ok, !r.ok ? r.error : "");
    return r.value;
  });
  const state = await recoverState(decoded, opts(g1.clock.nowMs()));
  assert.equal(state.lastFillSequence, 1n);
  assert.equal(state.events, decoded.length);

  const g2 = gateway(createManualClock(g1.clock.nowMs() + 1000));
  applyRecoveredState(state, g2, g2.clock.nowMs());
  const again = await g2.placeOrder(marketOrder({ clientOrderId: "m1" }), call);
  assert.ok(again.ok && again.value.replayed);
  assert.equal(again.value.order.orderId, filled.value.order.orderId);
  assert.equal(again.value.order.status, OrderStatus.FILLED);
  const riskyAgain = await g2.placeOrder(marketOrder({ clientOrderId: "big", quantity: "101" }), call);
  assert.deepEqual(riskyAgain, risky);
  const unknownAgain = await g2.placeOrder(marketOrder({ clientOrderId: "u1", venue: "scripted" }), call);
  assert.ok(unknownAgain.ok && unknownAgain.value.replayed && unknownAgain.value.order.status === OrderStatus.PENDING_NEW);
  assert.equal(g2.scripted.placed.length, 0, "no venue call for recovered keys");
  // The transient failure released its key: a retry really places the order.
  const retried = await g2.placeOrder(marketOrder({ clientOrderId: "t1", venue: "scripted" }), call);
  assert.ok(retried.ok && !retried.value.replayed);
  assert.equal(g2.scripted.placed.length, 1);
  // A reused key with other fields is still refused.
  const reuse = await g2.placeOrder(marketOrder({ clientOrderId: "m1", quantity: "2" }), call);
  assert.ok(!reuse.ok && reuse.error.kind === "already_exists");
  // Open orders are back and can be worked on.
  assert.deepEqual([...g2.orders.openOrders("paper")].map((o) => o.clientOrderId), ["l1"]);
  assert.deepEqual([...g2.orders.openOrders("scripted")].map((o) => o.clientOrderId), ["u1"]);
  assert.equal(g2.orders.getByClientOrderId("acct-1", "l1")?.status, OrderStatus.NEW);
});

test("recovery forgets keys past the TTL and terminal orders past retention, and stays bounded while reading", async () => {
  const g1 = gateway();
  for (let i = 0; i < 5; i++) await g1.placeOrder(marketOrder({ clientOrderId: `m${i}` }), call);
  await g1.placeOrder(marketOrder({ clientOrderId: "s1", type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPrice: "1" }), call);
  const t0 = g1.clock.nowMs();
  const expired = await recoverState(g1.audit.events, opts(t0 + 60_000));
  assert.equal(expired.idempotency.size, 0);
  assert.deepEqual([...expired.orders.values()].map((o) => o.order.clientOrderId), ["s1"], "the working order stays whatever its age");
  const bounded = await recoverState(g1.audit.events, opts(t0, { maxTerminalOrders: 2, idempotencyMaxEntries: 3 }));
  assert.equal(bounded.idempotency.size, 3);
  assert.equal([...bounded.orders.values()].filter((o) => o.order.status === OrderStatus.FILLED).length, 2);
  assert.equal(bounded.lastFillSequence, 5n);
  // Trade ids come back with the orders so a poll cannot double count.
  const any = [...bounded.orders.values()].find((o) => o.order.status === OrderStatus.FILLED)!;
  assert.equal(any.venueTradeIds.length, 1);
});

test("recovery reads async iterables (the audit reader's shape)", async () => {
  const g1 = gateway();
  await g1.placeOrder(marketOrder(), call);
  async function* gen() {
    for (const e of g1.audit.events) yield e;
  }
  const s = await recoverState(gen(), opts(g1.clock.nowMs()));
  assert.equal(s.idempotency.size, 1);
});

test("recovered order records keep no fingerprint copy when the order reproduces it; another version's is kept", async () => {
  const g1 = gateway();
  const placed = await g1.placeOrder(marketOrder({ clientOrderId: "v1" }), call);
  await g1.placeOrder(marketOrder({ clientOrderId: "v0" }), call);
  assert.ok(placed.ok);
  // As if "v0" had been written by a gateway with another fingerprint format.
  const events = g1.audit.events.map((e) =>
    e.idempotency !== undefined && e.idempotency.key === "acct-1|c:v0" ? { ...e, idempotency: { ...e.idempotency, fingerprint: "v0|old" } } : e,
  );
  const state = await recoverState(events, opts(g1.clock.nowMs()));
  const v1 = state.idempotency.get("acct-1|c:v1");
  assert.ok(v1 !== undefined && v1.outcome.ok);
  assert.equal(v1.fingerprint, undefined);
  assert.equal(state.idempotency.get("acct-1|c:v0")?.fingerprint, "v0|old");

  const g2 = gateway(createManualClock(g1.clock.nowMs() + 1000));
  applyRecoveredState(state, g2, g2.clock.nowMs());
  const again = await g2.placeOrder(marketOrder({ clientOrderId: "v1" }), call);
  assert.ok(again.ok && again.value.replayed && again.value.order.orderId === placed.value.order.orderId);
  const other = await g2.placeOrder(marketOrder({ clientOrderId: "v1", quantity: "3" }), call);
  assert.ok(!other.ok && other.error.kind === "already_exists" && other.error.metadata?.["fields"] === "quantity");
  // The old format is never mistaken for these fields: named as a version difference, not replayed.
  const old = await g2.placeOrder(marketOrder({ clientOrderId: "v0" }), call);
  assert.ok(!old.ok && old.error.kind === "already_exists" && /fingerprint version/.test(old.error.message));
});
