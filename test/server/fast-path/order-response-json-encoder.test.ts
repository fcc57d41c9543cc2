import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import {
  CancelOrderResponseSchema,
  GetOrderStatusResponseSchema,
  OrderSchema,
  PlaceOrderRequestSchema,
  PlaceOrderResponseSchema,
  StreamFillsResponseSchema,
} from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createOrderResponseJsonEncoder } from "../../../src/server/fast-path/order-response-json-encoder.js";
import { changedContracts, randomOrder, rng } from "../../helpers/random-order.js";

/** What connect writes for the message (its JSON serialization, as the fast path falls back to), or the error it throws. */
function connectJson(schema: DescMessage, message: object): string | Error {
  try {
    // The output side of a method whose output is `schema`: connect's JSON serializer for it.
    const method = { output: schema, input: schema } as never;
    const lookup = createMethodSerializationLookup(method, undefined, undefined, { readMaxBytes: 2 ** 31, writeMaxBytes: 2 ** 31 });
    return Buffer.from(lookup.getO(false).serialize(message as never)).toString("hex");
  } catch (e) {
    return e as Error;
  }
}

test("JSON: the three Order responses get an encoder; other messages and other write options do not", () => {
  for (const s of [PlaceOrderResponseSchema, CancelOrderResponseSchema, GetOrderStatusResponseSchema]) {
    assert.ok(createOrderResponseJsonEncoder(s) !== undefined, s.typeName);
    assert.ok(createOrderResponseJsonEncoder(s, {}) !== undefined, s.typeName);
    assert.ok(createOrderResponseJsonEncoder(s, { ignoreUnknownFields: true } as never) !== undefined, `${s.typeName}, read options only`);
  }
  for (const s of [PlaceOrderRequestSchema, StreamFillsResponseSchema, OrderSchema]) {
    assert.equal(createOrderResponseJsonEncoder(s), undefined, s.typeName);
  }
  for (const o of [{ alwaysEmitImplicit: true }, { enumAsInteger: true }, { useProtoFieldName: true }, { prettySpaces: 2 }]) {
    assert.equal(createOrderResponseJsonEncoder(PlaceOrderResponseSchema, o as never), undefined, JSON.stringify(o));
  }
});

test("JSON: byte for byte what connect writes, over 3,000 random responses; what it leaves, connect writes or refuses", () => {
  const schemas = [PlaceOrderResponseSchema, CancelOrderResponseSchema, GetOrderStatusResponseSchema] as const;
  const encoders = schemas.map((s) => createOrderResponseJsonEncoder(s)!);
  const r = rng(20261126);
  let encoded = 0;
  let total = 0;
  for (let i = 0; i < 1_000; i++) {
    const order = r() < 0.05 ? undefined : randomOrder(r);
    const messages = [
      { $typeName: "trading.v1.PlaceOrderResponse" as const, order, replayed: r() < 0.5 },
      { $typeName: "trading.v1.CancelOrderResponse" as const, order },
      { $typeName: "trading.v1.GetOrderStatusResponse" as const, order },
    ];
    for (let k = 0; k < 3; k++) {
      total++;
      const mine = encoders[k]!(messages[k]!);
      const theirs = connectJson(schemas[k]!, messages[k]!);
      if (mine === undefined) continue;
      encoded++;
      assert.ok(typeof theirs === "string", `#${i} ${schemas[k]!.typeName}: encoded by hand, but connect refuses it: ${String(theirs)}`);
      assert.equal(Buffer.from(mine).toString("hex"), theirs, `#${i} ${schemas[k]!.typeName}: ${Buffer.from(mine).toString()}`);
    }
  }
  // The random orders include enum numbers with no name and timestamps past year 9999, which go to
  // connect; the rest (most of them) must be encoded here, or this test proves nothing.
  assert.ok(encoded > total * 0.5, `encoded ${encoded} of ${total}`);
  // Messages made by create(), where unset fields sit on the prototype.
  const place = encoders[0]!;
  for (const m of [create(PlaceOrderResponseSchema, { order: { orderId: "o-1", quantity: "1" } }), create(PlaceOrderResponseSchema), create(PlaceOrderResponseSchema, { replayed: true })]) {
    assert.equal(Buffer.from(place(m)!).toString("hex"), connectJson(PlaceOrderResponseSchema, m));
  }
});

test("JSON: timestamps as protobuf-es writes them (no fraction, or 3, 6 or 9 digits), at the edges of the range", () => {
  const place = createOrderResponseJsonEncoder(PlaceOrderResponseSchema)!;
  const at = (seconds: bigint, nanos: number) => ({
    $typeName: "trading.v1.PlaceOrderResponse" as const,
    replayed: false,
    order: { ...randomOrder(rng(3)), createdAt: { $typeName: "google.protobuf.Timestamp" as const, seconds, nanos }, updatedAt: undefined },
  });
  const cases: [bigint, number][] = [
    [0n, 0],
    [0n, 1],
    [1_795_577_695n, 969_000_000],
    [1_795_577_695n, 969_100_000],
    [1_795_577_695n, 969_100_010],
    [1_795_577_695n, 999_999_999],
    [253_402_300_799n, 999_999_999],
  ];
  for (const [s, n] of cases) {
    const m = at(s, n);
    const mine = place(m);
    assert.ok(mine !== undefined, `${s}.${n}`);
    assert.equal(Buffer.from(mine).toString("hex"), connectJson(PlaceOrderResponseSchema, m), `${s}.${n}: ${Buffer.from(mine).toString()}`);
  }
  // Out of the range toJson accepts: left to connect, which refuses them.
  for (const [s, n] of [[253_402_300_800n, 0], [1n, 1_000_000_000], [1n, -1]] as [bigint, number][]) {
    assert.equal(place(at(s, n)), undefined, `${s}.${n}`);
    assert.ok(connectJson(PlaceOrderResponseSchema, at(s, n)) instanceof Error, `${s}.${n}`);
  }
  // Fractional nanos: connect writes something odd rather than refusing; that is left to it too.
  assert.equal(place(at(1n, 0.5)), undefined);
});

test("JSON: anything unusual is left to connect (undefined), never encoded differently", () => {
  const place = createOrderResponseJsonEncoder(PlaceOrderResponseSchema)!;
  const order = { ...randomOrder(rng(7)), side: 1, status: 4 };
  const base = { $typeName: "trading.v1.PlaceOrderResponse" as const, order, replayed: false };
  assert.ok(place(base) !== undefined);
  const cases: [string, object][] = [
    ["an enum number with no name", { ...base, order: { ...order, side: 7 } }],
    ["a negative enum", { ...base, order: { ...order, side: -1 } }],
    ["a fractional enum", { ...base, order: { ...order, status: 1.5 } }],
    ["an enum as a string", { ...base, order: { ...order, status: "ORDER_STATUS_NEW" } }],
    ["a number for a string", { ...base, order: { ...order, symbol: 5 } }],
    ["a timestamp before 1970", { ...base, order: { ...order, createdAt: { $typeName: "google.protobuf.Timestamp", seconds: -1n, nanos: 0 } } }],
    ["seconds as a number", { ...base, order: { ...order, createdAt: { $typeName: "google.protobuf.Timestamp", seconds: 5, nanos: 0 } } }],
    ["a foreign timestamp", { ...base, order: { ...order, createdAt: { $typeName: "google.protobuf.Duration", seconds: 5n, nanos: 0 } } }],
    ["a foreign message", { ...base, order: { ...order, $typeName: "trading.v1.Fill" } }],
    ["another response type", { ...base, $typeName: "trading.v1.CancelOrderResponse" }],
    ["replayed left undefined", { ...base, replayed: undefined }],
    ["replayed as a number", { ...base, replayed: 1 }],
  ];
  for (const [what, m] of cases) assert.equal(place(m), undefined, what);
});

test("JSON: a contract that differs from the one it was written for gets no encoder", () => {
  for (const [what, v] of changedContracts()) assert.equal(createOrderResponseJsonEncoder(v), undefined, what);
});
