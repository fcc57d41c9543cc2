import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import type { Registry } from "prom-client";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { defaultConfig } from "../src/config/env.js";
import type { Config } from "../src/config/env.js";
import { createRpcMetrics } from "../src/adapters/metrics/metrics.js";
import { StartupConfigError, createGateway } from "../src/composition-root.js";
import { VENUE_KINDS } from "../src/adapters/venues/registry.js";
import { loadGatewayConfig } from "../src/config/gateway-config.js";
import { parseRiskLimits } from "../src/config/risk-limits-file.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createHealthRegistry, ServingStatus } from "../src/server/health.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { startServer } from "./helpers/start-server.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";

async function boot(config: Partial<Config>) {
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const logs = createLogCapture();
  const core = await createGateway({
    config: gatewayConfig(config),
    logger: logs.logger,
    health,
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
  });
  const srv = await startServer({ trading: core.trading, metrics, health });
  return {
    core,
    srv,
    health,
    logs,
    metrics,
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
  const req = { ...MARKET_ORDER_FIELDS, clientOrderId: "core-1", account: "acct1", quantity: "0.5", idempotencyKey: "idem-core-1" };
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

/** A metric's value (sum over its series) as exposed on the app's registry. */
async function metricValue(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  assert.ok(m !== undefined, `${name} is registered`);
  return (m.values as { value: number; metricName?: string }[])
    .filter((v) => v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`)
    .reduce((a, v) => a + v.value, 0);
}

test("audit metrics on the app registry follow the commits; the audit file is locked while the core runs", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-core-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const auditFile = join(dir, "audit.jsonl");
  const gw = await boot({ auditMode: "fsync", auditFile, paperPrices: "BTC-USD=50000" });
  let closed = false;
  t.after(async () => {
    if (!closed) await gw.close();
  });
  const reg = gw.metrics.registry;
  assert.equal(await metricValue(reg, "audit_events_total"), 0);
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: gw.srv.baseUrl }));
  const placed = await client.placeOrder({ clientOrderId: "m-1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1" });
  assert.equal(placed.order?.status, OrderStatus.FILLED);
  const lines = readFileSync(auditFile, "utf8").split("\n").filter((l) => l !== "").length;
  assert.ok(lines >= 2);
  // The caller was answered after the fsync, so every line it waited for is counted.
  assert.equal(await metricValue(reg, "audit_events_total"), lines);
  const batches = await metricValue(reg, "audit_batches_total");
  assert.ok(batches >= 1 && batches <= lines);
  assert.equal(await metricValue(reg, "audit_batch_lines"), batches, "one observation per batch");
  assert.equal(await metricValue(reg, "audit_commit_seconds"), batches);
  assert.equal(await metricValue(reg, "audit_errors_total"), 0);
  const text = await reg.metrics();
  assert.match(text, /^audit_commit_seconds_bucket\{le="0\.0001"\} \d+$/m, "no labels beyond the bucket");

  // A second core on the same log is refused, naming the setting and the lock.
  const deps = { logger: createLogCapture().logger, health: createHealthRegistry(), registry: createRpcMetrics().registry, shutdownSignal: new AbortController().signal };
  await assert.rejects(
    createGateway({ ...deps, config: gatewayConfig({ auditMode: "fsync", auditFile }) }),
    (e: unknown) => e instanceof StartupConfigError && e.message.startsWith(`AUDIT_FILE ${auditFile}`) && /already open in this process/.test(e.message),
  );
  assert.ok(existsSync(`${auditFile}.lock`));
  await gw.close();
  closed = true;
  assert.equal(existsSync(`${auditFile}.lock`), false, "released on close");
});

test("AUDIT_ON_CORRUPT=fail: a damaged log stops start-up naming the line and the setting; skip starts without it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-core-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const auditFile = join(dir, "audit.jsonl");
  writeFileSync(auditFile, "this is not an audit event\n");
  const deps = { logger: createLogCapture().logger, health: createHealthRegistry(), registry: createRpcMetrics().registry, shutdownSignal: new AbortController().signal };
  await assert.rejects(
    createGateway({ ...deps, config: gatewayConfig({ auditFile, auditOnCorrupt: "fail" }) }),
    (e: unknown) => e instanceof StartupConfigError && /audit\.jsonl:1/.test(e.message) && /AUDIT_ON_CORRUPT=fail/.test(e.message),
  );
  // The refused start released the lock and the file is untouched.
  assert.equal(existsSync(`${auditFile}.lock`), false);
  assert.equal(readFileSync(auditFile, "utf8"), "this is not an audit event\n");
  const gw = await boot({ auditFile, auditOnCorrupt: "skip" });
  t.after(() => gw.close());
  assert.ok(gw.logs.lines.some((l) => l["level"] === 40 && /corrupt/.test(String(l["msg"]))), "the skipped line is logged");
});

const pgUrl = process.env["AUDIT_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

async function pgUnreachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL unreachable at ${pgUrl} (${(e as Error).message}): skipped`;
  } finally {
    await c.end().catch(() => {});
  }
}

describe("AUDIT_BACKEND=postgres", { skip: await pgUnreachable() }, () => {
  const schema = `gw_core_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
  before(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });
  // Each test sets its own client order id over the shared one.
  const order = { ...MARKET_ORDER_FIELDS, account: "acct1", quantity: "0.5" };

  test("an order placed, the gateway restarted: state and idempotency are recovered from PostgreSQL", async (t) => {
    const config: Partial<Config> = { auditMode: "fsync", auditBackend: "postgres", auditPgUrl: pgUrl, auditPgTable: `${schema}.audit_restart`, paperPrices: "BTC-USD=50000" };
    const first = await boot(config);
    let firstClosed = false;
    t.after(async () => {
      if (!firstClosed) await first.close();
    });
    const req = { ...order, clientOrderId: "pg-1", idempotencyKey: "idem-pg-1" };
    const c1 = createClient(TradingGateway, createGrpcTransport({ baseUrl: first.srv.baseUrl }));
    const placed = await c1.placeOrder(req);
    assert.equal(placed.order?.status, OrderStatus.FILLED);
    assert.equal(placed.replayed, false);
    assert.ok((await metricValue(first.metrics.registry, "audit_events_total")) >= 2, "metrics count PostgreSQL commits too");
    const rows = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.audit_restart WHERE order_id = $1`, [placed.order!.orderId]);
    assert.ok(Number(rows.rows[0]!.n) >= 2, "the order's events are rows");
    await first.close();
    firstClosed = true;

    const second = await boot(config);
    t.after(() => second.close());
    assert.ok(second.logs.find("state recovered from the audit log").length === 1);
    const c2 = createClient(TradingGateway, createConnectTransport({ baseUrl: second.srv.baseUrl, httpVersion: "1.1" }));
    const status = await c2.getOrderStatus({ orderId: placed.order!.orderId, account: "acct1" });
    assert.equal(status.order?.status, OrderStatus.FILLED);
    const replay = await c2.placeOrder(req);
    assert.equal(replay.replayed, true);
    assert.equal(replay.order?.orderId, placed.order!.orderId);
    // Same key, other fields: still refused after the restart (the fingerprint was recovered).
    const conflict = await c2.placeOrder({ ...req, quantity: "0.6" }).catch((e: unknown) => ConnectError.from(e));
    assert.ok(conflict instanceof ConnectError && conflict.code === Code.AlreadyExists, String(conflict));
    assert.match(conflict.rawMessage, /quantity/);
  });

  test("a failed audit append: the order is refused, health goes NOT_SERVING and a fatal line is logged", async (t) => {
    const table = `${schema}.audit_fail`;
    const gw = await boot({ auditMode: "fsync", auditBackend: "postgres", auditPgUrl: pgUrl, auditPgTable: table, paperPrices: "BTC-USD=50000" });
    t.after(() => gw.close());
    gw.health.set(TradingGateway.typeName, ServingStatus.SERVING);
    // The database starts refusing inserts (a real failure of the real back-end, not a stub).
    await pool.query(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$`);
    await pool.query(`CREATE TRIGGER refuse_insert BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`);
    const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: gw.srv.baseUrl }));
    const e = await client.placeOrder({ ...order, clientOrderId: "pg-fail-1" }).catch((x: unknown) => ConnectError.from(x));
    assert.ok(e instanceof ConnectError, "refused");
    assert.equal(e.code, Code.Unavailable);
    assert.match(e.rawMessage, /audit log unavailable/);
    assert.equal(gw.health.get(""), ServingStatus.NOT_SERVING);
    assert.equal(gw.health.get(TradingGateway.typeName), ServingStatus.NOT_SERVING);
    const fatal = gw.logs.lines.filter((l) => l["level"] === 60);
    assert.equal(fatal.length, 1);
    assert.match(String(fatal[0]!["msg"]), /audit log unavailable.*NOT_SERVING/);
    assert.ok(!JSON.stringify(fatal[0]).includes("password"));
    assert.ok((await metricValue(gw.metrics.registry, "audit_errors_total")) >= 1);
    // Fail closed: the next order is refused at once, nothing more is sent to the venue.
    const next = await client.placeOrder({ ...order, clientOrderId: "pg-fail-2" }).catch((x: unknown) => ConnectError.from(x));
    assert.ok(next instanceof ConnectError && next.code === Code.Unavailable);
  });
});

test("bad AUDIT_FILE, PAPER_PRICES, VENUES_FILE or RISK_LIMITS_FILE stop start-up with a message naming the setting", async (t) => {
  const base = { ...defaultConfig(), auditMode: "off" as const };
  // A regular file where a directory should be (ENOTDIR). Not /proc: mkdirSync({recursive}) spins there.
  const notADir = join(mkdtempSync(join(tmpdir(), "gw-core-bad-")), "file");
  writeFileSync(notADir, "");
  t.after(() => rmSync(join(notADir, ".."), { recursive: true, force: true }));
  const deps = { logger: createLogCapture().logger, health: createHealthRegistry(), registry: createRpcMetrics().registry, shutdownSignal: new AbortController().signal };
  // The files and variables the settings name are read by config/ before anything is built...
  const sources = { env: {}, venueKinds: VENUE_KINDS };
  const prices = loadGatewayConfig({ ...base, paperPrices: "BTC-USD=abc" }, sources);
  assert.ok(!prices.ok && prices.error.length === 1 && /PAPER_PRICES/.test(prices.error[0]!));
  const risk = loadGatewayConfig({ ...base, riskLimitsFile: "/nonexistent/limits.yaml" }, sources);
  assert.ok(!risk.ok && /RISK_LIMITS_FILE/.test(risk.error[0]!));
  const venues = loadGatewayConfig({ ...base, venuesFile: "/v.yaml" }, { ...sources, readFile: () => "venues: [{ name: x, kind: nope }]" });
  assert.ok(!venues.ok && /v\.yaml/.test(venues.error[0]!));
  // ...and a part that cannot start (the audit log) stops the composition.
  await assert.rejects(
    createGateway({ ...deps, config: gatewayConfig({ ...base, auditMode: "fsync", auditFile: join(notADir, "sub", "audit.jsonl") }) }),
    (e: unknown) => e instanceof StartupConfigError && /AUDIT_FILE .*ENOTDIR|AUDIT_FILE .*not a directory/.test(e.message),
  );
});

test("RISK_LIMITS_FILE: YAML or JSON, decimals as strings or numbers; errors name the field", () => {
  const ok = parseRiskLimits('"*": { maxQuantity: "10" }\nacct1: { maxNotional: "100000", allowedSymbols: [BTC-USD], symbols: { BTC-USD: { maxQuantity: "2" } } }\n', "r.yaml");
  assert.ok(ok.ok);
  assert.equal(ok.value["acct1"]!.symbols!["BTC-USD"]!.maxQuantity, "2");
  // Numbers become exact decimal strings (YAML reads 0.1 as a double; decimal.js renders it as written).
  const numbers = parseRiskLimits("acct1: { maxNotional: 1e6, maxQuantity: 0.1, symbols: { BTC-USD: { maxQuantity: 12345678901234567890.5 } } }", "r.yaml");
  assert.ok(numbers.ok, numbers.ok ? "" : numbers.error);
  assert.deepEqual(numbers.value["acct1"], { maxNotional: "1000000", maxQuantity: "0.1", symbols: { "BTC-USD": { maxQuantity: "12345678901234567890.5" } } });
  const json = parseRiskLimits('{"acct1": {"maxQuantity": 10}}', "r.json");
  assert.ok(json.ok && json.value["acct1"]!.maxQuantity === "10");
  const negative = parseRiskLimits("acct1: { maxNotional: -5 }", "r.yaml");
  assert.ok(!negative.ok);
  assert.equal(negative.error, "RISK_LIMITS_FILE r.yaml: acct1.maxNotional: must not be negative, got -5 (or \"off\")");
  const infinite = parseRiskLimits("acct1: { symbols: { BTC-USD: { maxQuantity: .inf } } }", "r.yaml");
  assert.ok(!infinite.ok);
  assert.match(infinite.error, /^RISK_LIMITS_FILE r\.yaml: acct1\.symbols\.BTC-USD\.maxQuantity: must be a finite decimal/);
  const unknown = parseRiskLimits("acct1: { maxQty: '1' }", "r.yaml");
  assert.ok(!unknown.ok);
  assert.equal(unknown.error, "RISK_LIMITS_FILE r.yaml: acct1.maxQty: unknown field; did you mean maxQuantity?");
});
