import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { defaultConfig } from "../../src/config/env.js";
import type { Config } from "../../src/config/env.js";
import { createRpcMetrics } from "../../src/metrics/metrics.js";
import { StartupConfigError, createGatewayCore, parseRiskLimits } from "../../src/server/gateway-core.js";
import { createHealthRegistry, ServingStatus } from "../../src/server/health.js";
import { createLogCapture } from "../helpers/log-capture.js";
import { startServer } from "../helpers/start-server.js";

async function boot(config: Partial<Config>) {
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGatewayCore({
    config: { ...defaultConfig(), ...config },
    logger: createLogCapture().logger,
    health,
    registry: metrics.registry,
    env: {},
    shutdownSignal: shutdown.signal,
  });
  const srv = await startServer({ trading: core.trading, metrics, health });
  return {
    core,
    srv,
    health,
    close: async () => {
      shutdown.abort();
      await srv.close();
      await core.close();
    },
  };
}

test("the wired pipeline: paper venue orders, fills on StreamFills, and state recovered from the audit log after a restart", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-core-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config: Partial<Config> = { auditMode: "fsync", auditFile: join(dir, "audit.jsonl"), paperPrices: "BTC-USD=50000" };
  const first = await boot(config);
  let firstClosed = false;
  t.after(async () => {
    if (!firstClosed) await first.close();
  });
  assert.equal(first.health.get("paper"), ServingStatus.SERVING, "per-venue health entry");
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: first.srv.baseUrl }));
  const ac = new AbortController();
  const fills: string[] = [];
  const streaming = (async () => {
    try {
      for await (const r of client.streamFills({ account: "acct1" }, { signal: ac.signal })) {
        fills.push(`${r.fill!.sequence}:${r.fill!.quantity}@${r.fill!.price}`);
        ac.abort();
      }
    } catch (e) {
      if (ConnectError.from(e).code !== Code.Canceled) throw e;
    }
  })();
  const req = {
    clientOrderId: "core-1",
    account: "acct1",
    venue: "paper",
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.MARKET,
    timeInForce: TimeInForce.IOC,
    quantity: "0.5",
    idempotencyKey: "idem-core-1",
  };
  // The stream subscribes asynchronously; place the order once it is registered.
  const deadline = Date.now() + 5000;
  while (first.core.fills.subscriberCount() === 0) {
    assert.ok(Date.now() < deadline, "stream did not subscribe");
    await new Promise((r) => setTimeout(r, 5));
  }
  const placed = await client.placeOrder(req);
  assert.equal(placed.order?.status, OrderStatus.FILLED);
  assert.equal(placed.replayed, false);
  await streaming;
  assert.deepEqual(fills, ["1:0.5@50000"]);
  const orderId = placed.order!.orderId;
  await first.close();
  firstClosed = true;

  // Restart on the same audit file: the order and the idempotency key survive.
  const second = await boot(config);
  t.after(() => second.close());
  const c2 = createClient(TradingGateway, createConnectTransport({ baseUrl: second.srv.baseUrl, httpVersion: "1.1" }));
  const status = await c2.getOrderStatus({ orderId, account: "acct1" });
  assert.equal(status.order?.status, OrderStatus.FILLED);
  const replay = await c2.placeOrder(req);
  assert.equal(replay.replayed, true);
  assert.equal(replay.order?.orderId, orderId);
});

test("bad AUDIT_FILE, PAPER_PRICES, VENUES_FILE or RISK_LIMITS_FILE stop start-up with a message naming the setting", async (t) => {
  const base = { ...defaultConfig(), auditMode: "off" as const };
  // A regular file where a directory should be (ENOTDIR). Not /proc: mkdirSync({recursive}) spins there.
  const notADir = join(mkdtempSync(join(tmpdir(), "gw-core-bad-")), "file");
  writeFileSync(notADir, "");
  t.after(() => rmSync(join(notADir, ".."), { recursive: true, force: true }));
  const deps = { logger: createLogCapture().logger, health: createHealthRegistry(), registry: createRpcMetrics().registry, env: {}, shutdownSignal: new AbortController().signal };
  await assert.rejects(createGatewayCore({ ...deps, config: { ...base, paperPrices: "BTC-USD=abc" } }), (e: unknown) => e instanceof StartupConfigError && /PAPER_PRICES/.test(e.message));
  await assert.rejects(
    createGatewayCore({ ...deps, config: { ...base, auditMode: "fsync", auditFile: join(notADir, "sub", "audit.jsonl") } }),
    (e: unknown) => e instanceof StartupConfigError && /AUDIT_FILE .*ENOTDIR|AUDIT_FILE .*not a directory/.test(e.message),
  );
  await assert.rejects(createGatewayCore({ ...deps, config: { ...base, riskLimitsFile: "/nonexistent/limits.yaml" } }), (e: unknown) => e instanceof StartupConfigError && /RISK_LIMITS_FILE/.test(e.message));
  await assert.rejects(
    createGatewayCore({ ...deps, config: { ...base, venuesFile: "/v.yaml" }, readFile: () => "venues: [{ name: x, kind: nope }]" }),
    (e: unknown) => e instanceof StartupConfigError && /v\.yaml/.test(e.message),
  );
});

test("RISK_LIMITS_FILE: YAML or JSON, decimals as strings; errors name the field", () => {
  const ok = parseRiskLimits('"*": { maxQuantity: "10" }\nacct1: { maxNotional: "100000", allowedSymbols: [BTC-USD], symbols: { BTC-USD: { maxQuantity: "2" } } }\n', "r.yaml");
  assert.ok(ok.ok);
  assert.equal(ok.value["acct1"]!.symbols!["BTC-USD"]!.maxQuantity, "2");
  const bad = parseRiskLimits('{"acct1": {"maxQuantity": 10}}', "r.json");
  assert.ok(!bad.ok);
  assert.match(bad.error, /r\.json: acct1\.maxQuantity/);
  const unknown = parseRiskLimits("acct1: { maxQty: '1' }", "r.yaml");
  assert.ok(!unknown.ok);
  assert.match(unknown.error, /maxQty/);
});
