/**
 * The StreamOrderEvents fast path's direct encoder (src/server/fast-path/order-event-encoder.ts)
 * writes a domain OrderEvent as the bytes toBinary writes for its mapped message
 * (orderEventResponse), for random events of every kind and payload, and gives up (nothing
 * written) where the mapping would make something it does not write; a contract it was not
 * written for gets no encoder.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { StreamOrderEventsResponseSchema } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { FILL_FIELDS, ORDER_FIELDS } from "../../../src/domain/order-fields.js";
import type { Fill, Order } from "../../../src/domain/order.js";
import type { Position } from "../../../src/domain/position.js";
import type { TradingStateSetting } from "../../../src/domain/trading-state.js";
import { ORDER_EVENT_TYPE } from "../../../src/rpc/order-event-mapping.js";
import { orderEventResponse } from "../../../src/rpc/stream-order-events.js";
import { createOrderEventEncoder } from "../../../src/server/fast-path/order-event-encoder.js";
import { Writer } from "../../../src/server/fast-path/stream-message-encoder.js";
import type { OrderEvent, OrderEventKind } from "../../../src/use-cases/order-events.js";
import { randomEnum, randomString, rng } from "../../helpers/random-order.js";

type R = () => number;
const KINDS = Object.keys(ORDER_EVENT_TYPE) as OrderEventKind[];

const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const decimal = (r: R): string => (r() < 0.2 ? "" : `${r() < 0.3 ? "-" : ""}${Math.floor(r() * 1e6)}.${Math.floor(r() * 1e8)}`);
/** Epoch ms as the gateway has them: 0, seconds on the mark, or any ms (up to 2^41, year 2039+). */
const ms = (r: R): number => {
  const p = r();
  return p < 0.1 ? 0 : p < 0.2 ? 1_796_611_223_000 : p < 0.25 ? Math.floor(r() * 1000) : Math.floor(r() * 2 ** 41);
};

/** A random domain object from a field declaration, each kind as the domain holds it; any field sometimes absent. */
function fromDeclaration(r: R, fields: readonly { key: string; kind: string; enumType?: { values: readonly { number: number }[] } }[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (r() < 0.08) continue;
    switch (f.kind) {
      case "string":
        o[f.key] = randomString(r);
        break;
      case "decimal":
        o[f.key] = decimal(r);
        break;
      case "enum":
        o[f.key] = randomEnum(r, Math.max(...f.enumType!.values.map((v) => v.number)));
        break;
      case "ms":
        o[f.key] = ms(r);
        break;
      case "bigint":
        o[f.key] = r() < 0.2 ? 0n : BigInt(Math.floor(r() * (r() < 0.9 ? 1e6 : 2 ** 53)));
        break;
      case "strings":
        o[f.key] = Array.from({ length: Math.floor(r() * 4) }, () => randomString(r) || "x");
        break;
      case "flag":
        o[f.key] = true;
        break;
      default:
        throw new Error(`no generator for kind ${f.kind}: add one`);
    }
  }
  return o;
}

function randomPosition(r: R): Position {
  const otherFees: Record<string, string> = {};
  for (let i = Math.floor(r() * 3); i > 0; i--) otherFees[pick(r, ["BNB", "ETH", "EUR"])] = decimal(r) || "0";
  return {
    account: randomString(r),
    venue: randomString(r),
    symbol: randomString(r),
    quantity: decimal(r),
    averageEntryPrice: decimal(r),
    realizedPnl: decimal(r),
    fees: decimal(r),
    otherFees,
    updatedAtMs: ms(r),
    lastFillSequence: BigInt(Math.floor(r() * 1e9)),
    openCost: decimal(r),
    openQuantity: decimal(r),
  };
}

function randomTradingState(r: R): TradingStateSetting {
  return { account: randomString(r), venue: randomString(r), state: pick(r, ["ACTIVE", "REDUCE_ONLY", "HALTED"] as const), reason: randomString(r), setBy: randomString(r), setAtMs: ms(r) };
}

function randomEvent(r: R, i: number): OrderEvent {
  return {
    kind: KINDS[i % KINDS.length]!,
    sequence: r() < 0.05 ? 0n : BigInt(1 + Math.floor(r() * (r() < 0.9 ? 1e7 : 2 ** 53 - 1))),
    timeMs: ms(r),
    account: randomString(r),
    venue: randomString(r),
    symbol: randomString(r),
    reason: randomString(r),
    ...(r() < 0.7 ? { order: fromDeclaration(r, ORDER_FIELDS) as unknown as Order } : {}),
    ...(r() < 0.4 ? { fill: fromDeclaration(r, FILL_FIELDS) as unknown as Fill } : {}),
    ...(r() < 0.2 ? { position: randomPosition(r) } : {}),
    ...(r() < 0.1 ? { tradingState: randomTradingState(r) } : {}),
  };
}

const envelopeOf = (bytes: Uint8Array): string => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]).toString("hex");
};
const mappedBytes = (e: OrderEvent): string => envelopeOf(toBinary(StreamOrderEventsResponseSchema, orderEventResponse(e)));

test("the contract gets a direct encoder, standing for orderEventResponse", () => {
  const enc = createOrderEventEncoder(StreamOrderEventsResponseSchema);
  assert.ok(enc !== undefined);
  assert.equal(enc.toMessage, orderEventResponse);
});

test("byte for byte what toBinary writes for the mapped message, for random events of every kind and payload", () => {
  const enc = createOrderEventEncoder(StreamOrderEventsResponseSchema)!;
  const r = rng(20261207);
  const w = new Writer();
  const seen = { order: 0, fill: 0, position: 0, tradingState: 0 };
  for (let i = 0; i < 3_000; i++) {
    const e = randomEvent(r, i);
    for (const k of Object.keys(seen) as (keyof typeof seen)[]) if (e[k] !== undefined) seen[k]++;
    w.pos = 0;
    assert.ok(enc.appendEnvelope(w, e), `event #${i} (${e.kind}): the encoder gave up`);
    assert.equal(w.buf.subarray(0, w.pos).toString("hex"), mappedBytes(e), `event #${i} (${e.kind})`);
  }
  for (const [k, n] of Object.entries(seen)) assert.ok(n > 100, `${k}: only ${n} events had one`);
  // Several envelopes appended to one buffer: each one whole, in order.
  const es = [0, 1, 2].map((i) => randomEvent(r, i));
  w.pos = 0;
  for (const e of es) assert.ok(enc.appendEnvelope(w, e));
  assert.equal(w.buf.subarray(0, w.pos).toString("hex"), es.map(mappedBytes).join(""));
});

test("gives up, writing nothing, where the mapping makes what it does not write", () => {
  const enc = createOrderEventEncoder(StreamOrderEventsResponseSchema)!;
  const r = rng(7);
  const base = (): OrderEvent => ({ ...randomEvent(r, 0), order: fromDeclaration(r, ORDER_FIELDS) as unknown as Order, fill: fromDeclaration(r, FILL_FIELDS) as unknown as Fill });
  const cases: [string, (e: OrderEvent) => OrderEvent][] = [
    ["a negative event time", (e) => ({ ...e, timeMs: -1 })],
    ["a fractional event time", (e) => ({ ...e, timeMs: 1.5 })],
    ["a negative order time", (e) => ({ ...e, order: { ...e.order!, createdAtMs: -1000 } })],
    ["a fill time past 2^52 ms", (e) => ({ ...e, fill: { ...e.fill!, timeMs: 2 ** 53 } })],
    ["an unknown kind", (e) => ({ ...e, kind: "nonsense" as OrderEventKind })],
    ["a sequence past 2^53", (e) => ({ ...e, sequence: 2n ** 60n })],
    ["a number where a string belongs", (e) => ({ ...e, order: { ...e.order!, symbol: 5 as unknown as string } })],
    ["an empty replaced client order id", (e) => ({ ...e, order: { ...e.order!, replacedClientOrderIds: ["a", ""] } })],
  ];
  const w = new Writer();
  for (const [what, change] of cases) {
    w.pos = 3;
    assert.equal(enc.appendEnvelope(w, change(base())), false, what);
    assert.equal(w.pos, 3, `${what}: nothing written`);
  }
});

test("a contract it was not written for gets no encoder", () => {
  const eventField = StreamOrderEventsResponseSchema.fields[0]!;
  const eventDesc = eventField.message!;
  const withEventFields = (fields: DescField[]): DescMessage =>
    ({ ...StreamOrderEventsResponseSchema, fields: [{ ...eventField, message: { ...eventDesc, fields } }] }) as unknown as DescMessage;
  const field = (name: string): DescField => eventDesc.fields.find((f) => f.localName === name)!;
  const orderField = field("order");
  const orderDesc = orderField.message!;
  const changed: [string, DescMessage][] = [
    ["an extra response field", { ...StreamOrderEventsResponseSchema, fields: [eventField, { ...eventField, number: 2, localName: "more" }] } as unknown as DescMessage],
    ["an OrderEvent field it does not know", withEventFields([...eventDesc.fields, { ...field("reason"), number: 10, localName: "note" } as DescField])],
    ["an OrderEvent field of another kind", withEventFields(eventDesc.fields.map((f) => (f.localName === "account" ? ({ ...field("sequence"), number: f.number, localName: "account" } as DescField) : f)))],
    ["an Order field nobody declared", withEventFields(eventDesc.fields.map((f) => (f === orderField ? ({ ...f, message: { ...orderDesc, fields: [...orderDesc.fields, { ...orderDesc.fields[0]!, number: 99, localName: "extra" }] } } as DescField) : f)))],
    ["an enum field that became a string", withEventFields(eventDesc.fields.map((f) => (f.localName === "type" ? ({ ...field("reason"), number: f.number, localName: "type" } as DescField) : f)))],
    ["a Fill without a declared field", withEventFields(eventDesc.fields.map((f) => (f.localName === "fill" ? ({ ...f, message: { ...f.message!, fields: f.message!.fields.slice(1) } } as DescField) : f)))],
    ["an Order without a declared field", withEventFields(eventDesc.fields.map((f) => (f === orderField ? ({ ...f, message: { ...orderDesc, fields: orderDesc.fields.slice(1) } } as DescField) : f)))],
  ];
  for (const [what, desc] of changed) assert.equal(createOrderEventEncoder(desc), undefined, what);
});

test("a Position with a field the direct writer does not know is left to the mapping", () => {
  // The direct writer would leave the new field out; with it refused, the mapped Position (which
  // lacks the field too) makes the generic writer give up, and the stream then uses toBinary.
  const eventField = StreamOrderEventsResponseSchema.fields[0]!;
  const eventDesc = eventField.message!;
  const positionField = eventDesc.fields.find((f) => f.localName === "position")!;
  const positionDesc = positionField.message!;
  const extra = { ...positionDesc.fields.find((f) => f.localName === "fees")!, number: 99, localName: "extra" } as DescField;
  const withExtra = { ...positionField, message: { ...positionDesc, fields: [...positionDesc.fields, extra] } } as DescField;
  const desc = { ...StreamOrderEventsResponseSchema, fields: [{ ...eventField, message: { ...eventDesc, fields: eventDesc.fields.map((f) => (f === positionField ? withExtra : f)) } }] } as unknown as DescMessage;
  const enc = createOrderEventEncoder(desc);
  assert.ok(enc !== undefined, "orders and fills are still written directly");
  const r = rng(11);
  const w = new Writer();
  for (let i = 0; i < 100; i++) {
    const e = randomEvent(r, i);
    w.pos = 0;
    const { position: _, ...rest } = e;
    assert.equal(enc.appendEnvelope(w, { ...rest, position: randomPosition(r) }), false, `event #${i} with a position`);
    assert.equal(w.pos, 0);
    assert.ok(enc.appendEnvelope(w, rest), `event #${i} without one`);
  }
});
