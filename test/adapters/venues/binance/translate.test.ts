import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../../src/domain/order.js";
import { createBinanceDialect } from "../../../../src/adapters/venues/binance/index.js";
import { binanceSignature } from "../../../../src/adapters/venues/binance/sign.js";
import { fromBinanceResponse, fromBinanceTrades, toBinanceTradesRequest } from "../../../../src/adapters/venues/binance/translate.js";
import { mapBinanceError } from "../../../../src/adapters/venues/binance/errors.js";
import { fixture, makeOrder } from "../make-order.js";

const creds = {
  apiKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
  apiSecret: "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
};
const dialect = createBinanceDialect({ name: "binance", baseUrl: "https://api.binance.com", symbols: {}, timeoutMs: 1000, limiterKey: "k", credentials: creds });
const responses = fixture<Record<string, unknown>>("binance", "responses.json");

function build(over: Parameters<typeof makeOrder>[0], op: "place" | "cancel" | "query" = "place") {
  const input = { order: makeOrder({ venueClientOrderId: "myOrder1", ...over }), venueSymbol: "LTCBTC" };
  const req = dialect.translate(op, input);
  assert.ok(req.ok, JSON.stringify(req));
  const signed = dialect.sign(req.value, "https://api.binance.com", 1499827319559);
  assert.ok(signed.ok);
  return signed.value;
}

/** Splits off and checks the signature; returns the signed query string. */
function checkSigned(url: string): string {
  const [, query] = url.split("?");
  const m = /^(.*)&signature=([0-9a-f]{64})$/.exec(query!);
  assert.ok(m, url);
  assert.equal(m[2], binanceSignature(m[1]!, creds.apiSecret));
  return m[1]!;
}

test("LIMIT GTC: the documented parameters, in the documented order, plus client id and FULL answer", () => {
  const r = build({});
  assert.equal(r.method, "POST");
  assert.equal(r.headers["X-MBX-APIKEY"], creds.apiKey);
  assert.equal(r.body, undefined);
  assert.equal(
    checkSigned(r.url),
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&newClientOrderId=myOrder1&newOrderRespType=FULL&recvWindow=5000&timestamp=1499827319559",
  );
  assert.ok(r.url.startsWith("https://api.binance.com/api/v3/order?"));
});

test("MARKET sends no price and no timeInForce (-1106 otherwise)", () => {
  const r = build({ type: OrderType.MARKET, price: "", side: Side.SELL, quantity: "10" });
  assert.equal(checkSigned(r.url), "symbol=LTCBTC&side=SELL&type=MARKET&quantity=10&newClientOrderId=myOrder1&newOrderRespType=FULL&recvWindow=5000&timestamp=1499827319559");
});

test("STOP_LIMIT maps to STOP_LOSS_LIMIT with price and stopPrice; STOP to STOP_LOSS", () => {
  const sl = build({ type: OrderType.STOP_LIMIT, timeInForce: TimeInForce.IOC, price: "0.09", stopPrice: "0.095" });
  assert.match(checkSigned(sl.url), /^symbol=LTCBTC&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=IOC&quantity=1&price=0\.09&stopPrice=0\.095&/);
  const s = build({ type: OrderType.STOP, price: "", stopPrice: "0.095" });
  assert.match(checkSigned(s.url), /^symbol=LTCBTC&side=BUY&type=STOP_LOSS&quantity=1&stopPrice=0\.095&/);
});

test("decimals are normalized, never in exponent form", () => {
  const r = build({ quantity: "1.2500", price: "0.00000001" });
  assert.match(checkSigned(r.url), /quantity=1\.25&price=0\.00000001&/);
});

test("cancel and query go by origClientOrderId", () => {
  const c = build({}, "cancel");
  assert.equal(c.method, "DELETE");
  assert.equal(checkSigned(c.url), "symbol=LTCBTC&origClientOrderId=myOrder1&recvWindow=5000&timestamp=1499827319559");
  const q = build({}, "query");
  assert.equal(q.method, "GET");
  assert.equal(checkSigned(q.url), "symbol=LTCBTC&origClientOrderId=myOrder1&recvWindow=5000&timestamp=1499827319559");
});

test("DAY is not a Binance time in force", () => {
  assert.match(dialect.checkOrderShape(OrderType.LIMIT, TimeInForce.DAY) ?? "", /time in force DAY/);
  assert.equal(dialect.checkOrderShape(OrderType.MARKET, TimeInForce.DAY), undefined);
  assert.equal(dialect.checkOrderShape(OrderType.STOP_LIMIT, TimeInForce.FOK), undefined);
});

test("documented FULL answer: status, cumulative qty, average price and every fill", () => {
  const r = fromBinanceResponse("place", { status: 200, headers: {}, bodyText: JSON.stringify(responses["newOrderFull"]) });
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.status, OrderStatus.FILLED);
  assert.equal(r.value.venueOrderId, "28");
  assert.equal(r.value.filledQuantity, "10");
  assert.equal(r.value.averageFillPrice, "1");
  assert.equal(r.value.fills.length, 5);
  assert.deepEqual(r.value.fills[0], { venueTradeId: "56", quantity: "1", price: "4000", fee: "4", feeCurrency: "USDT", timeMs: 1507725176595 });
});

test("documented cancel answer maps to CANCELED", () => {
  const r = fromBinanceResponse("cancel", { status: 200, headers: {}, bodyText: JSON.stringify(responses["cancel"]) });
  assert.ok(r.ok);
  assert.equal(r.value.status, OrderStatus.CANCELED);
  assert.equal(r.value.venueOrderId, "4");
});

test("status table: every documented status maps; anything else is a protocol error", () => {
  const table: Record<string, OrderStatus> = {
    NEW: OrderStatus.NEW,
    PENDING_NEW: OrderStatus.NEW,
    PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    FILLED: OrderStatus.FILLED,
    CANCELED: OrderStatus.CANCELED,
    PENDING_CANCEL: OrderStatus.PENDING_CANCEL,
    REJECTED: OrderStatus.REJECTED,
    EXPIRED: OrderStatus.EXPIRED,
    EXPIRED_IN_MATCH: OrderStatus.EXPIRED,
  };
  for (const [venue, mine] of Object.entries(table)) {
    const r = fromBinanceResponse("query", { status: 200, headers: {}, bodyText: JSON.stringify({ orderId: 1, status: venue, executedQty: "0" }) });
    assert.ok(r.ok, venue);
    assert.equal(r.value.status, mine, venue);
  }
  for (const bad of ["CANCELLED", "new", "", "TRADING"]) {
    const r = fromBinanceResponse("query", { status: 200, headers: {}, bodyText: JSON.stringify({ orderId: 1, status: bad }) });
    assert.ok(!r.ok && r.error.kind === "protocol", bad);
  }
});

test("error codes map to the right kind", () => {
  const cases: Array<[number, number, string, string]> = [
    [400, -2010, "Account has insufficient balance for requested action.", "rejected"],
    [400, -2010, "Duplicate order sent.", "unknown_outcome"],
    [400, -1013, "Filter failure: LOT_SIZE", "rejected"],
    [400, -1121, "Invalid symbol.", "rejected"],
    [400, -1021, "Timestamp for this request is outside of the recvWindow.", "auth"],
    [400, -1022, "Signature for this request is not valid.", "auth"],
    [401, -2015, "Invalid API-key, IP, or permissions for action.", "auth"],
    [400, -1003, "Too much request weight used", "rate_limited"],
    [400, -1015, "Too many new orders", "rate_limited"],
    [400, -1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.", "unknown_outcome"],
    [400, -2013, "Order does not exist.", "not_found"],
    [400, -2011, "Unknown order sent.", "not_found"],
    [400, -2011, "Order was not canceled due to cancel restrictions.", "rejected"],
  ];
  for (const [status, code, msg, kind] of cases) {
    const e = mapBinanceError(status, { code, msg }, { "retry-after": "3" });
    assert.equal(e.kind, kind, `${code} ${msg}`);
    if (e.kind === "rate_limited") assert.equal(e.retryAfterMs, 3000);
    if (e.kind === "rejected") assert.equal(e.code, String(code));
  }
  assert.equal(mapBinanceError(403, null, {}).kind, "unavailable");
  const r = fromBinanceResponse("place", { status: 400, headers: {}, bodyText: JSON.stringify(responses["errorInvalidSymbol"]) });
  assert.ok(!r.ok && r.error.kind === "rejected" && r.error.reason === "Invalid symbol. (binance -1121)");
});

test("myTrades: request by symbol and orderId; answer sorted by trade id with commissions", () => {
  const input = { order: makeOrder({ venueClientOrderId: "myOrder1" }), venueSymbol: "BNBBTC" };
  const req = toBinanceTradesRequest(input, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "100234", fills: [] });
  assert.deepEqual(req, { method: "GET", path: "/api/v3/myTrades", query: [["symbol", "BNBBTC"], ["orderId", "100234"]], body: "" });
  const doc = { symbol: "BNBBTC", id: 28457, orderId: 100234, orderListId: -1, price: "4.00000100", qty: "12.00000000", quoteQty: "48.000012", commission: "10.10000000", commissionAsset: "BNB", time: 1499865549590, isBuyer: true, isMaker: false, isBestMatch: true };
  const later = { ...doc, id: 28460, qty: "1.00000000", commission: "0.00000000", time: 1499865549600 };
  const r = fromBinanceTrades({ status: 200, headers: {}, bodyText: JSON.stringify([later, doc]) });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value, [
    { venueTradeId: "28457", quantity: "12", price: "4.000001", fee: "10.1", feeCurrency: "BNB", timeMs: 1499865549590 },
    { venueTradeId: "28460", quantity: "1", price: "4.000001", fee: "0", feeCurrency: "BNB", timeMs: 1499865549600 },
  ]);
  assert.ok(!fromBinanceTrades({ status: 200, headers: {}, bodyText: "{}" }).ok);
  const e = fromBinanceTrades({ status: 400, headers: {}, bodyText: JSON.stringify({ code: -1121, msg: "Invalid symbol." }) });
  assert.ok(!e.ok);
});
