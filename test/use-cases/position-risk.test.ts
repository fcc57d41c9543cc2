/**
 * Positions kept by the order pipeline from its fills, GetPositions over it, and the limits that
 * need positions (maxPosition, maxGrossExposure, dailyLossLimit -> reduce-only), each at its
 * edge: exactly at the limit passes, one tick (1e-8) over fails. Paper venue: a MARKET order fills
 * at the reference price, a LIMIT buy below it rests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderType, Side, TimeInForce, type PlaceOrderRequestSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createPositionRiskMetrics } from "../../src/adapters/metrics/metrics.js";
import type { RiskLimitsConfig } from "../../src/use-cases/risk.js";
import { createTestTradingCore, rpcError } from "../helpers/trading-core.js";
import { decimalJsMath, type DecimalMath } from "../../src/domain/decimal-math.js";
import { scaledDecimalMath } from "../../src/domain/scaled-decimal-math.js";

/** Every test runs in both arithmetics (DECIMAL_MATH): the scaled one and decimal.js, its reference. */
const MATHS = [scaledDecimalMath, decimalJsMath];

let n = 0;
interface Over {
  readonly account?: string;
  readonly symbol?: string;
  readonly type?: OrderType;
  readonly timeInForce?: TimeInForce;
  readonly price?: string;
}
function market(side: Side, quantity: string, over: Over = {}): MessageInitShape<typeof PlaceOrderRequestSchema> {
  n++;
  return { clientOrderId: `c-${n}`, account: "acct-1", venue: "paper", symbol: "BTC-USD", side, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity, ...over };
}
function limit(side: Side, quantity: string, price: string, over: Over = {}) {
  return market(side, quantity, { type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price, ...over });
}

function core(limits: RiskLimitsConfig = {}, decimalMath: DecimalMath = scaledDecimalMath) {
  const registry = new Registry();
  const c = createTestTradingCore({ riskLimits: limits, positionRiskMetrics: createPositionRiskMetrics(registry), decimalMath });
  return { ...c, registry };
}

async function refused(p: Promise<unknown>, reason: string): Promise<Record<string, string>> {
  const e = await rpcError(p);
  assert.equal(e.code, Code.FailedPrecondition, e.message);
  const info = e.findDetails(ErrorInfoSchema)[0];
  assert.equal(info?.reason, reason, e.message);
  return info!.metadata;
}

for (const math of MATHS) test(`positions follow the fills: average entry, realized P&L on the reducing side, quote fees; GetPositions filters and guards the account (DECIMAL_MATH=${math.name})`, async () => {
  const { client, paper, core: pipeline } = core({}, math);
  await client.placeOrder(market(Side.BUY, "2"));
  paper.setReferencePrice("BTC-USD", "66000");
  await client.placeOrder(market(Side.SELL, "0.5"));
  await client.placeOrder(market(Side.BUY, "1", { symbol: "ETH-USD" }));
  await client.placeOrder(market(Side.BUY, "1", { account: "acct-2" }));

  const all = await client.getPositions({ account: "acct-1" });
  assert.deepEqual(
    all.positions.map((p) => [p.venue, p.symbol, p.quantity, p.averageEntryPrice, p.realizedPnl, p.fees, p.otherFees.length]),
    [
      // fees 0.001 x notional: 130 + 33
      ["paper", "BTC-USD", "1.5", "65000", "500", "163", 0],
      ["paper", "ETH-USD", "1", "3500", "0", "3.5", 0],
    ],
  );
  assert.equal(all.positions[0]!.account, "acct-1");
  assert.ok(all.positions[0]!.lastFillSequence > 0n && all.positions[0]!.updatedAt !== undefined);
  const one = await client.getPositions({ account: "acct-1", venue: "paper", symbol: "ETH-USD" });
  assert.deepEqual(one.positions.map((p) => p.symbol), ["ETH-USD"]);
  assert.deepEqual((await client.getPositions({ account: "acct-1", venue: "other" })).positions, []);

  // Exactly once: the book ignores a fill it has already applied.
  const btc = pipeline.positions.get("acct-1", "paper", "BTC-USD")!;
  const again = { ...fillLike(btc.lastFillSequence), account: "acct-1" };
  assert.equal(pipeline.positions.applyFill(again), undefined);
  assert.equal(pipeline.positions.get("acct-1", "paper", "BTC-USD"), btc);

  const missing = await rpcError(client.getPositions({ account: "" }));
  assert.equal(missing.code, Code.InvalidArgument);
  assert.match(missing.message, /account: is required/);
  const denied = await rpcError(client.getPositions({ account: "acct-2" }, { headers: { "x-accounts": "acct-1" } }));
  assert.equal(denied.code, Code.PermissionDenied);
});

function fillLike(sequence: bigint) {
  return {
    sequence,
    fillId: "f",
    orderId: "o",
    clientOrderId: "c",
    account: "acct-1",
    venue: "paper",
    symbol: "BTC-USD",
    side: Side.BUY,
    quantity: "100",
    price: "1",
    fee: "",
    feeCurrency: "",
    timeMs: 1,
    venueTradeId: "t",
  };
}

for (const math of MATHS) test(`maxPosition: the order plus open orders on its side, exactly at the limit passes, one tick over fails, reducing passes (DECIMAL_MATH=${math.name})`, async () => {
  const { client } = core({ "acct-1": { maxPosition: "2", symbols: { "ETH-USD": { maxPosition: "10" } } } }, math);
  await client.placeOrder(market(Side.BUY, "1"));
  await client.placeOrder(limit(Side.BUY, "0.5", "60000")); // rests: counts as if filled
  await client.placeOrder(limit(Side.BUY, "0.5", "60000")); // worst case exactly 2
  const md = await refused(client.placeOrder(limit(Side.BUY, "0.00000001", "60000")), "MAX_POSITION_EXCEEDED");
  assert.deepEqual(md, {
    limit: "maxPosition",
    max_position: "2",
    projected_position: "2.00000001",
    position: "1",
    open_same_side: "1",
    order_quantity: "0.00000001",
    account: "acct-1",
    venue: "paper",
    symbol: "BTC-USD",
  });
  // Sells are checked on their own side: from 1 long down to -2 is at the limit, one tick more is over.
  await client.placeOrder(limit(Side.SELL, "3", "70000"));
  await refused(client.placeOrder(limit(Side.SELL, "0.00000001", "70000")), "MAX_POSITION_EXCEEDED");
  // The per-symbol limit replaces the account's.
  await client.placeOrder(market(Side.BUY, "10", { symbol: "ETH-USD" }));
  await refused(client.placeOrder(market(Side.BUY, "0.00000001", { symbol: "ETH-USD" })), "MAX_POSITION_EXCEEDED");
  // Another account is not limited (no "*" entry).
  await client.placeOrder(market(Side.BUY, "100", { account: "acct-2" }));
});

for (const math of MATHS) test(`maxPosition: a position above a lowered limit can still be reduced (DECIMAL_MATH=${math.name})`, async () => {
  const { client, core: pipeline } = core({}, math);
  await client.placeOrder(market(Side.BUY, "5"));
  pipeline.positionRisk.setLimits({ "*": { maxPosition: "2" } });
  await client.placeOrder(market(Side.SELL, "1"));
  await refused(client.placeOrder(market(Side.BUY, "0.00000001")), "MAX_POSITION_EXCEEDED");
});

for (const math of MATHS) test(`maxGrossExposure: positions and open orders at the reference price, exactly at passes, one tick over fails (DECIMAL_MATH=${math.name})`, async () => {
  const { client } = core({ "acct-1": { maxGrossExposure: "133500" } }, math);
  await client.placeOrder(market(Side.BUY, "1")); // 65000
  const eth = await client.placeOrder(limit(Side.BUY, "1", "3000", { symbol: "ETH-USD" })); // rests: 1 x 3500 (reference)
  await client.placeOrder(market(Side.BUY, "1")); // 130000 + 3500 = exactly the limit
  const md = await refused(client.placeOrder(market(Side.BUY, "0.00000001")), "MAX_GROSS_EXPOSURE_EXCEEDED");
  assert.equal(md["limit"], "maxGrossExposure");
  assert.equal(md["max_gross_exposure"], "133500");
  assert.equal(md["gross_exposure"], "133500");
  assert.equal(md["projected_gross_exposure"], "133500.00065");
  assert.equal(md["price"], "65000");
  // Reducing never breaches.
  await client.placeOrder(market(Side.SELL, "0.5"));
  await client.placeOrder(market(Side.BUY, "0.5"));
  await refused(client.placeOrder(market(Side.BUY, "0.00000001")), "MAX_GROSS_EXPOSURE_EXCEEDED");
  // The open ETH order counted: canceling it frees 3500.
  await client.cancelOrder({ orderId: eth.order!.orderId });
  await client.placeOrder(market(Side.BUY, "0.05")); // 3250
});

for (const math of MATHS) test(`dailyLossLimit: at -limit nothing happens; one tick below, the account turns reduce-only (audit event, metric); only reducing orders pass (DECIMAL_MATH=${math.name})`, async () => {
  const { client, paper, audit, registry, core: pipeline } = core({ "acct-1": { dailyLossLimit: "1000" } }, math);
  await client.placeOrder(market(Side.BUY, "1"));
  paper.setReferencePrice("BTC-USD", "64000");
  await client.placeOrder(market(Side.SELL, "0.5")); // -500
  paper.setReferencePrice("BTC-USD", "63000");
  await client.placeOrder(market(Side.SELL, "0.25")); // -500: exactly -1000
  await client.placeOrder(market(Side.BUY, "0.1", { symbol: "ETH-USD" })); // not reduce-only yet
  assert.equal(pipeline.positions.math.formatWide(pipeline.positions.dailyRealized("acct-1", Date.UTC(2023, 10, 14, 23))), "-1000");
  paper.setReferencePrice("BTC-USD", "64999");
  await client.placeOrder(market(Side.SELL, "0.00000001")); // -0.00000001 more
  await Promise.resolve();
  const ev = audit.events.filter((e) => e.type === "daily_loss_limit_breached");
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.error?.kind, "failed_precondition");
  assert.deepEqual(ev[0]!.error?.kind === "failed_precondition" ? ev[0]!.error.metadata : undefined, {
    limit: "dailyLossLimit",
    account: "acct-1",
    day: "2023-11-14",
    realized_pnl: "-1000.00000001",
    daily_loss_limit: "1000",
    venue: "paper",
    symbol: "BTC-USD",
    fill_sequence: ev[0]!.error?.kind === "failed_precondition" ? ev[0]!.error.metadata!["fill_sequence"]! : "",
  });
  assert.match(await registry.metrics(), /risk_daily_loss_breaches_total 1\n[\s\S]*risk_reduce_only_accounts 1/);

  const md = await refused(client.placeOrder(market(Side.BUY, "0.00000001")), "REDUCE_ONLY");
  assert.equal(md["cause"], "DAILY_LOSS_LIMIT");
  assert.equal(md["position"], "0.24999999");
  // Open sells count: a resting sell of 0.2 leaves 0.04999999 to reduce.
  await client.placeOrder(limit(Side.SELL, "0.2", "70000"));
  await refused(client.placeOrder(market(Side.SELL, "0.05")), "REDUCE_ONLY");
  await client.placeOrder(market(Side.SELL, "0.04999999"));
  await refused(client.placeOrder(market(Side.BUY, "1", { symbol: "ETH-USD" })), "REDUCE_ONLY");
  await client.placeOrder(market(Side.SELL, "0.1", { symbol: "ETH-USD" }));
  // Other accounts trade on; the breach is reported once.
  await client.placeOrder(market(Side.BUY, "1", { account: "acct-2" }));
  await Promise.resolve();
  assert.equal(audit.events.filter((e) => e.type === "daily_loss_limit_breached").length, 1);
});
