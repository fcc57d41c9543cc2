import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../../src/domain/order.js";
import { mapKrakenError } from "../../../../src/adapters/venues/kraken/errors.js";
import { createKrakenDialect } from "../../../../src/adapters/venues/kraken/index.js";
import { krakenSignature } from "../../../../src/adapters/venues/kraken/sign.js";
import { fromKrakenResponse } from "../../../../src/adapters/venues/kraken/translate.js";
import { fixture, makeOrder } from "../make-order.js";

const secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const dialect = createKrakenDialect(
  { name: "kraken", baseUrl: "https://api.kraken.com", symbols: {}, timeoutMs: 1000, limiterKey: "k", credentials: { apiKey: "KEY", apiSecret: secret } },
  () => "1616492376594",
);
const responses = fixture<Record<string, unknown>>("kraken", "responses.json");
const res = (body: unknown) => ({ status: 200, headers: {}, bodyText: JSON.stringify(body) });
const input = (over: Parameters<typeof makeOrder>[0] = {}) => ({ order: makeOrder({ venueClientOrderId: "d15708c1-dbb6-465d-b77d-47258319cc90", ...over }), venueSymbol: "XBTUSD" });

test("documented AddOrder example: body and API-Sign as in the docs (plus cl_ord_id)", () => {
  const req = dialect.translate("place", input({ quantity: "1.25", price: "37500" }));
  assert.ok(req.ok);
  const signed = dialect.sign(req.value, "https://api.kraken.com", 0);
  assert.ok(signed.ok);
  const docPayload = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
  assert.equal(signed.value.body, `${docPayload}&cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90`);
  assert.equal(signed.value.url, "https://api.kraken.com/0/private/AddOrder");
  assert.equal(signed.value.headers["API-Sign"], krakenSignature("/0/private/AddOrder", "1616492376594", signed.value.body!, secret));
  // Without the client id the request is byte for byte the documented one.
  assert.equal(krakenSignature("/0/private/AddOrder", "1616492376594", docPayload, secret), "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==");
});

test("order types: market, IOC limit, stop-loss (price = trigger), stop-loss-limit (price2 = limit)", () => {
  const body = (over: Parameters<typeof makeOrder>[0]) => {
    const r = dialect.translate("place", input(over));
    assert.ok(r.ok);
    return r.value.body;
  };
  assert.equal(body({ type: OrderType.MARKET, price: "", side: Side.SELL }), "ordertype=market&pair=XBTUSD&type=sell&volume=1&cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90");
  assert.equal(body({ timeInForce: TimeInForce.IOC }), "ordertype=limit&pair=XBTUSD&price=0.1&type=buy&volume=1&timeinforce=IOC&cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90");
  assert.equal(body({ type: OrderType.STOP, price: "", stopPrice: "30000" }), "ordertype=stop-loss&pair=XBTUSD&price=30000&type=buy&volume=1&cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90");
  assert.equal(
    body({ type: OrderType.STOP_LIMIT, price: "30100", stopPrice: "30000" }),
    "ordertype=stop-loss-limit&pair=XBTUSD&price=30000&price2=30100&type=buy&volume=1&cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90",
  );
  assert.match(dialect.checkOrderShape(OrderType.LIMIT, TimeInForce.FOK) ?? "", /FOK/);
});

test("cancel and query by txid once known", () => {
  for (const [op, path] of [["cancel", "/0/private/CancelOrder"], ["query", "/0/private/QueryOrders"]] as const) {
    const r = dialect.translate(op, input({ venueOrderId: "OU22CG-KLAF2-FWUDD7" }));
    assert.ok(r.ok);
    assert.deepEqual([r.value.path, r.value.body], [path, "txid=OU22CG-KLAF2-FWUDD7"]);
  }
});

test("cancel and query by cl_ord_id before the venue id is known", () => {
  const c = dialect.translate("cancel", input());
  assert.ok(c.ok);
  assert.deepEqual([c.value.path, c.value.body], ["/0/private/CancelOrder", "cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90"]);
  const q = dialect.translate("query", input());
  assert.ok(q.ok);
  assert.deepEqual([q.value.path, q.value.body], ["/0/private/QueryOrders", "cl_ord_id=d15708c1-dbb6-465d-b77d-47258319cc90"]);
});

test("documented AddOrder answers: txid[0] is the venue order id, descr is never parsed", () => {
  for (const [name, id] of [["addOrder", "OU22CG-KLAF2-FWUDD7"], ["addOrderLeverage", "OUF4EM-FRGI2-MQMWZD"]] as const) {
    const r = fromKrakenResponse("place", res(responses[name]), input());
    assert.ok(r.ok);
    assert.equal(r.value.venueOrderId, id);
    assert.equal(r.value.status, OrderStatus.NEW);
  }
});

test("QueryOrders: status table incl. open-with-fills = PARTIALLY_FILLED; unknown status is a protocol error", () => {
  const q = (status: string, volExec = "0") =>
    fromKrakenResponse("query", res({ error: [], result: { "OABC-1": { status, vol: "2", vol_exec: volExec, cost: "0", price: "0" } } }), input());
  const table: Array<[string, string, OrderStatus]> = [
    ["pending", "0", OrderStatus.NEW],
    ["open", "0", OrderStatus.NEW],
    ["open", "1", OrderStatus.PARTIALLY_FILLED],
    ["closed", "2", OrderStatus.FILLED],
    ["canceled", "0", OrderStatus.CANCELED],
    ["expired", "0", OrderStatus.EXPIRED],
  ];
  for (const [s, v, want] of table) {
    const r = q(s, v);
    assert.ok(r.ok, s);
    assert.equal(r.value.status, want, s);
    assert.equal(r.value.venueOrderId, "OABC-1");
  }
  const bad = q("Open");
  assert.ok(!bad.ok && bad.error.kind === "protocol");
  const none = fromKrakenResponse("query", res({ error: [], result: {} }), input());
  assert.ok(!none.ok && none.error.kind === "not_found");
});

test("error strings map by exact string, then by category", () => {
  const cases: Array<[string, string]> = [
    ["EOrder:Insufficient funds", "rejected"],
    ["EOrder:Order minimum not met", "rejected"],
    ["EQuery:Unknown asset pair", "rejected"],
    ["EGeneral:Invalid arguments", "rejected"],
    ["EAPI:Invalid key", "auth"],
    ["EAPI:Invalid signature", "auth"],
    ["EAPI:Invalid nonce", "auth"],
    ["EGeneral:Permission denied", "auth"],
    ["EAPI:Rate limit exceeded", "rate_limited"],
    ["EOrder:Rate limit exceeded", "rate_limited"],
    ["EGeneral:Temporary lockout", "rate_limited"],
    ["EService:Unavailable", "unavailable"],
    ["EService:Busy", "unknown_outcome"],
    ["EGeneral:Internal error", "unknown_outcome"],
  ];
  for (const [s, kind] of cases) assert.equal(mapKrakenError([s]).kind, kind, s);
  const r = fromKrakenResponse("place", res(responses["unknownPair"]), input());
  assert.ok(!r.ok && r.error.kind === "rejected" && r.error.reason.includes("EQuery:Unknown asset pair"));
  // Warnings alone are not errors.
  const w = fromKrakenResponse("place", res({ error: ["WGeneral:Something"], result: { txid: ["O-1"], descr: {} } }), input());
  assert.ok(w.ok);
});
