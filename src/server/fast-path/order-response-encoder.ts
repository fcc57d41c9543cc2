import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { OrderSchema } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { ORDER_FIELDS } from "../../domain/order-fields.js";
import { compileFunction, plainName } from "../../shared/compile-function.js";

/**
 * The protobuf binary encoding of the three responses that carry one Order (PlaceOrder,
 * CancelOrder, GetOrderStatus), written by hand, byte for byte what `toBinary` writes.
 *
 * Why not `toBinary`: it is the general encoder, about a hundred small calls for one Order
 * (a closure per field for the zero check, another for the value, the writer's range checks,
 * a fork and join per nested message), and it took 3.1-3.9 us per filled PlaceOrderResponse here
 * against 0.5-0.65 us for this straight-line code (both on one pinned core, Node 24.21,
 * protobuf-es 2.17); in the server's CPU profile protobuf went from 7% to under 2%.
 *
 * It is exact only for the messages it was written for, so `createOrderResponseEncoder` first
 * checks the descriptors field by field (names, numbers, kinds, types) and returns undefined on
 * any difference: a changed contract falls back to `toBinary`, it is never encoded wrongly.
 * Per message, anything unusual (unknown fields, a value of an unexpected type, a negative enum
 * or timestamp, a foreign message) also returns undefined, and the caller uses `toBinary`,
 * which then encodes it or throws its own error.
 */
export type OrderResponseEncoder = (message: object) => Uint8Array | undefined;

/** What `toBinary` needs to know about a field, as the checks below compare it. */
export type FieldShape = readonly [localName: string, number: number, kind: "string" | "strings" | "bool" | "enum" | "int64" | "int32" | "message", type?: string];

const TIMESTAMP: readonly FieldShape[] = [
  ["seconds", 1, "int64"],
  ["nanos", 2, "int32"],
];

/**
 * trading.v1.Order as the field declaration (src/domain/order-fields.ts) maps it to the contract,
 * with the numbers of the generated descriptor (no field number is written here): every declared
 * field that has a proto name, in field-number order. A declared field missing from the
 * descriptor, or a descriptor field nobody declared, makes `matches` fail: toBinary then.
 */
const ORDER: readonly FieldShape[] = ORDER_FIELDS.flatMap((f): FieldShape[] => {
  if (!("proto" in f)) return [];
  const d = OrderSchema.field[f.proto];
  if (d === undefined) return [["<undeclared in the descriptor>", -1, "string"]];
  if (f.kind === "ms") return [[f.proto, d.number, "message", "google.protobuf.Timestamp"]];
  return [[f.proto, d.number, f.kind === "enum" ? "enum" : f.kind === "strings" ? "strings" : f.kind === "flag" ? "bool" : "string"]];
}).sort((a, b) => a[1] - b[1]);

/** A field's tag as tagBytes takes it (varint, low byte first); fields 1..2047. */
export function tagOf(no: number, wireType: number): number {
  const v = (no << 3) | wireType;
  return v < 0x80 ? v : (v & 0x7f) | 0x80 | ((v >>> 7) << 8);
}

/** How writeOrder writes each Order field, from ORDER. */
const ORDER_PLAN: readonly { readonly name: string; readonly kind: FieldShape[2]; readonly tag: number }[] = ORDER.map(([name, no, kind]) => ({
  name,
  kind,
  tag: tagOf(no, kind === "enum" || kind === "bool" ? 0 : 2),
}));

const RESPONSES: Readonly<Record<string, readonly FieldShape[]>> = {
  "trading.v1.PlaceOrderResponse": [
    ["order", 1, "message", "trading.v1.Order"],
    ["replayed", 2, "bool"],
  ],
  "trading.v1.CancelOrderResponse": [["order", 1, "message", "trading.v1.Order"]],
  "trading.v1.GetOrderStatusResponse": [["order", 1, "message", "trading.v1.Order"]],
};

function kindOf(f: DescField): FieldShape[2] | undefined {
  // Repeated strings: always unpacked, no presence.
  if (f.fieldKind === "list") return f.listKind === "scalar" && f.scalar === ScalarType.STRING ? "strings" : undefined;
  // Only proto3 implicit presence for scalars: explicit presence (proto3 `optional`) has other rules.
  if (f.fieldKind === "message") return f.oneof === undefined && !f.delimitedEncoding ? "message" : undefined;
  if (f.oneof !== undefined || f.presence !== 2 /* IMPLICIT */) return undefined;
  if (f.fieldKind === "enum") return f.enum.open ? "enum" : undefined;
  if (f.fieldKind !== "scalar") return undefined;
  switch (f.scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "bool";
    case ScalarType.INT32:
      return "int32";
    case ScalarType.INT64:
      return f.longAsString ? undefined : "int64";
    default:
      return undefined;
  }
}

/** Whether `desc` has exactly these fields (and the message fields' types are as named). */
function matches(desc: DescMessage | undefined, shape: readonly FieldShape[]): boolean {
  if (desc === undefined || desc.fields.length !== shape.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const [name, no, kind, type] = shape[i]!;
    const f = desc.fields.find((x) => x.number === no);
    if (f === undefined || f.localName !== name || kindOf(f) !== kind) return false;
    if (kind === "message") {
      const m = f.fieldKind === "message" ? f.message : undefined;
      if (m?.typeName !== type) return false;
      if (type === "trading.v1.Order" && !matches(m, ORDER)) return false;
      if (type === "google.protobuf.Timestamp" && !matches(m, TIMESTAMP)) return false;
    }
  }
  return true;
}

/**
 * The fields of `desc` when it is one of the Order responses exactly as the hand encoders know
 * them (this file's and order-response-json-encoder.ts), Order and Timestamp included; undefined
 * for any other message or any difference.
 */
/** Whether `desc` is trading.v1.Order exactly as writeOrder knows it (Timestamps included). */
export function orderMatches(desc: DescMessage): boolean {
  return desc.typeName === "trading.v1.Order" && matches(desc, ORDER);
}

/** Whether `desc` is google.protobuf.Timestamp exactly as writeTimestamp knows it. */
export function timestampMatches(desc: DescMessage): boolean {
  return desc.typeName === "google.protobuf.Timestamp" && matches(desc, TIMESTAMP);
}

export function orderResponseShape(desc: DescMessage): readonly FieldShape[] | undefined {
  const shape = RESPONSES[desc.typeName];
  return shape !== undefined && matches(desc, shape) ? shape : undefined;
}

/**
 * The hand-written encoder for `desc` when it is one of the Order responses exactly as this file
 * knows them; undefined otherwise (use `toBinary`). Write options do not matter: the only one,
 * writeUnknownFields, concerns messages with unknown fields, which are left to `toBinary`.
 */
export function createOrderResponseEncoder(desc: DescMessage): OrderResponseEncoder | undefined {
  const shape = orderResponseShape(desc);
  if (shape === undefined) return undefined;
  const typeName = desc.typeName;
  const w = new Writer();
  return (message) => {
    const m = message as Msg;
    if (m.$typeName !== typeName || hasUnknown(m)) return undefined;
    w.pos = 0;
    const order = m["order"];
    if (order !== undefined && own(m, "order")) {
      w.tag(0x0a);
      const at = w.fork();
      if (!writeOrder(w, order)) return undefined;
      w.join(at);
    }
    // toBinary writes any bool field that is not `false` (even undefined, as 0); only true is taken here.
    if (shape.length > 1) {
      const replayed = m["replayed"];
      if (replayed !== false) {
        if (replayed !== true) return undefined;
        w.tag(0x10);
        w.tag(1);
      }
    }
    return w.finish();
  };
}

export type Msg = Record<string, unknown> & { readonly $typeName?: unknown; readonly $unknown?: unknown };

const hasOwn = Object.prototype.hasOwnProperty;
export const own = (m: object, k: string): boolean => hasOwn.call(m, k);
export const hasUnknown = (m: Msg): boolean => m.$unknown !== undefined && (m.$unknown as unknown[]).length > 0;

/**
 * Order, fields in number order as toBinary writes them; false = leave the message to toBinary.
 * Straight-line code compiled once from ORDER_PLAN (src/shared/compile-function.ts says why):
 * every PlaceOrder answer and every StreamOrderEvents event with an order runs this.
 */
export const writeOrder: (w: Writer, v: unknown) => boolean = compileWriteOrder();

function compileWriteOrder(): (w: Writer, v: unknown) => boolean {
  const steps = ORDER_PLAN.map((f) => {
    const x = `o.${plainName(f.name, "order encoder")}`;
    switch (f.kind) {
      case "string":
        return `if (!w.string(${f.tag}, ${x})) return false;`;
      case "enum":
        return `if (!w.enumValue(${f.tag}, ${x})) return false;`;
      case "strings":
        return `if (!strings(w, ${f.tag}, ${x})) return false;`;
      case "bool":
        return `if (!bool(w, ${f.tag}, ${x})) return false;`;
      default:
        // A Timestamp (the only message field ORDER has: `matches` holds it so).
        return `if (${x} !== undefined && own(o, ${JSON.stringify(f.name)}) && !timestamp(w, ${f.tag}, ${x})) return false;`;
    }
  });
  const body =
    `return function writeOrder(w, v) { if (typeof v !== "object" || v === null) return false; const o = v; ` +
    `if (o.$typeName !== "trading.v1.Order" || hasUnknown(o)) return false; ${steps.join(" ")} return true; };`;
  return compileFunction({ strings: writeStrings, bool: writeBool, timestamp: writeTimestamp, own, hasUnknown }, body);
}

/** A repeated string: every element, empty ones too (w.string leaves "" out, so those go to toBinary). */
export function writeStrings(w: Writer, tag: number, x: unknown): boolean {
  if (!Array.isArray(x)) return false;
  for (let i = 0; i < x.length; i++) {
    const s: unknown = x[i];
    if (s === "" || !w.string(tag, s)) return false;
  }
  return true;
}

/** A bool with implicit presence: written only when true. */
export function writeBool(w: Writer, tag: number, x: unknown): boolean {
  if (x === false) return true;
  if (x !== true) return false;
  w.ensure(3);
  w.tagBytes(tag);
  w.tag(1);
  return true;
}

/**
 * A Timestamp field that is set (explicit presence: the caller writes it when it is an own
 * property that is not undefined, even if all zero). Tag as in tagBytes.
 */
export function writeTimestamp(w: Writer, tag: number, t: unknown): boolean {
  if (typeof t !== "object" || t === null) return false;
  const ts = t as Msg;
  if (ts.$typeName !== "google.protobuf.Timestamp" || hasUnknown(ts)) return false;
  w.ensure(2);
  w.tagBytes(tag);
  const at = w.fork();
  const seconds = ts["seconds"];
  const nanos = ts["nanos"];
  if (typeof seconds !== "bigint" || seconds < 0n || seconds > 0x1fffffffffffffn) return false;
  if (seconds !== 0n) {
    w.tag(0x08);
    w.varint53(Number(seconds));
  }
  if (typeof nanos !== "number" || nanos >>> 0 !== nanos || nanos > 0x7fffffff) return false;
  if (nanos !== 0) {
    w.tag(0x10);
    w.varint53(nanos);
  }
  w.join(at);
  return true;
}

/** One growable buffer per encoder, reused: encoding is synchronous, so calls never overlap. */
export class Writer {
  buf = Buffer.allocUnsafe(1024);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A one-byte value: tags below field 16, and the second byte of two-byte tags. */
  tag(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A tag given as its bytes, low byte first (`0x82 | (0x01 << 8)` is field 16, wire type 2). */
  tagBytes(t: number): void {
    const buf = this.buf;
    buf[this.pos++] = t & 0xff;
    if (t > 0xff) buf[this.pos++] = t >>> 8;
  }

  varint53(v: number): void {
    this.ensure(8);
    const buf = this.buf;
    if (v <= 0x7fffffff) {
      // Nearly every value (lengths, enums, nanos, sequences, seconds until 2038) is below 2^31:
      // integer operations. On a number that may pass 2^31, V8 compiles `%` and `/` to
      // floating-point modulo, a library call per byte (about 1.3% of PlaceOrder's CPU with a
      // StreamOrderEvents subscriber in `perf`, docs/performance.md).
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    while (v > 0x7f) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  /** An open enum (int32, implicit presence): 0 is not written; negative values go to toBinary. Tag as in tagBytes. */
  enumValue(tag: number, v: unknown): boolean {
    if (v === 0) return true;
    if (typeof v !== "number" || v >>> 0 !== v || v > 0x7fffffff) return false;
    this.ensure(2);
    this.tagBytes(tag);
    this.varint53(v);
    return true;
  }

  /** A string (implicit presence): "" is not written. Tag as in tagBytes. ASCII is copied; anything else goes through Buffer#write, UTF-8 as TextEncoder writes it. */
  string(tag: number, v: unknown): boolean {
    if (v === "") return true;
    if (typeof v !== "string") return false;
    const n = v.length;
    this.ensure(2 + 5 + n * 3);
    this.tagBytes(tag);
    const buf = this.buf;
    if (n < 0x80) {
      const lenAt = this.pos;
      let at = lenAt + 1;
      for (let i = 0; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) {
          this.pos = lenAt;
          this.utf8(v);
          return true;
        }
        buf[at++] = c;
      }
      buf[lenAt] = n;
      this.pos = at;
      return true;
    }
    this.utf8(v);
    return true;
  }

  private utf8(v: string): void {
    const bytes = Buffer.byteLength(v, "utf8");
    this.varint53(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(v, this.pos, bytes, "utf8");
  }

  /** Starts a length-delimited part: one byte is kept for its length, as toBinary does. */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends it: writes the length, moving the part along if the length takes more than one byte. */
  join(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let extra = 0;
    for (let x = len >>> 7; x > 0; x >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint53(len);
    this.pos = end;
  }

  /** The bytes written, in a buffer of their own (small ones come from Node's pool). */
  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
