import { ScalarType, type DescField, type DescMessage, type JsonWriteOptions } from "@bufbuild/protobuf";
import { orderResponseShape, type FieldShape, type OrderResponseEncoder } from "./order-response-encoder.js";

/**
 * The proto3 JSON encoding of the three responses that carry one Order (PlaceOrder, CancelOrder,
 * GetOrderStatus), for Connect JSON and the gRPC / gRPC-Web `+json` variants: byte for byte what
 * connect's JSON serialization writes (`toJsonString` with the default write options, then UTF-8).
 *
 * Why not `toJsonString`: it builds a JSON value through a closure per field and then has
 * JSON.stringify walk it again. Under Connect JSON load it was 6% of the server's CPU; per filled
 * PlaceOrderResponse, connect's serializer took 2.7-3.7 times as long as this one string
 * concatenation (7.7-10.4 us against 2.5-2.9 us, alternating in one loop on one pinned core,
 * Node 24.21, protobuf-es 2.17, on a slow day of this machine).
 *
 * Same safety rules as the binary encoder (order-response-encoder.ts): the descriptors are checked
 * first (orderResponseShape), only the default write options are handled, and anything unusual in
 * a message (a value of an unexpected type, an enum number without a name, a timestamp out of
 * range, a foreign message) returns undefined so the caller uses connect's serializer, which then
 * writes it or throws its own error. Unknown fields need no care: JSON never carries them.
 */
export function createOrderResponseJsonEncoder(desc: DescMessage, options?: Partial<JsonWriteOptions>): OrderResponseEncoder | undefined {
  const shape = orderResponseShape(desc);
  if (shape === undefined || !defaultWriteOptions(options)) return undefined;
  const typeName = desc.typeName;
  const orderField = byNumber(desc, 1);
  const orderDesc = orderField.fieldKind === "message" ? orderField.message : undefined;
  if (orderDesc === undefined) return undefined;
  const orderKey = key(orderField);
  const replayedKey = shape.length > 1 ? key(byNumber(desc, 2)) : undefined;
  const plan = planOrder(orderDesc);
  // Per encoder, not per module: created and updated are mostly the same few seconds.
  const seconds: SecondsMemo = { seconds: -1n, prefix: "" };
  return (message) => {
    const m = message as Msg;
    if (m.$typeName !== typeName) return undefined;
    let s = "";
    const order = m["order"];
    if (order !== undefined && own(m, "order")) {
      const o = orderJson(plan, order, seconds);
      if (o === undefined) return undefined;
      s += orderKey + o;
    }
    if (replayedKey !== undefined) {
      // Implicit presence: toJson writes any value that is not `false` (and throws on a non-boolean).
      const r = m["replayed"];
      if (r !== false) {
        if (r !== true) return undefined;
        s += replayedKey + "true";
      }
    }
    return Buffer.from(s === "" ? "{}" : `{${s.slice(1)}}`, "utf8");
  };
}

type Msg = Record<string, unknown> & { readonly $typeName?: unknown };

const hasOwn = Object.prototype.hasOwnProperty;
const own = (m: object, k: string): boolean => hasOwn.call(m, k);

function defaultWriteOptions(o: Partial<JsonWriteOptions> | undefined): boolean {
  if (o === undefined) return true;
  // prettySpaces is toJsonString's; connect never passes it, but a caller's options object could.
  const pretty = (o as { prettySpaces?: unknown }).prettySpaces;
  return o.alwaysEmitImplicit !== true && o.enumAsInteger !== true && o.useProtoFieldName !== true && o.registry === undefined && (pretty === undefined || pretty === 0);
}

function byNumber(desc: DescMessage, n: number): DescField {
  return desc.fields.find((f) => f.number === n)!;
}

/** `,"jsonName":`, the way toJson names a field with the default options. */
function key(f: DescField): string {
  return `,${JSON.stringify(f.jsonName)}:`;
}

/** One Order field as toJson writes it: in field-number order, under its JSON name. */
interface PlanField {
  readonly key: string;
  readonly localName: string;
  readonly kind: FieldShape[2];
  /** Enums: the quoted JSON name by number (undefined where the number has no value). */
  readonly names?: readonly (string | undefined)[];
  /** Enums: the zero value toJson leaves out (the first value's number). */
  readonly zero?: number;
}


function planOrder(order: DescMessage): readonly PlanField[] {
  return order.fields
    .concat()
    .sort((a, b) => a.number - b.number)
    .map((f): PlanField => {
      const base = { key: key(f), localName: f.localName };
      if (f.fieldKind === "enum") {
        const names: (string | undefined)[] = [];
        for (const v of f.enum.values) if (v.number >= 0 && v.number < 1024) names[v.number] = JSON.stringify(v.jsonName);
        return { ...base, kind: "enum", names, zero: f.enum.values[0]!.number };
      }
      if (f.fieldKind === "list") return { ...base, kind: "strings" };
      if (f.fieldKind === "scalar" && f.scalar === ScalarType.BOOL) return { ...base, kind: "bool" };
      return { ...base, kind: f.fieldKind === "message" ? "message" : "string" };
    });
}

/**
 * Printable ASCII without `"` and `\`, which JSON.stringify writes as it is: nearly every value
 * (ids, decimals, symbols). A loop, because a regular expression test cost more than the
 * concatenation it guards on these short strings.
 */
function plain(x: string): boolean {
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

function orderJson(plan: readonly PlanField[], v: unknown, memo: SecondsMemo): string | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Msg;
  if (o.$typeName !== "trading.v1.Order") return undefined;
  let s = "";
  for (let i = 0; i < plan.length; i++) {
    const f = plan[i]!;
    const x = o[f.localName];
    switch (f.kind) {
      case "string":
        if (x === "") continue;
        if (typeof x !== "string") return undefined;
        s += f.key + (plain(x) ? `"${x}"` : JSON.stringify(x));
        break;
      case "strings":
        // toJson leaves an empty list out; strings as JSON.stringify writes them.
        if (!Array.isArray(x)) return undefined;
        if (x.length === 0) continue;
        for (const e of x) if (typeof e !== "string") return undefined;
        s += f.key + JSON.stringify(x);
        break;
      case "bool":
        if (x === false) continue;
        if (x !== true) return undefined;
        s += `${f.key}true`;
        break;
      case "enum": {
        if (x === f.zero) continue;
        const name = typeof x === "number" ? f.names![x] : undefined;
        if (name === undefined) return undefined;
        s += f.key + name;
        break;
      }
      default: {
        // A Timestamp (explicit presence: written when set, even if all zero).
        if (x === undefined || !own(o, f.localName)) continue;
        const t = timestampJson(x, memo);
        if (t === undefined) return undefined;
        s += f.key + t;
      }
    }
  }
  return s === "" ? "{}" : `{${s.slice(1)}}`;
}

/** The last whole second formatted, and its RFC 3339 text up to the seconds. */
interface SecondsMemo {
  seconds: bigint;
  prefix: string;
}
/** 9999-12-31T23:59:59Z, the last second toJson accepts; earlier than 1970 is left to it too. */
const MAX_SECONDS = 253402300799n;

/** RFC 3339 as protobuf-es writes it: no fraction, or 3, 6 or 9 digits as the nanos need. */
function timestampJson(v: unknown, memo: SecondsMemo): string | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const t = v as Msg;
  if (t.$typeName !== "google.protobuf.Timestamp") return undefined;
  const seconds = t["seconds"];
  const nanos = t["nanos"];
  if (typeof seconds !== "bigint" || seconds < 0n || seconds > MAX_SECONDS) return undefined;
  if (typeof nanos !== "number" || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return undefined;
  if (seconds !== memo.seconds) {
    // Whole seconds: toISOString always ends in ".000Z" here.
    memo.prefix = new Date(Number(seconds) * 1000).toISOString().slice(0, -5);
    memo.seconds = seconds;
  }
  const lastPrefix = memo.prefix;
  if (nanos === 0) return `"${lastPrefix}Z"`;
  const digits = String(nanos + 1_000_000_000).slice(1);
  const frac = digits.endsWith("000000") ? digits.slice(0, 3) : digits.endsWith("000") ? digits.slice(0, 6) : digits;
  return `"${lastPrefix}.${frac}Z"`;
}
