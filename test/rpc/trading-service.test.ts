import { test } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, OrderType, Side, TimeInForce, type PlaceOrderRequest, type PlaceOrderRequestSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS, rpcError } from "../helpers/trading-core.js";

type PlaceInit = MessageInitShape<typeof PlaceOrderRequestSchema>;

const setup = createTestTradingCore;
const market = (over: PlaceInit = {}): PlaceInit => ({ ...MARKET_ORDER_FIELDS, ...over });
const limit = (over: PlaceInit = {}): PlaceInit => market({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "100.25", ...over });


test("PlaceOrder MARKET on paper: FILLED with decimals and timestamps; the fill reaches StreamFills", async () => {
  const s = setup();
  const res = await s.client.placeOrder(market());
  assert.equal(res.replayed, false);
  const o = res.order!;
  assert.equal(o.status, OrderStatus.FILLED);
  assert.equal(o.clientOrderId, "c-1");
  assert.equal(o.filledQuantity, "1.5");
  assert.equal(o.averageFillPrice, s.paper.referencePrice!("BTC-USD"));
  assert.ok(o.orderId !== "" && o.venueOrderId !== "");
  assert.ok(o.createdAt !== undefined && o.createdAt.seconds > 0n);
  assert.equal(s.audit.events[0]!.requestId, "rid-1");
  // Replay of retained fills after sequence 0.
  const ac = new AbortController();
  for await (const m of s.client.streamFills({ afterSequence: 0n }, { signal: ac.signal })) {
    assert.equal(m.fill?.orderId, o.orderId);
    assert.equal(m.fill?.sequence, 1n);
    assert.equal(m.fill?.quantity, "1.5");
    ac.abort();
    break;
  }
  s.hub.close();
});

test("replay and key reuse over the API", async () => {
  const s = setup();
  const a = await s.client.placeOrder(market({ idempotencyKey: "idem-1" }));
  const b = await s.client.placeOrder(market({ idempotencyKey: "idem-1" }));
  assert.equal(b.replayed, true);
  assert.equal(b.order?.orderId, a.order?.orderId);
  const e = await rpcError(s.client.placeOrder(market({ idempotencyKey: "idem-1", side: Side.SELL })));
  assert.equal(e.code, Code.AlreadyExists);
  const info = e.findDetails(ErrorInfoSchema);
  assert.equal(info[0]?.reason, "IDEMPOTENCY_KEY_REUSED");
  assert.match(e.rawMessage, /side/);
});

test("concurrent duplicates over the API: exactly one venue call, one order", async () => {
  const s = setup();
  s.scripted.hold = true;
  const calls = Array.from({ length: 8 }, () => s.client.placeOrder(market({ venue: "scripted", clientOrderId: "same" })));
  for (let i = 0; i < 20 && s.scripted.placed.length === 0; i++) await new Promise((r) => setImmediate(r));
  s.scripted.release();
  const results = await Promise.all(calls);
  assert.equal(s.scripted.placed.length, 1);
  assert.equal(new Set(results.map((r) => r.order?.orderId)).size, 1);
  assert.equal(results.filter((r) => !r.replayed).length, 1);
});

test("risk limit breach: FAILED_PRECONDITION with a reason", async () => {
  const s = setup({ riskLimits: { "acct-1": { maxNotional: "1000" } } });
  const e = await rpcError(s.client.placeOrder(market()));
  assert.equal(e.code, Code.FailedPrecondition);
  assert.equal(e.findDetails(ErrorInfoSchema)[0]?.reason, "MAX_NOTIONAL_EXCEEDED");
  assert.match(e.rawMessage, /notional/);
});

test("cancel: working -> CANCELED through the venue; terminal -> FAILED_PRECONDITION naming the status; unknown -> NOT_FOUND", async () => {
  const s = setup();
  const resting = (await s.client.placeOrder(limit({ clientOrderId: "l-1" }))).order!;
  assert.equal(resting.status, OrderStatus.NEW);
  const c = await s.client.cancelOrder({ orderId: resting.orderId });
  assert.equal(c.order?.status, OrderStatus.CANCELED);
  assert.ok(s.audit.events.some((e) => e.type === "cancel_requested") && s.audit.events.some((e) => e.type === "order_canceled"));
  const again = await rpcError(s.client.cancelOrder({ orderId: resting.orderId }));
  assert.equal(again.code, Code.FailedPrecondition);
  assert.match(again.rawMessage, /CANCELED/);
  const filled = (await s.client.placeOrder(market({ clientOrderId: "m-1" }))).order!;
  const ef = await rpcError(s.client.cancelOrder({ clientOrderId: "m-1", account: "acct-1" }));
  assert.equal(ef.code, Code.FailedPrecondition);
  assert.match(ef.rawMessage, new RegExp(`order ${filled.orderId} is FILLED`));
  const nf = await rpcError(s.client.cancelOrder({ orderId: "no-such-order" }));
  assert.equal(nf.code, Code.NotFound);
});

test("cancel refused by the venue: FAILED_PRECONDITION and the order is working again", async () => {
  const s = setup();
  s.scripted.next.push({ ok: true, value: { status: OrderStatus.NEW, venueOrderId: "V1", fills: [] } });
  const o = (await s.client.placeOrder(market({ venue: "scripted", clientOrderId: "s-1" }))).order!;
  s.scripted.cancelNext.push({ ok: false, error: { kind: "rejected", reason: "order is being matched" } });
  const e = await rpcError(s.client.cancelOrder({ orderId: o.orderId }));
  assert.equal(e.code, Code.FailedPrecondition);
  assert.match(e.rawMessage, /order is being matched/);
  const now = await s.client.getOrderStatus({ orderId: o.orderId });
  assert.equal(now.order?.status, OrderStatus.NEW);
});

test("GetOrderStatus: by order_id, by client_order_id + account; disagreement and unknown are NOT_FOUND", async () => {
  const s = setup();
  const o = (await s.client.placeOrder(market({ clientOrderId: "g-1" }))).order!;
  assert.equal((await s.client.getOrderStatus({ orderId: o.orderId })).order?.clientOrderId, "g-1");
  assert.equal((await s.client.getOrderStatus({ clientOrderId: "g-1", account: "acct-1" })).order?.orderId, o.orderId);
  assert.equal((await s.client.getOrderStatus({ orderId: o.orderId, clientOrderId: "g-1", account: "acct-1" })).order?.orderId, o.orderId);
  for (const req of [
    { orderId: o.orderId, clientOrderId: "other" },
    { orderId: o.orderId, account: "acct-2" },
    { clientOrderId: "g-1", account: "acct-2" },
    { orderId: "nope" },
  ]) {
    const e = await rpcError(s.client.getOrderStatus(req));
    assert.equal(e.code, Code.NotFound, JSON.stringify(req));
  }
});

test("visibility: other accounts' orders are NOT_FOUND; naming a forbidden account is PERMISSION_DENIED", async () => {
  const s = setup();
  const o = (await s.client.placeOrder(market({ clientOrderId: "v-1", account: "acct-1" }))).order!;
  const headers = { "x-accounts": "acct-2" };
  const hidden = await rpcError(s.client.getOrderStatus({ orderId: o.orderId }, { headers }));
  assert.equal(hidden.code, Code.NotFound);
  const named = await rpcError(s.client.getOrderStatus({ clientOrderId: "v-1", account: "acct-1" }, { headers }));
  assert.equal(named.code, Code.PermissionDenied);
  const place = await rpcError(s.client.placeOrder(market({ clientOrderId: "v-2" }), { headers }));
  assert.equal(place.code, Code.PermissionDenied);
  const cancel = await rpcError(s.client.cancelOrder({ orderId: o.orderId }, { headers }));
  assert.equal(cancel.code, Code.NotFound);
});

test("retention: a terminal order leaves memory after ORDER_RETENTION_MS and is then NOT_FOUND", async () => {
  const s = setup({ orderRetentionMs: 1_000 });
  const o = (await s.client.placeOrder(market({ clientOrderId: "r-1" }))).order!;
  s.clock.advance(1_000);
  s.core.orders.sweep(s.clock.nowMs());
  const e = await rpcError(s.client.getOrderStatus({ orderId: o.orderId }));
  assert.equal(e.code, Code.NotFound);
  // The idempotency record outlives it: a retry still replays (with the stored state).
  const again = await s.client.placeOrder(market({ clientOrderId: "r-1" }));
  assert.equal(again.replayed, true);
  assert.equal(again.order?.status, OrderStatus.FILLED);
});

// At least 20 malformed requests: each gets INVALID_ARGUMENT and names its field in the message and in BadRequest.
const MALFORMED: Array<[string, () => PlaceInit, string]> = [
  ["client_order_id empty", () => market({ clientOrderId: "" }), "client_order_id"],
  ["client_order_id too long", () => market({ clientOrderId: "x".repeat(65) }), "client_order_id"],
  ["client_order_id bad chars", () => market({ clientOrderId: "a b" }), "client_order_id"],
  ["account empty", () => market({ account: "" }), "account"],
  ["account bad chars", () => market({ account: "a|b" }), "account"],
  ["venue empty", () => market({ venue: "" }), "venue"],
  ["venue unknown", () => market({ venue: "moon" }), "venue"],
  ["symbol empty", () => market({ symbol: "" }), "symbol"],
  ["symbol not on venue", () => market({ symbol: "XYZ-USD" }), "symbol"],
  ["side unspecified", () => market({ side: Side.UNSPECIFIED }), "side"],
  ["side unknown number", () => market({ side: 9 as Side }), "side"],
  ["type unspecified", () => market({ type: OrderType.UNSPECIFIED }), "type"],
  ["type unknown number", () => market({ type: 17 as OrderType }), "type"],
  ["tif unspecified", () => market({ timeInForce: TimeInForce.UNSPECIFIED }), "time_in_force"],
  ["tif unknown number", () => market({ timeInForce: 12 as TimeInForce }), "time_in_force"],
  ["MARKET + GTC refused by the venue", () => market({ timeInForce: TimeInForce.GTC }), "time_in_force"],
  ["quantity empty", () => market({ quantity: "" }), "quantity"],
  ["quantity zero", () => market({ quantity: "0.000" }), "quantity"],
  ["quantity negative", () => market({ quantity: "-1" }), "quantity"],
  ["quantity exponent", () => market({ quantity: "1e2" }), "quantity"],
  ["quantity Infinity", () => market({ quantity: "Infinity" }), "quantity"],
  ["quantity too long", () => market({ quantity: "1".repeat(40) }), "quantity"],
  ["LIMIT without price", () => limit({ price: "" }), "price"],
  ["LIMIT negative price", () => limit({ price: "-5" }), "price"],
  ["MARKET with price", () => market({ price: "1" }), "price"],
  ["STOP without stop_price", () => market({ type: OrderType.STOP, timeInForce: TimeInForce.GTC }), "stop_price"],
  ["LIMIT with stop_price", () => limit({ stopPrice: "1" }), "stop_price"],
  ["idempotency_key bad chars", () => market({ idempotencyKey: "no spaces please" }), "idempotency_key"],
];

for (const [name, make, field] of MALFORMED) {
  test(`malformed PlaceOrder (${name}) -> INVALID_ARGUMENT naming ${field}`, async () => {
    const s = setup();
    const e = await rpcError(s.client.placeOrder(make() as PlaceOrderRequest));
    assert.equal(e.code, Code.InvalidArgument);
    assert.ok(e.rawMessage.includes(field), `message names ${field}: ${e.rawMessage}`);
    const br = e.findDetails(BadRequestSchema);
    assert.equal(br.length, 1);
    assert.deepEqual(br[0]!.fieldViolations.map((v) => v.field), [field]);
    assert.equal(s.audit.events.length, 0, "nothing happened, nothing audited");
  });
}

test("malformed lookups and cancels name their field", async () => {
  const s = setup();
  const cases: Array<[Promise<unknown>, string]> = [
    [s.client.getOrderStatus({}), "order_id"],
    [s.client.getOrderStatus({ clientOrderId: "c-1" }), "account"],
    [s.client.getOrderStatus({ clientOrderId: "c 1", account: "a" }), "client_order_id"],
    [s.client.cancelOrder({}), "order_id"],
    [s.client.cancelOrder({ clientOrderId: "c-1" }), "account"],
    [s.client.cancelOrder({ orderId: "x".repeat(200) }), "order_id"],
  ];
  for (const [p, field] of cases) {
    const e = await rpcError(p);
    assert.equal(e.code, Code.InvalidArgument);
    assert.ok(e.rawMessage.includes(field), e.rawMessage);
    assert.deepEqual(e.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), [field]);
  }
});

test("every violation at once over the API", async () => {
  const s = setup();
  const e = await rpcError(s.client.placeOrder({ quantity: "abc", type: OrderType.LIMIT }));
  assert.equal(e.code, Code.InvalidArgument);
  const fields = e.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field).sort();
  assert.deepEqual(fields, ["account", "client_order_id", "price", "quantity", "side", "symbol", "time_in_force", "venue"]);
});

test("createOrderPipeline applies a recovered state: a retry after restart is a replay", async () => {
  const first = setup();
  await first.client.placeOrder(market({ clientOrderId: "rec-1" }));
  const { recoverState } = await import("../../src/use-cases/recover.js");
  const state = await recoverState(first.audit.events, {
    nowMs: first.clock.nowMs(),
    idempotencyTtlMs: 86_400_000,
    idempotencyMaxEntries: 1000,
    orderRetentionMs: 600_000,
    maxTerminalOrders: 1000,
  });
  const second = setup({ recovered: state });
  const again = await second.client.placeOrder(market({ clientOrderId: "rec-1" }));
  assert.equal(again.replayed, true);
  assert.equal(second.audit.events.length, 0);
  assert.equal((await second.client.getOrderStatus({ clientOrderId: "rec-1", account: "acct-1" })).order?.status, OrderStatus.FILLED);
});
