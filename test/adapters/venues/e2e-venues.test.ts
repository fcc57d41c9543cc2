import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Registry } from "prom-client";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createNullAuditSink } from "../../../src/adapters/audit/null-sink.js";
import { createFillHub } from "../../../src/use-cases/fill-hub.js";
import { systemClock } from "../../../src/domain/ports.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { createOrderPipeline } from "../../../src/composition-root.js";
import { createVenuePoller, type VenuePoller } from "../../../src/adapters/venues/reconciler.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import type { FakeVenues } from "../../helpers/fake-venues/contract-venues.js";
import { startFakeVenues, venueCases, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import { fakeCommission } from "../../helpers/fake-venues/binance.js";
import { MARKET_PRICE } from "../../helpers/fake-venues/fake-venue-server.js";
import { startServer, type StartedServer } from "../../helpers/start-server.js";
import { resolveVenues } from "../../helpers/venue-config.js";

/**
 * gRPC (HTTP/2, real socket) -> gateway (real pipeline and order manager)
 * -> venue adapter -> fake venue on loopback, for every venue kind.
 */

let fakes: FakeVenues;
let server: StartedServer;
let client: Client<typeof TradingGateway>;
let poller: VenuePoller;
let venues: ReturnType<typeof createVenues>;
let core: ReturnType<typeof createOrderPipeline>;
const shutdown = new AbortController();

before(async () => {
  fakes = await startFakeVenues();
  const metrics = createVenueMetrics(new Registry());
  venues = createVenues(resolveVenues(fakes.file, venueEnv), { clock: systemClock, ids: createCounterIds("p"), metrics });
  core = createOrderPipeline({
    venues,
    audit: createNullAuditSink(),
    fills: createFillHub({ retain: 1000, subscriberBuffer: 64 }),
    signal: shutdown.signal,
    clock: systemClock,
  });
  // Driven by pollOnce() below; the timer is never started, so nothing races the assertions.
  poller = createVenuePoller({ adapters: venues, sink: core.orders, intervalMs: 60_000, clock: systemClock, metrics });
  server = await startServer({ trading: core.service });
  client = createClient(TradingGateway, createGrpcTransport({ baseUrl: server.baseUrl }));
});

after(async () => {
  shutdown.abort();
  await poller.stop();
  await server.close();
  await closeVenues(venues);
  await fakes.close();
});

let n = 0;
function request(venue: string, over: Record<string, unknown> = {}) {
  n++;
  return {
    clientOrderId: `e2e-${venue}-${n}`,
    account: "acct-1",
    venue,
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "100",
    idempotencyKey: `idem-${venue}-${n}`,
    ...over,
  };
}

/** The one venue order a gateway order became, found by the fake's record of place attempts. */
function attemptsFor(venue: string, venueClientOrderId: string): number {
  return fakes.fakes.get(venue)!.engine.placeAttempts.get(venueClientOrderId) ?? 0;
}

for (const c of venueCases) {
  describe(`e2e gRPC -> gateway -> ${c.venue}`, () => {
    test("retries of one idempotency key make exactly one venue order", async () => {
      const req = request(c.venue);
      const first = await client.placeOrder(req);
      assert.equal(first.order?.status, OrderStatus.NEW);
      assert.notEqual(first.order?.venueOrderId, "");
      const again = await client.placeOrder(req);
      assert.equal(again.replayed, true);
      assert.equal(again.order?.orderId, first.order?.orderId);
      const fake = fakes.fakes.get(c.venue)!;
      const placed = [...fake.engine.orders.values()].filter((o) => o.venueOrderId.endsWith(first.order!.venueOrderId));
      assert.equal(placed.length, 1);
      assert.equal(fake.engine.placeAttempts.get(placed[0]!.clientOrderId), 1);
    });

    test("timeout after the venue accepted: PENDING_NEW, retry does not resend, reconciliation settles it, fills stream once each", async () => {
      const fake = fakes.fakes.get(c.venue)!;
      fake.failNext("place", "slow-after-accept");
      const req = request(c.venue);
      const first = await client.placeOrder(req);
      assert.equal(first.order?.status, OrderStatus.PENDING_NEW);
      const orderId = first.order!.orderId;
      // The venue accepted it (the answer never came): the newest order at the fake.
      const venueOrder = [...fake.engine.orders.values()].at(-1);
      assert.ok(venueOrder && venueOrder.state === "new" && venueOrder.quantity === "1", "the fake venue accepted the order");
      const retry = await client.placeOrder(req);
      assert.equal(retry.order?.orderId, orderId);
      assert.equal(attemptsFor(c.venue, venueOrder.clientOrderId), 1, "never sent twice");

      await poller.pollOnce();
      const settled = await client.getOrderStatus({ orderId, account: "acct-1" });
      assert.equal(settled.order?.status, OrderStatus.NEW);
      assert.ok(venueOrder.venueOrderId.endsWith(settled.order!.venueOrderId));

      // Executions at the venue reach StreamFills exactly once each.
      const stream = new AbortController();
      const received: Array<{ qty: string; price: string; seq: bigint }> = [];
      const done = (async () => {
        try {
          for await (const m of client.streamFills({ account: "acct-1", venue: c.venue }, { signal: stream.signal })) {
            if (m.fill?.orderId === orderId) received.push({ qty: m.fill.quantity, price: m.fill.price, seq: m.fill.sequence });
          }
        } catch {
          // aborted
        }
      })();
      fake.fill(venueOrder.clientOrderId, "0.4", "101");
      await poller.pollOnce();
      await poller.pollOnce(); // nothing new: must not repeat the fill
      fake.fill(venueOrder.clientOrderId, "0.6", "102");
      await poller.pollOnce();
      await poller.pollOnce();
      const deadline = Date.now() + 5000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const final = await client.getOrderStatus({ orderId, account: "acct-1" });
      stream.abort();
      await done;
      assert.deepEqual(received.map((f) => [f.qty, f.price]), [["0.4", "101"], ["0.6", "102"]]);
      assert.ok(received[0]!.seq < received[1]!.seq);
      assert.equal(final.order?.status, OrderStatus.FILLED);
      assert.equal(final.order?.filledQuantity, "1");
      assert.equal(final.order?.averageFillPrice, "101.6");
    });

    test("a venue rejection is answered as REJECTED with the venue's reason", async () => {
      fakes.fakes.get(c.venue)!.failNext("place", "reject");
      const res = await client.placeOrder(request(c.venue));
      assert.equal(res.order?.status, OrderStatus.REJECTED);
      assert.match(res.order?.rejectReason ?? "", /insufficient/i);
    });
  });
}


test("e2e: an unknown outcome the venue never saw is settled REJECTED after the give-up delay, never re-sent", async () => {
  const fake = fakes.fakes.get("binance")!;
  const ordersBefore = fake.engine.orders.size;
  fake.failNext("place", "503-not-accepted");
  const res = await client.placeOrder(request("binance"));
  assert.equal(res.order?.status, OrderStatus.PENDING_NEW);
  // A poller with no grace: the venue's "not found" is final at once.
  const impatient = createVenuePoller({ adapters: venues, sink: core.orders, intervalMs: 60_000, clock: systemClock, giveUpAfterMs: 0 });
  await impatient.pollOnce();
  await impatient.stop();
  const settled = await client.getOrderStatus({ orderId: res.order!.orderId, account: "acct-1" });
  assert.equal(settled.order?.status, OrderStatus.REJECTED);
  assert.match(settled.order?.rejectReason ?? "", /no record of the order/);
  assert.equal(fake.engine.orders.size, ordersBefore, "nothing was placed, nothing re-sent");
});

test("e2e binance: fills keep the venue's commissions (FULL answer at placement, myTrades when polled); a failed trade list falls back to totals, counted once", async () => {
  const fake = fakes.fakes.get("binance")!;
  const tradeCalls = () => fake.requests.filter((r) => r.path === "/api/v3/myTrades").length;
  const callsBefore = tradeCalls();
  const mine = new Set<string>();
  const received: Array<{ orderId: string; qty: string; price: string; fee: string; feeCurrency: string }> = [];
  const stream = new AbortController();
  const done = (async () => {
    try {
      for await (const m of client.streamFills({ account: "acct-1", venue: "binance" }, { signal: stream.signal })) {
        const f = m.fill!;
        received.push({ orderId: f.orderId, qty: f.quantity, price: f.price, fee: f.fee, feeCurrency: f.feeCurrency });
      }
    } catch {
      // aborted
    }
  })();

  const market = await client.placeOrder(request("binance", { type: OrderType.MARKET, timeInForce: TimeInForce.IOC, price: "" }));
  assert.equal(market.order?.status, OrderStatus.FILLED);
  mine.add(market.order!.orderId);
  const limit = await client.placeOrder(request("binance"));
  assert.equal(limit.order?.status, OrderStatus.NEW);
  mine.add(limit.order!.orderId);
  const venueOrder = [...fake.engine.orders.values()].at(-1)!;
  fake.fill(venueOrder.clientOrderId, "0.25", "99");
  await poller.pollOnce();
  fake.failNext("trades", "503-not-accepted");
  fake.fill(venueOrder.clientOrderId, "0.75", "98");
  await poller.pollOnce();
  await poller.pollOnce(); // nothing new: no trade list fetched, no fill repeated

  const deadline = Date.now() + 5000;
  const ours = () => received.filter((f) => mine.has(f.orderId));
  while (ours().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const final = await client.getOrderStatus({ orderId: limit.order!.orderId });
  stream.abort();
  await done;
  assert.deepEqual(
    ours().map((f) => [f.orderId, f.qty, f.price, f.fee, f.feeCurrency]),
    [
      [market.order!.orderId, "1", MARKET_PRICE, "0.1", "USDT"], // from the FULL answer's fills[]
      [limit.order!.orderId, "0.25", "99", "0.02475", "USDT"], // from myTrades
      [limit.order!.orderId, "0.75", "98", "0", ""], // myTrades failed: synthesized from totals
    ],
  );
  assert.equal(fakeCommission("0.25", "99"), "0.02475000");
  assert.equal(tradeCalls() - callsBefore, 2, "trades fetched only when the filled quantity grew");
  assert.equal(final.order?.status, OrderStatus.FILLED);
  assert.equal(final.order?.filledQuantity, "1");
});
