import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Decimal } from "decimal.js";
import { Registry } from "prom-client";
import type { VenuesFile } from "../../../src/config/venues-file.js";
import type { Order } from "../../../src/domain/order.js";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../src/domain/order.js";
import type { OrderUpdateSink, VenueAdapter, VenueFill, VenueOrderUpdate } from "../../../src/use-cases/venue-adapter.js";
import { deriveVenueClientOrderId } from "../../../src/use-cases/client-order-id.js";
import { createVenuePoller } from "../../../src/adapters/venues/reconciler.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import type { FakeVenues, VenueCase } from "../../helpers/fake-venues/contract-venues.js";
import { contractFixturePath, startFakeVenues, venueCases, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import type { FakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";
import { MARKET_PRICE } from "../../helpers/fake-venues/fake-venue-server.js";
import { resolveVenues } from "../../helpers/venue-config.js";

/**
 * ONE contract, every adapter: each venue (the four built-ins and `acme`, a
 * rest-json venue that exists only in the test venue file) is driven through
 * the same cases against its fake venue server on loopback.
 */

const env = venueEnv;
const cases = venueCases;
const fixturePath = contractFixturePath;
type Case = VenueCase;
let fakes: ReadonlyMap<string, FakeVenue>;
let file: VenuesFile;
let started: FakeVenues;

before(async () => {
  started = await startFakeVenues();
  fakes = started.fakes;
  file = started.file;
});

after(async () => {
  await started.close();
});

const clock = { nowMs: () => Date.now() };
let seq = 0;

/** Fresh adapters per test: back-off and health state must not leak between cases. */
function build(t: { after: (fn: () => Promise<void>) => void }, overrides: Record<string, string> = {}) {
  const health: Array<[string, boolean]> = [];
  const registry = new Registry();
  const metrics = createVenueMetrics(registry);
  const venues = createVenues(resolveVenues(file, { ...env, ...overrides }), {
    clock,
    ids: { next: () => `id-${++seq}` },
    metrics,
    onHealth: (v, s) => health.push([v, s]),
  });
  t.after(() => closeVenues(venues));
  return { venues, health, registry, metrics };
}

function makeOrder(c: Case, over: Partial<Order> = {}): Order {
  const n = ++seq;
  const key = `contract-${n}-${randomBytes(4).toString("hex")}`;
  return {
    clientOrderId: `cli-${n}`,
    account: "acc-1",
    venue: c.venue,
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1.5",
    price: "25000.5",
    stopPrice: "",
    idempotencyKey: key,
    orderId: `ord-${n}`,
    venueClientOrderId: deriveVenueClientOrderId(c.kind, key),
    venueOrderId: "",
    status: OrderStatus.PENDING_NEW,
    filledQuantity: "0",
    averageFillPrice: "",
    rejectReason: "",
    createdAtMs: Date.now(),
    updatedAtMs: Date.now(),
    ...over,
  };
}

const ctx = () => ({ signal: new AbortController().signal });

function memorySink(orders: Order[]): OrderUpdateSink & { updates: Array<{ orderId: string; update: VenueOrderUpdate; source: string }> } {
  const updates: Array<{ orderId: string; update: VenueOrderUpdate; source: string }> = [];
  return {
    updates,
    openOrders: (venue) => orders.filter((o) => o.venue === venue),
    async applyVenueUpdate(orderId, update, source) {
      updates.push({ orderId, update, source });
    },
  };
}

function adapterOf(venues: ReadonlyMap<string, VenueAdapter>, c: Case): VenueAdapter {
  const a = venues.get(c.venue);
  assert.ok(a, `venue ${c.venue} configured`);
  return a;
}

for (const c of cases) {
  describe(`venue contract: ${c.venue}`, () => {
    test("happy path: place, query, cancel; the venue sees exactly one order with the mapped fields", async (t) => {
      const { venues, health } = build(t);
      const adapter = adapterOf(venues, c);
      const fake = fakes.get(c.venue)!;
      assert.equal(adapter.kind, c.kind);
      assert.equal(adapter.checkSymbol("BTC-USD"), undefined);
      const order = makeOrder(c);
      const placed = await adapter.placeOrder(order, ctx());
      assert.ok(placed.ok, JSON.stringify(placed));
      assert.equal(placed.value.status, OrderStatus.NEW);
      const venueOrder = fake.engine.orders.get(order.venueClientOrderId);
      assert.ok(venueOrder, "the venue holds the order under the derived client order id");
      assert.equal(placed.value.venueOrderId, c.venue === "binance" ? venueOrder.venueOrderId.split("-").pop() : venueOrder.venueOrderId);
      assert.equal(venueOrder.symbol, c.venueSymbol);
      assert.equal(venueOrder.side, "BUY");
      assert.equal(venueOrder.quantity, "1.5");
      assert.equal(venueOrder.price, "25000.5");
      assert.equal(fake.engine.placeAttempts.get(order.venueClientOrderId), 1);

      const known = { ...order, venueOrderId: placed.value.venueOrderId, status: placed.value.status };
      const q = await adapter.queryOrder(known, ctx());
      assert.ok(q.ok, JSON.stringify(q));
      assert.equal(q.value.status, OrderStatus.NEW);
      assert.equal(q.value.venueOrderId, placed.value.venueOrderId);

      const cancelled = await adapter.cancelOrder(known, ctx());
      assert.ok(cancelled.ok, JSON.stringify(cancelled));
      assert.ok([OrderStatus.CANCELED, OrderStatus.PENDING_CANCEL].includes(cancelled.value.status));
      assert.equal(venueOrder.state, "canceled");
      assert.deepEqual(health.filter(([v]) => v === c.venue), [[c.venue, true]], "reported serving once, never down");
    });

    test("cancel before the venue id is known finds the order by client order id", async (t) => {
      const { venues } = build(t);
      const adapter = adapterOf(venues, c);
      const order = makeOrder(c);
      assert.ok((await adapter.placeOrder(order, ctx())).ok);
      const cancelled = await adapter.cancelOrder(order, ctx());
      assert.ok(cancelled.ok, JSON.stringify(cancelled));
      assert.equal(fakes.get(c.venue)!.engine.orders.get(order.venueClientOrderId)!.state, "canceled");
    });

    test("fills: executions are reported once each (by venue trade id) and add up", async (t) => {
      const { venues } = build(t);
      const adapter = adapterOf(venues, c);
      const fake = fakes.get(c.venue)!;
      const order = makeOrder(c, { quantity: "1" });
      const placed = await adapter.placeOrder(order, ctx());
      assert.ok(placed.ok);
      const seen = new Map<string, VenueFill>();
      let current: Order = { ...order, venueOrderId: placed.value.venueOrderId, status: placed.value.status };
      const apply = (u: VenueOrderUpdate) => {
        for (const f of u.fills) seen.set(f.venueTradeId, f);
        current = { ...current, status: u.status, filledQuantity: u.filledQuantity ?? current.filledQuantity, averageFillPrice: u.averageFillPrice ?? current.averageFillPrice };
      };
      fake.fill(order.venueClientOrderId, "0.4", "101");
      const q1 = await adapter.queryOrder(current, ctx());
      assert.ok(q1.ok, JSON.stringify(q1));
      assert.equal(q1.value.status, OrderStatus.PARTIALLY_FILLED);
      assert.equal(q1.value.filledQuantity, "0.4");
      apply(q1.value);
      // Asking again with nothing new must not produce a new execution.
      const q1b = await adapter.queryOrder(current, ctx());
      assert.ok(q1b.ok);
      apply(q1b.value);
      assert.equal(seen.size, 1);
      fake.fill(order.venueClientOrderId, "0.6", "102");
      const q2 = await adapter.queryOrder(current, ctx());
      assert.ok(q2.ok);
      assert.equal(q2.value.status, OrderStatus.FILLED);
      apply(q2.value);
      const fills = [...seen.values()];
      assert.equal(fills.reduce((s, f) => s.plus(f.quantity), new Decimal(0)).toFixed(), "1");
      assert.deepEqual(fills.map((f) => f.price).sort(), ["101", "102"]);
    });

    test("market order: the immediate execution is reported", async (t) => {
      const { venues } = build(t);
      const adapter = adapterOf(venues, c);
      const order = makeOrder(c, { type: OrderType.MARKET, timeInForce: TimeInForce.GTC, price: "", quantity: "2" });
      const placed = await adapter.placeOrder(order, ctx());
      assert.ok(placed.ok, JSON.stringify(placed));
      const q = await adapter.queryOrder({ ...order, venueOrderId: placed.value.venueOrderId }, ctx());
      assert.ok(q.ok, JSON.stringify(q));
      assert.equal(q.value.status, OrderStatus.FILLED);
      assert.equal(q.value.filledQuantity, "2");
      assert.equal(q.value.averageFillPrice, MARKET_PRICE);
    });

    test("rejection: a documented venue refusal is `rejected` with the venue's reason", async (t) => {
      const { venues } = build(t);
      const fake = fakes.get(c.venue)!;
      fake.failNext("place", "reject");
      const r = await adapterOf(venues, c).placeOrder(makeOrder(c), ctx());
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "rejected");
      assert.match(r.error.reason, /insufficient/i);
    });

    test("rate limit: rate_limited with a retry delay, then fail fast without calling the venue", async (t) => {
      const { venues, health } = build(t);
      const adapter = adapterOf(venues, c);
      const fake = fakes.get(c.venue)!;
      fake.failNext("place", "429");
      const r = await adapter.placeOrder(makeOrder(c), ctx());
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "rate_limited");
      assert.ok(r.error.kind === "rate_limited" && r.error.retryAfterMs > 0);
      const before = fake.requests.length;
      const r2 = await adapter.placeOrder(makeOrder(c), ctx());
      assert.ok(!r2.ok);
      assert.equal(r2.error.kind, "rate_limited");
      assert.equal(fake.requests.length, before, "no request while backing off");
      if (c.http429) assert.ok(health.some(([v, s]) => v === c.venue && !s), "venue reported not serving");
    });

    test("wrong credentials: auth, never a rejection", async (t) => {
      const { venues } = build(t, { ...c.wrongCredentials });
      const before = fakes.get(c.venue)!.engine.orders.size;
      const r = await adapterOf(venues, c).placeOrder(makeOrder(c), ctx());
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "auth");
      assert.equal(fakes.get(c.venue)!.engine.orders.size, before, "the venue placed nothing");
      for (const secret of Object.values(c.wrongCredentials)) assert.ok(!JSON.stringify(r.error).includes(secret), "no secret in the error");
    });

    test("missing credentials stop the configuration with the variable's name", () => {
      const name = c.credentialVar;
      const partial = { ...env };
      delete partial[name];
      assert.throws(
        () => createVenues(resolveVenues(file, partial), { clock, ids: { next: () => "x" }, registry: new Registry() }),
        (e: Error) => e.message.includes(name) && e.message.includes(fixturePath),
      );
    });

    test("unknown venue status is a protocol error, never passed through", async (t) => {
      const { venues } = build(t);
      const adapter = adapterOf(venues, c);
      const order = makeOrder(c);
      const placed = await adapter.placeOrder(order, ctx());
      assert.ok(placed.ok);
      fakes.get(c.venue)!.failNext("query", "unknown-status");
      const q = await adapter.queryOrder({ ...order, venueOrderId: placed.value.venueOrderId }, ctx());
      assert.ok(!q.ok);
      assert.equal(q.error.kind, "protocol");
      assert.match(q.error.reason, /unknown venue order status/);
    });

    test("query of an order the venue never got: not_found", async (t) => {
      const { venues } = build(t);
      const q = await adapterOf(venues, c).queryOrder(makeOrder(c), ctx());
      assert.ok(!q.ok);
      assert.equal(q.error.kind, "not_found");
    });

    for (const behaviour of ["slow-after-accept", "drop-after-accept", "500-after-accept"] as const) {
      test(`${behaviour}: unknown_outcome, then reconciliation finds the one venue order`, async (t) => {
        const { venues, registry, metrics } = build(t);
        const adapter = adapterOf(venues, c);
        const fake = fakes.get(c.venue)!;
        const order = makeOrder(c);
        fake.failNext("place", behaviour);
        const r = await adapter.placeOrder(order, ctx());
        assert.ok(!r.ok);
        assert.equal(r.error.kind, "unknown_outcome");
        const sink = memorySink([order]);
        const poller = createVenuePoller({ adapters: venues, sink, intervalMs: 1000, clock, metrics });
        await poller.pollOnce();
        await poller.stop();
        assert.equal(sink.updates.length, 1);
        assert.equal(sink.updates[0]!.source, "reconcile");
        assert.equal(sink.updates[0]!.update.status, OrderStatus.NEW);
        const venueOrder = fake.engine.orders.get(order.venueClientOrderId)!;
        assert.ok(venueOrder.venueOrderId.endsWith(sink.updates[0]!.update.venueOrderId));
        assert.equal(fake.engine.placeAttempts.get(order.venueClientOrderId), 1, "exactly one venue order per client order id");
        const text = await registry.metrics();
        assert.match(text, new RegExp(`venue_requests_total\\{venue="${c.venue}",operation="place",outcome="unknown_outcome"\\} 1`));
        assert.match(text, new RegExp(`venue_reconciliations_total\\{venue="${c.venue}",outcome="resolved"\\} 1`));
      });
    }

    test("deadline already past: unavailable and nothing sent", async (t) => {
      const { venues } = build(t);
      const fake = fakes.get(c.venue)!;
      const before = fake.requests.length;
      const r = await adapterOf(venues, c).placeOrder(makeOrder(c), { signal: new AbortController().signal, deadlineMs: Date.now() - 1 });
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "unavailable");
      assert.equal(fake.requests.length, before);
    });
  });
}

test("binance 418: back off for Retry-After (120 s) and report the venue down", async (t) => {
  const { venues, health } = build(t);
  const fake = fakes.get("binance")!;
  fake.failNext("place", "418");
  const c = cases[0]!;
  const r = await adapterOf(venues, c).placeOrder(makeOrder(c), ctx());
  assert.ok(!r.ok && r.error.kind === "rate_limited");
  assert.equal(r.error.retryAfterMs, 120_000);
  const r2 = await adapterOf(venues, c).queryOrder(makeOrder(c), ctx());
  assert.ok(!r2.ok && r2.error.kind === "rate_limited" && r2.error.retryAfterMs > 100_000);
  assert.deepEqual(health.filter(([v]) => v === "binance").map(([, s]) => s), [true, false]);
});
