import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  CancelOrderResponseSchema,
  GetOrderStatusResponseSchema,
  OrderSchema,
  PlaceOrderRequestSchema,
  PlaceOrderResponseSchema,
  StreamFillsResponseSchema,
} from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createOrderResponseEncoder } from "../../../src/server/fast-path/order-response-encoder.js";
import { changedContracts, randomOrder, rng } from "../../helpers/random-order.js";

const same = (a: Uint8Array | undefined, b: Uint8Array, what: string) => {
  assert.ok(a !== undefined, `${what}: the encoder gave up`);
  assert.equal(Buffer.from(a).toString("hex"), Buffer.from(b).toString("hex"), what);
};

test("the three Order responses get an encoder; other messages do not", () => {
  for (const s of [PlaceOrderResponseSchema, CancelOrderResponseSchema, GetOrderStatusResponseSchema]) {
    assert.ok(createOrderResponseEncoder(s) !== undefined, s.typeName);
  }
  for (const s of [PlaceOrderRequestSchema, StreamFillsResponseSchema, OrderSchema]) {
    assert.equal(createOrderResponseEncoder(s), undefined, s.typeName);
  }
});

test("byte for byte what toBinary writes, over 3,000 random responses", () => {
  const place = createOrderResponseEncoder(PlaceOrderResponseSchema)!;
  const cancel = createOrderResponseEncoder(CancelOrderResponseSchema)!;
  const status = createOrderResponseEncoder(GetOrderStatusResponseSchema)!;
  const r = rng(20261125);
  for (let i = 0; i < 1_000; i++) {
    const order = r() < 0.05 ? undefined : randomOrder(r);
    const p = { $typeName: "trading.v1.PlaceOrderResponse" as const, order, replayed: r() < 0.5 };
    same(place(p), toBinary(PlaceOrderResponseSchema, p), `place #${i}`);
    const c = { $typeName: "trading.v1.CancelOrderResponse" as const, order };
    same(cancel(c), toBinary(CancelOrderResponseSchema, c), `cancel #${i}`);
    const g = { $typeName: "trading.v1.GetOrderStatusResponse" as const, order };
    same(status(g), toBinary(GetOrderStatusResponseSchema, g), `status #${i}`);
  }
  // Messages made by create(), where unset fields sit on the prototype.
  const made = create(PlaceOrderResponseSchema, { order: { orderId: "o-1", quantity: "1" } });
  same(place(made), toBinary(PlaceOrderResponseSchema, made), "create()");
  const empty = create(PlaceOrderResponseSchema);
  same(place(empty), toBinary(PlaceOrderResponseSchema, empty), "create() empty");
});

test("anything unusual is left to toBinary (undefined), never encoded differently", () => {
  const place = createOrderResponseEncoder(PlaceOrderResponseSchema)!;
  const order = randomOrder(rng(7));
  const base = { $typeName: "trading.v1.PlaceOrderResponse" as const, order, replayed: false };
  assert.ok(place(base) !== undefined);
  const cases: [string, object][] = [
    ["unknown fields", { ...base, $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([1]) }] }],
    ["unknown fields in the order", { ...base, order: { ...order, $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([1]) }] } }],
    ["a negative enum", { ...base, order: { ...order, side: -1 } }],
    ["a fractional enum", { ...base, order: { ...order, status: 1.5 } }],
    ["a number for a string", { ...base, order: { ...order, symbol: 5 } }],
    ["a timestamp before 1970", { ...base, order: { ...order, createdAt: { $typeName: "google.protobuf.Timestamp", seconds: -1n, nanos: 0 } } }],
    ["seconds as a number", { ...base, order: { ...order, createdAt: { $typeName: "google.protobuf.Timestamp", seconds: 5, nanos: 0 } } }],
    ["a foreign message", { ...base, order: { ...order, $typeName: "trading.v1.Fill" } }],
    ["another response type", { ...base, $typeName: "trading.v1.CancelOrderResponse" }],
    ["replayed left undefined", { ...base, replayed: undefined }],
  ];
  for (const [what, m] of cases) assert.equal(place(m), undefined, what);
});

test("a contract that differs from the one it was written for gets no encoder", () => {
  for (const [what, v] of changedContracts()) assert.equal(createOrderResponseEncoder(v), undefined, what);
});
