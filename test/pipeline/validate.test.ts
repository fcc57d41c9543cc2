import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderType, Side, TimeInForce } from "../../src/domain/order.js";
import { createOrderValidator, type PlaceOrderInput } from "../../src/pipeline/validate.js";
import { createPaperVenue } from "../../src/venues/paper/paper-venue.js";
import { createCounterIds } from "../../src/pipeline/types.js";
import { createManualClock, limitOrder, marketOrder } from "./support.js";

const paper = createPaperVenue({ clock: createManualClock(), ids: createCounterIds("p") });
const validate = createOrderValidator(new Map([["paper", paper]]));

function violations(input: PlaceOrderInput): Array<[string, string]> {
  const r = validate(input);
  assert.equal(r.ok, false, "expected a validation error");
  if (r.ok) return [];
  assert.equal(r.error.kind, "invalid_argument");
  if (r.error.kind !== "invalid_argument") return [];
  for (const v of r.error.violations) assert.ok(r.error.message.includes(v.field), `message names ${v.field}: ${r.error.message}`);
  return r.error.violations.map((v) => [v.field, v.description]);
}

test("valid orders of every type pass and come out as an OrderSpec", () => {
  const cases: PlaceOrderInput[] = [
    marketOrder(),
    marketOrder({ timeInForce: TimeInForce.FOK, side: Side.SELL, idempotencyKey: "k-1" }),
    limitOrder(),
    limitOrder({ timeInForce: TimeInForce.DAY }),
    limitOrder({ timeInForce: TimeInForce.IOC }),
    marketOrder({ type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPrice: "60000" }),
    marketOrder({ type: OrderType.STOP_LIMIT, timeInForce: TimeInForce.GTC, stopPrice: "60000", price: "59990.5" }),
  ];
  for (const c of cases) {
    const r = validate(c);
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) assert.deepEqual(r.value, { ...c });
  }
});

// One broken field at a time: [name, override, field, description pattern].
const SINGLE: Array<[string, Partial<PlaceOrderInput>, string, RegExp]> = [
  ["empty client_order_id", { clientOrderId: "" }, "client_order_id", /required/],
  ["client_order_id too long", { clientOrderId: "x".repeat(65) }, "client_order_id", /at most 64/],
  ["client_order_id with space", { clientOrderId: "a b" }, "client_order_id", /only/],
  ["client_order_id with slash", { clientOrderId: "a/b" }, "client_order_id", /only/],
  ["empty account", { account: "" }, "account", /required/],
  ["account with |", { account: "a|b" }, "account", /only/],
  ["empty venue", { venue: "" }, "venue", /required/],
  ["unknown venue", { venue: "nyse" }, "venue", /unknown venue "nyse"/],
  ["empty symbol", { symbol: "" }, "symbol", /required/],
  ["symbol not on venue", { symbol: "DOGE-USD" }, "symbol", /not traded/],
  ["side unspecified", { side: 0 }, "side", /specified/],
  ["side unknown", { side: 7 }, "side", /unknown value 7/],
  ["type unspecified", { type: 0 }, "type", /specified/],
  ["type unknown", { type: 9 }, "type", /unknown value 9/],
  ["tif unspecified", { timeInForce: 0 }, "time_in_force", /specified/],
  ["tif unknown", { timeInForce: 5 }, "time_in_force", /unknown value 5/],
  ["MARKET GTC refused by venue", { timeInForce: TimeInForce.GTC }, "time_in_force", /MARKET/],
  ["quantity empty", { quantity: "" }, "quantity", /required/],
  ["quantity zero", { quantity: "0" }, "quantity", /greater than zero/],
  ["quantity negative", { quantity: "-1" }, "quantity", /no sign/],
  ["quantity exponent", { quantity: "1e3" }, "quantity", /exponent/],
  ["quantity NaN", { quantity: "NaN" }, "quantity", /decimal/],
  ["quantity too precise", { quantity: "0.0000000000000000001" }, "quantity", /fraction digits/],
  ["price on MARKET", { price: "10" }, "price", /must be empty for MARKET/],
  ["stop_price on MARKET", { stopPrice: "10" }, "stop_price", /must be empty for MARKET/],
  ["bad idempotency key", { idempotencyKey: "has space" }, "idempotency_key", /1\.\.128/],
];

for (const [name, over, field, re] of SINGLE) {
  test(`single violation: ${name} -> ${field}`, () => {
    const vs = violations(marketOrder(over));
    assert.equal(vs.length, 1, JSON.stringify(vs));
    assert.equal(vs[0]![0], field);
    assert.match(vs[0]![1], re);
  });
}

test("LIMIT needs a positive price; STOP needs stop_price and no price; STOP_LIMIT needs both", () => {
  assert.deepEqual(violations(limitOrder({ price: "" })).map((v) => v[0]), ["price"]);
  assert.match(violations(limitOrder({ price: "0" }))[0]![1], /greater than zero for LIMIT/);
  assert.deepEqual(
    violations(marketOrder({ type: OrderType.STOP, timeInForce: TimeInForce.GTC, price: "1" })).map((v) => v[0]),
    ["price", "stop_price"],
  );
  assert.deepEqual(
    violations(marketOrder({ type: OrderType.STOP_LIMIT, timeInForce: TimeInForce.GTC })).map((v) => v[0]),
    ["price", "stop_price"],
  );
  assert.deepEqual(violations(limitOrder({ stopPrice: "5" })).map((v) => v[0]), ["stop_price"]);
});

test("every violation is reported at once", () => {
  const vs = violations({
    clientOrderId: "",
    account: "",
    venue: "nowhere",
    symbol: "",
    side: 0,
    type: 42,
    timeInForce: 0,
    quantity: "-3",
    price: "x",
    stopPrice: "",
    idempotencyKey: " ",
  });
  assert.deepEqual(
    vs.map((v) => v[0]).sort(),
    ["account", "client_order_id", "idempotency_key", "quantity", "side", "symbol", "time_in_force", "type", "venue"].sort(),
  );
});

test("a wrong type (not a string / not a number) is a violation, not an exception", () => {
  const vs = violations({ ...marketOrder(), quantity: 1.5 as unknown as string, side: "BUY" as unknown as number });
  assert.deepEqual(vs.map((v) => v[0]).sort(), ["quantity", "side"]);
});
