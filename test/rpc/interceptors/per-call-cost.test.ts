import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { OrderType, Side, TradingGateway } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { loggerKey } from "../../../src/rpc/interceptors/context-keys.js";
import { createInterceptors } from "../../../src/rpc/interceptors/index.js";
import { lazyChildLogger } from "../../../src/rpc/interceptors/lazy-logger.js";
import { createRequestIdSource } from "../../../src/rpc/interceptors/request-id.js";
import { createRpcMetrics } from "../../../src/adapters/metrics/metrics.js";
import { createRoutes } from "../../../src/server/routes.js";
import { createHealthRegistry } from "../../../src/server/health.js";
import { createFakeTradingService } from "../../helpers/fake-trading-service.js";
import { createInMemoryGateway } from "../../helpers/in-memory-gateway.js";
import { createLogCapture } from "../../helpers/log-capture.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const order = (over: Record<string, unknown> = {}) => ({ clientOrderId: "c1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, quantity: "1", ...over });

test("handler log lines carry the request id; no child logger is made for calls that do not log", async () => {
  const logs = createLogCapture();
  let children = 0;
  const child = logs.logger.child.bind(logs.logger);
  logs.logger.child = ((...a: Parameters<typeof child>) => {
    children++;
    return child(...a);
  }) as typeof logs.logger.child;
  const fake = createFakeTradingService();
  const trading = {
    ...fake.service,
    placeOrder: (req: Parameters<typeof fake.service.placeOrder>[0], ctx: Parameters<typeof fake.service.placeOrder>[1]) => {
      if (req.symbol === "LOG") ctx.values.get(loggerKey)?.warn({ symbol: req.symbol }, "handler line");
      return fake.service.placeOrder(req, ctx);
    },
  } as typeof fake.service;
  const transport = createRouterTransport(createRoutes({ trading, health: createHealthRegistry() }), {
    router: {
      interceptors: createInterceptors({ logger: logs.logger, metrics: createRpcMetrics(), apiKeys: [], rateLimit: { ratePerSecond: 0, burst: 1, maxBuckets: 10, idleMs: 1000 } }),
    },
  });
  const client = createClient(TradingGateway, transport);
  await client.placeOrder(order(), { headers: { "x-request-id": "quiet-1" } });
  await client.placeOrder(order(), { headers: { "x-request-id": "quiet-2" } });
  assert.equal(children, 0, "no child logger for calls whose handler does not log");
  await client.placeOrder(order({ symbol: "LOG" }), { headers: { "x-request-id": "loud-1" } });
  assert.equal(children, 1);
  const line = logs.find("handler line");
  assert.equal(line.length, 1);
  assert.equal(line[0]!["reqId"], "loud-1");
  assert.equal(line[0]!["level"], 40);
  assert.deepEqual(logs.find("rpc").map((l) => l["reqId"]), ["quiet-1", "quiet-2", "loud-1"]);
});

test("lazy child logger: same output as child({ reqId }), level and child() included", () => {
  const logs = createLogCapture("debug");
  const lazy = lazyChildLogger(logs.logger, "r-9");
  lazy.info({ a: 1 }, "one");
  assert.equal(lazy.isLevelEnabled("debug"), true);
  lazy.level = "warn";
  lazy.info("dropped");
  lazy.child({ leg: 2 }).error("two");
  assert.deepEqual(
    logs.lines.map((l) => ({ reqId: l["reqId"], msg: l["msg"], a: l["a"], leg: l["leg"] })),
    [
      { reqId: "r-9", msg: "one", a: 1, leg: undefined },
      { reqId: "r-9", msg: "two", a: undefined, leg: 2 },
    ],
  );
  // The base logger is untouched by the child's level.
  assert.equal(logs.logger.level, "debug");
});

test("generated request ids are unique, log-safe, and differ between sources (processes)", () => {
  const a = createRequestIdSource();
  const b = createRequestIdSource();
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(a());
  assert.equal(seen.size, 1000);
  const x = b();
  assert.ok(!seen.has(x));
  for (const id of [...seen].slice(0, 5).concat(x)) assert.match(id, /^[A-Za-z0-9._:\/+=-]{1,128}$/);
  // UUID-shaped (version 8, RFC 9562 variant), like the randomUUID() ids they replace.
  assert.match(x, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a().slice(0, 24), x.slice(0, 24));
});

test("metrics tallies are folded in on every read, never counted twice", async () => {
  const gw = createInMemoryGateway();
  const labels = 'grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="PlaceOrder"';
  await gw.trading.placeOrder(order());
  assert.match(await gw.metrics.registry.metrics(), new RegExp(`grpc_server_started_total\\{${labels}\\} 1\\n`));
  assert.match(await gw.metrics.registry.metrics(), new RegExp(`grpc_server_handled_total\\{${labels},grpc_code="OK"\\} 1\\n`));
  await gw.trading.placeOrder(order());
  await gw.trading.placeOrder(order({ symbol: "PANIC" })).catch(() => undefined);
  // Read through the metric object too (what getSingleMetric users do).
  const handled = await gw.metrics.handled.get();
  const ok = handled.values.find((v) => v.labels["grpc_method"] === "PlaceOrder" && v.labels["grpc_code"] === "OK");
  assert.equal(ok?.value, 2);
  const internal = handled.values.find((v) => v.labels["grpc_method"] === "PlaceOrder" && v.labels["grpc_code"] === "Internal");
  assert.equal(internal?.value, 1);
  const text = await gw.metrics.registry.metrics();
  assert.match(text, new RegExp(`grpc_server_started_total\\{${labels}\\} 3\\n`));
  assert.match(text, new RegExp(`grpc_server_msg_received_total\\{${labels}\\} 3\\n`));
  assert.match(text, new RegExp(`grpc_server_handling_seconds_count\\{${labels}\\} 3\\n`));
});

test("auth: a key keeps working across calls, a wrong key is still refused, any case of Bearer works", async () => {
  const gw = createInMemoryGateway({ apiKeys: [{ sha256: sha("k1"), accounts: new Set(["acct1"]) }] });
  for (let i = 0; i < 3; i++) assert.equal((await gw.trading.placeOrder(order(), { headers: { authorization: "Bearer k1" } })).order?.account, "acct1");
  // Every call still gets the per-message account check.
  const denied = await gw.trading.placeOrder(order({ account: "acct2" }), { headers: { authorization: "Bearer k1" } }).catch((e: unknown) => ConnectError.from(e));
  assert.equal((denied as ConnectError).code, Code.PermissionDenied);
  const wrong = await gw.trading.placeOrder(order(), { headers: { authorization: "Bearer k2" } }).catch((e: unknown) => ConnectError.from(e));
  assert.equal((wrong as ConnectError).code, Code.Unauthenticated);
  const variants = ["Bearer", "bearer", "BEARER", "bEARER"];
  for (const v of variants) assert.equal((await gw.trading.placeOrder(order(), { headers: { authorization: `${v} k1` } })).order?.account, "acct1");
});
