import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderType, Side, TimeInForce } from "../../src/domain/order.js";
import { createOrderValidator, fieldsAccepted, fieldsSurelyValid, type PlaceOrderInput } from "../../src/use-cases/validate.js";
import { rng } from "../helpers/random-order.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createCounterIds } from "../helpers/counter-ids.js";
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
  // A bad character inside, at the start or at the end: the pattern is anchored at both ends.
  ["symbol with space", { symbol: "BTC USD" }, "symbol", /must contain only/],
  ["symbol starting badly", { symbol: " BTC-USD" }, "symbol", /must contain only/],
  ["symbol ending badly", { symbol: "BTC-USD|" }, "symbol", /must contain only/],
  ["symbol too long", { symbol: "B".repeat(65) }, "symbol", /at most 64/],
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

// What clients read in BadRequest, word for word (the tests above match patterns only).
const EXACT: Array<[Partial<PlaceOrderInput>, string, string]> = [
  [{ clientOrderId: "a b" }, "client_order_id", "must contain only [A-Za-z0-9._:-]"],
  [{ clientOrderId: 5 as unknown as string }, "client_order_id", "must be a string"],
  [{ account: "a|b" }, "account", "must contain only [A-Za-z0-9._:@-]"],
  [{ venue: 5 as unknown as string }, "venue", "must be a string"],
  [{ venue: "nyse" }, "venue", 'unknown venue "nyse"; configured: paper'],
  [{ symbol: "BTC USD" }, "symbol", "must contain only [A-Za-z0-9._:/-]"],
  [{ side: 7 }, "side", "unknown value 7; expected one of SIDE_BUY, SIDE_SELL"],
  [{ side: "BUY" as unknown as number }, "side", "must be an enum number"],
  [{ type: 9 }, "type", "unknown value 9; expected one of ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT, ORDER_TYPE_STOP, ORDER_TYPE_STOP_LIMIT"],
  [{ timeInForce: 5 }, "time_in_force", "unknown value 5; expected one of TIME_IN_FORCE_GTC, TIME_IN_FORCE_IOC, TIME_IN_FORCE_FOK, TIME_IN_FORCE_DAY"],
  [{ quantity: 1.5 as unknown as string }, "quantity", "must be a string"],
  [{ idempotencyKey: " " }, "idempotency_key", "must be 1..128 characters of [A-Za-z0-9._:-]"],
  [{ idempotencyKey: 5 as unknown as string }, "idempotency_key", "must be empty or 1..128 characters of [A-Za-z0-9._:-]"],
  [{ type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPrice: "0" }, "stop_price", "must be greater than zero for STOP orders"],
];

test("violation descriptions, exactly", () => {
  for (const [over, field, description] of EXACT) assert.deepEqual(violations(marketOrder(over)), [[field, description]], JSON.stringify(over));
});

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

test("a price or stop_price that is not a string gets one violation, not a second one from the cross-field rules", () => {
  const stop = { type: OrderType.STOP, timeInForce: TimeInForce.GTC };
  assert.deepEqual(violations(marketOrder({ ...stop, stopPrice: 60000 as unknown as string })), [["stop_price", "must be a string"]]);
  assert.deepEqual(violations(marketOrder({ stopPrice: 1 as unknown as string })), [["stop_price", "must be a string"]]);
  assert.deepEqual(violations(limitOrder({ price: 100 as unknown as string })), [["price", "must be a string"]]);
  assert.deepEqual(violations(marketOrder({ price: 1 as unknown as string })), [["price", "must be a string"]]);
});

test("an unknown venue's violation lists every configured venue", () => {
  const two = createOrderValidator(new Map([["paper", paper], ["paper-2", paper]]));
  const r = two(marketOrder({ venue: "nyse" }));
  assert.ok(!r.ok && r.error.kind === "invalid_argument");
  assert.deepEqual(r.error.violations, [{ field: "venue", description: 'unknown venue "nyse"; configured: paper, paper-2' }]);
});

test("the venue is asked about symbol and time in force only once they passed the field rules", () => {
  // An adapter that refuses everything it is asked: any question it gets shows up as a violation.
  const asked: string[] = [];
  const grumpy = {
    ...paper,
    checkSymbol: (s: string) => (asked.push(`symbol ${s}`), "refused by venue"),
    checkOrderShape: (type: OrderType, tif: TimeInForce) => (asked.push(`shape ${type}/${tif}`), "refused by venue"),
  };
  const strict = createOrderValidator(new Map([["paper", grumpy]]));
  const r = strict(marketOrder({ symbol: "BTC USD", timeInForce: 9 }));
  assert.ok(!r.ok && r.error.kind === "invalid_argument");
  assert.deepEqual(r.error.violations.map((v) => v.field), ["symbol", "time_in_force"]);
  assert.deepEqual(asked, []);
  // With the fields valid, both questions are asked and both answers reported.
  const r2 = strict(marketOrder());
  assert.ok(!r2.ok && r2.error.kind === "invalid_argument");
  assert.deepEqual(r2.error.violations, [
    { field: "symbol", description: "refused by venue" },
    { field: "time_in_force", description: "refused by venue" },
  ]);
  assert.deepEqual(asked, [`symbol BTC-USD`, `shape ${OrderType.MARKET}/${TimeInForce.IOC}`]);
});

test("the hand-written field check accepts exactly what the valibot schema accepts (seeded random and boundary inputs)", () => {
  const r = rng(20261206);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const alnum = "ABCxyz0189";
  const chars = [...alnum, ".", "_", ":", "-", "@", "/", " ", "|", '"', "\\", "\u0000", "é", "\u001f", "+"];
  // Around each rule's edges: lengths 0/1/64/65 and 128/129, every alphabet's extra characters.
  const idLike = (): unknown => {
    const p = r();
    if (p < 0.04) return pick([undefined, null, 7, {}, ["a"]]);
    const len = pick([0, 1, 2, 5, 63, 64, 65, 127, 128, 129]);
    let s = "";
    for (let i = 0; i < len; i++) s += r() < 0.9 ? pick([...alnum]) : pick(chars);
    return s;
  };
  const enumLike = (): unknown => pick([0, 1, 2, 3, 4, 5, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1", undefined]);
  const decimalLike = (): unknown =>
    pick(["1", "0.5", "1.25", "0", "0.000", "01", "1.", ".5", "-1", "1e3", " 1", "", "1.123456789012345678", "1".repeat(40), "1.0000000000000000000000001", 1, undefined]);
  let valid = 0;
  for (let n = 0; n < 20_000; n++) {
    // A valid order with each field replaced by an edge value one time in five.
    const field = <T>(valid: T, edge: () => unknown): unknown => (r() < 0.2 ? edge() : valid);
    const input = {
      clientOrderId: field(`c-${n}`, idLike),
      account: field("acct-1", idLike),
      venue: field("paper", () => pick(["paper", "", "x", 1, undefined])),
      symbol: field("BTC-USD", idLike),
      side: field(Side.BUY, enumLike),
      type: field(OrderType.LIMIT, enumLike),
      timeInForce: field(TimeInForce.GTC, enumLike),
      quantity: field("1.5", decimalLike),
      price: field("100", () => pick(["", "1", "abc", 1, undefined])),
      stopPrice: field("", () => pick(["", "2", 2, null])),
      idempotencyKey: field("", () => (r() < 0.3 ? "" : idLike())),
    } as unknown as PlaceOrderInput;
    const fast = fieldsSurelyValid(input);
    assert.equal(fast, fieldsAccepted(input), `case ${n}: ${JSON.stringify(input)}`);
    if (fast) valid++;
  }
  // Enough of both answers to mean something.
  assert.ok(valid > 1_000 && valid < 19_000, `valid cases: ${valid}`);
});

test("an order the fast check passes comes out as before, and a bad one still gets valibot's messages", () => {
  const good = { ...marketOrder(), clientOrderId: "c-" + "x".repeat(62) };
  assert.ok(fieldsSurelyValid(good));
  const r = validate(good);
  assert.ok(r.ok);
  assert.equal(r.value.clientOrderId, good.clientOrderId);
  assert.equal(r.value.quantity, good.quantity);
  const bad = { ...good, clientOrderId: "c-" + "x".repeat(63), quantity: "0" };
  assert.equal(fieldsSurelyValid(bad), false);
  assert.deepEqual(violations(bad), [
    ["client_order_id", "must be at most 64 characters"],
    ["quantity", "must be greater than zero"],
  ]);
});
