import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { OrderStatus, TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import type { AuditFileIo } from "../src/adapters/audit/jsonl-sink.js";
import { readAuditLog } from "../src/adapters/audit/audit-reader.js";
import { createGateway } from "../src/composition-root.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createHealthRegistry, ServingStatus } from "../src/server/health.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { createInMemoryGateway } from "./helpers/in-memory-gateway.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";
import { waitFor } from "./helpers/wait-for.js";

/** Real node:fs, but every write fails with ENOSPC while `full` is set (a disk filling up under a buffered log). */
function fillableDisk() {
  const s = { full: false, failedWrites: 0 };
  const io: AuditFileIo = {
    write(fd, buf, off, len, cb) {
      if (s.full) {
        s.failedWrites++;
        return void setImmediate(() => cb(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }), 0));
      }
      fs.write(fd, buf, off, len, null, cb);
    },
    fsync: (fd, cb) => fs.fsync(fd, cb),
  };
  return { io, s };
}

async function boot(t: { after: (fn: () => Promise<void> | void) => void }) {
  const dir = fs.mkdtempSync(join(tmpdir(), "gw-buffered-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "audit.jsonl");
  const disk = fillableDisk();
  const logs = createLogCapture();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "buffered", auditFile: file, paperPrices: "BTC-USD=50000" }),
    logger: logs.logger,
    health,
    registry: new Registry(),
    shutdownSignal: shutdown.signal,
    auditFileIo: disk.io,
  });
  // Main sets these once the server is up.
  health.set("", ServingStatus.SERVING);
  health.set(TradingGateway.typeName, ServingStatus.SERVING);
  // The production routes and interceptors, in memory.
  const gw = createInMemoryGateway({ trading: core.trading });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    shutdown.abort();
    await core.close();
  };
  t.after(close);
  return { gw, health, logs, core, disk, file, close };
}

const order = (n: number) => ({ ...MARKET_ORDER_FIELDS, clientOrderId: `buf-${n}`, idempotencyKey: `idem-buf-${n}` });

test("AUDIT_MODE=buffered: a failed background write trips the audit guard: new orders UNAVAILABLE, health NOT_SERVING", async (t) => {
  const { gw, health, logs, disk, file, close } = await boot(t);

  // Healthy first: answered at once, and the line reaches the file.
  const first = await gw.trading.placeOrder(order(1));
  assert.equal(first.order?.status, OrderStatus.FILLED);

  // The disk fills up. Buffered mode answers before the write, so this order is accepted...
  disk.s.full = true;
  const lost = await gw.trading.placeOrder(order(2));
  assert.equal(lost.order?.status, OrderStatus.FILLED);
  // ...but its events never land: the sink reports it, and the gateway fails closed.
  await waitFor(() => health.get("") === ServingStatus.NOT_SERVING, { what: "health NOT_SERVING" });
  assert.equal(health.get(TradingGateway.typeName), ServingStatus.NOT_SERVING);
  assert.ok(disk.s.failedWrites >= 1);
  assert.ok(
    logs.lines.some((r) => r["level"] === 60 && /audit log unavailable: a background write of \d+ audit event\(s\) failed \(AUDIT_MODE=buffered\)/.test(String(r["msg"]))),
    "a fatal log names the buffered write failure",
  );

  // Even once the disk has room again, new orders are refused until a restart: the log has a hole.
  disk.s.full = false;
  const refused = await gw.trading.placeOrder(order(3)).then(
    () => assert.fail("a new order was accepted after the audit log lost events"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(refused.code, Code.Unavailable);
  assert.match(refused.rawMessage, /^audit log unavailable/);
  // A replay of a completed key still answers (it writes nothing and sends nothing).
  const replay = await gw.trading.placeOrder(order(1));
  assert.equal(replay.replayed, true);

  await close();
  const stored: string[] = [];
  for await (const e of readAuditLog({ path: file })) stored.push(e.order?.clientOrderId ?? "");
  assert.ok(stored.includes("buf-1"), "the order before the failure is on record");
  assert.ok(!stored.includes("buf-3"), "the refused order never reached the log");
});

test("AUDIT_MODE=buffered with a working disk stays SERVING and takes orders (the hook only fires on failure)", async (t) => {
  const { gw, health, disk } = await boot(t);
  for (let i = 1; i <= 3; i++) assert.equal((await gw.trading.placeOrder(order(i))).order?.status, OrderStatus.FILLED);
  assert.equal(disk.s.failedWrites, 0);
  assert.equal(health.get(""), ServingStatus.SERVING);
});
