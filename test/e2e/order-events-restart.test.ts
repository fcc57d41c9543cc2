/**
 * StreamOrderEvents across a SIGKILL restart of the real gateway process: the numbers continue
 * after the last one issued, and a stream resumed with after_sequence gets every later event once
 * (from the audit log, then live), with no gap and no duplicate.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { connectChildGateway, startChildGateway, stopChildGateway } from "../helpers/child-gateway.js";

const order = (i: number) => ({ ...MARKET_ORDER_FIELDS, clientOrderId: `r-${i}`, quantity: "0.01" });

async function read(trading: ReturnType<typeof connectChildGateway>["trading"], after: bigint, n: number): Promise<bigint[]> {
  const ac = new AbortController();
  const out: bigint[] = [];
  for await (const r of trading.streamOrderEvents({ afterSequence: after }, { signal: ac.signal, timeoutMs: 20_000 })) {
    out.push(r.event!.sequence);
    if (out.length === n) break;
  }
  ac.abort();
  return out;
}

test("SIGKILL restart: event numbers continue, and a resume has no gap and no duplicate", { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "order-events-restart-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { AUDIT_MODE: "fsync", AUDIT_FILE: path.join(dir, "audit.jsonl") };

  const first = await startChildGateway(env);
  t.after(() => stopChildGateway(first, "SIGKILL"));
  const c1 = connectChildGateway(first.port);
  for (let i = 0; i < 3; i++) await c1.trading.placeOrder(order(i), { timeoutMs: 10_000 });
  // Each market order: ACCEPTED, FILL, FILLED.
  const before = await read(c1.trading, 0n, 9);
  assert.deepEqual(before, Array.from({ length: 9 }, (_, i) => BigInt(i + 1)));
  c1.close();
  await stopChildGateway(first, "SIGKILL");

  const second = await startChildGateway(env);
  t.after(() => stopChildGateway(second, "SIGKILL"));
  const c2 = connectChildGateway(second.port);
  t.after(() => c2.close());
  await c2.trading.placeOrder(order(3), { timeoutMs: 10_000 });
  // The client saw up to 5 before the crash: it resumes there, across the restart.
  const resumed = await read(c2.trading, 5n, 7);
  assert.deepEqual(resumed, [6n, 7n, 8n, 9n, 10n, 11n, 12n]);
  // Break tried: recovery not reading the stored "es" (lastEventSequence 0) -> the new order's
  // events reuse 1..3 and after_sequence 5 is refused as ahead (fails above).
});
