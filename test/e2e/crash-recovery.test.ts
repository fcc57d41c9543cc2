/**
 * The durability promise, end to end: the real gateway process (src/main.ts) runs with the fsync
 * audit log, a burst of orders is in flight, the process is SIGKILLed (no shutdown hook runs),
 * and after a restart on the same log:
 *   - every order that was acknowledged is in the audit log, and
 *   - retrying any acknowledged order is answered from the log as a replay (same order id,
 *     replayed = true), not placed a second time, and
 *   - StreamFills replays every logged fill in sequence order, and new fills continue the
 *     sequence after the recovered last one.
 * Orders cut off mid-flight may or may not be in the log; retrying them must still never
 * create a second order for a key that the log already holds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { readAuditLog } from "../../src/adapters/audit/audit-reader.js";
import type { PlaceOrderRequestSchema } from "../../gen/trading/v1/trading_gateway_pb.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Gateway {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
}

/** Starts `node --import tsx src/main.ts` and resolves once it logs its listening port. */
async function startGateway(env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (out += d));
  return new Promise<Gateway>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gateway did not start within 60 s:\n${out}`));
    }, 60_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited early (${code ?? signal}):\n${out}`));
    });
    child.stdout!.on("data", (d: string) => {
      out += d;
      const m = /"port":(\d+)[^\n]*"msg":"trading-gateway listening/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    });
  });
}

function kill(g: Gateway, signal: NodeJS.Signals): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    g.child.once("exit", () => resolve());
    g.child.kill(signal);
  });
}

function connect(port: number): { client: Client<typeof TradingGateway>; close: () => void } {
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return { client: createClient(TradingGateway, transport), close: () => sessionManager.abort() };
}

function order(i: number): MessageInitShape<typeof PlaceOrderRequestSchema> {
  return {
    clientOrderId: `crash-${i}`,
    account: "acct-crash",
    venue: "paper",
    symbol: "BTC-USD",
    side: i % 2 === 0 ? Side.BUY : Side.SELL,
    type: OrderType.MARKET,
    timeInForce: TimeInForce.IOC,
    quantity: `0.0${(i % 9) + 1}`,
  };
}

test("SIGKILL during a burst: every acknowledged order is in the audit log, its retry is a replay, and its fills stream again in sequence", { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crash-recovery-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const auditFile = path.join(dir, "audit.jsonl");
  const env = {
    HOST: "127.0.0.1",
    PORT: "0",
    METRICS_PORT: "off",
    AUDIT_MODE: "fsync",
    AUDIT_FILE: auditFile,
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    RATE_LIMIT_RPS: "0",
    API_KEYS: "",
  };

  const first = await startGateway(env);
  t.after(() => kill(first, "SIGKILL"));
  const c1 = connect(first.port);
  t.after(() => c1.close());

  // Warm-up: the pipeline answers before the burst starts.
  const warm = await c1.client.placeOrder(order(999_999), { timeoutMs: 10_000 });
  assert.equal(warm.replayed, false);

  // The burst: 32 concurrent callers; the process is killed once 150 orders were acknowledged.
  const acked = new Map<number, string>(); // request index -> order id
  let next = 0;
  let killed = false;
  const ackTarget = 150;
  let killing: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    while (!killed) {
      const i = next++;
      try {
        const r = await c1.client.placeOrder(order(i), { timeoutMs: 10_000 });
        // Answered = acknowledged, even if the kill is already under way.
        acked.set(i, r.order!.orderId);
        if (acked.size >= ackTarget && !killed) {
          killed = true;
          killing = kill(first, "SIGKILL");
        }
      } catch {
        // Cut off by the kill: no acknowledgement, no promise made.
        if (!killed) throw new Error(`order ${i} failed before the kill:\n${first.output()}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await killing;
  assert.equal(first.child.signalCode, "SIGKILL");
  assert.ok(acked.size >= ackTarget);
  assert.ok(next > acked.size, "calls were in flight when the process died");
  c1.close();

  // A crash can also cut a line in half (kill between write(2) calls, or a full disk): make sure
  // one is there, so the restart proves it skips and repairs it instead of refusing to start.
  fs.appendFileSync(auditFile, '{"ts":"2026-01-01T00:00:00.000Z","event":"order_acc');

  // Restart on the same log.
  const second = await startGateway(env);
  t.after(() => kill(second, "SIGTERM"));
  const c2 = connect(second.port);
  t.after(() => c2.close());

  // 1. Every acknowledged order is in the audit log.
  const logged = new Set<string>();
  const loggedFills: bigint[] = [];
  for await (const e of readAuditLog({ path: auditFile, live: true })) {
    if (e.order !== undefined) logged.add(e.order.orderId);
    if (e.fill !== undefined) loggedFills.push(e.fill.sequence);
  }
  const missing = [...acked.values()].filter((id) => !logged.has(id));
  assert.deepEqual(missing, [], "acknowledged orders missing from the audit log");
  assert.ok(fs.readFileSync(auditFile, "utf8").endsWith("\n"), "the torn tail was repaired at start-up");
  assert.match(second.output(), /torn last line/, "the repair was logged");

  // 2. Retrying any acknowledged order is a replay of the same order (and places nothing new).
  const acks = [...acked.entries()];
  for (let k = 0; k < acks.length; k += 32) {
    await Promise.all(
      acks.slice(k, k + 32).map(async ([i, orderId]) => {
        const r = await c2.client.placeOrder(order(i), { timeoutMs: 10_000 });
        assert.equal(r.replayed, true, `order ${i} was placed again instead of replayed`);
        assert.equal(r.order?.orderId, orderId);
      }),
    );
  }

  // 2b. The fills survived too: StreamFills from sequence 0 replays them from the log, in order,
  // and a new fill continues the sequence after the recovered last one.
  assert.ok(loggedFills.length > 0, "MARKET IOC orders on the paper venue fill");
  const streamAbort = new AbortController();
  t.after(() => streamAbort.abort());
  const it = c2.client.streamFills({ account: "acct-crash" }, { signal: streamAbort.signal })[Symbol.asyncIterator]();
  const replayedFills: bigint[] = [];
  const filledOrders = new Set<string>();
  while (replayedFills.length < loggedFills.length) {
    const r = await it.next();
    assert.equal(r.done, false);
    replayedFills.push(r.value!.fill!.sequence);
    filledOrders.add(r.value!.fill!.orderId);
  }
  assert.deepEqual(replayedFills, loggedFills, "every logged fill, in log order");
  for (let k = 1; k < replayedFills.length; k++) assert.ok(replayedFills[k]! > replayedFills[k - 1]!, "strictly increasing");
  for (const orderId of acked.values()) assert.ok(filledOrders.has(orderId), `fill of acknowledged order ${orderId}`);
  const liveFill = it.next();
  await c2.client.placeOrder(order(next + 1), { timeoutMs: 10_000 });
  const newSeq = (await liveFill).value!.fill!.sequence;
  assert.ok(newSeq > replayedFills.at(-1)!, `the sequence continues after a restart (${newSeq} > ${replayedFills.at(-1)})`);
  streamAbort.abort();

  // 3. Orders cut off mid-flight: a retry answers either a replay (it reached the log) or a new order; never an error.
  for (let i = 0; i < next; i++) {
    if (acked.has(i)) continue;
    const r = await c2.client.placeOrder(order(i), { timeoutMs: 10_000 });
    assert.ok(r.order !== undefined);
    const again = await c2.client.placeOrder(order(i), { timeoutMs: 10_000 });
    assert.equal(again.replayed, true);
    assert.equal(again.order?.orderId, r.order.orderId);
  }
});
