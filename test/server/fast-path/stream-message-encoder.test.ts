import assert from "node:assert/strict";
import { test } from "node:test";
import { create, ScalarType, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import {
  OrderEventType,
  StreamFillsResponseSchema,
  StreamOrderEventsResponseSchema,
} from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createStreamMessageEncoder, Writer } from "../../../src/server/fast-path/stream-message-encoder.js";
import { randomEnum, randomOrder, randomString, randomTimestamp, rng } from "../../helpers/random-order.js";

/** A random message of `desc`, field by field from the descriptor (Order from randomOrder). */
function randomMessage(r: () => number, desc: DescMessage, depth = 0): Record<string, unknown> {
  if (desc.typeName === "trading.v1.Order") return randomOrder(r) as unknown as Record<string, unknown>;
  if (desc.typeName === "google.protobuf.Timestamp") return randomTimestamp(r) ?? { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  const o: Record<string, unknown> = { $typeName: desc.typeName };
  for (const f of desc.fields) {
    if (f.fieldKind === "enum") o[f.localName] = randomEnum(r, Math.max(...f.enum.values.map((v) => v.number)));
    else if (f.fieldKind === "message") {
      if (r() < 0.2 && depth > 0) continue; // unset
      o[f.localName] = f.message.typeName === "google.protobuf.Timestamp" ? randomTimestamp(r) : randomMessage(r, f.message, depth + 1);
    } else if (f.fieldKind === "list") {
      const n = r() < 0.5 ? 0 : 1 + Math.floor(r() * 3);
      o[f.localName] = Array.from({ length: n }, () => (f.listKind === "message" ? randomMessage(r, f.message, depth + 1) : randomString(r) || "x"));
    } else if (f.fieldKind === "scalar") {
      if (f.scalar === ScalarType.BOOL) o[f.localName] = r() < 0.5;
      else if (f.scalar === ScalarType.UINT64 || f.scalar === ScalarType.INT64) {
        const p = r();
        o[f.localName] = p < 0.2 ? 0n : p < 0.9 ? BigInt(Math.floor(r() * 1e6)) : BigInt(Math.floor(r() * 2 ** 53));
      } else if (f.scalar === ScalarType.UINT32 || f.scalar === ScalarType.INT32) o[f.localName] = r() < 0.3 ? 0 : Math.floor(r() * 2 ** 31);
      else o[f.localName] = randomString(r);
    }
  }
  return o;
}

const envelopeOf = (bytes: Uint8Array): string => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]).toString("hex");
};

test("StreamOrderEventsResponse and StreamFillsResponse get an encoder", () => {
  assert.ok(createStreamMessageEncoder(StreamOrderEventsResponseSchema) !== undefined);
  assert.ok(createStreamMessageEncoder(StreamFillsResponseSchema) !== undefined);
});

test("byte for byte what toBinary writes, for random events of every kind and random fills", () => {
  const events = createStreamMessageEncoder(StreamOrderEventsResponseSchema)!;
  const fills = createStreamMessageEncoder(StreamFillsResponseSchema)!;
  const types = Object.values(OrderEventType).filter((v): v is number => typeof v === "number");
  const r = rng(20261206);
  const w = new Writer();
  for (let i = 0; i < 2_000; i++) {
    const event = randomMessage(r, StreamOrderEventsResponseSchema.field.event!.message!);
    event["type"] = types[i % types.length];
    const m = { $typeName: "trading.v1.StreamOrderEventsResponse", ...(r() < 0.02 ? {} : { event }) } as never;
    w.pos = 0;
    assert.ok(events.appendEnvelope(w, m), `event #${i}: the encoder gave up`);
    assert.equal(w.buf.subarray(0, w.pos).toString("hex"), envelopeOf(toBinary(StreamOrderEventsResponseSchema, m)), `event #${i}`);
    const f = { $typeName: "trading.v1.StreamFillsResponse", fill: randomMessage(r, StreamFillsResponseSchema.field.fill!.message!) } as never;
    w.pos = 0;
    assert.ok(fills.appendEnvelope(w, f), `fill #${i}: the encoder gave up`);
    assert.equal(w.buf.subarray(0, w.pos).toString("hex"), envelopeOf(toBinary(StreamFillsResponseSchema, f)), `fill #${i}`);
  }
  // Several envelopes appended to one buffer: each one whole, in order.
  w.pos = 0;
  const ms = [0, 1, 2].map(() => create(StreamOrderEventsResponseSchema, { event: { sequence: 5n, type: OrderEventType.FILL, account: "a" } }));
  for (const m of ms) assert.ok(events.appendEnvelope(w, m));
  assert.equal(w.buf.subarray(0, w.pos).toString("hex"), ms.map((m) => envelopeOf(toBinary(StreamOrderEventsResponseSchema, m))).join(""));
});

test("varints: byte for byte what the library writes, on both sides of 2^31 (the integer fast path's edge) up to 2^53", () => {
  const values = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49 + 12345, 2 ** 53 - 1];
  const r = rng(20261207);
  for (let i = 0; i < 2_000; i++) values.push(Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))));
  const w = new Writer();
  for (const v of values) {
    w.pos = 0;
    w.varint53(v);
    assert.equal(w.buf.subarray(0, w.pos).toString("hex"), Buffer.from(new BinaryWriter().uint64(v).finish()).toString("hex"), `varint ${v}`);
  }
});

test("anything unusual is left to toBinary (false, nothing appended)", () => {
  const events = createStreamMessageEncoder(StreamOrderEventsResponseSchema)!;
  const base = { $typeName: "trading.v1.StreamOrderEventsResponse", event: { $typeName: "trading.v1.OrderEvent", sequence: 1n, type: 1, account: "a", reason: "" } };
  const w = new Writer();
  const cases: [string, object][] = [
    ["unknown fields", { ...base, $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([1]) }] }],
    ["a sequence past 2^53", { ...base, event: { ...base.event, sequence: 2n ** 60n } }],
    ["a number for a string", { ...base, event: { ...base.event, account: 5 } }],
    ["a foreign message", { ...base, event: { ...base.event, $typeName: "x.Y" } }],
  ];
  for (const [what, m] of cases) {
    w.pos = 3;
    assert.equal(events.appendEnvelope(w, m), false, what);
    assert.equal(w.pos, 3, `${what}: nothing appended`);
  }
});
