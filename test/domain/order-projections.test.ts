import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, isFieldSet, toBinary, toJsonString } from "@bufbuild/protobuf";
import { FillSchema, OrderSchema, PlaceOrderResponseSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import { FILL_FIELDS, ORDER_FIELDS } from "../../src/domain/order-fields.js";
import { Side, type Fill, type Order } from "../../src/domain/order.js";
import { ORDER_TUPLE_FIELDS, orderFromTuple, orderToTuple } from "../../src/domain/order-tuple.js";
import { createAuditDecoder, createAuditEncoder, createLineBuffer, decodeAuditLine, encodeAuditEvent } from "../../src/adapters/audit/audit-codec.js";
import type { AuditEvent } from "../../src/use-cases/audit-sink.js";
import { msToTimestamp, toProtoFill, toProtoOrder } from "../../src/rpc/proto-mapping.js";
import { createOrderResponseEncoder } from "../../src/server/fast-path/order-response-encoder.js";
import { createOrderResponseJsonEncoder } from "../../src/server/fast-path/order-response-json-encoder.js";
import { everyField } from "../helpers/every-field-order.js";

/**
 * Every projection of an Order (and a Fill) carries every field. With every field set to a value
 * no other field has (test/helpers/every-field-order.ts, typed Required<Order> so a new field must
 * be given one), a projection that drops, swaps or defaults a field fails here. Adding a field
 * touches: the proto (if clients see it), src/domain/order.ts, src/domain/order-fields.ts (and the
 * test helper's value); every projection below is derived from the declaration.
 */

const everyFill: Required<Fill> = {
  sequence: 2n ** 60n + 7n,
  fillId: "fill-1",
  orderId: everyField.orderId,
  clientOrderId: everyField.clientOrderId,
  account: everyField.account,
  venue: everyField.venue,
  symbol: everyField.symbol,
  side: Side.SELL,
  quantity: "0.25",
  price: "65000.75",
  fee: "0.0003",
  feeCurrency: "USDT",
  timeMs: 1_700_000_000_003,
  venueTradeId: "trade-1",
};

const distinct = (x: object) => {
  const values = Object.values(x).map(String);
  return new Set(values).size === values.length;
};

test("the declaration lists every field of the domain types and of the contract's messages", () => {
  assert.deepEqual(new Set(ORDER_FIELDS.map((f) => f.key)), new Set(Object.keys(everyField)));
  assert.deepEqual(new Set(FILL_FIELDS.map((f) => f.key)), new Set(Object.keys(everyFill)));
  assert.ok(distinct(everyField), "every order field has a value of its own");
  // A field added to the proto must be declared (mapped) too, or no response would ever carry it.
  const protoOf = (fields: readonly object[]) => new Set(fields.flatMap((f) => ("proto" in f ? [f.proto as string] : [])));
  assert.deepEqual(protoOf(ORDER_FIELDS), new Set(OrderSchema.fields.map((f) => f.localName)));
  assert.deepEqual(protoOf(FILL_FIELDS), new Set(FillSchema.fields.map((f) => f.localName)));
});

test("tuple: every field survives", () => {
  assert.deepEqual(new Set(ORDER_TUPLE_FIELDS), new Set(Object.keys(everyField)));
  assert.deepEqual(orderFromTuple(JSON.parse(JSON.stringify(orderToTuple(everyField)))), everyField);
});

test("audit v2: every field survives a full record, and each mutable field a change record", () => {
  const full: AuditEvent = { ts: 1_700_000_000_009, type: "fill", requestId: "r", order: everyField, fill: everyFill };
  assert.deepEqual(decodeAuditLine(encodeAuditEvent(full)), { ok: true, value: full });
  const encoder = createAuditEncoder();
  const decoder = createAuditDecoder();
  const b = createLineBuffer();
  const base = { ...everyField, status: 2 as Order["status"] };
  encoder.write(b, [{ ts: 1, type: "order_accepted", requestId: "r", order: base }], 1);
  encoder.durable(1);
  const changes: Partial<Order>[] = [];
  for (const f of ORDER_FIELDS) {
    if (!("mutable" in f)) continue;
    const v = everyField[f.key];
    // The status moves to one that is not terminal (a terminal order is written in full again).
    changes.push({ [f.key]: f.kind === "enum" ? 3 : typeof v === "number" ? v + 1000 : Array.isArray(v) ? [...(v as string[]), "changed"] : `${v}-changed` });
  }
  let last: Order = base;
  const events = [{ ts: 1, type: "order_accepted" as const, requestId: "r", order: base }];
  for (const c of changes) {
    last = { ...last, ...c };
    const e: AuditEvent = { ts: 5, type: "order_partially_filled", requestId: "r", order: last };
    events.push(e as never);
    encoder.write(b, [e], 2);
  }
  const lines = b.buf.toString("utf8", 0, b.len).trimEnd().split("\n");
  assert.equal(lines.length, events.length);
  lines.forEach((l, i) => {
    if (i > 0) assert.ok(!l.includes('"client_order_id"'), `a change record: ${l}`);
    assert.deepEqual(decoder.line(l), { ok: true, value: events[i] });
  });
});

test("proto mapping: every declared field reaches its proto field, and every proto field is set", () => {
  const p = toProtoOrder(everyField) as unknown as Record<string, unknown>;
  for (const f of ORDER_FIELDS) {
    if (!("proto" in f)) continue;
    assert.deepEqual(p[f.proto], f.kind === "ms" ? msToTimestamp(everyField[f.key] as number) : everyField[f.key], f.key);
  }
  const msg = create(OrderSchema, p as never);
  for (const f of OrderSchema.fields) assert.ok(isFieldSet(msg, f), `Order.${f.localName} is set`);
  const fp = toProtoFill(everyFill);
  const fillMsg = create(FillSchema, fp);
  for (const f of FillSchema.fields) assert.ok(isFieldSet(fillMsg, f), `Fill.${f.localName} is set`);
  assert.equal(fp.sequence, everyFill.sequence);
  assert.deepEqual(fp.time, msToTimestamp(everyFill.timeMs));
});

test("fast path: the binary and JSON response encoders write every field exactly as toBinary / toJson", () => {
  const msg = create(PlaceOrderResponseSchema, { order: toProtoOrder(everyField), replayed: true });
  const binary = createOrderResponseEncoder(PlaceOrderResponseSchema)!;
  assert.ok(binary !== undefined, "the hand encoder accepts the contract as declared");
  const bytes = binary(msg)!;
  assert.deepEqual(Buffer.from(bytes), Buffer.from(toBinary(PlaceOrderResponseSchema, msg)));
  const back = fromBinary(PlaceOrderResponseSchema, bytes);
  for (const f of OrderSchema.fields) assert.ok(isFieldSet(back.order!, f), `binary Order.${f.localName}`);
  const json = createOrderResponseJsonEncoder(PlaceOrderResponseSchema)!;
  assert.equal(Buffer.from(json(msg)!).toString("utf8"), toJsonString(PlaceOrderResponseSchema, msg));
});
