import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../../src/domain/order.js";
import { createCoinbaseDialect } from "../../../../src/adapters/venues/coinbase/index.js";
import { fromCoinbaseResponse } from "../../../../src/adapters/venues/coinbase/translate.js";
import { fixture, makeOrder } from "../make-order.js";

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const dialect = createCoinbaseDialect(
  {
    name: "coinbase",
    baseUrl: "https://api.coinbase.com",
    symbols: {},
    timeoutMs: 1000,
    limiterKey: "k",
    credentials: { keyName: "organizations/o/apiKeys/k", privateKeyPem: privateKey.export({ type: "sec1", format: "pem" }).toString() },
  },
  () => "nonce",
);
const golden = fixture<Record<string, unknown>>("coinbase", "requests.json");
const input = (over: Parameters<typeof makeOrder>[0] = {}) => ({ order: makeOrder({ venueClientOrderId: "client_order_id_1", ...over }), venueSymbol: "product_id_1" });
const body = (over: Parameters<typeof makeOrder>[0]) => {
  const r = dialect.translate("place", input(over));
  assert.ok(r.ok, JSON.stringify(r));
  return JSON.parse(r.value.body) as unknown;
};

test("SDK golden requests: limit_limit_gtc and market_market_ioc", () => {
  assert.deepEqual(body({ quantity: "1", price: "100" }), golden["limitGtc"]);
  assert.deepEqual(body({ type: OrderType.MARKET, price: "", quantity: "5", timeInForce: TimeInForce.IOC }), golden["marketIoc"]);
});

test("IOC, FOK and stop-limit configurations", () => {
  assert.deepEqual((body({ timeInForce: TimeInForce.IOC }) as { order_configuration: unknown }).order_configuration, { sor_limit_ioc: { base_size: "1", limit_price: "0.1" } });
  assert.deepEqual((body({ timeInForce: TimeInForce.FOK }) as { order_configuration: unknown }).order_configuration, { limit_limit_fok: { base_size: "1", limit_price: "0.1" } });
  assert.deepEqual((body({ type: OrderType.STOP_LIMIT, price: "99", stopPrice: "100", side: Side.SELL }) as { order_configuration: unknown }).order_configuration, {
    stop_limit_stop_limit_gtc: { base_size: "1", limit_price: "99", stop_price: "100", stop_direction: "STOP_DIRECTION_STOP_DOWN" },
  });
  assert.equal(dialect.checkOrderShape(OrderType.STOP, TimeInForce.GTC)?.includes("not supported"), true);
  assert.equal(dialect.checkOrderShape(OrderType.LIMIT, TimeInForce.DAY)?.includes("not supported"), true);
  assert.equal(dialect.checkOrderShape(OrderType.LIMIT, TimeInForce.FOK), undefined);
});

test("signed request carries a Bearer JWT and JSON content type", () => {
  const r = dialect.translate("place", input({}));
  assert.ok(r.ok);
  const s = dialect.sign(r.value, "https://api.coinbase.com", 1_700_000_000_000);
  assert.ok(s.ok);
  assert.equal(s.value.url, "https://api.coinbase.com/api/v3/brokerage/orders");
  assert.match(s.value.headers["Authorization"]!, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(s.value.headers["Content-Type"], "application/json");
});

test("query by id, or by listing the product when the id is unknown; cancel via batch_cancel", () => {
  const byId = dialect.translate("query", input({ venueOrderId: "abc" }));
  assert.ok(byId.ok && byId.value.path === "/api/v3/brokerage/orders/historical/abc");
  const list = dialect.translate("query", input());
  assert.ok(list.ok && list.value.path === "/api/v3/brokerage/orders/historical/batch");
  const c = dialect.translate("cancel", input({ venueOrderId: "abc" }));
  assert.ok(c.ok && c.value.body === '{"order_ids":["abc"]}');
});

test("create answers: success -> NEW with the order id; failure -> rejected with the failure reason", () => {
  const okRes = fromCoinbaseResponse("place", { status: 200, headers: {}, bodyText: JSON.stringify({ success: true, success_response: { order_id: "o-1", product_id: "BTC-USD", side: "BUY", client_order_id: "c" } }) }, input());
  assert.ok(okRes.ok && okRes.value.venueOrderId === "o-1" && okRes.value.status === OrderStatus.NEW);
  const fail = fromCoinbaseResponse(
    "place",
    { status: 200, headers: {}, bodyText: JSON.stringify({ success: false, failure_reason: "UNKNOWN_FAILURE_REASON", error_response: { error: "INSUFFICIENT_FUND", message: "Insufficient balance", new_order_failure_reason: "INSUFFICIENT_FUND" } }) },
    input(),
  );
  assert.ok(!fail.ok && fail.error.kind === "rejected" && fail.error.code === "INSUFFICIENT_FUND");
});

test("status table (UNVERIFIED values, see describe.ts); OPEN with fills is PARTIALLY_FILLED; others are protocol errors", () => {
  const q = (status: string, filled = "0") =>
    fromCoinbaseResponse("query", { status: 200, headers: {}, bodyText: JSON.stringify({ order: { order_id: "o", status, filled_size: filled, average_filled_price: "0" } }) }, input({ venueOrderId: "o" }));
  const table: Array<[string, string, OrderStatus]> = [
    ["PENDING", "0", OrderStatus.NEW], ["OPEN", "0", OrderStatus.NEW], ["OPEN", "0.5", OrderStatus.PARTIALLY_FILLED],
    ["FILLED", "1", OrderStatus.FILLED], ["CANCELLED", "0", OrderStatus.CANCELED], ["EXPIRED", "0", OrderStatus.EXPIRED],
    ["FAILED", "0", OrderStatus.REJECTED], ["CANCEL_QUEUED", "0", OrderStatus.PENDING_CANCEL], ["QUEUED", "0", OrderStatus.NEW],
  ];
  for (const [s, f, want] of table) {
    const r = q(s, f);
    assert.ok(r.ok, s);
    assert.equal(r.value.status, want, s);
  }
  const bad = q("UNKNOWN_ORDER_STATUS");
  assert.ok(!bad.ok && bad.error.kind === "protocol");
});
