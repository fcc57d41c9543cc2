import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Registry } from "prom-client";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createNullAuditSink } from "../../src/adapters/audit/null-sink.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { closeVenues, createVenues } from "../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../src/adapters/venues/venue-metrics.js";
import { createOrderPipeline } from "../../src/composition-root.js";
import { systemClock } from "../../src/domain/ports.js";
import { createBalanceCache, type BalanceCache } from "../../src/use-cases/balance-cache.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import { createCounterIds } from "../helpers/counter-ids.js";
import type { FakeVenues } from "../helpers/fake-venues/contract-venues.js";
import { startFakeVenues, venueEnv } from "../helpers/fake-venues/contract-venues.js";
import { startServer, type StartedServer } from "../helpers/start-server.js";
import { createTestTradingCore, rpcError } from "../helpers/trading-core.js";
import { resolveVenues } from "../helpers/venue-config.js";
import { createScriptedVenue } from "../use-cases/support.js";

/**
 * GetBalances over the real server and every protocol: a paper venue with a wallet, Binance
 * (through its fake, signed) and a venue that reports no balances.
 */

let fakes: FakeVenues;
let real: ReadonlyMap<string, VenueAdapter>;
let cache: BalanceCache;
let server: StartedServer;
const hub = createFillHub({ retain: 10, subscriberBuffer: 4 });

before(async () => {
  fakes = await startFakeVenues();
  real = createVenues(resolveVenues({ ...fakes.file, venues: fakes.file.venues.filter((v) => v.name === "binance") }, venueEnv), {
    clock: systemClock,
    ids: createCounterIds("b"),
    metrics: createVenueMetrics(new Registry()),
  });
  const venues = new Map<string, VenueAdapter>([
    ["paper", createPaperVenue({ clock: systemClock, ids: createCounterIds("p"), balances: { USD: "100000", BTC: "0" } })],
    ["binance", real.get("binance")!],
    ["nobal", createScriptedVenue("nobal")],
  ]);
  cache = createBalanceCache({ venues, clock: systemClock, refreshMs: 30_000 });
  const core = createOrderPipeline({ venues, audit: createNullAuditSink(), fills: hub, signal: new AbortController().signal, clock: systemClock, balances: cache });
  server = await startServer({ trading: core.service, config: { rateLimitRps: 0 } });
});

after(async () => {
  cache.close();
  hub.close();
  await server.close();
  await closeVenues(real);
  await fakes.close();
});

test("GetBalances over gRPC, gRPC-Web and Connect JSON: per venue balances, age, and errors", async () => {
  const transports: Array<[string, Transport]> = [
    ["grpc", createGrpcTransport({ baseUrl: server.baseUrl })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "2" })],
    ["connect-json", createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ];
  for (const [name, transport] of transports) {
    const client = createClient(TradingGateway, transport);
    const all = await client.getBalances({ account: "acct-1" });
    assert.deepEqual(all.venues.map((v) => v.venue), ["paper", "binance", "nobal"], name);
    const [paper, binance, nobal] = all.venues;
    assert.deepEqual(paper!.balances.map((b) => [b.asset, b.free, b.locked]), [["USD", "100000", "0"]], name);
    assert.deepEqual(binance!.balances.map((b) => [b.asset, b.free, b.locked]), [["BTC", "1.5", "0.25"], ["USD", "10000", "0"]], name);
    assert.equal(binance!.error, "", name);
    assert.ok(binance!.asOf !== undefined && binance!.asOf.seconds > 0n, name);
    assert.ok(binance!.ageMs >= 0n, name);
    assert.deepEqual(nobal!.balances, [], name);
    assert.equal(nobal!.asOf, undefined, name);
    assert.match(nobal!.error, /does not report balances/, name);

    const one = await client.getBalances({ account: "acct-1", venue: "binance" });
    assert.deepEqual(one.venues.map((v) => v.venue), ["binance"], name);

    const missing = await rpcError(client.getBalances({ account: "" }));
    assert.equal(missing.code, Code.InvalidArgument, name);
    assert.deepEqual(missing.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["account"], name);
    const unknown = await rpcError(client.getBalances({ account: "acct-1", venue: "nasdaq" }));
    assert.equal(unknown.code, Code.InvalidArgument, name);
    assert.deepEqual(unknown.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["venue"], name);
    assert.match(unknown.rawMessage, /nasdaq/, name);
  }
  // Binance was asked once: the answers came from the cache.
  assert.equal(fakes.fakes.get("binance")!.requests.filter((r) => r.path === "/api/v3/account").length, 1);
});

test("GetBalances refuses an account the API key may not use", async () => {
  const { client, hub: h } = createTestTradingCore();
  try {
    const denied = await rpcError(client.getBalances({ account: "acct-2" }, { headers: { "x-accounts": "acct-1" } }));
    assert.equal(denied.code, Code.PermissionDenied);
    const allowed = await client.getBalances({ account: "acct-1" }, { headers: { "x-accounts": "acct-1" } });
    assert.deepEqual(allowed.venues.map((v) => v.venue), ["paper", "scripted"]);
  } finally {
    h.close();
  }
});
