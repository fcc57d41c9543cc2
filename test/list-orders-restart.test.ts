/**
 * ListOrders / ListFills list every order on record, not only those in memory: with
 * ORDER_RETENTION_MS tiny, finished orders are gone from the order manager after a restart
 * (GetOrderStatus: NOT_FOUND), and ListOrders still lists them, from the index built from the
 * JSONL audit log or from the PostgreSQL audit table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { OrderStatus, OrderType, TimeInForce, TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { createGateway } from "../src/composition-root.js";
import type { Config } from "../src/config/env.js";
import { createHealthRegistry, ServingStatus } from "../src/server/health.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createInMemoryGateway } from "./helpers/in-memory-gateway.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";
import { pgUnreachable, testPgUrl } from "./helpers/test-postgres.js";

type After = { after: (fn: () => Promise<void> | void) => void };

async function boot(t: After, settings: Partial<Config>) {
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "fsync", paperPrices: "BTC-USD=50000", orderRetentionMs: 1, ...settings }),
    logger: createLogCapture().logger,
    health,
    registry: new Registry(),
    shutdownSignal: shutdown.signal,
  });
  health.set("", ServingStatus.SERVING);
  health.set(TradingGateway.typeName, ServingStatus.SERVING);
  const gw = createInMemoryGateway({ trading: core.trading });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= (shutdown.abort(), core.close()));
  t.after(close);
  return { gw, close };
}

async function scenario(t: After, settings: Partial<Config>): Promise<void> {
  const first = await boot(t, settings);
  const placed: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const r = await first.gw.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: `rs-${n}` });
    assert.equal(r.order?.status, OrderStatus.FILLED);
    placed.push(r.order!.orderId);
  }
  const resting = await first.gw.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: "rs-limit", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "46000" });
  assert.equal(resting.order?.status, OrderStatus.NEW);
  placed.push(resting.order!.orderId);
  const before = await first.gw.trading.listOrders({ account: "acct-1" });
  await first.close();

  const second = await boot(t, settings);
  // Past retention: the order manager no longer has the filled orders...
  const gone = await second.gw.trading.getOrderStatus({ orderId: placed[0]! }).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(gone?.code, Code.NotFound);
  // ...and ListOrders lists them all, newest first, as before the restart.
  const after = await second.gw.trading.listOrders({ account: "acct-1" });
  assert.deepEqual(
    after.orders.map((o) => o.orderId),
    [...placed].reverse(),
  );
  assert.deepEqual(after.orders, before.orders);
  const open = await second.gw.trading.listOrders({ account: "acct-1", openOnly: true });
  assert.deepEqual(
    open.orders.map((o) => o.orderId),
    [resting.order!.orderId],
  );
  const fills = await second.gw.trading.listFills({ account: "acct-1", pageSize: 2 });
  assert.equal(fills.fills.length, 2);
  assert.notEqual(fills.nextPageToken, "");
  const rest = await second.gw.trading.listFills({ account: "acct-1", pageSize: 2, pageToken: fills.nextPageToken });
  assert.equal(rest.nextPageToken, "");
  assert.deepEqual(
    [...fills.fills, ...rest.fills].map((f) => f.orderId),
    placed.slice(0, 3).reverse(),
  );
  // The order placed after the restart is listed first.
  const more = await second.gw.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: "rs-after" });
  const now = await second.gw.trading.listOrders({ account: "acct-1", pageSize: 1 });
  assert.equal(now.orders[0]?.orderId, more.order?.orderId);
}

test("JSONL: orders past ORDER_RETENTION_MS are listed after a restart (index rebuilt from the audit log)", async (t) => {
  const dir = fs.mkdtempSync(join(tmpdir(), "gw-list-restart-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await scenario(t, { auditFile: join(dir, "audit.jsonl") });
});

test("PostgreSQL: orders past ORDER_RETENTION_MS are listed after a restart (queried from the audit table)", async (t) => {
  const skip = await pgUnreachable();
  if (skip !== undefined) return t.skip(skip);
  const table = `list_restart_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  t.after(async () => {
    const c = new pg.Client({ connectionString: testPgUrl });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS "${table}"; DROP FUNCTION IF EXISTS "${table}_append_only"`);
    await c.end();
  });
  await scenario(t, { auditBackend: "postgres", auditPgUrl: testPgUrl, auditPgTable: table });
});

/** The spill files this process holds open (unlinked, so only /proc/self/fd shows them), by path. */
function openSpillFiles(): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor)
    }
    if (/\.order-history-.*\.spill \(deleted\)$/.test(target)) out.push({ path: target, bytes: fs.statSync(`/proc/self/fd/${fd}`).size });
  }
  return out;
}

test("JSONL: the ListOrders index spills finished orders to an unlinked file beside the log, and lists them all from it, before and after a restart", async (t) => {
  const dir = fs.mkdtempSync(join(tmpdir(), "gw-list-spill-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The benchmark's limits: 4,000 orders at once are more than the default order rate allows.
  const riskLimitsFile = new URL("../bench/risk-limits.yaml", import.meta.url).pathname;
  const settings = { auditFile: join(dir, "audit.jsonl"), auditMode: "buffered", riskLimitsFile } as const;
  assert.deepEqual(openSpillFiles(), []);
  const first = await boot(t, settings);
  assert.equal(openSpillFiles().length, 1);
  assert.ok(openSpillFiles()[0]!.path.startsWith(join(dir, ".order-history-")), "in the audit log's directory");
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes("spill")), [], "unlinked: not in the directory");
  // About 370 bytes of records per filled order and its fill: 4,000 orders fill the first 1 MB
  // chunk, which goes to the file and leaves memory.
  const placed: string[] = [];
  for (let n = 0; n < 4_000; n += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, (_, i) => first.gw.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: `sp-${n + i}` })));
    for (const r of batch) placed.push(r.order!.orderId);
  }
  const deadline = Date.now() + 10_000;
  while (openSpillFiles()[0]!.bytes === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(openSpillFiles()[0]!.bytes > 500_000, `the spill file holds a chunk: ${openSpillFiles()[0]!.bytes} bytes`);
  const listAll = async (gw: typeof first.gw): Promise<string[]> => {
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await gw.trading.listOrders({ account: "acct-1", pageSize: 1000, pageToken });
      ids.push(...page.orders.map((o) => o.orderId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return ids;
  };
  const before = await listAll(first.gw);
  assert.equal(before.length, placed.length);
  assert.deepEqual(new Set(before), new Set(placed));
  await first.close();
  assert.deepEqual(openSpillFiles(), [], "closed with the gateway");
  // After a restart the index (and a new spill file) is built again from the audit log.
  const second = await boot(t, settings);
  assert.equal(openSpillFiles().length, 1);
  assert.deepEqual(await listAll(second.gw), before);
  await second.close();
});

test("AUDIT_MODE=off: the ListOrders index keeps everything in memory, no spill file", async (t) => {
  const dir = fs.mkdtempSync(join(tmpdir(), "gw-list-nospill-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gw = await boot(t, { auditFile: join(dir, "audit.jsonl"), auditMode: "off" });
  await gw.gw.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: "ns-1" });
  assert.deepEqual(openSpillFiles(), []);
  assert.deepEqual(fs.readdirSync(dir), []);
});
