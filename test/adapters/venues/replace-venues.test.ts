import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill } from "../../../src/domain/order.js";
import { ANONYMOUS } from "../../../src/domain/principal.js";
import { systemClock } from "../../../src/domain/ports.js";
import { createNullAuditSink } from "../../../src/adapters/audit/null-sink.js";
import { createFillHub } from "../../../src/use-cases/fill-hub.js";
import { createOrderPipeline } from "../../../src/composition-root.js";
import { createVenuePoller } from "../../../src/adapters/venues/reconciler.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import type { ReplaceOrderInput, ReplaceMethodName } from "../../../src/use-cases/replace-order.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { deriveVenueClientOrderId } from "../../../src/use-cases/client-order-id.js";
import { startFakeVenues, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import type { Behaviour, Operation } from "../../helpers/fake-venues/fake-venue-server.js";
import { resolveVenues } from "../../helpers/venue-config.js";

/**
 * ReplaceOrder through the real adapters against the fake venues (signatures checked as the
 * venues document them): each venue's native amend where it has one, cancel-then-new where not,
 * and the faults (drop after accept, 500, 429). Each case uses a fresh set of fakes, so the
 * fake's maxLive counter (most venue orders live at once) covers exactly one order chain.
 */

const call = { requestId: "r", principal: ANONYMOUS };

async function setup() {
  const fakes = await startFakeVenues();
  const metrics = createVenueMetrics(new Registry());
  const venues = createVenues(resolveVenues(fakes.file, venueEnv), { clock: systemClock, ids: createCounterIds("p"), metrics });
  const shutdown = new AbortController();
  const hub = createFillHub({ retain: 100, subscriberBuffer: 16 });
  // Every fill the gateway books, to check that each venue execution is counted once.
  const booked: Fill[] = [];
  const fills = { ...hub, publish: (f: Fill) => (booked.push(f), hub.publish(f)) };
  const core = createOrderPipeline({ venues, audit: createNullAuditSink(), fills, signal: shutdown.signal, clock: systemClock });
  const poller = createVenuePoller({ adapters: venues, sink: core.orders, intervalMs: 60_000, clock: systemClock, giveUpAfterMs: 60_000 });
  return {
    fakes,
    core,
    poller,
    booked,
    async close() {
      await poller.stop();
      shutdown.abort();
      await closeVenues(venues);
      await fakes.close();
    },
  };
}

async function rest(s: Awaited<ReturnType<typeof setup>>, venue: string, clientOrderId: string, over: { quantity?: string; price?: string } = {}) {
  const r = await s.core.placeOrder(
    { clientOrderId, account: "acct-1", venue, symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: over.quantity ?? "2", price: over.price ?? "50", stopPrice: "", idempotencyKey: "" },
    call,
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.order.status, OrderStatus.NEW, venue);
  return r.value.order;
}

function rep(orderId: string, over: Partial<ReplaceOrderInput>): ReplaceOrderInput {
  return { orderId, clientOrderId: "", account: "", newClientOrderId: "n1", quantity: "", price: "", stopPrice: "", ...over };
}

/** The live orders at the fake: [venue client id, quantity, price]. */
function live(s: Awaited<ReturnType<typeof setup>>, venue: string): Array<[string, string, string]> {
  return [...s.fakes.fakes.get(venue)!.engine.orders.values()].filter((o) => o.state === "new" || o.state === "partial").map((o) => [o.clientOrderId, String(Number(o.quantity)), String(Number(o.price))]);
}

interface Case {
  readonly venue: string;
  /** A price (and quantity) change. */
  readonly method: ReplaceMethodName;
  /** The fake operation the replace sends first. */
  readonly firstOp: Operation;
  /** The venue order stays (amend in place) or a new one replaces it. */
  readonly newVenueOrder: boolean;
}

const cases: Case[] = [
  { venue: "kraken", method: "amend", firstOp: "amend", newVenueOrder: false },
  { venue: "binance", method: "amend", firstOp: "amend", newVenueOrder: true },
  { venue: "alpaca", method: "amend", firstOp: "amend", newVenueOrder: true },
  { venue: "coinbase", method: "amend", firstOp: "amend", newVenueOrder: false },
  { venue: "acme", method: "cancel_then_new", firstOp: "cancel", newVenueOrder: true },
];

for (const c of cases) {
  describe(`ReplaceOrder on ${c.venue} (${c.method})`, () => {
    let s: Awaited<ReturnType<typeof setup>>;
    before(async () => {
      s = await setup();
    });
    after(async () => s.close());

    test("price and quantity change: the order keeps its id, the venue holds exactly the new terms, never two live orders", async () => {
      const o = await rest(s, c.venue, `${c.venue}-a`);
      const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: `${c.venue}-b`, quantity: "3", price: "51" }), call);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value.method, c.method);
      assert.equal(r.value.order.clientOrderId, `${c.venue}-b`, JSON.stringify(r.value));
      assert.equal(r.value.order.status, OrderStatus.NEW);
      const l = live(s, c.venue);
      assert.equal(l.length, 1);
      assert.deepEqual(l[0]!.slice(1), ["3", "51"]);
      assert.equal(l[0]![0] === o.venueClientOrderId, !c.newVenueOrder);
      assert.equal(r.value.order.venueClientOrderId, l[0]![0]);
      assert.equal(s.fakes.fakes.get(c.venue)!.engine.maxLive, 1);
    });
  });

  for (const fault of ["drop-after-accept", "500-after-accept", "429"] as const) {
    test(`${c.venue}: ${fault} on the ${c.firstOp} -> answered, and the retry (or the poller) ends with one live venue order with the new terms`, async () => {
      const s = await setup();
      try {
        const o = await rest(s, c.venue, "f-a");
        const fake = s.fakes.fakes.get(c.venue)!;
        fake.failNext(c.firstOp, fault as Behaviour);
        const input = rep(o.orderId, { newClientOrderId: "f-b", price: "52" });
        const r = await s.core.replaceOrder(input, call);
        if (fault === "429") {
          assert.ok(!r.ok && r.error.kind === "resource_exhausted", JSON.stringify(r));
          assert.equal(s.core.orders.get(o.orderId)?.status, OrderStatus.NEW);
          assert.deepEqual(live(s, c.venue).map((x) => x.slice(1)), [["2", "50"]]);
          // The venue backs the adapter off after its 429; the key is free for a later retry.
        } else {
          assert.ok(r.ok, JSON.stringify(r));
          assert.equal(r.value.order.status, OrderStatus.PENDING_REPLACE);
          // drop: the client's retry settles it; 500: the venue poller does, and the retry replays.
          if (fault === "500-after-accept") await s.poller.pollOnce();
          const retry = await s.core.replaceOrder(input, call);
          assert.ok(retry.ok, JSON.stringify(retry));
          assert.equal(retry.value.order.status, OrderStatus.NEW);
          assert.equal(retry.value.order.price, "52");
          assert.deepEqual(live(s, c.venue).map((x) => x.slice(1)), [["2", "52"]]);
        }
        assert.ok(fake.engine.maxLive <= 1, `maxLive ${fake.engine.maxLive}`);
      } finally {
        await s.close();
      }
    });
  }
}

describe("Binance specifics", () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup();
  });
  after(async () => s.close());
  const fake = () => s.fakes.fakes.get("binance")!;

  test("a quantity decrease alone uses amend/keepPriority: same venue order and client id, queue kept", async () => {
    const o = await rest(s, "binance", "k-a", { quantity: "5" });
    const before = fake().requests.length;
    const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: "k-b", quantity: "3" }), call);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.method, "amend");
    assert.deepEqual(fake().requests.slice(before).map((q) => `${q.method} ${q.path}`), ["PUT /api/v3/order/amend/keepPriority"]);
    assert.equal(r.value.order.venueClientOrderId, o.venueClientOrderId);
    assert.equal(r.value.order.venueOrderId, o.venueOrderId);
    assert.deepEqual(live(s, "binance").find((x) => x[0] === o.venueClientOrderId)?.slice(1), ["3", "50"]);
  });

  test("cancelReplace on a partly filled order: the new order carries the remainder; the fills stay counted", async () => {
    const o = await rest(s, "binance", "p-a", { quantity: "5" });
    fake().fill(o.venueClientOrderId, "2", "50");
    await s.poller.pollOnce();
    assert.equal(s.core.orders.get(o.orderId)?.filledQuantity, "2");
    const before = fake().requests.length;
    const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: "p-b", quantity: "6", price: "49" }), call);
    assert.ok(r.ok, JSON.stringify(r));
    const sent = fake().requests.slice(before).find((q) => q.path === "/api/v3/order/cancelReplace")!;
    assert.equal(sent.query.get("quantity"), "4");
    assert.equal(sent.query.get("cancelReplaceMode"), "STOP_ON_FAILURE");
    assert.equal(sent.query.get("newClientOrderId"), r.value.order.venueClientOrderId);
    assert.equal(r.value.order.filledQuantity, "2");
    assert.equal(r.value.order.quantity, "6");
    assert.equal(r.value.order.status, OrderStatus.PARTIALLY_FILLED);

    // The new venue order's fills add to the chain's (its own totals start at 0 at the venue).
    const newVcid = r.value.order.venueClientOrderId;
    fake().fill(newVcid, "1", "49");
    await s.poller.pollOnce();
    assert.equal(s.core.orders.get(o.orderId)?.filledQuantity, "3");
    // A decrease of the chain's total to 5 is the venue order's 4 -> 3: keepPriority, newQty 3.
    const before2 = fake().requests.length;
    const d = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: "p-c", quantity: "5" }), call);
    assert.ok(d.ok, JSON.stringify(d));
    const kp = fake().requests.slice(before2).find((q) => q.path === "/api/v3/order/amend/keepPriority")!;
    assert.equal(kp.query.get("newQty"), "3");
    fake().fill(newVcid, "2", "49");
    await s.poller.pollOnce();
    const done = s.core.orders.get(o.orderId)!;
    assert.equal(done.status, OrderStatus.FILLED);
    assert.equal(done.filledQuantity, "5");
    assert.deepEqual(done.replacedClientOrderIds, ["p-a", "p-b"]);
    // Booked as the venue executed them: 2 on the first venue order, 1 + 2 on the second.
    assert.deepEqual(s.booked.filter((f) => f.orderId === o.orderId).map((f) => f.quantity), ["2", "1", "2"]);
  });

  test("race with a fill: cancelReplace finds the order filled -> REPLACE_REJECTED, the order FILLED, nothing new at the venue", async () => {
    const o = await rest(s, "binance", "r-a");
    fake().fill(o.venueClientOrderId, "2", "50");
    const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: "r-b", price: "49" }), call);
    assert.ok(!r.ok && r.error.kind === "failed_precondition" && r.error.reason === "REPLACE_REJECTED", JSON.stringify(r));
    assert.match(r.error.message, /FILLED/);
    assert.equal(s.core.orders.get(o.orderId)?.status, OrderStatus.FILLED);
    assert.equal(fake().engine.orders.has(deriveVenueClientOrderId("binance", "acct-1|r:r-b")), false, "no new venue order");
  });

  test("cancelReplace whose new order fails after the cancel (HTTP 409): nothing live, the order CANCELED, answered so", async () => {
    const o = await rest(s, "binance", "x-a");
    fake().failNext("amend", "reject");
    const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: "x-b", price: "49" }), call);
    assert.ok(!r.ok && r.error.kind === "failed_precondition" && r.error.reason === "REPLACE_REJECTED", JSON.stringify(r));
    assert.match(r.error.message, /CANCELED/);
    assert.equal(s.core.orders.get(o.orderId)?.status, OrderStatus.CANCELED);
  });
});

test("Alpaca and Coinbase: a partly filled order is replaced by cancel-then-new (their amend's quantity meaning is not documented for it)", async () => {
  const s = await setup();
  try {
    for (const venue of ["alpaca", "coinbase"]) {
      const o = await rest(s, venue, `pf-${venue}`, { quantity: "5" });
      s.fakes.fakes.get(venue)!.fill(o.venueClientOrderId, "2", "50");
      await s.poller.pollOnce();
      assert.equal(s.core.orders.get(o.orderId)?.filledQuantity, "2", venue);
      const r = await s.core.replaceOrder(rep(o.orderId, { newClientOrderId: `pf2-${venue}`, quantity: "6", price: "49" }), call);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value.method, "cancel_then_new", venue);
      // The new venue order carries the remainder only: 6 - 2.
      assert.deepEqual(live(s, venue).map((x) => x.slice(1)), [["4", "49"]], venue);
      assert.equal(r.value.order.filledQuantity, "2");
      assert.equal(s.fakes.fakes.get(venue)!.engine.maxLive, 1, venue);
    }
  } finally {
    await s.close();
  }
});
