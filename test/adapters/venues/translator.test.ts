import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../src/domain/order.js";
import type { TranslatorRules } from "../../../src/adapters/venues/translator.js";
import { formatDecimal, getPath, newExecutions, parseFills, parseOrderAnswer, synthesizeFill, translateRequest } from "../../../src/adapters/venues/translator.js";
import type { VenueFill } from "../../../src/use-cases/venue-adapter.js";
import { makeOrder } from "./make-order.js";

const rules: TranslatorRules = {
  place: {
    method: "POST",
    path: "/orders/{symbol}",
    encoding: "json",
    fields: {
      "order.id": "clientOrderId",
      "order.side": "side",
      "order.type": "type",
      "order.px": { from: "price", when: { type: ["LIMIT"] }, decimals: 2 },
      "order.qty": "quantity",
      "meta.source": { value: "gw" },
      "meta.postOnly": { value: false, when: { timeInForce: ["GTC"] } },
      "meta.dir#buy": { value: "up", when: { side: ["BUY"] } },
      "meta.dir#sell": { value: "down", when: { side: ["SELL"] } },
    },
  },
  cancel: { method: "DELETE", path: "/orders/{venueOrderId}", encoding: "query", fields: { cid: "clientOrderId" } },
  query: { method: "POST", path: "/q", encoding: "form", fields: { cid: "clientOrderId", sym: "symbol" } },
  enums: {
    side: { BUY: "b", SELL: "s" },
    type: { LIMIT: "lmt", MARKET: "mkt" },
    timeInForce: { GTC: "gtc" },
    status: { live: "NEW", done: "FILLED", dead: "CANCELED" },
  },
  answer: {
    root: "data",
    venueOrderId: "ids.0",
    status: "st",
    filledQuantity: "cum",
    cumulativeQuote: "quote",
    rejectReason: "why",
    fills: { path: "fills", tradeId: "id", price: "p", quantity: "q", fee: "f", feeCurrency: "fc", timeMs: "t" },
  },
  partialWhenFilled: true,
};
const input = (over: Parameters<typeof makeOrder>[0] = {}) => ({ order: makeOrder({ venueClientOrderId: "c 1", ...over }), venueSymbol: "BTC/USD" });

test("json: nested fields, constants, conditions, '#' aliases, decimals rounded down, path substitution encoded", () => {
  const r = translateRequest("place", input({ price: "10.129", quantity: "2.50" }), rules);
  assert.ok(r.ok);
  assert.equal(r.value.path, "/orders/BTC%2FUSD");
  assert.equal(r.value.contentType, "application/json");
  assert.deepEqual(JSON.parse(r.value.body), { order: { id: "c 1", side: "b", type: "lmt", px: "10.12", qty: "2.5" }, meta: { source: "gw", postOnly: false, dir: "up" } });
  const m = translateRequest("place", input({ type: OrderType.MARKET, price: "", side: Side.SELL, timeInForce: TimeInForce.IOC }), rules);
  assert.ok(m.ok);
  assert.deepEqual(JSON.parse(m.value.body), { order: { id: "c 1", side: "s", type: "mkt", qty: "1" }, meta: { source: "gw", dir: "down" } });
});

test("query and form encodings keep rule order and percent-encode", () => {
  const c = translateRequest("cancel", input({ venueOrderId: "v/1" }), rules);
  assert.ok(c.ok);
  assert.equal(c.value.path, "/orders/v%2F1");
  assert.deepEqual(c.value.query, [["cid", "c 1"]]);
  const q = translateRequest("query", input(), rules);
  assert.ok(q.ok);
  assert.equal(q.value.body, "cid=c%201&sym=BTC%2FUSD");
  assert.equal(q.value.contentType, "application/x-www-form-urlencoded");
});

test("an enum the venue lacks is a rejection before sending, naming the value", () => {
  const r = translateRequest("place", input({ type: OrderType.STOP, stopPrice: "1" }), rules);
  assert.ok(!r.ok && r.error.kind === "rejected" && /type STOP/.test(r.error.reason));
});

test("answer: root, array index path, average from cumulative quote, partial refinement, fills", () => {
  const r = parseOrderAnswer(
    { data: { ids: [42], st: "live", cum: "0.5", quote: "50.5", fills: [{ id: 7, p: "101", q: "0.5", f: "0.01", fc: "USD", t: 1700 }] } },
    rules,
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value, {
    status: OrderStatus.PARTIALLY_FILLED,
    venueOrderId: "42",
    filledQuantity: "0.5",
    averageFillPrice: "101",
    fills: [{ venueTradeId: "7", quantity: "0.5", price: "101", fee: "0.01", feeCurrency: "USD", timeMs: 1700 }],
  });
});

test("answer errors are protocol errors: unknown status, missing id, bad number, non-object, inherited keys", () => {
  const bad = (json: unknown) => {
    const r = parseOrderAnswer(json, rules);
    assert.ok(!r.ok && r.error.kind === "protocol", JSON.stringify(json));
    return r.error.reason;
  };
  assert.match(bad({ data: { ids: [1], st: "zombie" } }), /unknown venue order status "zombie"/);
  assert.match(bad({ data: { ids: [1], st: "toString" } }), /unknown venue order status/);
  assert.match(bad({ data: { ids: [], st: "live" } }), /order id/);
  assert.match(bad({ data: { ids: [1], st: "live", cum: "lots" } }), /filled quantity/);
  bad({ data: { ids: [1] } });
  bad("nope");
  bad({ data: { ids: [1], st: "live", fills: {} } });
});

test("formatDecimal never uses exponents and rounds down", () => {
  assert.equal(formatDecimal("1e-8"), "0.00000001");
  assert.equal(formatDecimal("1.000"), "1");
  assert.equal(formatDecimal("1.999", 2), "1.99");
  assert.equal(formatDecimal("12345678901234567890.123"), "12345678901234567890.123");
  assert.throws(() => formatDecimal("abc"));
});

test("getPath handles arrays, nulls and absent keys", () => {
  assert.equal(getPath({ a: [{ b: 1 }] }, "a.0.b"), 1);
  assert.equal(getPath({ a: null }, "a.b"), undefined);
  assert.equal(getPath(5, "a"), undefined);
});

test("synthesizeFill: one fill per cumulative increase, slice price, stable id", () => {
  const order = makeOrder({ filledQuantity: "0.4", averageFillPrice: "101" });
  const u = synthesizeFill(order, { status: OrderStatus.FILLED, venueOrderId: "V", filledQuantity: "1", averageFillPrice: "101.6", fills: [] }, 5);
  assert.deepEqual(u.fills, [{ venueTradeId: "V:1", quantity: "0.6", price: "102", fee: "0", feeCurrency: "", timeMs: 5, fromTotals: true }]);
  // Nothing new: no fill.
  const same = synthesizeFill(makeOrder({ filledQuantity: "1", averageFillPrice: "101.6" }), { status: OrderStatus.FILLED, venueOrderId: "V", filledQuantity: "1", averageFillPrice: "101.6", fills: [] }, 5);
  assert.equal(same.fills.length, 0);
  // Real fills are left alone.
  const real = { status: OrderStatus.FILLED, venueOrderId: "V", filledQuantity: "1", fills: [{ venueTradeId: "t", quantity: "1", price: "1", fee: "0", feeCurrency: "", timeMs: 0 }] };
  assert.equal(synthesizeFill(makeOrder(), real, 0), real);
});

const trade = (id: string, quantity: string, price = "10"): VenueFill => ({ venueTradeId: id, quantity, price, fee: "0.01", feeCurrency: "USD", timeMs: 1 });
const totals = (filledQuantity: string) => ({ status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V", filledQuantity, fills: [] });

test("newExecutions: skips the trades the gateway already counted, takes those up to the venue's total", () => {
  const list = [trade("1", "0.5"), trade("2", "0.25"), trade("3", "0.25")];
  // Knows 0.5 (trade 1, real or synthesized); the venue now says 1.
  assert.deepEqual(newExecutions(makeOrder({ filledQuantity: "0.5" }), totals("1"), list)?.map((t) => t.venueTradeId), ["2", "3"]);
  // Knows nothing; the venue total stops before trade 3 (listed after the answer): not taken.
  assert.deepEqual(newExecutions(makeOrder({ filledQuantity: "0" }), totals("0.75"), list)?.map((t) => t.venueTradeId), ["1", "2"]);
  // Totals that do not line up with trades, or a list missing a trade: undefined (the caller synthesizes).
  assert.equal(newExecutions(makeOrder({ filledQuantity: "0.6" }), totals("1"), list), undefined, "known total inside trade 2");
  assert.equal(newExecutions(makeOrder({ filledQuantity: "0" }), totals("0.6"), list), undefined, "venue total inside trade 2");
  assert.equal(newExecutions(makeOrder({ filledQuantity: "0.5" }), totals("1.5"), list), undefined, "a trade not listed yet");
  assert.equal(newExecutions(makeOrder({ filledQuantity: "1" }), totals("1"), list), undefined, "nothing new");
});

test("parseFills: root-level lists, fee defaults to 0, malformed entries are protocol errors", () => {
  const rule = { path: "", tradeId: "id", price: "p", quantity: "q", fee: "c", feeCurrency: "a", timeMs: "t" };
  const r = parseFills([{ id: 7, p: "1.50", q: "2", t: 9 }], rule);
  assert.ok(r.ok);
  assert.deepEqual(r.value, [{ venueTradeId: "7", quantity: "2", price: "1.5", fee: "0", feeCurrency: "", timeMs: 9 }]);
  assert.ok(!parseFills({ not: "a list" }, rule).ok);
  assert.ok(!parseFills([{ id: 7, p: "x", q: "2" }], rule).ok);
  assert.ok(!parseFills([{ p: "1", q: "2" }], rule).ok);
  // A fill without a quantity or a price cannot be counted: a protocol error, never a fill of "".
  for (const f of [{ id: 7, p: "1" }, { id: 7, q: "2" }, { id: 7, p: "1", q: "" }]) {
    assert.deepEqual(parseFills([f], rule), { ok: false, error: { kind: "protocol", reason: "venue fill lacks id, quantity or price" } }, JSON.stringify(f));
  }
  const none = parseFills(null, rule);
  assert.ok(none.ok && none.value.length === 0);
});

test("synthesizeFill: the fee is the increase of the venue's running fee total over the order's recorded one (decimal, quote currency)", () => {
  const base = { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V", averageFillPrice: "100", fills: [] };
  // First slice: the whole total so far.
  const first = synthesizeFill(makeOrder({ symbol: "BTC-USD" }), { ...base, filledQuantity: "0.3", cumulativeFee: "0.078" }, 1);
  assert.equal(first.fills[0]!.fee, "0.078");
  assert.equal(first.fills[0]!.feeCurrency, "USD");
  // Later slice: only the increase, exact in decimals (0.3 - 0.1 is not 0.19999999999999998 here).
  const later = synthesizeFill(
    makeOrder({ symbol: "ETH/EUR", filledQuantity: "0.3", averageFillPrice: "100", venueFeeTotal: "0.1" }),
    { ...base, filledQuantity: "0.5", cumulativeFee: "0.3" },
    2,
  );
  assert.equal(later.fills[0]!.fee, "0.2");
  assert.equal(later.fills[0]!.feeCurrency, "EUR");
  // A venue-named fee currency wins over the symbol's quote.
  const named = synthesizeFill(makeOrder(), { ...base, filledQuantity: "1", cumulativeFee: "0.5", feeCurrency: "BTC" }, 3);
  assert.equal(named.fills[0]!.feeCurrency, "BTC");
  // A total below the recorded one is never turned into a negative fee.
  const lower = synthesizeFill(makeOrder({ filledQuantity: "0.3", averageFillPrice: "100", venueFeeTotal: "1" }), { ...base, filledQuantity: "0.5", cumulativeFee: "0.9" }, 4);
  assert.equal(lower.fills[0]!.fee, "0");
  // No running total reported (e.g. Binance totals): unknown fee, as before.
  const none = synthesizeFill(makeOrder(), { ...base, filledQuantity: "1" }, 5);
  assert.deepEqual([none.fills[0]!.fee, none.fills[0]!.feeCurrency], ["0", ""]);
});

test("parseOrderAnswer reads the running fee total when the rules name it; a malformed total is a protocol error", () => {
  const feeRules: TranslatorRules = { ...rules, answer: { ...rules.answer, cumulativeFee: "fee" } };
  const r = parseOrderAnswer({ data: { ids: [42], st: "live", fee: "0.0123" } }, feeRules);
  assert.ok(r.ok, r.ok ? "" : r.error.reason);
  assert.equal(r.value.cumulativeFee, "0.0123");
  const absent = parseOrderAnswer({ data: { ids: [42], st: "live" } }, feeRules);
  assert.ok(absent.ok);
  assert.equal(absent.value.cumulativeFee, undefined);
  const bad = parseOrderAnswer({ data: { ids: [42], st: "live", fee: "lots" } }, feeRules);
  assert.ok(!bad.ok);
  assert.equal(bad.error.kind, "protocol");
});
