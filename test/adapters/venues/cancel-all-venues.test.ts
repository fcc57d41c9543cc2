import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { createNullAuditSink } from "../../../src/adapters/audit/null-sink.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { planCoinbaseMassCancel } from "../../../src/adapters/venues/coinbase/translate.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import { createOrderPipeline } from "../../../src/composition-root.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../src/domain/order.js";
import { ANONYMOUS } from "../../../src/domain/principal.js";
import { systemClock } from "../../../src/domain/ports.js";
import type { CancelResult } from "../../../src/use-cases/cancel-all-orders.js";
import { createFillHub } from "../../../src/use-cases/fill-hub.js";
import type { CallInfo } from "../../../src/use-cases/place-order.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { startFakeVenues, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import type { FakeRequest, FakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";
import { resolveVenues } from "../../helpers/venue-config.js";
import { makeOrder } from "./make-order.js";

/**
 * CancelAllOrders against the fake venues' native mass-cancel endpoints and the one-by-one
 * fallback, through the real adapters (translate, sign, send, parse) and the real pipeline.
 */

const call = (): CallInfo => ({ requestId: "req-cancel-all", principal: ANONYMOUS, deadlineMs: Date.now() + 10_000 });

/** Fresh fake venues and a pipeline over them; `exclusive`: binance, kraken and alpaca get exclusiveKey. */
async function context(exclusive: boolean) {
  const fakes = await startFakeVenues();
  // A generous timeout: a loaded test machine must not turn a placement into an unknown outcome.
  const file = {
    ...fakes.file,
    venues: fakes.file.venues.map((v) => ({ ...v, timeoutMs: 5_000, ...(exclusive && ["binance", "kraken", "alpaca"].includes(v.kind) ? { exclusiveKey: true } : {}) })),
  };
  const venues = createVenues(resolveVenues(file, venueEnv), { clock: systemClock, ids: createCounterIds("p"), metrics: createVenueMetrics(new Registry()) });
  const shutdown = new AbortController();
  const core = createOrderPipeline({ venues, audit: createNullAuditSink(), fills: createFillHub({ retain: 100, subscriberBuffer: 16 }), signal: shutdown.signal, clock: systemClock });
  let n = 0;
  async function place(venue: string, over: { account?: string; side?: Side } = {}): Promise<Order> {
    n++;
    const r = await core.placeOrder(
      {
        clientOrderId: `ca-${venue}-${n}`,
        account: over.account ?? "acct-1",
        venue,
        symbol: "BTC-USD",
        side: over.side ?? Side.BUY,
        type: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC,
        quantity: "1",
        price: "90",
        stopPrice: "",
        idempotencyKey: "",
      },
      call(),
    );
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    assert.equal(r.value.order.status, OrderStatus.NEW);
    return r.value.order;
  }
  return {
    fakes,
    core,
    place,
    fake: (venue: string): FakeVenue => fakes.fakes.get(venue)!,
    close: async () => {
      shutdown.abort();
      await closeVenues(venues);
      await fakes.close();
    },
  };
}

interface VenueEndpoints {
  readonly venue: string;
  /** The native mass-cancel request. */
  readonly native: (r: FakeRequest) => boolean;
  /** A one-order cancel request. */
  readonly single: (r: FakeRequest) => boolean;
  /** The fake's operation name of the native call. */
  readonly nativeOp: "cancelAll" | "cancel";
}

const KEYED: readonly VenueEndpoints[] = [
  { venue: "binance", nativeOp: "cancelAll", native: (r) => r.method === "DELETE" && r.path === "/api/v3/openOrders", single: (r) => r.method === "DELETE" && r.path === "/api/v3/order" },
  { venue: "kraken", nativeOp: "cancelAll", native: (r) => r.path === "/0/private/CancelAll", single: (r) => r.path === "/0/private/CancelOrder" },
  { venue: "alpaca", nativeOp: "cancelAll", native: (r) => r.method === "DELETE" && r.path === "/v2/orders", single: (r) => r.method === "DELETE" && r.path.startsWith("/v2/orders/") },
];
const COINBASE: VenueEndpoints = {
  venue: "coinbase",
  nativeOp: "cancel",
  native: (r) => r.path === "/api/v3/brokerage/orders/batch_cancel" && (JSON.parse(r.rawBody) as { order_ids: string[] }).order_ids.length > 1,
  single: (r) => r.path === "/api/v3/brokerage/orders/batch_cancel" && (JSON.parse(r.rawBody) as { order_ids: string[] }).order_ids.length === 1,
};

const outcomes = (rs: readonly CancelResult[]) => rs.map((r) => r.outcome);
const count = (f: FakeVenue, which: (r: FakeRequest) => boolean) => f.requests.filter(which).length;

for (const v of [...KEYED, COINBASE]) {
  describe(`CancelAllOrders on ${v.venue}`, () => {
    test("native mass cancel: both orders canceled in one call, confirmed through the transition table", async (t) => {
      const c = await context(true);
      t.after(c.close);
      const a = await c.place(v.venue);
      const b = await c.place(v.venue);
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.deepEqual(outcomes(r.value), ["canceled", "canceled"]);
      assert.deepEqual(r.value.map((x) => x.order.orderId), [a.orderId, b.orderId]);
      assert.equal(count(c.fake(v.venue), v.native), 1);
      assert.equal(count(c.fake(v.venue), v.single), 0);
      for (const o of [a, b]) {
        assert.equal(c.core.orders.get(o.orderId)?.status, OrderStatus.CANCELED);
        assert.equal(c.fake(v.venue).engine.orders.get(o.venueClientOrderId)?.state, "canceled");
      }
    });

    test("a fill racing the cancel ends FILLED (ALREADY_TERMINAL); the other order is canceled", async (t) => {
      const c = await context(true);
      t.after(c.close);
      const a = await c.place(v.venue);
      const b = await c.place(v.venue);
      c.fake(v.venue).fill(a.venueClientOrderId, "1", "90");
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.deepEqual(outcomes(r.value), ["already_terminal", "canceled"]);
      assert.equal(r.value[0]!.order.status, OrderStatus.FILLED);
      assert.equal(c.core.orders.get(a.orderId)?.filledQuantity, "1");
      assert.equal(c.core.orders.get(b.orderId)?.status, OrderStatus.CANCELED);
    });

    test("500 after the venue canceled: the outcome is reconciled by a query (CANCELED)", async (t) => {
      const c = await context(true);
      t.after(c.close);
      await c.place(v.venue);
      await c.place(v.venue);
      c.fake(v.venue).failNext(v.nativeOp, "500-after-accept");
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.deepEqual(outcomes(r.value), ["canceled", "canceled"]);
      assert.equal(count(c.fake(v.venue), v.native), 1);
    });

    test("answer dropped after accept and the venue unreachable for the query: PENDING; the next call settles it", async (t) => {
      const c = await context(true);
      t.after(c.close);
      const a = await c.place(v.venue);
      c.fake(v.venue).failNext(v.nativeOp, "drop-after-accept");
      c.fake(v.venue).failNext("query", "503-not-accepted");
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.deepEqual(outcomes(r.value), ["pending"]);
      assert.equal(c.core.orders.get(a.orderId)?.status, OrderStatus.PENDING_CANCEL);
      const again = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(again.ok);
      assert.equal(again.value.length, 1);
      assert.ok(["canceled", "already_terminal"].includes(again.value[0]!.outcome), again.value[0]!.outcome);
      assert.equal(c.core.orders.get(a.orderId)?.status, OrderStatus.CANCELED);
    });

    test("429: FAILED RESOURCE_EXHAUSTED, the orders work on at the venue and in the gateway", async (t) => {
      const c = await context(true);
      t.after(c.close);
      const a = await c.place(v.venue);
      c.fake(v.venue).failNext(v.nativeOp, "429");
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.deepEqual(outcomes(r.value), ["failed"]);
      assert.equal(r.value[0]!.error?.kind, "resource_exhausted");
      assert.equal(c.core.orders.get(a.orderId)?.status, OrderStatus.NEW);
      assert.equal(c.fake(v.venue).engine.orders.get(a.venueClientOrderId)?.state, "new");
    });
  });
}

for (const v of KEYED) {
  describe(`CancelAllOrders on ${v.venue}: one by one where the native call would reach too far`, () => {
    test("a key the gateway does not own (no exclusiveKey): one cancel per order", async (t) => {
      const c = await context(false);
      t.after(c.close);
      await c.place(v.venue);
      await c.place(v.venue);
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.deepEqual(outcomes(r.value), ["canceled", "canceled"]);
      assert.equal(count(c.fake(v.venue), v.native), 0);
      assert.equal(count(c.fake(v.venue), v.single), 2);
    });

    test("another account's open order in reach: one by one, and that order stays open; a 429 there is FAILED RESOURCE_EXHAUSTED", async (t) => {
      const c = await context(true);
      t.after(c.close);
      const mine = await c.place(v.venue);
      const mine2 = await c.place(v.venue);
      const theirs = await c.place(v.venue, { account: "acct-2" });
      c.fake(v.venue).failNext("cancel", "429");
      const r = await c.core.cancelAllOrders({ account: "acct-1", venue: v.venue }, call());
      assert.ok(r.ok);
      assert.equal(count(c.fake(v.venue), v.native), 0);
      assert.deepEqual(r.value.map((x) => x.order.orderId), [mine.orderId, mine2.orderId]);
      // One cancel met the 429; the other went through (PENDING where the venue only accepts a cancel
      // and the confirming query met the back-off the 429 started).
      const failed = r.value.filter((x) => x.outcome === "failed");
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.error?.kind, "resource_exhausted");
      assert.equal(c.core.orders.get(failed[0]!.order.orderId)?.status, OrderStatus.NEW);
      const other = r.value.find((x) => x.outcome !== "failed")!;
      assert.ok(["canceled", "pending"].includes(other.outcome), other.outcome);
      assert.equal(c.fake(v.venue).engine.orders.get(other.order.venueClientOrderId)?.state, "canceled");
      assert.equal(c.core.orders.get(theirs.orderId)?.status, OrderStatus.NEW);
      assert.equal(c.fake(v.venue).engine.orders.get(theirs.venueClientOrderId)?.state, "new");
    });
  });
}

test("coinbase batch_cancel names orders by id: a side filter still uses it, and the other side stays open", async (t) => {
  const c = await context(false);
  t.after(c.close);
  const buy1 = await c.place("coinbase");
  const buy2 = await c.place("coinbase");
  const sell = await c.place("coinbase", { side: Side.SELL });
  const r = await c.core.cancelAllOrders({ account: "acct-1", venue: "coinbase", side: Side.BUY }, call());
  assert.ok(r.ok);
  assert.deepEqual(r.value.map((x) => `${x.order.orderId}:${x.outcome}`), [`${buy1.orderId}:canceled`, `${buy2.orderId}:canceled`]);
  assert.equal(count(c.fake("coinbase"), COINBASE.native), 1);
  assert.equal(c.core.orders.get(sell.orderId)?.status, OrderStatus.NEW);
});

test("coinbase batch_cancel is planned in batches of at most 100 ids; an order without a Coinbase id falls back to one by one", () => {
  const inputs = Array.from({ length: 250 }, (_, i) => ({ order: makeOrder({ orderId: `o${i}`, venueOrderId: `cb-${i}` }), venueSymbol: "BTC-USD" }));
  const plan = planCoinbaseMassCancel(inputs);
  assert.deepEqual(plan?.map((p) => p.covers.length), [100, 100, 50]);
  assert.deepEqual((JSON.parse(plan![2]!.request.body) as { order_ids: string[] }).order_ids.slice(0, 2), ["cb-200", "cb-201"]);
  assert.equal(planCoinbaseMassCancel([{ order: makeOrder({ venueOrderId: "" }), venueSymbol: "BTC-USD" }]), undefined);
});
