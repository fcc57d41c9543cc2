import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderType, TimeInForce, type OrderSpec } from "../../src/domain/order.js";
import { createRiskCheck } from "../../src/use-cases/risk.js";
import { limitOrder, marketOrder } from "./support.js";

const spec = (o: object): OrderSpec => o as OrderSpec;
const refs = (venue: string, symbol: string) => (venue === "paper" && symbol === "BTC-USD" ? "65000" : undefined);

test("no limits: everything passes", () => {
  const risk = createRiskCheck({}, refs);
  assert.equal(risk(spec(marketOrder({ quantity: "1000000" }))).ok, true);
});

test("max quantity, max notional and allowed symbols, per account with symbol overrides and a * default", () => {
  const risk = createRiskCheck(
    {
      "*": { maxQuantity: "10" },
      "acct-1": {
        allowedSymbols: ["BTC-USD", "ETH-USD"],
        maxQuantity: "5",
        maxNotional: "100000",
        symbols: { "ETH-USD": { maxQuantity: "50" } },
      },
    },
    refs,
  );
  const fail = (o: object, reason: string, re: RegExp) => {
    const r = risk(spec(o));
    assert.equal(r.ok, false, JSON.stringify(o));
    if (!r.ok) {
      assert.equal(r.error.kind, "failed_precondition");
      if (r.error.kind === "failed_precondition") assert.equal(r.error.reason, reason);
      assert.match(r.error.message, re);
    }
  };
  assert.equal(risk(spec(marketOrder({ quantity: "1" }))).ok, true); // 65000 notional
  fail(marketOrder({ quantity: "6" }), "MAX_QUANTITY_EXCEEDED", /quantity 6 exceeds the maximum 5/);
  fail(marketOrder({ quantity: "1.6" }), "MAX_NOTIONAL_EXCEEDED", /notional 104000 exceeds the maximum 100000/);
  fail(marketOrder({ symbol: "SOL-USD" }), "SYMBOL_NOT_ALLOWED", /SOL-USD is not allowed/);
  // LIMIT uses its price: 5 x 100.25 is fine.
  assert.equal(risk(spec(limitOrder({ quantity: "5" }))).ok, true);
  fail(limitOrder({ quantity: "2", price: "60000" }), "MAX_NOTIONAL_EXCEEDED", /120000/);
  // STOP uses stop_price.
  fail(marketOrder({ type: OrderType.STOP, timeInForce: TimeInForce.GTC, quantity: "2", stopPrice: "70000" }), "MAX_NOTIONAL_EXCEEDED", /140000/);
  // A per-symbol field replaces the account-wide one (quantity 50 > 5), others are inherited (max notional); notional of a MARKET order without a price fails closed.
  fail(marketOrder({ symbol: "ETH-USD", quantity: "20" }), "NOTIONAL_UNKNOWN", /no reference price/);
  assert.equal(risk(spec(limitOrder({ symbol: "ETH-USD", quantity: "20", price: "3000" }))).ok, true);
  fail(limitOrder({ symbol: "ETH-USD", quantity: "51", price: "1" }), "MAX_QUANTITY_EXCEEDED", /maximum 50/);
  // Other accounts get "*".
  assert.equal(risk(spec(marketOrder({ account: "other", quantity: "10", symbol: "SOL-USD" }))).ok, true);
  fail(marketOrder({ account: "other", quantity: "10.0001" }), "MAX_QUANTITY_EXCEEDED", /other BTC-USD/);
});

test("a malformed limit fails at construction, not on the first order", () => {
  assert.throws(() => createRiskCheck({ a: { maxQuantity: "-1" } }, refs), /a\.maxQuantity/);
  assert.throws(() => createRiskCheck({ a: { maxNotional: "lots" } }, refs), /a\.maxNotional must be a non-negative decimal, got "lots"/);
  assert.throws(() => createRiskCheck({ a: { symbols: { "ETH-USD": { maxQuantity: "-2" } } } }, refs), /a\.symbols\.ETH-USD\.maxQuantity must be/);
});

test("a per-symbol override that sets only max notional still inherits the account's max quantity", () => {
  const risk = createRiskCheck({ "acct-1": { maxQuantity: "5", symbols: { "ETH-USD": { maxNotional: "1000000" } } } }, refs);
  const r = risk(spec(limitOrder({ symbol: "ETH-USD", quantity: "6", price: "1" })));
  assert.equal(r.ok, false);
  if (!r.ok && r.error.kind === "failed_precondition") {
    assert.equal(r.error.reason, "MAX_QUANTITY_EXCEEDED");
    assert.match(r.error.message, /quantity 6 exceeds the maximum 5 for acct-1 ETH-USD/);
  } else assert.fail(JSON.stringify(r));
  // And the override's own field applies: 5 x 300000 > 1000000.
  const n = risk(spec(limitOrder({ symbol: "ETH-USD", quantity: "5", price: "300000" })));
  assert.equal(!n.ok && n.error.kind === "failed_precondition" && n.error.reason, "MAX_NOTIONAL_EXCEEDED");
});

test("an account with neither its own entry nor a * entry is not limited", () => {
  const risk = createRiskCheck({ "acct-1": { maxQuantity: "1", maxNotional: "1", allowedSymbols: ["BTC-USD"] } }, refs);
  const order = spec(marketOrder({ account: "acct-2", symbol: "SOL-USD", quantity: "1000" }));
  assert.deepEqual(risk(order), { ok: true, value: order });
});

test("STOP_LIMIT is valued at its limit price against max notional", () => {
  const risk = createRiskCheck({ "acct-1": { maxNotional: "100000" } }, refs);
  const stopLimit = (quantity: string, price: string, stopPrice: string): OrderSpec =>
    spec(marketOrder({ type: OrderType.STOP_LIMIT, timeInForce: TimeInForce.GTC, quantity, price, stopPrice }));
  const r = risk(stopLimit("2", "60000", "1"));
  assert.equal(r.ok, false);
  if (!r.ok && r.error.kind === "failed_precondition") {
    assert.equal(r.error.reason, "MAX_NOTIONAL_EXCEEDED");
    assert.match(r.error.message, /notional 120000 exceeds the maximum 100000/);
  } else assert.fail(JSON.stringify(r));
  // The limit price, not the stop price, is what the order can trade at: 2 x 40000 passes.
  assert.equal(risk(stopLimit("2", "40000", "70000")).ok, true);
});

test("a MARKET order whose reference price is empty fails closed like a missing one", () => {
  const risk = createRiskCheck({ "*": { maxNotional: "100" } }, () => "");
  const r = risk(spec(marketOrder({ quantity: "0.001" })));
  assert.equal(!r.ok && r.error.kind === "failed_precondition" && r.error.reason, "NOTIONAL_UNKNOWN");
});
