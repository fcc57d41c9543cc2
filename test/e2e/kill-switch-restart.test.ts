/**
 * The kill switch and the risk limits in the real process (src/main.ts): a HALTED state survives
 * a SIGKILL, and SIGHUP reloads RISK_LIMITS_FILE, keeping the old limits when the new file is bad.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, TradingState } from "../../gen/trading/v1/trading_gateway_pb.js";
import { connectChildGateway, startChildGateway, stopChildGateway } from "../helpers/child-gateway.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { rpcError } from "../helpers/trading-core.js";
import { waitFor } from "../helpers/wait-for.js";
import { pgUnreachable, testPgUrl } from "../helpers/test-postgres.js";

// A busy test machine must not shed these calls (load shedding has its own tests).
const CALM = { UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0" };

for (const backend of ["jsonl", "postgres"] as const) {
  test(`a HALTED trading state survives SIGKILL and a restart (${backend}); /readyz shows it; ACTIVE resumes`, { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "gw-halt-kill-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    let env: Record<string, string> = { ...CALM, AUDIT_FILE: join(dir, "audit.jsonl"), AUDIT_MODE: "fsync" };
    if (backend === "postgres") {
      const down = await pgUnreachable();
      if (down !== undefined) return t.skip(down);
      const table = `halt_${randomBytes(4).toString("hex")}`;
      env = { ...env, AUDIT_BACKEND: "postgres", AUDIT_PG_URL: testPgUrl, AUDIT_PG_TABLE: table };
      t.after(async () => {
        const c = new pg.Client({ connectionString: testPgUrl });
        await c.connect();
        await c.query(`DROP TABLE IF EXISTS ${table}`);
        await c.end();
      });
    }
    const first = await startChildGateway(env);
    t.after(() => stopChildGateway(first, "SIGKILL"));
    const c1 = connectChildGateway(first.port);
    await c1.trading.setTradingState({ venue: "paper", state: TradingState.HALTED, reason: "venue incident" });
    c1.close();
    await stopChildGateway(first, "SIGKILL");

    const second = await startChildGateway({ ...env, METRICS_PORT: "0" });
    t.after(() => stopChildGateway(second));
    const c2 = connectChildGateway(second.port);
    t.after(() => c2.close());
    const got = await c2.trading.getTradingState({ venue: "paper" });
    assert.equal(got.effective, TradingState.HALTED);
    assert.equal(got.settings[0]?.reason, "venue incident");
    const refused = await rpcError(c2.trading.placeOrder({ ...MARKET_ORDER_FIELDS, quantity: "0.1" }));
    assert.equal(refused.code, Code.FailedPrecondition);
    assert.equal(refused.findDetails(ErrorInfoSchema)[0]?.reason, "TRADING_HALTED");
    // Health details: still ready (cancels must be answered), the halt named.
    const metricsPort = await waitFor(() => second.logs().find((l) => String(l["msg"]).startsWith("metrics listening"))?.["port"] as number | undefined, { what: "the metrics port" });
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { tradingStates: { venue: string; state: string; reason: string }[] };
    assert.deepEqual(body.tradingStates.map((s) => [s.venue, s.state, s.reason]), [["paper", "HALTED", "venue incident"]]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^trading_state\{venue="paper"\} 2$/m);
    await c2.trading.setTradingState({ venue: "paper", state: TradingState.ACTIVE, reason: "fixed" });
    const placed = await c2.trading.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: "after", quantity: "0.1" });
    assert.equal(placed.order?.status, OrderStatus.FILLED);
  });
}

test("SIGHUP reloads RISK_LIMITS_FILE; a bad file keeps the old limits and logs why", { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-reload-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "limits.yaml");
  writeFileSync(file, "'*': { maxQuantity: 1 }\n");
  // The file watch is off here: only the signal reloads, so the test knows what triggered it.
  const gw = await startChildGateway({ ...CALM, AUDIT_FILE: join(dir, "audit.jsonl"), RISK_LIMITS_FILE: file, RISK_LIMITS_WATCH_MS: "0" });
  t.after(() => stopChildGateway(gw));
  const c = connectChildGateway(gw.port);
  t.after(() => c.close());
  const order = (id: string) => ({ ...MARKET_ORDER_FIELDS, clientOrderId: id, quantity: "1.5" });
  assert.equal((await rpcError(c.trading.placeOrder(order("a")))).findDetails(ErrorInfoSchema)[0]?.reason, "MAX_QUANTITY_EXCEEDED");

  writeFileSync(file, "'*': { maxQuantity: 2 }\n");
  gw.child.kill("SIGHUP");
  await waitFor(() => gw.logs().some((l) => l["msg"] === "risk limits reloaded: new limits in force"), { what: "the reload" });
  assert.equal((await c.trading.placeOrder(order("b"))).order?.status, OrderStatus.FILLED);
  // The change is on record, with the file and a digest.
  const line = await waitFor(() => readFileSync(join(dir, "audit.jsonl"), "utf8").split("\n").find((l) => l.includes('"event":"risk_limits_reloaded"')), { what: "the audit record" });
  assert.match(line ?? "", /"source":"[^"]*limits\.yaml","digest":"[0-9a-f]{64}","summary":"defaults maxQuantity=2 /);

  writeFileSync(file, "'*': { maxQuantity: -1 }\n");
  gw.child.kill("SIGHUP");
  await waitFor(() => gw.logs().some((l) => String(l["msg"]).startsWith("risk limits reload refused, the old limits stay in force")), { what: "the refusal" });
  const refusal = gw.logs().find((l) => String(l["msg"]).startsWith("risk limits reload refused"))!;
  assert.match(String(refusal["msg"]), /limits\.yaml: \*\.maxQuantity: must not be negative/);
  assert.equal((await c.trading.placeOrder(order("c"))).order?.status, OrderStatus.FILLED, "the old limits (2) still apply");
  assert.equal(gw.alive, true);
});

test("a change of RISK_LIMITS_FILE is picked up without a signal (file watch)", { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-watch-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "limits.yaml");
  writeFileSync(file, "'*': { maxQuantity: 1 }\n");
  const gw = await startChildGateway({ ...CALM, AUDIT_FILE: join(dir, "audit.jsonl"), RISK_LIMITS_FILE: file, RISK_LIMITS_WATCH_MS: "50" });
  t.after(() => stopChildGateway(gw));
  const c = connectChildGateway(gw.port);
  t.after(() => c.close());
  writeFileSync(file, "'*': { maxQuantity: 2 }\n");
  await waitFor(() => gw.logs().some((l) => l["msg"] === "risk limits reloaded: new limits in force" && l["trigger"] === undefined), { what: "the reload" });
  assert.ok(gw.logs().some((l) => l["msg"] === "reloading risk limits" && l["trigger"] === "file change"));
  assert.equal((await c.trading.placeOrder({ ...MARKET_ORDER_FIELDS, quantity: "1.5" })).order?.status, OrderStatus.FILLED);
});
