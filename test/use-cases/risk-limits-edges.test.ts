import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderType, Side, TimeInForce, type OrderSpec } from "../../src/domain/order.js";
import { BUILT_IN_RISK_LIMITS, createRiskEngine, type RiskLimitsConfig } from "../../src/use-cases/risk.js";
import { decimalJsMath } from "../../src/domain/decimal-math.js";
import { scaledDecimalMath } from "../../src/domain/scaled-decimal-math.js";
import { parseRiskLimits } from "../../src/config/risk-limits-file.js";
import { createManualClock } from "./support.js";

const refs = (venue: string, symbol: string) => (venue === "paper" && symbol === "BTC-USD" ? "65000" : undefined);
const order = (o: Partial<OrderSpec> = {}): OrderSpec => ({
  clientOrderId: "c",
  account: "acct-1",
  venue: "paper",
  symbol: "BTC-USD",
  side: Side.BUY,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity: "1",
  price: "",
  stopPrice: "",
  idempotencyKey: "",
  ...o,
});
const limit = (price: string, o: Partial<OrderSpec> = {}) => order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price, ...o });

function reasonOf(r: ReturnType<ReturnType<typeof createRiskEngine>["check"]>): string | undefined {
  if (r.ok) return undefined;
  return r.error.kind === "failed_precondition" ? r.error.reason : r.error.kind;
}

test("the embedded defaults refuse a 100,000 BTC market order with a reason a person understands", () => {
  const e = createRiskEngine({}, { referencePrice: refs, base: BUILT_IN_RISK_LIMITS });
  const r = e.check(order({ quantity: "100000" }));
  assert.equal(r.ok, false);
  if (!r.ok && r.error.kind === "failed_precondition") {
    assert.equal(r.error.reason, "MAX_QUANTITY_EXCEEDED");
    assert.match(r.error.message, /quantity 100000 exceeds the maximum 10000 for acct-1 BTC-USD/);
  }
  // Under the quantity limit, the notional one speaks: 2 BTC = 130,000 USD.
  const n = e.check(order({ quantity: "2" }));
  assert.equal(reasonOf(n), "MAX_NOTIONAL_EXCEEDED");
  if (!n.ok && n.error.kind === "failed_precondition") {
    assert.match(n.error.message, /notional 130000 exceeds the maximum 100000/);
    assert.deepEqual({ ...n.error.metadata }, { limit: "maxNotional", max: "100000", notional: "130000", price: "65000", quantity: "2", account: "acct-1", symbol: "BTC-USD" });
  }
});

for (const math of [scaledDecimalMath, decimalJsMath]) test(`each limit: exactly at the limit passes, one tick over fails (DECIMAL_MATH=${math.name})`, () => {
  const clock = createManualClock();
  let open = 0;
  const limits: RiskLimitsConfig = {
    "*": { maxQuantity: "2", maxNotional: "130000", priceBandPercent: "10", maxOpenOrders: "3", maxOrderRate: "1000", orderRateBurst: "1000" },
  };
  const e = createRiskEngine(limits, { referencePrice: refs, openOrderCount: () => open, nowMs: clock.nowMs, math });
  assert.equal(reasonOf(e.check(limit("60000", { quantity: "2" }))), undefined);
  assert.equal(reasonOf(e.check(limit("60000", { quantity: "2.00000001" }))), "MAX_QUANTITY_EXCEEDED");
  assert.equal(reasonOf(e.check(order({ quantity: "2" }))), undefined, "130000 notional, at the limit");
  assert.equal(reasonOf(e.check(limit("65000.01", { quantity: "2" }))), "MAX_NOTIONAL_EXCEEDED");
  // Band 10% of 65000: 58500 .. 71500.
  assert.equal(reasonOf(e.check(limit("71500", { quantity: "1" }))), undefined);
  assert.equal(reasonOf(e.check(limit("58500", { quantity: "1" }))), undefined);
  const over = e.check(limit("71500.01", { quantity: "1" }));
  assert.equal(reasonOf(over), "PRICE_OUTSIDE_BAND");
  if (!over.ok && over.error.kind === "failed_precondition") {
    assert.equal(over.error.metadata?.["reference_price"], "65000");
    assert.equal(over.error.metadata?.["high"], "71500");
  }
  assert.equal(reasonOf(e.check(limit("58499.99", { quantity: "1" }))), "PRICE_OUTSIDE_BAND");
  // No reference: the band is not checked (the notional limit values it at its limit price).
  assert.equal(reasonOf(e.check(limit("1", { symbol: "DOGE-USD" }))), undefined);
  // Open orders: 2 open + this one = 3 = the maximum; with 3 open the next is refused.
  open = 2;
  assert.equal(reasonOf(e.check(order())), undefined);
  open = 3;
  assert.equal(reasonOf(e.check(order())), "MAX_OPEN_ORDERS_EXCEEDED");
});

test("order rate: a token bucket per account; the burst passes at once, one more is refused, it refills at the rate", () => {
  const clock = createManualClock();
  const e = createRiskEngine({ "*": { maxOrderRate: "10", orderRateBurst: "5" } }, { referencePrice: refs, nowMs: clock.nowMs });
  for (let i = 0; i < 5; i++) assert.equal(reasonOf(e.check(order())), undefined, `order ${i + 1} of the burst`);
  const r = e.check(order());
  assert.equal(reasonOf(r), "ORDER_RATE_EXCEEDED");
  if (!r.ok && r.error.kind === "failed_precondition") assert.equal(r.error.metadata?.["retry_after_ms"], "100");
  assert.equal(reasonOf(e.check(order({ account: "acct-2" }))), undefined, "another account has its own bucket");
  clock.advance(99);
  assert.equal(reasonOf(e.check(order())), "ORDER_RATE_EXCEEDED");
  clock.advance(1);
  assert.equal(reasonOf(e.check(order())), undefined);
});

test("inheritance: account+symbol, account, *+symbol, *, built-in; off removes a limit", () => {
  const e = createRiskEngine(
    { "*": { maxQuantity: "5", symbols: { "ETH-USD": { maxQuantity: "50" } } }, "acct-1": { maxNotional: "off", priceBandPercent: "off" }, "acct-2": { maxQuantity: "off" } },
    { referencePrice: refs, base: BUILT_IN_RISK_LIMITS },
  );
  assert.equal(reasonOf(e.check(limit("1", { quantity: "5" }))), undefined, "acct-1: band and notional off, quantity 5 from *");
  assert.equal(reasonOf(e.check(limit("1", { quantity: "6" }))), "MAX_QUANTITY_EXCEEDED");
  assert.equal(reasonOf(e.check(limit("1", { quantity: "50", symbol: "ETH-USD" }))), undefined, "*'s symbol entry");
  assert.equal(reasonOf(e.check(limit("1", { account: "acct-2", quantity: "1" }))), "PRICE_OUTSIDE_BAND", "acct-2 keeps the built-in band");
  assert.equal(reasonOf(e.check(order({ account: "acct-3", quantity: "2" }))), "MAX_NOTIONAL_EXCEEDED", "built-in notional");
});

test("replace: a bad value keeps the old limits", () => {
  const e = createRiskEngine({ "*": { maxQuantity: "1" } }, { referencePrice: refs });
  assert.throws(() => e.replace({ "*": { maxQuantity: "lots" } }), /\*\.maxQuantity must be a non-negative decimal/);
  assert.equal(reasonOf(e.check(order({ quantity: "2" }))), "MAX_QUANTITY_EXCEEDED");
  e.replace({ "*": { maxQuantity: "2" } });
  assert.equal(reasonOf(e.check(order({ quantity: "2" }))), undefined);
});

test("the limits file: numbers or decimal strings or off, every new key, errors naming file and field", () => {
  const r = parseRiskLimits(
    "'*': { maxOpenOrders: 10, maxOrderRate: 2.5, orderRateBurst: '5', priceBandPercent: 'off' }\nacct-1: { symbols: { BTC-USD: { priceBandPercent: 1 } } }",
    "limits.yaml",
  );
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.deepEqual(r.value["*"], { maxOpenOrders: "10", maxOrderRate: "2.5", orderRateBurst: "5", priceBandPercent: "off" });
  const frac = parseRiskLimits("'*': { maxOpenOrders: 1.5 }", "limits.yaml");
  assert.equal(frac.ok ? "" : frac.error, 'RISK_LIMITS_FILE limits.yaml: *.maxOpenOrders: must be a whole number or "off"');
  const perSymbol = parseRiskLimits("a: { symbols: { X: { maxOpenOrders: 1 } } }", "limits.yaml");
  assert.match(perSymbol.ok ? "" : perSymbol.error, /^RISK_LIMITS_FILE limits\.yaml: a\.symbols\.X/);
  // The risk arithmetic is exact to 18 fraction digits: a limit with more is refused, not rounded.
  const fine = parseRiskLimits("a: { maxPosition: '0.000000000000000001', symbols: { X: { maxQuantity: '1.5000000000000000000000' } } }", "limits.yaml");
  assert.ok(fine.ok, fine.ok ? "" : fine.error);
  const tooFine = parseRiskLimits("a: { symbols: { X: { maxPosition: '0.0000000000000000001' } } }", "limits.yaml");
  assert.equal(tooFine.ok ? "" : tooFine.error, 'RISK_LIMITS_FILE limits.yaml: a.symbols.X.maxPosition: must have at most 18 fraction digits, got "0.0000000000000000001"');
});

test("bench/risk-limits.yaml lets the load generator's orders through (and keeps every check running)", async () => {
  const { readFileSync } = await import("node:fs");
  const parsed = parseRiskLimits(readFileSync(new URL("../../bench/risk-limits.yaml", import.meta.url), "utf8"), "bench/risk-limits.yaml");
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  const clock = createManualClock();
  const e = createRiskEngine(parsed.value, { referencePrice: refs, base: BUILT_IN_RISK_LIMITS, openOrderCount: () => 1_000_000, nowMs: clock.nowMs });
  // bench/protocols.ts orderRequest: 1.5 BTC-USD, MARKET IOC or LIMIT GTC at 100.25, both sides, 16 accounts.
  for (let n = 0; n < 5000; n++) {
    const side = n % 2 === 0 ? Side.BUY : Side.SELL;
    const o = n % 3 === 0 ? limit("100.25", { quantity: "1.5", side }) : order({ quantity: "1.5", side });
    assert.equal(reasonOf(e.check({ ...o, account: `acct-${n % 16}` })), undefined, `order ${n}`);
  }
  assert.equal(reasonOf(e.check(order({ quantity: "100000" }))), "MAX_QUANTITY_EXCEEDED", "the absurd order is still refused");
});
