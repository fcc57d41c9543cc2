import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ORDER_EVENT_TYPE } from "../../rpc/order-event-mapping.js";
import { FILL_COPY, ORDER_COPY, type Copy } from "../../rpc/proto-mapping.js";
import { toProtoAmounts, toProtoPosition } from "../../rpc/get-positions.js";
import { orderEventResponse } from "../../rpc/stream-order-events.js";
import { toProtoTradingStateSetting } from "../../rpc/trading-state-handlers.js";
import { compileFunction, plainName } from "../../shared/compile-function.js";
import type { OrderEvent } from "../../use-cases/order-events.js";
import { tagOf, writeTimestamp, Writer } from "./order-response-encoder.js";
import { envelopeEncoder, fieldWriterFor, writeSubmessage, type FieldPlan } from "./stream-message-encoder.js";

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
 * a position's as toProtoPosition maps them (POSITION_FIELDS); a trading state (rare) through its
 * proto mapping. Every field is written by stream-message-encoder.ts's writer for its kind, except
 * the times.
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

/** A field's writer, its tag, and where its value comes from in the domain object. */
interface Step {
  readonly write: (w: Writer, tag: number, v: never) => boolean;
  readonly tag: number;
  /** Generated code for the value, reading the domain object `o`. */
  readonly read: string;
  /** Written only when the value is not undefined (a payload message). */
  readonly presence: boolean;
}

/**
 * Straight-line code for the steps, compiled once (src/shared/compile-function.ts says why): each
 * writer called from a call site of its own, in the descriptor's order, as toBinary writes them.
 */
function compileSteps<T>(steps: readonly Step[], bindings: Readonly<Record<string, unknown>>): (w: Writer, o: T) => boolean {
  const code = steps.map((s, i) =>
    s.presence ? `x = ${s.read}; if (x !== undefined && !f${i}(w, ${s.tag}, x)) return false;` : `if (!f${i}(w, ${s.tag}, ${s.read})) return false;`,
  );
  const writers = Object.fromEntries(steps.map((s, i) => [`f${i}`, s.write]));
  return compileFunction({ ...bindings, ...writers }, `return function write(w, o) { let x; ${code.join(" ")} return true; };`);
}

/**
 * A field that holds epoch ms in the domain and a Timestamp in the contract: written as
 * msToTimestamp would make it, if the descriptor's field is the Timestamp the encoders know.
 */
function msStep(f: DescField, read: string): Step | undefined {
  const plan = fieldWriterFor(f);
  return plan?.write === writeTimestamp ? { write: writeMsTimestamp, tag: plan.tag, read, presence: false } : undefined;
}

/**
 * A domain Order or Fill written as the proto message `desc`, from the projection toProtoOrder /
 * toProtoFill copy: each field read as `o.from ?? absent` exactly as the mapping reads it, written
 * by stream-message-encoder.ts's writer for its kind. Undefined unless the projection covers every
 * field of the descriptor, each of a kind written here.
 */
function compileDomainWriter<T>(desc: DescMessage, projection: readonly Copy[]): ((w: Writer, v: T) => boolean) | undefined {
  if (desc.fields.length !== projection.length) return undefined;
  const absent: unknown[] = [];
  const steps: Step[] = [];
  for (const f of desc.fields) {
    const c = projection.find((p) => p.to === f.localName);
    if (c === undefined) return undefined;
    const read = `(o.${plainName(c.from, "order event encoder")} ?? absent[${absent.length}])`;
    absent.push(c.absent);
    const plan = c.time ? undefined : fieldWriterFor(f);
    const step = c.time ? msStep(f, read) : plan !== undefined && plan.presence !== true ? { write: plan.write, tag: plan.tag, read, presence: false } : undefined;
    if (step === undefined) return undefined;
    steps.push(step);
  }
  return compileSteps<T>(steps, { absent });
}

/**
 * The event's own fields, as toProtoOrderEvent fills trading.v1.OrderEvent: what each is read from
 * (generated code reading the domain event `o`) and the kind the contract must give it (a scalar
 * type, an enum, a message). A field of the descriptor not listed here, or of another kind, means
 * no direct encoder.
 */
const EVENT_FIELDS: FieldTable = {
  sequence: ["o.sequence", ScalarType.UINT64],
  type: ["TYPE[o.kind]", "enum"],
  time: ["o.timeMs", "message"],
  account: ["o.account", ScalarType.STRING],
  order: ["o.order", "message"],
  fill: ["o.fill", "message"],
  position: ["(o.position === undefined ? undefined : position(o.position))", "message"],
  tradingState: ["(o.tradingState === undefined ? undefined : tradingState(o.tradingState))", "message"],
  reason: ["o.reason", ScalarType.STRING],
};

/** What a field is read from in the domain object `o` (generated code), and the kind the contract must give it. */
type FieldTable = Readonly<Record<string, readonly [read: string, kind: ScalarType | "enum" | "message" | "list"]>>;

/**
 * `f`'s entry in `table` and the writer for its kind, or undefined when the table does not know
 * the field, the contract gives it another kind, or no writer writes that kind.
 */
function planFor(f: DescField, table: FieldTable): { readonly read: string; readonly plan: FieldPlan } | undefined {
  if (!Object.hasOwn(table, f.localName)) return undefined;
  const [read, kind] = table[f.localName]!;
  const kindOk = kind === "enum" || kind === "message" || kind === "list" ? f.fieldKind === kind : f.fieldKind === "scalar" && f.scalar === kind;
  const plan = kindOk ? fieldWriterFor(f) : undefined;
  return plan === undefined ? undefined : { read, plan };
}

/** A set message field written by `body` from the domain value `read` gives. */
function submessageStep(body: (w: Writer, v: object) => boolean, tag: number, read: string): Step {
  return { write: (w: Writer, t: number, v: object) => writeSubmessage(w, t, v, body), tag, read, presence: true };
}

/**
 * trading.v1.Position's fields as toProtoPosition fills them from the domain Position `o`: what each
 * is read from and the kind the contract must give it. One position event follows each fill, so a
 * subscriber writes one per PlaceOrder; written from the domain, it skips the proto Position, its
 * Timestamp's BigInt and the generic message writer's checks.
 */
const POSITION_FIELDS: FieldTable = {
  account: ["o.account", ScalarType.STRING],
  venue: ["o.venue", ScalarType.STRING],
  symbol: ["o.symbol", ScalarType.STRING],
  quantity: ["o.quantity", ScalarType.STRING],
  averageEntryPrice: ["o.averageEntryPrice", ScalarType.STRING],
  realizedPnl: ["o.realizedPnl", ScalarType.STRING],
  fees: ["o.fees", ScalarType.STRING],
  // Most positions have none: the shared empty list, no sort and no Amount objects.
  otherFees: ["(isEmpty(o.otherFees) ? NO_AMOUNTS : amounts(o.otherFees))", "list"],
  updatedAt: ["o.updatedAtMs", "message"],
  lastFillSequence: ["o.lastFillSequence", ScalarType.UINT64],
};

const NO_AMOUNTS: readonly never[] = Object.freeze([]);

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * The domain Position written as trading.v1.Position (`desc`), or undefined when the descriptor has
 * a field POSITION_FIELDS does not know, or of another kind: then positions go through toProtoPosition.
 */
function compilePositionWriter(desc: DescMessage): ((w: Writer, v: object) => boolean) | undefined {
  // A field missing from the descriptor is simply not written, as toBinary would not write it.
  if (desc.typeName !== "trading.v1.Position") return undefined;
  const steps: Step[] = [];
  for (const f of desc.fields) {
    const p = planFor(f, POSITION_FIELDS);
    if (p === undefined) return undefined;
    // Its one message field is a time (updated_at).
    const step = f.fieldKind === "message" ? msStep(f, p.read) : { write: p.plan.write, tag: p.plan.tag, read: p.read, presence: false };
    if (step === undefined) return undefined;
    steps.push(step);
  }
  return compileSteps<object>(steps, { isEmpty, NO_AMOUNTS, amounts: toProtoAmounts });
}

/**
 * The direct encoder for StreamOrderEventsResponse (`desc`), or undefined when the descriptors
 * are not exactly those it was written for: then every event goes the mapped way.
 */
export function createOrderEventEncoder(desc: DescMessage): OrderEventEncoder | undefined {
  if (desc.typeName !== "trading.v1.StreamOrderEventsResponse" || desc.fields.length !== 1) return undefined;
  const eventField = desc.fields[0]!;
  if (eventField.localName !== "event" || fieldWriterFor(eventField) === undefined || eventField.message?.typeName !== "trading.v1.OrderEvent") return undefined;
  // The payloads made from domain objects: written by writers compiled from the projection.
  const domain: Readonly<Record<string, readonly [string, readonly Copy[]]>> = { order: ["trading.v1.Order", ORDER_COPY], fill: ["trading.v1.Fill", FILL_COPY] };
  const steps: Step[] = [];
  for (const f of eventField.message.fields) {
    const p = planFor(f, EVENT_FIELDS);
    if (p === undefined) return undefined;
    const { read, plan } = p;
    if (f.localName === "time") {
      const step = msStep(f, read);
      if (step === undefined) return undefined;
      steps.push(step);
      continue;
    }
    const position = f.localName === "position" && f.message !== undefined ? compilePositionWriter(f.message) : undefined;
    if (position !== undefined) {
      steps.push(submessageStep(position, plan.tag, "o.position"));
      continue;
    }
    const payload = Object.hasOwn(domain, f.localName) ? domain[f.localName]! : undefined;
    if (payload === undefined) {
      steps.push({ write: plan.write, tag: plan.tag, read, presence: plan.presence === true });
      continue;
    }
    const body = f.message?.typeName === payload[0] ? compileDomainWriter<object>(f.message, payload[1]) : undefined;
    if (body === undefined) return undefined;
    steps.push(submessageStep(body, plan.tag, read));
  }
  const writeEvent = compileSteps<OrderEvent>(steps, { TYPE: ORDER_EVENT_TYPE, position: toProtoPosition, tradingState: toProtoTradingStateSetting });
  const eventTag = tagOf(eventField.number, 2);
  const envelope = envelopeEncoder((w: Writer, e: OrderEvent) => writeSubmessage(w, eventTag, e, writeEvent));
  return { toMessage: orderEventResponse, appendEnvelope: envelope.appendEnvelope };
}
