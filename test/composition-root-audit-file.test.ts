/**
 * Issue 18 item 1: the audit file deleted, or renamed and replaced, under a running gateway
 * (JSONL, fsync). Before, orders went on being acknowledged into an unlinked inode and were
 * NOT_FOUND after a restart, where a retry made a second venue order. Now the next PlaceOrder
 * fails closed as for a failed write, and the operator's recovery (README, "Operating it")
 * brings back every acknowledged order, so a retry after the restart is a replay.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { OrderStatus, TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { readAuditLog } from "../src/adapters/audit/audit-reader.js";
import { createGateway } from "../src/composition-root.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createHealthRegistry, ServingStatus } from "../src/server/health.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { createInMemoryGateway } from "./helpers/in-memory-gateway.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";

type After = { after: (fn: () => Promise<void> | void) => void };

async function boot(t: After, file: string) {
  const logs = createLogCapture();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "fsync", auditFile: file, paperPrices: "BTC-USD=50000" }),
    logger: logs.logger,
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
  return { gw, health, logs, close };
}

function tempLog(t: After): string {
  const dir = fs.mkdtempSync(join(tmpdir(), "gw-audit-file-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return join(dir, "audit.jsonl");
}

const order = (n: number) => ({ ...MARKET_ORDER_FIELDS, clientOrderId: `af-${n}`, idempotencyKey: `idem-af-${n}` });

async function refused(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => assert.fail("the call was acknowledged"),
    (e: unknown) => ConnectError.from(e),
  );
}

async function clientOrderIds(file: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const e of readAuditLog({ path: file })) if (e.order !== undefined) ids.add(e.order.clientOrderId);
  return ids;
}

/** What every case checks right after the file went away: the fail-closed path of a failed write. */
async function expectFailClosed(s: Awaited<ReturnType<typeof boot>>, n: number): Promise<string> {
  const e = await refused(s.gw.trading.placeOrder(order(n)));
  assert.equal(e.code, Code.Unavailable);
  const orderId = /for order (\S+) was not recorded/.exec(e.rawMessage)?.[1];
  assert.ok(orderId !== undefined, `the answer names the order: ${e.rawMessage}`);
  assert.equal(s.health.get(""), ServingStatus.NOT_SERVING);
  assert.equal(s.health.get(TradingGateway.typeName), ServingStatus.NOT_SERVING);
  assert.ok(
    s.logs.lines.some((l) => l["level"] === 50 && /is no longer the file this gateway writes/.test(String(l["msg"]))),
    "an error line names the audit file",
  );
  assert.ok(s.logs.lines.some((l) => l["level"] === 60 && /^audit log unavailable/.test(String(l["msg"]))));
  // And it keeps refusing: no new file is started behind the operator's back.
  const next = await refused(s.gw.trading.placeOrder(order(n + 1)));
  assert.equal(next.code, Code.Unavailable);
  assert.match(next.rawMessage, /^audit log unavailable/);
  return orderId;
}

test("AUDIT_FILE deleted while running: UNAVAILABLE naming the order, NOT_SERVING, error logged; copied back from /proc, a restart replays every order", async (t) => {
  const file = tempLog(t);
  const s = await boot(t, file);
  const acked: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const r = await s.gw.trading.placeOrder(order(n));
    assert.equal(r.order?.status, OrderStatus.FILLED);
    acked.push(`af-${n}`);
  }
  fs.unlinkSync(file);
  const orderId = await expectFailClosed(s, 4);
  assert.equal(fs.existsSync(file), false, "no new file appeared at AUDIT_FILE");

  // The operator's recovery: copy the open file back from where the log line says it is, then restart.
  const line = s.logs.lines.find((l) => /is no longer the file this gateway writes/.test(String(l["msg"])))!;
  fs.copyFileSync(String(line["openFile"]), file);
  await s.close();
  const stored = await clientOrderIds(file);
  for (const id of acked) assert.ok(stored.has(id), `acknowledged order ${id} is in AUDIT_FILE`);
  assert.ok(!stored.has("af-5"), "the refused order never existed");

  const again = await boot(t, file);
  assert.equal(again.health.get(""), ServingStatus.SERVING);
  const retry = await again.gw.trading.placeOrder(order(4));
  assert.equal(retry.replayed, true, "the order refused as not recorded is a replay after the restart, never a second order");
  assert.equal(retry.order?.orderId, orderId);
  for (let n = 1; n <= 3; n++) assert.equal((await again.gw.trading.placeOrder(order(n))).replayed, true);
});

test("AUDIT_FILE renamed and replaced while running: UNAVAILABLE, NOT_SERVING, error logged; the replacement is untouched, every acknowledged order is in the renamed file", async (t) => {
  const file = tempLog(t);
  const s = await boot(t, file);
  const acked: string[] = [];
  for (let n = 1; n <= 3; n++) {
    await s.gw.trading.placeOrder(order(n));
    acked.push(`af-${n}`);
  }
  const moved = `${file}.old`;
  fs.renameSync(file, moved);
  fs.writeFileSync(file, "");
  await expectFailClosed(s, 4);
  const line = s.logs.lines.find((l) => /is no longer the file this gateway writes/.test(String(l["msg"])))!;
  assert.equal(line["nowAt"], moved, "the log line says where the gateway's file went");
  await s.close();
  assert.equal(fs.readFileSync(file, "utf8"), "", "the file now at AUDIT_FILE was never written");
  const stored = await clientOrderIds(moved);
  for (const id of acked) assert.ok(stored.has(id), `acknowledged order ${id} is in the renamed file`);
});
