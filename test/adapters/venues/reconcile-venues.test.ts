import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createRpcMetrics } from "../../../src/adapters/metrics/metrics.js";
import type { PaperVenue } from "../../../src/adapters/venues/paper/paper-venue.js";
import { createGateway, type Gateway } from "../../../src/composition-root.js";
import { createHealthRegistry } from "../../../src/server/health.js";
import { createMetricsServer } from "../../../src/server/metrics-server.js";
import type { FakeVenues } from "../../helpers/fake-venues/contract-venues.js";
import { contractFixturePath, startFakeVenues, venueCases, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import { MARKET_PRICE } from "../../helpers/fake-venues/fake-venue-server.js";
import { gatewayConfig } from "../../helpers/gateway-config.js";
import { createLogCapture } from "../../helpers/log-capture.js";
import { startServer, type StartedServer } from "../../helpers/start-server.js";

/**
 * Reconciliation end to end: the real composition root (audit log on disk, recovery, order
 * manager, reconciler) against the fake venues' open-order listings, which check signatures as
 * the venues document them. The per-order poller is slowed to its maximum interval so that
 * every correction seen here is reconciliation's, and passes are driven by reconcileOnce().
 */

/** The venue's own spelling of a resting limit order's type, for orders placed "outside the gateway". */
const LIMIT_TYPE: Readonly<Record<string, string>> = { binance: "LIMIT", kraken: "limit", alpaca: "limit", coinbase: "limit_limit_gtc" };
const VENUES = venueCases.filter((c) => c.kind !== "rest-json");

let fakes: FakeVenues;
let dir: string;
let venuesFile: string;

interface Booted {
  readonly core: Gateway;
  readonly srv: StartedServer;
  readonly client: Client<typeof TradingGateway>;
  readonly scrape: () => Promise<string>;
  close(): Promise<void>;
}

async function boot(): Promise<Booted> {
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig(
      { auditMode: "fsync", auditFile: join(dir, "audit.jsonl"), venuesFile, reconcileIntervalMs: 3_600_000, paperPrices: "BTC-USD=100" },
      { env: venueEnv },
    ),
    logger: createLogCapture().logger,
    health,
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
  });
  const srv = await startServer({ trading: core.trading, metrics, health });
  const ms = createMetricsServer({ registry: metrics.registry, health });
  const addr = await ms.listen("127.0.0.1", 0);
  // The start-up pass runs at once; wait for it so it does not race the test's own passes.
  await core.reconciler!.reconcileOnce();
  return {
    core,
    srv,
    client: createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl })),
    scrape: async () => (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text(),
    async close() {
      shutdown.abort();
      await ms.close();
      await srv.close();
      await core.close();
    },
  };
}

let gw: Booted;

before(async () => {
  fakes = await startFakeVenues();
  dir = mkdtempSync(join(tmpdir(), "gw-reconcile-"));
  const urls = Object.fromEntries(venueCases.map((c) => [c.urlVar, fakes.fakes.get(c.venue)!.url]));
  let text = readFileSync(contractFixturePath, "utf8").replace(/\$\{(\w+)\}/g, (_, n: string) => urls[n] ?? "");
  // Only the venues that list open orders; the poller slowed down so it never races a pass.
  text = text.slice(0, text.indexOf("  - name: acme\n")).replace("pollIntervalMs: 1000", "pollIntervalMs: 600000");
  text = text.replace("    recvWindowMs: 5000\n", "    recvWindowMs: 5000\n    externalAccount: manual-binance\n");
  // Coinbase's documented budget (30/s) ran out under the passes of the tests before the last one,
  // whose cancel then failed UNAVAILABLE about one run in five: budgets are not what this tests.
  text = text.replace("      privateKey: { env: COINBASE_PRIVATE_KEY }\n", "      privateKey: { env: COINBASE_PRIVATE_KEY }\n    rateLimit: { capacity: 1000, refillPerSecond: 1000 }\n");
  text += "  - name: paper\n    kind: paper\n  - name: paper-closed\n    kind: paper\n    adoptExternalOrders: false\n";
  venuesFile = join(dir, "venues.yaml");
  writeFileSync(venuesFile, text);
  gw = await boot();
});

after(async () => {
  await gw?.close();
  await fakes?.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function limitOrder(venue: string) {
  n++;
  return {
    clientOrderId: `rc-${venue}-${n}`,
    account: "acct-1",
    venue,
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "90",
  };
}

/** The audit log's order_reconciled lines, decoded. */
function reconciledEvents(): Array<{ order_id: string; reconciliation: { kind: string; detail: string }; account?: string; venue_order_id?: string }> {
  return readFileSync(join(dir, "audit.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.includes(`"event":"order_reconciled"`))
    .map((l) => JSON.parse(l) as never);
}

const externalAccount = (venue: string): string => (venue === "binance" ? "manual-binance" : "external");
/** The venue order id as the venue writes it (Binance: the number after the fake's prefix). */
const venueIdOf = (venue: string, fakeId: string): string => (venue === "binance" ? fakeId.split("-").pop()! : fakeId);

for (const c of VENUES) {
  test(`${c.venue}: a venue-side cancel, a missed fill and a status that differs are corrected through the table and audited`, async () => {
    const fake = fakes.fakes.get(c.venue)!;
    const { client, core } = gw;

    // (a) canceled at the venue behind the gateway's back.
    const a = (await client.placeOrder(limitOrder(c.venue))).order!;
    assert.equal(a.status, OrderStatus.NEW);
    const vcA = fake.engine.orders.get([...fake.engine.orders.keys()].at(-1)!)!;
    fake.engine.cancel(vcA);
    await core.reconciler!.reconcileOnce();
    assert.equal((await client.getOrderStatus({ orderId: a.orderId })).order!.status, OrderStatus.CANCELED);
    assert.ok(reconciledEvents().some((e) => e.order_id === a.orderId && e.reconciliation.kind === "venue_closed"));

    // (c) a fill the gateway missed.
    const b = (await client.placeOrder(limitOrder(c.venue))).order!;
    const vcB = [...fake.engine.orders.keys()].at(-1)!;
    fake.fill(vcB, "0.4", MARKET_PRICE);
    await core.reconciler!.reconcileOnce();
    const b2 = (await client.getOrderStatus({ orderId: b.orderId })).order!;
    assert.equal(b2.status, OrderStatus.PARTIALLY_FILLED);
    assert.equal(b2.filledQuantity, "0.4");
    assert.ok(reconciledEvents().some((e) => e.order_id === b.orderId && e.reconciliation.kind === "missed_fill"));
    // The fill itself is recorded once, however many passes see it.
    await core.reconciler!.reconcileOnce();
    const fillLines = readFileSync(join(dir, "audit.jsonl"), "utf8").split("\n").filter((l) => l.includes(`"event":"fill"`) && l.includes(`"order_id":"${b.orderId}"`));
    assert.equal(fillLines.length, 1);

    // (b) a status that differs: the place answer was lost (PENDING_NEW), the venue lists it working.
    fake.failNext("place", "drop-after-accept");
    const d = (await client.placeOrder(limitOrder(c.venue))).order!;
    assert.equal(d.status, OrderStatus.PENDING_NEW);
    await core.reconciler!.reconcileOnce();
    assert.equal((await client.getOrderStatus({ orderId: d.orderId })).order!.status, OrderStatus.NEW);
    assert.ok(reconciledEvents().some((e) => e.order_id === d.orderId && e.reconciliation.kind === "status"));

    // The venue is down during a pass: nothing changes, nothing is corrupted, the next pass does it.
    const okBefore = core.reconciler!.lastSuccessMs(c.venue);
    fake.failNext("openOrders", "503-not-accepted");
    fake.engine.cancel(fake.engine.orders.get(vcB)!);
    await core.reconciler!.reconcileOnce();
    const b3 = (await client.getOrderStatus({ orderId: b.orderId })).order!;
    assert.equal(b3.status, OrderStatus.PARTIALLY_FILLED);
    assert.equal(b3.filledQuantity, "0.4");
    assert.equal(core.reconciler!.lastSuccessMs(c.venue), okBefore);
    await core.reconciler!.reconcileOnce();
    assert.equal((await client.getOrderStatus({ orderId: b.orderId })).order!.status, OrderStatus.CANCELED);
  });

  test(`${c.venue}: an order placed outside the gateway is adopted once as external, visible and cancellable`, async () => {
    const fake = fakes.fakes.get(c.venue)!;
    const { client, core } = gw;
    const x = fake.placeExternal({ clientOrderId: `manual-${c.venue}-1`, symbol: c.venueSymbol, side: "SELL", type: LIMIT_TYPE[c.venue]!, quantity: "2", price: "110" });
    await core.reconciler!.reconcileOnce();
    await core.reconciler!.reconcileOnce();
    const vid = venueIdOf(c.venue, x.venueOrderId);
    const adoptions = reconciledEvents().filter((e) => e.reconciliation.kind === "external_adopted" && e.reconciliation.detail.includes(`venue order ${vid} `));
    assert.equal(adoptions.length, 1, "adopted exactly once over two passes");
    const got = (await client.getOrderStatus({ orderId: adoptions[0]!.order_id })).order!;
    assert.equal(got.external, true);
    assert.equal(got.account, externalAccount(c.venue));
    assert.equal(got.venueOrderId, vid);
    assert.equal(got.symbol, "BTC-USD");
    assert.equal(got.side, Side.SELL);
    assert.equal(got.quantity, "2");
    assert.equal(got.status, OrderStatus.NEW);
    // Findable by its client order id in its account, too.
    const byClient = (await client.getOrderStatus({ account: got.account, clientOrderId: got.clientOrderId })).order!;
    assert.equal(byClient.orderId, got.orderId);
    // Cancellable through the gateway: the venue order is canceled.
    const canceled = (await client.cancelOrder({ orderId: got.orderId })).order!;
    assert.ok(canceled.status === OrderStatus.CANCELED || canceled.status === OrderStatus.PENDING_CANCEL, OrderStatus[canceled.status]);
    assert.equal(x.state, "canceled");
  });
}

test("paper venue: a venue-side cancel is reconciled; external orders adopted only where adoptExternalOrders is not false", async () => {
  const { client, core } = gw;
  const paper = core.venues.get("paper") as PaperVenue;
  const closed = core.venues.get("paper-closed") as PaperVenue;
  const a = (await client.placeOrder({ ...limitOrder("paper"), price: "95" })).order!;
  assert.equal(a.status, OrderStatus.NEW);
  const listed = await paper.listOpenOrders!({ signal: new AbortController().signal });
  assert.ok(listed.ok);
  const atVenue = listed.value.find((o) => o.venueOrderId === a.venueOrderId)!;
  assert.equal(atVenue.quantity, "1");
  assert.ok(paper.cancelAtVenue(atVenue.venueClientOrderId));
  await core.reconciler!.reconcileOnce();
  assert.equal((await client.getOrderStatus({ orderId: a.orderId })).order!.status, OrderStatus.CANCELED);
  const spec = { symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "3", price: "40", stopPrice: "", createdAtMs: Date.now() };
  const inPaper = paper.placeExternal("outsider-1", spec);
  const inClosed = closed.placeExternal("outsider-2", spec);
  await core.reconciler!.reconcileOnce();
  const adopted = reconciledEvents().filter((e) => e.reconciliation.kind === "external_adopted");
  assert.ok(adopted.some((e) => e.reconciliation.detail.includes(inPaper)));
  assert.ok(!adopted.some((e) => e.reconciliation.detail.includes(inClosed)));
});

test("business and reconciliation metrics are exposed with bounded labels and move", async () => {
  const { client, scrape } = gw;
  const value = (text: string, series: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
  };
  const before = await scrape();
  for (const series of [
    'gateway_reconcile_corrections_total{venue="binance",kind="venue_closed"}',
    'gateway_reconcile_corrections_total{venue="kraken",kind="missed_fill"}',
    'gateway_reconcile_corrections_total{venue="alpaca",kind="status"}',
    'gateway_reconcile_corrections_total{venue="coinbase",kind="external_adopted"}',
    'gateway_orders_total{status="CANCELED"}',
    'gateway_fills_total{venue="binance"}',
    'gateway_order_cancels_total{venue="coinbase"}',
    'gateway_order_replaces_total{venue="binance"}',
    'gateway_order_rejects_total{reason="validation"}',
    "gateway_order_event_subscribers",
    'gateway_reconcile_passes_total{venue="kraken",outcome="failed"}',
  ]) {
    assert.ok(Number.isFinite(value(before, series)), `${series} missing from /metrics`);
  }
  assert.ok(value(before, 'gateway_reconcile_corrections_total{venue="binance",kind="venue_closed"}') >= 1);
  assert.ok(value(before, 'gateway_fills_total{venue="binance"}') >= 1);
  assert.ok(value(before, 'gateway_reconcile_last_success_timestamp_seconds{venue="binance"}') > 0);
  // Moving: a resting order raises the open gauge and PENDING_NEW/NEW counts; a bad request counts as validation.
  const open0 = value(before, 'gateway_open_orders{venue="paper"}');
  await client.placeOrder({ ...limitOrder("paper"), price: "95" });
  await assert.rejects(client.placeOrder({ ...limitOrder("paper"), quantity: "-1" }));
  const after1 = await scrape();
  assert.equal(value(after1, 'gateway_open_orders{venue="paper"}'), open0 + 1);
  assert.equal(value(after1, 'gateway_orders_total{status="NEW"}'), value(before, 'gateway_orders_total{status="NEW"}') + 1);
  assert.equal(value(after1, 'gateway_order_rejects_total{reason="validation"}'), value(before, 'gateway_order_rejects_total{reason="validation"}') + 1);
  gw.core.metrics.countReplace("binance");
  gw.core.metrics.eventSubscribers.inc();
  const after2 = await scrape();
  assert.equal(value(after2, 'gateway_order_replaces_total{venue="binance"}'), value(after1, 'gateway_order_replaces_total{venue="binance"}') + 1);
  assert.equal(value(after2, "gateway_order_event_subscribers"), 1);
  gw.core.metrics.eventSubscribers.dec();
});

test("an adopted external order survives a restart: same order id, never adopted twice", async () => {
  const adoptedIds = new Map<string, string>();
  for (const c of VENUES) {
    const x = fakes.fakes.get(c.venue)!.placeExternal({ clientOrderId: `manual-${c.venue}-2`, symbol: c.venueSymbol, side: "BUY", type: LIMIT_TYPE[c.venue]!, quantity: "5", price: "80" });
    adoptedIds.set(c.venue, venueIdOf(c.venue, x.venueOrderId));
  }
  await gw.core.reconciler!.reconcileOnce();
  const count = (venueOrderId: string) => reconciledEvents().filter((e) => e.reconciliation.kind === "external_adopted" && e.reconciliation.detail.includes(`venue order ${venueOrderId} `)).length;
  const orderIds = new Map<string, string>();
  for (const [venue, vid] of adoptedIds) {
    assert.equal(count(vid), 1, venue);
    orderIds.set(venue, reconciledEvents().find((e) => e.reconciliation.detail.includes(`venue order ${vid} `))!.order_id);
  }
  await gw.close();
  gw = await boot(); // its start-up pass ran inside boot()
  await gw.core.reconciler!.reconcileOnce();
  for (const [venue, vid] of adoptedIds) {
    assert.equal(count(vid), 1, `${venue}: adopted again after the restart`);
    const o = (await gw.client.getOrderStatus({ orderId: orderIds.get(venue)! })).order!;
    assert.equal(o.external, true);
    assert.equal(o.venueOrderId, vid);
    assert.equal(o.status, OrderStatus.NEW);
  }
});
