import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { compileFunction, plainName } from "../../shared/compile-function.js";
import { hasUnknown, orderMatches, own, tagOf, timestampMatches, writeBool, writeOrder, writeStrings, writeTimestamp, Writer } from "./order-response-encoder.js";

/**
 * The protobuf binary encoding of a streamed message (StreamOrderEventsResponse,
 * StreamFillsResponse), byte for byte what `toBinary` writes, straight into a gRPC envelope in a
 * buffer shared by every message of one write (stream-fast-path.ts gathers all the events of a
 * moment into one write).
 *
 * Unlike order-response-encoder.ts, the plan is compiled from the descriptor (these messages are
 * many and change more often than Order), for the field kinds it knows: proto3 implicit-presence
 * string, bool, open enum, int32/uint32, uint64/int64 (as bigint), singular non-oneof messages,
 * repeated strings and messages. Order and Timestamp go to order-response-encoder.ts' writers. A
 * descriptor with any other kind (proto3 `optional`, oneof, maps, doubles...) gets no encoder
 * (undefined: use toBinary), and per message, anything unusual (unknown fields, a value of an
 * unexpected type, a negative or >2^53 integer) returns false, and the caller uses `toBinary` for
 * that message: it is never encoded wrongly. test/server/fast-path/stream-message-encoder.test.ts
 * compares the bytes with toBinary for random events of every kind.
 */
export interface StreamMessageEncoder {
  /** Appends the message as one gRPC envelope (flag 0, length, bytes); false (nothing appended) = use toBinary. */
  appendEnvelope(w: Writer, message: object): boolean;
}

export type FieldPlan = {
  readonly name: string;
  readonly tag: number;
  /**
   * Writes the field's value (`o[name]`, read by the compiled message writer). `presence`: a
   * message field, written only when it is an own property that is not undefined.
   */
  readonly write: (w: Writer, tag: number, v: unknown) => boolean;
  readonly presence?: true;
};

const MAX_SAFE = 0x1fffffffffffffn;

function writeString(w: Writer, tag: number, v: unknown): boolean {
  return w.string(tag, v);
}
function writeEnum(w: Writer, tag: number, v: unknown): boolean {
  return w.enumValue(tag, v);
}
/** int32/uint32 with implicit presence; negative int32 (ten bytes on the wire) goes to toBinary. */
function writeSmallInt(w: Writer, tag: number, v: unknown): boolean {
  if (v === 0) return true;
  if (typeof v !== "number" || v >>> 0 !== v) return false;
  w.ensure(2);
  w.tagBytes(tag);
  w.varint53(v);
  return true;
}
/** int64/uint64 as bigint with implicit presence; 0..2^53 only (sequences), the rest to toBinary. */
function writeLong(w: Writer, tag: number, v: unknown): boolean {
  if (v === 0n) return true;
  if (typeof v !== "bigint" || v < 0n || v > MAX_SAFE) return false;
  w.ensure(2);
  w.tagBytes(tag);
  w.varint53(Number(v));
  return true;
}

function isImplicitScalarOrEnum(f: DescField): boolean {
  return f.oneof === undefined && f.presence === 2; /* IMPLICIT */
}

/** Writes one message (false: leave it to toBinary). */
type MessageWriter = (w: Writer, v: unknown) => boolean;

/**
 * The writer of `desc`, compiled from its fields' plans, or undefined when a field is of a kind
 * this file does not write.
 */
function writerFor(desc: DescMessage, seen: Map<string, MessageWriter | undefined>): MessageWriter | undefined {
  if (seen.has(desc.typeName)) return seen.get(desc.typeName);
  seen.set(desc.typeName, undefined); // recursion: a self-referencing message gets no writer
  const fields: FieldPlan[] = [];
  // toBinary writes fields in declaration order (desc.fields); so do we.
  for (const f of desc.fields) {
    const p = fieldPlan(f, seen);
    if (p === undefined) return undefined;
    fields.push(p);
  }
  const write = compileMessageWriter(desc.typeName, fields);
  seen.set(desc.typeName, write);
  return write;
}

/**
 * One message's fields as straight-line code, compiled once per message type
 * (src/shared/compile-function.ts says why; a StreamOrderEvents subscriber encodes every event):
 * each field read as `m.name`, each writer called from a call site of its own.
 */
function compileMessageWriter(typeName: string, fields: readonly FieldPlan[]): MessageWriter {
  const steps = fields.map((f, i) => {
    const x = `m.${plainName(f.name, `stream encoder (${typeName})`)}`;
    return f.presence === true
      ? `if (${x} !== undefined && own(m, ${JSON.stringify(f.name)}) && !f${i}(w, ${f.tag}, ${x})) return false;`
      : `if (!f${i}(w, ${f.tag}, ${x})) return false;`;
  });
  const body =
    `return function write(w, v) { if (typeof v !== "object" || v === null) return false; const m = v; ` +
    `if (m.$typeName !== ${JSON.stringify(typeName)} || hasUnknown(m)) return false; ${steps.join(" ")} return true; };`;
  return compileFunction({ own, hasUnknown, ...Object.fromEntries(fields.map((f, i) => [`f${i}`, f.write])) }, body);
}

/** A set singular message field: tag, length, body. */
export function writeSubmessage<T>(w: Writer, tag: number, v: T, body: (w: Writer, v: T) => boolean): boolean {
  w.ensure(2);
  w.tagBytes(tag);
  const at = w.fork();
  if (!body(w, v)) return false;
  w.join(at);
  return true;
}

function fieldPlan(f: DescField, seen: Map<string, MessageWriter | undefined>): FieldPlan | undefined {
  const name = f.localName;
  if (f.fieldKind === "list") {
    if (f.listKind === "scalar" && f.scalar === ScalarType.STRING) return { name, tag: tagOf(f.number, 2), write: writeStrings };
    if (f.listKind === "message" && !f.delimitedEncoding) {
      const body = writerFor(f.message, seen);
      if (body === undefined) return undefined;
      return {
        name,
        tag: tagOf(f.number, 2),
        write: (w, t, list) => {
          if (!Array.isArray(list)) return false;
          for (let i = 0; i < list.length; i++) if (!writeSubmessage(w, t, list[i], body)) return false;
          return true;
        },
      };
    }
    return undefined;
  }
  if (f.fieldKind === "message") {
    if (f.oneof !== undefined || f.delimitedEncoding) return undefined;
    const tag = tagOf(f.number, 2);
    if (f.message.typeName === "google.protobuf.Timestamp") return timestampMatches(f.message) ? { name, tag, write: writeTimestamp, presence: true } : undefined;
    if (f.message.typeName === "trading.v1.Order") {
      if (!orderMatches(f.message)) return undefined;
      return { name, tag, write: (w, t, v) => writeSubmessage(w, t, v, writeOrder), presence: true };
    }
    const body = writerFor(f.message, seen);
    if (body === undefined) return undefined;
    return { name, tag, write: (w, t, v) => writeSubmessage(w, t, v, body), presence: true };
  }
  if (!isImplicitScalarOrEnum(f)) return undefined;
  if (f.fieldKind === "enum") return f.enum.open ? { name, tag: tagOf(f.number, 0), write: writeEnum } : undefined;
  if (f.fieldKind !== "scalar") return undefined;
  switch (f.scalar) {
    case ScalarType.STRING:
      return { name, tag: tagOf(f.number, 2), write: writeString };
    case ScalarType.BOOL:
      return { name, tag: tagOf(f.number, 0), write: writeBool };
    case ScalarType.INT32:
    case ScalarType.UINT32:
      return { name, tag: tagOf(f.number, 0), write: writeSmallInt };
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return f.longAsString ? undefined : { name, tag: tagOf(f.number, 0), write: writeLong };
    default:
      return undefined;
  }
}

/**
 * How a field of `f`'s kind is written (its tag, and a writer of its proto value), or undefined
 * for a kind this file does not write. order-event-encoder.ts builds its domain writers on it.
 */
export function fieldWriterFor(f: DescField): FieldPlan | undefined {
  return fieldPlan(f, new Map());
}

/** The encoder for `desc`, or undefined when it has a field of a kind this file does not write. */
export function createStreamMessageEncoder(desc: DescMessage): StreamMessageEncoder | undefined {
  const write = writerFor(desc, new Map());
  return write === undefined ? undefined : envelopeEncoder(write);
}

/** Appends what `write` writes as one gRPC envelope; nothing when it gives up. */
export function envelopeEncoder<T>(write: (w: Writer, m: T) => boolean): { appendEnvelope(w: Writer, message: T): boolean } {
  return {
    appendEnvelope(w, message) {
      const start = w.pos;
      w.ensure(5);
      w.pos += 5;
      if (!write(w, message)) {
        w.pos = start;
        return false;
      }
      const len = w.pos - start - 5;
      const buf = w.buf;
      buf[start] = 0;
      buf.writeUInt32BE(len, start + 1);
      return true;
    },
  };
}

export { Writer };
