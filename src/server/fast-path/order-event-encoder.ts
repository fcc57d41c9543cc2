import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { Fill, Order } from "../../domain/order.js";
import { ORDER_EVENT_TYPE } from "../../rpc/order-event-mapping.js";
import { FILL_COPY, ORDER_COPY, type Copy } from "../../rpc/proto-mapping.js";
import { toProtoPosition } from "../../rpc/get-positions.js";
import { orderEventResponse } from "../../rpc/stream-order-events.js";
import { toProtoTradingStateSetting } from "../../rpc/trading-state-handlers.js";
import { compileFunction, plainName } from "../../shared/compile-function.js";
import type { OrderEvent } from "../../use-cases/order-events.js";
import { timestampMatches, writeBool, writeStrings, Writer } from "./order-response-encoder.js";
import { envelopeEncoder, messageWriterFor, tagOf, writeLong, writeSubmessage, type MessageWriter } from "./stream-message-encoder.js";

/**
 * StreamOrderEventsResponse written straight from the domain OrderEvent: the bytes of
 * `toBinary(StreamOrderEventsResponseSchema, orderEventResponse(e))`, without making the proto
 * objects in between.
 *
 * Why: a StreamOrderEvents subscriber maps and encodes every event (four per filled PlaceOrder),
 * and the mapping, a proto Order of twenty fields, a proto Fill, and a Timestamp with a BigInt for
 * each time, was about half of that cost (docs/performance.md, issue 20). Order's and Fill's fields
 * are written from the same projection toProtoOrder / toProtoFill copy (`ORDER_COPY`, `FILL_COPY`,
 * derived from src/domain/order-fields.ts); the event's own fields as toProtoOrderEvent maps them;
 * a position or a trading state (one event in four, at most) through its proto mapping and the
 * compiled writer of stream-message-encoder.ts.
 *
 * Used only for items mapped by `orderEventResponse` (the stream fast path checks that by
 * identity), only when the descriptors are exactly as written for (any field it does not know, of
 * any kind it does not expect: no encoder, the mapped path), and per event anything unusual (an
 * unknown kind, a negative or fractional time, a value of an unexpected type) returns false: the
 * caller then maps and encodes that event as before. test/server/fast-path/order-event-encoder.test.ts
 * compares the bytes for random events of every kind and payload.
 */
export interface OrderEventEncoder {
  /** The items' mapping this encoder stands for: it is used only for a stream whose toMessage is this. */
  readonly toMessage: (e: OrderEvent) => unknown;
  /** Appends the event's response as one gRPC envelope; false (nothing appended) = map and encode it. */
  appendEnvelope(w: Writer, e: OrderEvent): boolean;
}

/** Epoch ms up to this are written (seconds fit 2^53 with room): the mapping's BigInt range, where it matters. */
const MAX_MS = 2 ** 52;

/**
 * An epoch-ms time as the Timestamp msToTimestamp makes of it (always set, even at 0). Negative or
 * fractional ms, which the mapping turns into negative seconds or fractional nanos, go to it.
 */
function writeMsTimestamp(w: Writer, tag: number, ms: unknown): boolean {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > MAX_MS) return false;
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  w.ensure(2);
  w.tagBytes(tag);
  const at = w.fork();
  if (seconds !== 0) {
    w.tag(0x08);
    w.varint53(seconds);
  }
  if (nanos !== 0) {
    w.tag(0x10);
    w.varint53(nanos);
  }
  w.join(at);
  return true;
}

/** Whether `f` is a proto3 implicit-presence scalar or enum (what toBinary leaves out at its zero value). */
const implicit = (f: DescField): boolean => f.oneof === undefined && f.presence === 2; /* IMPLICIT */

/** Whether `f` is a singular, length-prefixed message field of type `typeName`. */
function messageOf(f: DescField, typeName: string): DescMessage | undefined {
  return f.fieldKind === "message" && f.oneof === undefined && !f.delimitedEncoding && f.message.typeName === typeName ? f.message : undefined;
}

/**
 * How one projected field is written, as generated code reading `x` (the domain value, or the
 * projection's absent value). Undefined when the descriptor's field is not of the kind the
 * projection's value has: no direct encoder then.
 */
function stepFor(f: DescField, c: Copy, tag: (wireType: number) => number): string | undefined {
  if (c.time) return f.fieldKind === "message" && messageOf(f, "google.protobuf.Timestamp") !== undefined && timestampMatches(f.message!) ? `if (!ts(w, ${tag(2)}, x)) return false;` : undefined;
  if (f.fieldKind === "list") return f.listKind === "scalar" && f.scalar === ScalarType.STRING && Array.isArray(c.absent) ? `if (!strings(w, ${tag(2)}, x)) return false;` : undefined;
  if (!implicit(f)) return undefined;
  if (f.fieldKind === "enum") return f.enum.open && c.absent === 0 ? `if (!w.enumValue(${tag(0)}, x)) return false;` : undefined;
  if (f.fieldKind !== "scalar") return undefined;
  if (f.scalar === ScalarType.STRING && c.absent === "") return `if (!w.string(${tag(2)}, x)) return false;`;
  if (f.scalar === ScalarType.BOOL && c.absent === false) return `if (!bool(w, ${tag(0)}, x)) return false;`;
  if ((f.scalar === ScalarType.UINT64 || f.scalar === ScalarType.INT64) && !f.longAsString && c.absent === 0n) return `if (!long(w, ${tag(0)}, x)) return false;`;
  return undefined;
}

/**
 * A domain Order or Fill written as the proto message `desc`, compiled once from the projection
 * (src/shared/compile-function.ts says why): fields in the descriptor's order, as toBinary writes
 * them, each read as `o.key ?? absent` exactly as the mapping reads it. Undefined unless the
 * projection covers every field of the descriptor and nothing else.
 */
function compileDomainWriter<T>(desc: DescMessage, projection: readonly Copy[]): ((w: Writer, v: T) => boolean) | undefined {
  if (desc.fields.length !== projection.length) return undefined;
  const absent: unknown[] = [];
  const steps: string[] = [];
  for (const f of desc.fields) {
    const c = projection.find((p) => p.to === f.localName);
    if (c === undefined) return undefined;
    const step = stepFor(f, c, (wireType) => tagOf(f.number, wireType));
    if (step === undefined) return undefined;
    steps.push(`x = o.${plainName(c.from, "order event encoder")} ?? absent[${absent.length}]; ${step}`);
    absent.push(c.absent);
  }
  const body = `return function write(w, o) { let x; ${steps.join(" ")} return true; };`;
  return compileFunction({ absent, ts: writeMsTimestamp, strings: writeStrings, bool: writeBool, long: writeLong }, body);
}

/**
 * The event's own fields: how toProtoOrderEvent fills each field of trading.v1.OrderEvent, as a
 * writer of the domain event. A field of the descriptor not listed here, or of another kind, means
 * no direct encoder.
 */
function eventSteps(writers: {
  order: (w: Writer, o: Order) => boolean;
  fill: (w: Writer, f: Fill) => boolean;
  position: MessageWriter;
  tradingState: MessageWriter;
}): Readonly<Record<string, (f: DescField) => ((w: Writer, e: OrderEvent) => boolean) | undefined>> {
  return {
    sequence: (f) => {
      if (!implicit(f) || f.fieldKind !== "scalar" || (f.scalar !== ScalarType.UINT64 && f.scalar !== ScalarType.INT64) || f.longAsString) return undefined;
      const tag = tagOf(f.number, 0);
      return (w, e) => writeLong(w, tag, e.sequence);
    },
    type: (f) => {
      if (!implicit(f) || f.fieldKind !== "enum" || !f.enum.open || f.enum.typeName !== "trading.v1.OrderEventType") return undefined;
      const tag = tagOf(f.number, 0);
      return (w, e) => w.enumValue(tag, ORDER_EVENT_TYPE[e.kind]);
    },
    time: (f) => {
      const m = messageOf(f, "google.protobuf.Timestamp");
      if (m === undefined || !timestampMatches(m)) return undefined;
      const tag = tagOf(f.number, 2);
      return (w, e) => writeMsTimestamp(w, tag, e.timeMs);
    },
    account: (f) => stringStep(f, (e) => e.account),
    reason: (f) => stringStep(f, (e) => e.reason),
    order: (f) => payloadStep(f, "trading.v1.Order", (e) => e.order, writers.order),
    fill: (f) => payloadStep(f, "trading.v1.Fill", (e) => e.fill, writers.fill),
    position: (f) => payloadStep(f, "trading.v1.Position", (e) => (e.position !== undefined ? toProtoPosition(e.position) : undefined), writers.position),
    tradingState: (f) =>
      payloadStep(f, "trading.v1.TradingStateSetting", (e) => (e.tradingState !== undefined ? toProtoTradingStateSetting(e.tradingState) : undefined), writers.tradingState),
  };
}

function stringStep(f: DescField, read: (e: OrderEvent) => string): ((w: Writer, e: OrderEvent) => boolean) | undefined {
  if (!implicit(f) || f.fieldKind !== "scalar" || f.scalar !== ScalarType.STRING) return undefined;
  const tag = tagOf(f.number, 2);
  return (w, e) => w.string(tag, read(e));
}

/** A payload message: written when the domain event has it (the mapping's `undefined` otherwise). */
function payloadStep<T>(f: DescField, typeName: string, read: (e: OrderEvent) => T | undefined, write: (w: Writer, v: T) => boolean): ((w: Writer, e: OrderEvent) => boolean) | undefined {
  if (messageOf(f, typeName) === undefined) return undefined;
  const tag = tagOf(f.number, 2);
  return (w, e) => {
    const v = read(e);
    return v === undefined || writeSubmessage(w, tag, v, write);
  };
}

/**
 * The direct encoder for StreamOrderEventsResponse (`desc`), or undefined when the descriptors
 * are not exactly those it was written for: then every event goes the mapped way.
 */
export function createOrderEventEncoder(desc: DescMessage): OrderEventEncoder | undefined {
  if (desc.typeName !== "trading.v1.StreamOrderEventsResponse" || desc.fields.length !== 1) return undefined;
  const eventField = desc.fields[0]!;
  const eventDesc = eventField.localName === "event" ? messageOf(eventField, "trading.v1.OrderEvent") : undefined;
  if (eventDesc === undefined) return undefined;
  const byName = (name: string): DescMessage | undefined => {
    const f = eventDesc.fields.find((x) => x.localName === name);
    return f?.fieldKind === "message" ? f.message : undefined;
  };
  const [orderDesc, fillDesc, positionDesc, stateDesc] = [byName("order"), byName("fill"), byName("position"), byName("tradingState")];
  if (orderDesc === undefined || fillDesc === undefined || positionDesc === undefined || stateDesc === undefined) return undefined;
  const order = compileDomainWriter<Order>(orderDesc, ORDER_COPY);
  const fill = compileDomainWriter<Fill>(fillDesc, FILL_COPY);
  const position = messageWriterFor(positionDesc);
  const tradingState = messageWriterFor(stateDesc);
  if (order === undefined || fill === undefined || position === undefined || tradingState === undefined) return undefined;
  const known = eventSteps({ order, fill, position, tradingState });
  const steps: ((w: Writer, e: OrderEvent) => boolean)[] = [];
  // In the descriptor's order, as toBinary writes them.
  for (const f of eventDesc.fields) {
    const step = Object.hasOwn(known, f.localName) ? known[f.localName]!(f) : undefined;
    if (step === undefined) return undefined;
    steps.push(step);
  }
  const eventTag = tagOf(eventField.number, 2);
  // Each step called from a call site of its own (a loop over them would be one megamorphic call).
  const writeEvent = compileFunction<(w: Writer, e: OrderEvent) => boolean>(
    Object.fromEntries(steps.map((s, i) => [`s${i}`, s])),
    `return function writeEvent(w, e) { ${steps.map((_, i) => `if (!s${i}(w, e)) return false;`).join(" ")} return true; };`,
  );
  const envelope = envelopeEncoder((w: Writer, e: OrderEvent) => writeSubmessage(w, eventTag, e, writeEvent));
  return { toMessage: orderEventResponse, appendEnvelope: envelope.appendEnvelope };
}
