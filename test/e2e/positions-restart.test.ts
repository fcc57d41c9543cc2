/**
 * Positions survive a SIGKILL: the real gateway process (src/main.ts) with the fsync audit log
 * is killed without a shutdown hook and restarted on the same log (with other paper prices): it
 * answers GetPositions exactly as before the kill, keeps trading from there, and an account that
 * broke its daily loss limit before the kill is still reduce-only after it (the breach is not
 * recorded a second time).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderType, Side, TimeInForce } from "../../gen/trading/v1/trading_gateway_pb.js";
import { connectChildGateway, startChildGateway, stopChildGateway, type ChildGateway } from "../helpers/child-gateway.js";

test("positions and a daily-loss reduce-only account are recovered from the audit log after SIGKILL", { timeout: 180_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "positions-restart-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const auditFile = path.join(dir, "audit.jsonl");
  const limitsFile = path.join(dir, "limits.yaml");
  fs.writeFileSync(limitsFile, "\"*\":\n  maxNotional: 1000000\nacct-b:\n  dailyLossLimit: 50\n");
  const env = (prices: string) => ({ AUDIT_MODE: "fsync", AUDIT_FILE: auditFile, PAPER_PRICES: prices, RISK_LIMITS_FILE: limitsFile });
  const running: ChildGateway[] = [];
  t.after(async () => {
    for (const g of running) await stopChildGateway(g, "SIGKILL");
  });
  async function start(prices: string) {
    const g = await startChildGateway(env(prices));
    running.push(g);
    const c = connectChildGateway(g.port);
    t.after(() => c.close());
    return { g, c: c.trading };
  }
  let n = 0;
  const place = (c: Awaited<ReturnType<typeof start>>["c"], account: string, symbol: string, side: Side, quantity: string) =>
    c.placeOrder({ clientOrderId: `r-${++n}`, account, venue: "paper", symbol, side, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity }, { timeoutMs: 10_000 });
  const positions = async (c: Awaited<ReturnType<typeof start>>["c"]) => [
    ...(await c.getPositions({ account: "acct-a" })).positions,
    ...(await c.getPositions({ account: "acct-b" })).positions,
  ];

  const one = await start("BTC-USD=65000,ETH-USD=3500");
  await place(one.c, "acct-a", "BTC-USD", Side.BUY, "2");
  await place(one.c, "acct-a", "ETH-USD", Side.BUY, "1");
  await place(one.c, "acct-a", "ETH-USD", Side.SELL, "3"); // flips to -2 at 3500
  await place(one.c, "acct-b", "ETH-USD", Side.SELL, "2");
  const before = await positions(one.c);
  assert.deepEqual(
    before.map((p) => [p.account, p.symbol, p.quantity, p.averageEntryPrice, p.realizedPnl, p.fees]),
    [
      ["acct-a", "BTC-USD", "2", "65000", "0", "130"],
      ["acct-a", "ETH-USD", "-2", "3500", "0", "14"],
      ["acct-b", "ETH-USD", "-2", "3500", "0", "7"],
    ],
  );
  await stopChildGateway(one.g, "SIGKILL");

  const two = await start("BTC-USD=66000,ETH-USD=3600");
  assert.deepEqual(await positions(two.c), before, "the same positions after SIGKILL and restart");
  await place(two.c, "acct-a", "BTC-USD", Side.SELL, "0.5"); // +500
  await place(two.c, "acct-b", "ETH-USD", Side.BUY, "1"); // -100: below -50, acct-b becomes reduce-only
  const refusal = async (c: Awaited<ReturnType<typeof start>>["c"]) => {
    const e = await place(c, "acct-b", "ETH-USD", Side.SELL, "0.1").then(
      () => assert.fail("expected REDUCE_ONLY"),
      (err: unknown) => ConnectError.from(err),
    );
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.findDetails(ErrorInfoSchema)[0]?.reason, "REDUCE_ONLY");
  };
  await refusal(two.c);
  const after = await positions(two.c);
  assert.deepEqual(
    after.map((p) => [p.account, p.symbol, p.quantity, p.averageEntryPrice, p.realizedPnl]),
    [
      ["acct-a", "BTC-USD", "1.5", "65000", "500"],
      ["acct-a", "ETH-USD", "-2", "3500", "0"],
      ["acct-b", "ETH-USD", "-1", "3500", "-100"],
    ],
  );
  await stopChildGateway(two.g, "SIGKILL");

  const three = await start("BTC-USD=66000,ETH-USD=3600");
  assert.deepEqual(await positions(three.c), after, "the same positions after a second SIGKILL");
  await refusal(three.c);
  await place(three.c, "acct-b", "ETH-USD", Side.BUY, "1"); // reduces: allowed
  await stopChildGateway(three.g, "SIGTERM");
  const breaches = fs.readFileSync(auditFile, "utf8").split("\n").filter((l) => l.includes('"event":"daily_loss_limit_breached"'));
  assert.equal(breaches.length, 1, "the breach is recorded once, not again at each start");
});
