import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import {
  CancelOrderResponseSchema,
  GetOrderStatusResponseSchema,
  OrderSchema,
  PlaceOrderRequestSchema,
  PlaceOrderResponseSchema,
  StreamFillsResponseSchema,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import { createOrderResponseEncoder } from "../../src/server/order-response-encoder.js";

// A seeded generator, so a failure names a case that can be run again.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const SAMPLES = ["é", "€", "𝄞", "\ud800", "\u0000", "\u007f", "\u0080", "日本", '"\\'];

function randomString(r: () => number): string {
  const p = r();
  if (p < 0.3) return "";
  const len = p < 0.8 ? Math.floor(r() * 40) : p < 0.95 ? 100 + Math.floor(r() * 300) : 16_000 + Math.floor(r() * 5_000);
  let s = "";
  for (let i = 0; i < len; i++) s += r() < 0.97 ? String.fromCharCode(0x20 + Math.floor(r() * 95)) : SAMPLES[Math.floor(r() * SAMPLES.length)]!;
  return s;
}

function randomTimestamp(r: () => number) {
  const p = r();
  if (p < 0.1) return undefined;
  if (p < 0.2) return { $typeName: "google.protobuf.Timestamp" as const, seconds: 0n, nanos: 0 };
  const seconds = p < 0.9 ? BigInt(1_700_000_000 + Math.floor(r() * 1e8)) : BigInt(Math.floor(r() * 2 ** 52));
  return { $typeName: "google.protobuf.Timestamp" as const, seconds, nanos: r() < 0.3 ? 0 : Math.floor(r() * 1e9) };
}

function randomEnum(r: () => number, max: number): number {
  const p = r();
  return p < 0.3 ? 0 : p < 0.95 ? Math.floor(r() * (max + 1)) : 0x7fffffff;
}

function randomOrder(r: () => number) {
  const o = {
    $typeName: "trading.v1.Order" as const,
    orderId: randomString(r),
    clientOrderId: randomString(r),
    account: randomString(r),
    venue: randomString(r),
    venueOrderId: randomString(r),
    symbol: randomString(r),
    side: randomEnum(r, 2),
    type: randomEnum(r, 4),
    timeInForce: randomEnum(r, 4),
    quantity: randomString(r),
    price: randomString(r),
    stopPrice: randomString(r),
    status: randomEnum(r, 8),
    filledQuantity: randomString(r),
    averageFillPrice: randomString(r),
    rejectReason: randomString(r),
    createdAt: randomTimestamp(r),
    updatedAt: randomTimestamp(r),
  };
  return o;
}

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
  const d = PlaceOrderResponseSchema;
  const orderField = d.fields[0]!;
  const order = orderField.message!;
  const variants: [string, DescMessage][] = [
    ["a field fewer", { ...d, fields: d.fields.slice(0, 1) }],
    ["an Order field renumbered", { ...d, fields: [{ ...orderField, message: { ...order, fields: order.fields.map((f) => (f.localName === "symbol" ? { ...f, number: 40 } : f)) } }, d.fields[1]!] } as unknown as DescMessage],
    ["an Order field added", { ...d, fields: [{ ...orderField, message: { ...order, fields: [...order.fields, { ...order.fields[0]!, number: 19, localName: "extra" }] } }, d.fields[1]!] } as unknown as DescMessage],
  ];
  for (const [what, v] of variants) assert.equal(createOrderResponseEncoder(v), undefined, what);
});
