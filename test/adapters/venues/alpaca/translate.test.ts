import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../../src/domain/order.js";
import { mapAlpacaError } from "../../../../src/adapters/venues/alpaca/errors.js";
import { createAlpacaDialect } from "../../../../src/adapters/venues/alpaca/index.js";
import { fromAlpacaResponse } from "../../../../src/adapters/venues/alpaca/translate.js";
import { fixture, makeOrder } from "../make-order.js";

const dialect = createAlpacaDialect({
  name: "alpaca",
  baseUrl: "https://paper-api.alpaca.markets",
  symbols: {},
  timeoutMs: 1000,
  limiterKey: "k",
  credentials: { keyId: "PKID", secretKey: "SECRET" },
});
const responses = fixture<Record<string, unknown>>("alpaca", "responses.json");
const input = (over: Parameters<typeof makeOrder>[0] = {}) => ({ order: makeOrder({ venueClientOrderId: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4", ...over }), venueSymbol: "SPY" });

function signed(op: "place" | "cancel" | "query", over: Parameters<typeof makeOrder>[0] = {}) {
  const r = dialect.translate(op, input(over));
  assert.ok(r.ok);
  const s = dialect.sign(r.value, "https://paper-api.alpaca.markets", 0);
  assert.ok(s.ok);
  return s.value;
}

test("documented market order body (bracket example without its legs) and key headers", () => {
  const r = signed("place", { type: OrderType.MARKET, price: "", quantity: "100" });
  assert.equal(r.url, "https://paper-api.alpaca.markets/v2/orders");
  assert.deepEqual(r.headers, { "APCA-API-KEY-ID": "PKID", "APCA-API-SECRET-KEY": "SECRET", "Content-Type": "application/json" });
  assert.deepEqual(JSON.parse(r.body!), { side: "buy", symbol: "SPY", type: "market", qty: "100", time_in_force: "gtc", client_order_id: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4" });
});

test("limit, stop and stop-limit prices go in limit_price / stop_price as strings", () => {
  assert.deepEqual(JSON.parse(signed("place", { price: "290.12", timeInForce: TimeInForce.DAY, side: Side.SELL }).body!), {
    symbol: "SPY", qty: "1", side: "sell", type: "limit", time_in_force: "day", limit_price: "290.12", client_order_id: "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
  });
  const sl = JSON.parse(signed("place", { type: OrderType.STOP_LIMIT, price: "301", stopPrice: "299" }).body!) as Record<string, unknown>;
  assert.equal(sl["type"], "stop_limit");
  assert.equal(sl["limit_price"], "301");
  assert.equal(sl["stop_price"], "299");
  const st = JSON.parse(signed("place", { type: OrderType.STOP, price: "", stopPrice: "299" }).body!) as Record<string, unknown>;
  assert.equal(st["type"], "stop");
  assert.equal(st["limit_price"], undefined);
});

test("query by client order id; cancel by Alpaca id", () => {
  assert.equal(signed("query").url, "https://paper-api.alpaca.markets/v2/orders:by_client_order_id?client_order_id=eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4");
  const c = signed("cancel", { venueOrderId: "61e69015-8549-4bfd-b9c3-01e75843f47d" });
  assert.equal(c.method, "DELETE");
  assert.equal(c.url, "https://paper-api.alpaca.markets/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d");
  assert.equal(c.body, undefined);
});

test("documented order object parses; 204 cancel is PENDING_CANCEL", () => {
  const r = fromAlpacaResponse("place", { status: 200, headers: {}, bodyText: JSON.stringify(responses["order"]) }, input());
  assert.ok(r.ok);
  assert.deepEqual(r.value, { status: OrderStatus.NEW, venueOrderId: "61e69015-8549-4bfd-b9c3-01e75843f47d", filledQuantity: "0", fills: [] });
  const c = fromAlpacaResponse("cancel", { status: 204, headers: {}, bodyText: "" }, input({ venueOrderId: "x" }));
  assert.ok(c.ok && c.value.status === OrderStatus.PENDING_CANCEL);
});

test("status table covers every documented status; others are protocol errors", () => {
  const table: Record<string, OrderStatus> = {
    new: OrderStatus.NEW, partially_filled: OrderStatus.PARTIALLY_FILLED, filled: OrderStatus.FILLED, done_for_day: OrderStatus.NEW,
    canceled: OrderStatus.CANCELED, expired: OrderStatus.EXPIRED, replaced: OrderStatus.CANCELED, pending_cancel: OrderStatus.PENDING_CANCEL,
    pending_replace: OrderStatus.NEW, accepted: OrderStatus.NEW, pending_new: OrderStatus.NEW, accepted_for_bidding: OrderStatus.NEW,
    stopped: OrderStatus.NEW, rejected: OrderStatus.REJECTED, suspended: OrderStatus.NEW, calculated: OrderStatus.NEW,
  };
  for (const [s, want] of Object.entries(table)) {
    const r = fromAlpacaResponse("query", { status: 200, headers: {}, bodyText: JSON.stringify({ id: "1", status: s, filled_qty: "0" }) }, input());
    assert.ok(r.ok, s);
    assert.equal(r.value.status, want, s);
  }
  const bad = fromAlpacaResponse("query", { status: 200, headers: {}, bodyText: JSON.stringify({ id: "1", status: "held" }) }, input());
  assert.ok(!bad.ok && bad.error.kind === "protocol");
});

test("errors: 403 buying power is a rejection, 401 auth, 404 not_found, 422 rejected, duplicate id unknown_outcome", () => {
  assert.equal(mapAlpacaError(403, { code: 40310000, message: "Buying power or shares is not sufficient." }).kind, "rejected");
  assert.equal(mapAlpacaError(403, { code: 40310000, message: "forbidden" }).kind, "auth");
  assert.equal(mapAlpacaError(401, { code: 40110000, message: "request is not authorized" }).kind, "auth");
  assert.equal(mapAlpacaError(404, { code: 40410000, message: "order not found" }).kind, "not_found");
  const e = mapAlpacaError(422, responses["subPenny"]);
  assert.ok(e.kind === "rejected" && e.code === "42210000" && e.reason.includes("sub-penny"));
  assert.equal(mapAlpacaError(422, { code: 40010001, message: "client_order_id must be unique" }).kind, "unknown_outcome");
});
