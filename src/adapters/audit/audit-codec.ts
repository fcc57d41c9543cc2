import * as v from "valibot";
import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import type { FieldViolation, GatewayError } from "../../domain/errors.js";
import { FILL_FIELDS, FILL_ORDER_REF_FIELDS, ORDER_FIELDS, enumNames, type FieldKind } from "../../domain/order-fields.js";
import type { Fill, Order } from "../../domain/order.js";
import { isTerminal } from "../../domain/order-state.js";
import { err, ok, type Result } from "../../domain/result.js";
import type { AuditEvent, AuditEventType } from "../../use-cases/audit-sink.js";
import { compileFunction, plainName } from "../../shared/compile-function.js";
import { RECONCILE_KINDS } from "../../use-cases/audit-sink.js";
import { createFastReaders, isPlainRecord, type FastField, type FastReader } from "./audit-fast-reader.js";

/**
 * AuditEvent <-> one JSON line. Two formats; this module writes v2 and reads both, also mixed in
 * one file (a log a v1 gateway began and a v2 gateway continued).
 *
 * v1 (no "v" key; gateways up to commit 99a61b3): every line carries the full order snapshot:
 *   {"ts":"2026-01-02T03:04:05.678Z","event":"order_accepted","request_id":"r1",
 *    "idempotency_key":"<scope key>","fingerprint":"<hash>",
 *    "order_id":..., "client_order_id":..., ...every Order field in snake_case, enums by full NAME...,
 *    "fill":{"sequence":"123",...every Fill field...}, "error":{"kind":...,"message":...}}
 *
 * v2 ("v":2 first on every line, so a line says its own format wherever it sits):
 *   {"v":2,"ts":...,"event":...,"request_id":...,["idempotency_key":...,"fingerprint":...,]
 *    "order_id":"o-1", <order part>, ["fill":{...}], ["error":{...}], ["reconciliation":{"kind":...,"detail":...}]}
 *   The order part is one of three:
 *   - full: every Order field (recognised by "side": a field that never changes, never left out). Written the
 *     first time a sink writes the order, and again whenever it cannot be sure that an earlier full
 *     part is on record (see createAuditEncoder);
 *   - change: the order's mutable fields (declared in src/domain/order-fields.ts: status, filled
 *     quantity, average price, venue order id, reject reason, updated_at, venue fee total),
 *     recognised by "status". The other fields are those of the order's full part earlier in the log;
 *   - nothing but "order_id": the same order as on the line before (a fill and the status change it
 *     caused are two events of one append, one order).
 *   Compactions, all exact: a string field whose value is "" is left out (absent = ""); a
 *   timestamp equal to the line's "ts" is left out (updated_at nearly always, created_at on the first line);
 *   an optional field that is absent is left out; "request_id" is left out when it is the line
 *   before's, and "same_idempotency":true stands for the idempotency_key and fingerprint of the
 *   last line before that had them (both only within one append: see AppendContext);
 *   enums are written by their short name (BUY,
 *   FILLED; an unknown number as a JSON number); a fill leaves out the order fields it repeats
 *   (order_id, client_order_id, account, venue, symbol, side) when they equal its line's order's.
 *
 *   Since StreamOrderEvents, a line that yields order events carries `"es":"<first OrderEvent
 *   sequence>"` right after "event", and `"en":<count>` when it reserved more than one; a line
 *   the gateway wrote on its own initiative may carry `"reason"` (see AuditEvent). Lines without
 *   them (older v2 lines, every v1 line) read as before.
 *
 * In both:
 * - The order's fields sit at the top level (an operator greps `"order_id":"o-1"`). The top-level
 *   `idempotency_key` is the idempotency *scope* key of the event (what de-duplication is keyed on);
 *   the order's own client-supplied key is `client_idempotency_key` so the two never collide.
 * - Decimal strings stay strings; the bigint fill sequence is a decimal string (JSON numbers lose
 *   precision past 2^53); timestamps are ISO-8601 UTC with milliseconds (exact for integer ms).
 *
 * Field lists come from the one declaration (src/domain/order-fields.ts); nothing here names an
 * Order or Fill field. Encoding is on the hot path (one line per order event), so it writes bytes
 * by hand with JSON.stringify only for strings that need escaping; decoding runs at start-up and
 * for StreamFills catch-up, and validates everything: the lines of orders and fills through the fast
 * readers of audit-fast-reader.ts, which check what the valibot schemas below check, and anything
 * they do not plainly accept through valibot, which accepts or words the error.
 */

export const AUDIT_FORMAT_VERSION = 2;

// A Record so that adding an AuditEventType without teaching the decoder is a compile error.
const EVENT_TYPE_SET: Record<AuditEventType, true> = {
  order_received: true,
  order_accepted: true,
  order_rejected: true,
  order_pending: true,
  order_partially_filled: true,
  order_filled: true,
  cancel_requested: true,
  cancel_rejected: true,
  order_canceled: true,
  order_expired: true,
  replace_requested: true,
  daily_loss_limit_breached: true,
  order_replaced: true,
  replace_rejected: true,
  order_reconciled: true,
  fill: true,
  trading_state_set: true,
  risk_limits_reloaded: true,
};
const EVENT_TYPES = Object.keys(EVENT_TYPE_SET) as [AuditEventType, ...AuditEventType[]];

/**
 * Bytes being assembled: the JSONL sink keeps one per batch and hands its first `len` bytes to
 * write(2). The encoder writes straight into it instead of building strings. Built from template
 * strings, a line allocated about 2.7 KB (substrings, concatenations, the flattened copy) and
 * Buffer.from then copied the batch again: a fifth of everything the gateway allocated per order
 * (V8's sampling heap profiler at 1,000 orders/s: 49.6 KB per order before, 39.2 KB after), and
 * every allocation brings the next scavenge closer.
 */
export interface LineBuffer {
  buf: Buffer;
  len: number;
}

export function createLineBuffer(capacity = 16 * 1024): LineBuffer {
  // allocUnsafe: a small one (encodeAuditEvent's, per event) comes from Node's shared pool; only
  // bytes before `len` are ever read, so the uninitialized rest never leaves the process.
  return { buf: Buffer.allocUnsafe(Math.max(64, capacity)), len: 0 };
}

function reserve(b: LineBuffer, n: number): void {
  if (b.len + n <= b.buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(b.buf.length * 2, b.len + n));
  b.buf.copy(next, 0, 0, b.len);
  b.buf = next;
}

/** A string known to be ASCII (names, digits, constants). */
function ascii(b: LineBuffer, s: string): void {
  const n = s.length;
  reserve(b, n);
  const buf = b.buf;
  let at = b.len;
  for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
  b.len = at;
}

/** Any string, as UTF-8 (the rare paths: escaped strings, error details). */
function utf8(b: LineBuffer, s: string): void {
  reserve(b, s.length * 3);
  b.len += b.buf.write(s, b.len, "utf8");
}

/**
 * A JSON string. Printable ASCII without `"` and `\` (ids, decimals, symbols: nearly every
 * value) is copied as is; anything else is rewound and written as JSON.stringify escapes it.
 */
function jsonString(b: LineBuffer, s: string): void {
  const n = s.length;
  reserve(b, n + 2);
  const buf = b.buf;
  const from = b.len;
  let at = from;
  buf[at++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      b.len = from;
      utf8(b, JSON.stringify(s));
      return;
    }
    buf[at++] = c;
  }
  buf[at++] = 0x22;
  b.len = at;
}


// ---------------------------------------------------------------- the fields, compiled once

/** One declared field as the encoder and decoder use it. */
interface Field {
  readonly key: string;
  readonly audit: string;
  readonly kind: FieldKind;
  /** `,"name":`, ready to copy. */
  readonly prefix: string;
  readonly optional: boolean;
  readonly mutable: boolean;
  /** Enums: quoted short names by number (v2 writes them). */
  readonly quoted?: readonly string[];
  readonly fullNames?: readonly string[];
  readonly shortNames?: readonly string[];
}

function compile(specs: readonly { key: string; audit: string; kind: FieldKind; enumType?: GenEnum<number>; optional?: true; mutable?: true }[]): Field[] {
  return specs.map((f) => {
    const e = f.enumType;
    const shortNames = e === undefined ? undefined : enumNames(e, "short");
    return {
      key: f.key,
      audit: f.audit,
      kind: f.kind,
      prefix: `,"${f.audit}":`,
      optional: f.optional === true,
      mutable: f.mutable === true,
      ...(e !== undefined ? { quoted: shortNames!.map((n) => `"${n}"`), fullNames: enumNames(e, "full"), shortNames } : {}),
    };
  });
}

const ORDER = compile(ORDER_FIELDS);
/** Order fields after order_id (which opens every order part). */
const ORDER_REST = ORDER.filter((f) => f.key !== "orderId");
const ORDER_MUTABLE = ORDER.filter((f) => f.mutable);
const ORDER_FIXED = ORDER.filter((f) => !f.mutable);
const FILL = compile(FILL_FIELDS);
const FILL_REF = new Set<string>(FILL_ORDER_REF_FIELDS);
/** The full part's marker (see the format above): a field that never changes and is never left out. */
const FULL_MARKER = ORDER.find((f) => f.kind === "enum" && !f.mutable)!;
/** The change part's marker: an enum, so never left out. */
const CHANGE_MARKER = ORDER.find((f) => f.kind === "enum" && f.mutable)!;

type Rec = Record<string, unknown>;

// ---------------------------------------------------------------- encoding

/** Per-encoder state: no module globals, so two sinks (or a test) never share a cache. */
interface EncodeState {
  // Date#toISOString costs ~0.5 us and a line carries up to three timestamps, mostly within the
  // same second: the "YYYY-MM-DDTHH:MM:SS." prefix of the last second seen.
  isoSecond: number;
  isoPrefix: string;
}

const newEncodeState = (): EncodeState => ({ isoSecond: Number.NaN, isoPrefix: "" });

function iso(st: EncodeState, b: LineBuffer, ms: number): void {
  const msInt = Math.floor(ms);
  const sec = Math.floor(msInt / 1000);
  if (sec !== st.isoSecond) {
    const full = new Date(sec * 1000).toISOString(); // throws RangeError on NaN: a caller bug, never written
    st.isoSecond = sec;
    st.isoPrefix = full.slice(0, full.length - 4);
  }
  // 0..999 as an int32 (`| 0`): the digits below are then integer operations, not the
  // floating-point modulo V8 compiles for a number derived from a ~1.8e12 timestamp.
  const frac = (msInt - sec * 1000) | 0;
  reserve(b, st.isoPrefix.length + 6);
  b.buf[b.len++] = 0x22;
  ascii(b, st.isoPrefix);
  const buf = b.buf;
  buf[b.len++] = 0x30 + ((frac / 100) | 0);
  buf[b.len++] = 0x30 + (((frac / 10) | 0) % 10);
  buf[b.len++] = 0x30 + (frac % 10);
  buf[b.len++] = 0x5a; // Z
  buf[b.len++] = 0x22;
}

/** One field's `,"name":value`, unless v2 leaves it out (see the format). `ts`: the line's. */
function writeField(st: EncodeState, b: LineBuffer, f: Field, value: unknown, ts: number): void {
  switch (f.kind) {
    case "string":
    case "decimal":
      if (value === undefined || value === "") return;
      ascii(b, f.prefix);
      jsonString(b, value as string);
      return;
    case "enum": {
      ascii(b, f.prefix);
      const name = f.quoted![value as number];
      ascii(b, name === undefined ? String(value) : name);
      return;
    }
    case "ms":
      if (value === undefined || value === ts) {
        // NaN is never equal: it reaches iso() and throws, as a caller bug should.
        return;
      }
      ascii(b, f.prefix);
      iso(st, b, value as number);
      return;
    case "bigint":
      ascii(b, f.prefix);
      ascii(b, `"${(value as bigint).toString()}"`);
      return;
    case "strings": {
      if (value === undefined) return;
      const list = value as readonly string[];
      ascii(b, f.prefix);
      ascii(b, "[");
      for (let i = 0; i < list.length; i++) {
        if (i > 0) ascii(b, ",");
        jsonString(b, list[i]!);
      }
      ascii(b, "]");
      return;
    }
    case "flag":
      if (value !== true) return;
      ascii(b, f.prefix);
      ascii(b, "true");
      return;
  }
}

type OrderPart = "full" | "change" | "same";

/** Writes fields of an order or a fill (`r`), compiled from the declaration (compileFieldWriter). */
type FieldsWriter = (st: EncodeState, b: LineBuffer, r: object, ts: number, order: object | undefined) => void;

/**
 * The fields' `writeField` calls as straight-line code, compiled once from the declaration
 * (src/shared/compile-function.ts says why; three lines per order). `refs`: fill fields that repeat
 * the order's, written only where they differ from `order`'s (and then even when "", so that
 * absent always means "the order's").
 */
function compileFieldWriter(fields: readonly Field[], refs: ReadonlySet<string> = new Set()): FieldsWriter {
  const steps = fields.map((f, i) => {
    const key = plainName(f.key, "audit encoder");
    if (!refs.has(key)) return `write(st, b, F[${i}], r.${key}, ts);`;
    const value = f.kind === "enum" ? `write(st, b, BARE[${i}], r.${key}, ts);` : `json(b, r.${key});`;
    return `if (order === undefined || order.${key} !== r.${key}) { ascii(b, F[${i}].prefix); ${value} }`;
  });
  const bare = fields.map((f) => ({ ...f, prefix: "" }));
  const body = `return function writeFields(st, b, r, ts, order) { ${steps.join(" ")} };`;
  return compileFunction({ write: writeField, ascii, json: jsonString, F: fields, BARE: bare }, body);
}

const writeOrderRest = compileFieldWriter(ORDER_REST);
const writeOrderMutable = compileFieldWriter(ORDER_MUTABLE);
// The sequence is written first, by writeFill.
const writeFillFields = compileFieldWriter(FILL.slice(1), FILL_REF);

function writeOrder(st: EncodeState, b: LineBuffer, o: Order, part: OrderPart, ts: number): void {
  ascii(b, `,"order_id":`);
  jsonString(b, o.orderId);
  if (part === "same") return;
  (part === "full" ? writeOrderRest : writeOrderMutable)(st, b, o, ts, undefined);
}

function writeFill(st: EncodeState, b: LineBuffer, fill: Fill, order: Order | undefined, ts: number): void {
  ascii(b, `,"fill":{"sequence":"`);
  ascii(b, fill.sequence.toString());
  ascii(b, `"`);
  writeFillFields(st, b, fill, ts, order);
  ascii(b, "}");
}

// Errors are rare (a stored business outcome): built as a string, then written.
function q(s: string): string {
  return JSON.stringify(s);
}

function encodeViolations(vs: readonly FieldViolation[]): string {
  let s = "[";
  for (let i = 0; i < vs.length; i++) {
    const x = vs[i]!;
    s += `${i === 0 ? "" : ","}{"field":${q(x.field)},"description":${q(x.description)}}`;
  }
  return `${s}]`;
}

function encodeError(e: GatewayError): string {
  let s = `{"kind":"${e.kind}","message":${q(e.message)}`;
  switch (e.kind) {
    case "invalid_argument":
      s += `,"violations":${encodeViolations(e.violations)}`;
      break;
    case "failed_precondition":
      if (e.reason !== undefined) s += `,"reason":${q(e.reason)}`;
      if (e.metadata !== undefined) s += `,"metadata":${JSON.stringify(e.metadata)}`;
      break;
    case "already_exists":
      s += `,"reason":${q(e.reason)}`;
      if (e.metadata !== undefined) s += `,"metadata":${JSON.stringify(e.metadata)}`;
      break;
    case "resource_exhausted":
    case "unavailable":
      if (e.retryAfterMs !== undefined) s += `,"retry_after_ms":${JSON.stringify(e.retryAfterMs)}`;
      break;
    default:
      break;
  }
  return `${s}}`;
}


/**
 * What the lines before, in the same append, said: a line may refer to them (they are in the same
 * batch, so in the log whenever it is). Undefined for a line written alone.
 */
interface AppendContext {
  requestId: string | undefined;
  idempotency: AuditEvent["idempotency"];
}

/** One event, newline included; `part` says how much of its order to write. Throws on a NaN timestamp. */
function writeLine(st: EncodeState, b: LineBuffer, e: AuditEvent, part: OrderPart, ctx: AppendContext | undefined): void {
  ascii(b, `{"v":2,"ts":`);
  iso(st, b, e.ts);
  ascii(b, `,"event":"`);
  ascii(b, e.type);
  ascii(b, `"`);
  if (e.eventSequence !== undefined) {
    // Right after the type: the order-event numbers this line reserved (see audit-sink.ts).
    ascii(b, `,"es":"`);
    ascii(b, e.eventSequence.toString());
    ascii(b, `"`);
    if (e.eventCount !== undefined && e.eventCount !== 1) ascii(b, `,"en":${e.eventCount}`);
  }
  if (ctx === undefined || e.requestId !== ctx.requestId) {
    ascii(b, `,"request_id":`);
    jsonString(b, e.requestId);
  }
  const idem = e.idempotency;
  if (idem !== undefined) {
    const last = ctx?.idempotency;
    if (last !== undefined && last.key === idem.key && last.fingerprint === idem.fingerprint) {
      ascii(b, `,"same_idempotency":true`);
    } else {
      ascii(b, `,"idempotency_key":`);
      jsonString(b, idem.key);
      ascii(b, `,"fingerprint":`);
      jsonString(b, idem.fingerprint);
    }
  }
  if (e.order !== undefined) writeOrder(st, b, e.order, part, e.ts);
  if (e.fill !== undefined) writeFill(st, b, e.fill, e.order, e.ts);
  if (e.error !== undefined) {
    ascii(b, `,"error":`);
    utf8(b, encodeError(e.error));
  }
  if (e.reason !== undefined) {
    ascii(b, `,"reason":`);
    jsonString(b, e.reason);
  }

  // Rare events (an operator's action): plain JSON.stringify is fine here.
  if (e.tradingState !== undefined) {
    const t = e.tradingState;
    ascii(b, `,"trading_state":`);
    utf8(b, JSON.stringify({ account: t.account, venue: t.venue, state: t.state, reason: t.reason, set_by: t.setBy, set_at: new Date(t.setAtMs).toISOString() }));
  }
  if (e.riskLimits !== undefined) {
    ascii(b, `,"risk_limits":`);
    utf8(b, JSON.stringify(e.riskLimits));
  }

  if (e.reconciliation !== undefined) {
    // Rare (reconciliation corrections only): plain JSON.stringify is fine here.
    utf8(b, `,"reconciliation":${JSON.stringify({ kind: e.reconciliation.kind, detail: e.reconciliation.detail })}`);
  }
  ascii(b, "}\n");
  if (ctx !== undefined) {
    ctx.requestId = e.requestId;
    if (idem !== undefined) ctx.idempotency = idem;
  }
}

/**
 * A sink's encoder. It writes an order's full part once and afterwards only what can change, and
 * for that keeps, per sink, which orders have a full part *on record*: a change part is written
 * only for an order whose full part is in a batch the sink has confirmed durable (`durable`).
 * or earlier in the same append (same batch). Otherwise (the full part's batch still in flight, or
 * lost to a failed write) the order is written in full again, so no line depends on one that may
 * not be in the log. Terminal
 * orders are forgotten (a late event writes the order in full again), which bounds the state by
 * the open orders. After a failed write the sink calls `reset` and starts over with full parts.
 */
export interface AuditEncoder {
  /**
   * Appends the events of one append as lines, into the batch numbered `batch` (increasing; see
   * durable). All or nothing: on a throw (a NaN timestamp: a caller bug) the buffer and the state
   * are as they were.
   */
  write(b: LineBuffer, events: readonly AuditEvent[], batch: number): void;
  /** Every batch numbered up to `batch` is durable: its full parts are on record. */
  durable(batch: number): void;
  /** Forgets what is on record (a failed write): every order's next line is full. */
  reset(): void;
}

/**
 * True if an event before `i` of this append is about the order: its line is in the same batch, so
 * it is in the log whenever a later line of the append is (a file is written in order; a torn tail
 * cuts the end). Appends are a few events: a scan beats a Set.
 */
function earlierIn(events: readonly AuditEvent[], i: number, o: Order): boolean {
  for (let j = 0; j < i; j++) {
    const x = events[j]!.order;
    if (x !== undefined && x.orderId === o.orderId) return sameFixed(x, o);
  }
  return false;
}

/**
 * True when the fields a change part leaves out are equal: always for snapshots of one order, but
 * another order under the same id (another gateway's, in a test) must be written in full.
 */
function sameFixed(a: Order, b: Order): boolean {
  if (a === b) return true;
  const x = a as unknown as Rec;
  const y = b as unknown as Rec;
  for (let i = 0; i < ORDER_FIXED.length; i++) {
    const k = ORDER_FIXED[i]!.key;
    if (x[k] !== y[k]) return false;
  }
  return true;
}

export function createAuditEncoder(): AuditEncoder {
  const st = newEncodeState();
  /** Orders whose full part is in a durable batch: the order it was written from. */
  const onRecord = new Map<string, Order>();
  /** Orders whose full part is in a batch not yet durable, with the (earliest) batch. */
  const pending = new Map<string, { batch: number; order: Order }>();
  const parts: OrderPart[] = [];
  const ctx: AppendContext = { requestId: undefined, idempotency: undefined };
  const onRecordAs = (o: Order): boolean => {
    const r = onRecord.get(o.orderId);
    return r !== undefined && sameFixed(r, o);
  };
  return {
    write(b, events, batch) {
      const from = b.len;
      ctx.requestId = undefined;
      ctx.idempotency = undefined;
      try {
        let prev: Order | undefined;
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          const o = e.order;
          const part: OrderPart = o === undefined ? "full" : o === prev ? "same" : onRecordAs(o) || earlierIn(events, i, o) ? "change" : "full";
          parts[i] = part;
          writeLine(st, b, e, part, ctx);
          // Only the line right before may be referred to (the decoder keeps just that one).
          prev = o;
        }
      } catch (x) {
        b.len = from;
        throw x;
      }
      for (let i = 0; i < events.length; i++) {
        const o = events[i]!.order;
        if (o === undefined) continue;
        if (isTerminal(o.status)) {
          onRecord.delete(o.orderId);
          pending.delete(o.orderId);
        } else if (parts[i] === "full" && !pending.has(o.orderId) && !onRecordAs(o)) {
          pending.set(o.orderId, { batch, order: o });
        }
      }
    },
    durable(batch) {
      for (const [id, at] of pending) {
        if (at.batch <= batch) {
          pending.delete(id);
          onRecord.set(id, at.order);
        }
      }
    },
    reset() {
      onRecord.clear();
      pending.clear();
    },
  };
}

/**
 * Appends events as self-contained lines (every order part full), newline included. For callers
 * without a sink's state (tests, tools); on a throw nothing is left behind.
 */
export function writeAuditEvent(b: LineBuffer, e: AuditEvent): void {
  const from = b.len;
  try {
    writeLine(newEncodeState(), b, e, "full", undefined);
  } catch (x) {
    b.len = from;
    throw x;
  }
}

/** One event as one self-contained v2 line, newline included (the same bytes writeAuditEvent appends). */
export function encodeAuditEvent(e: AuditEvent): string {
  const b = createLineBuffer(1024);
  writeAuditEvent(b, e);
  return b.buf.toString("utf8", 0, b.len);
}

// ---------------------------------------------------------------- decoding

const isoTime = v.pipe(
  v.string(),
  v.isoTimestamp(),
  v.transform((s) => Date.parse(s)),
  v.check((n) => Number.isFinite(n), "invalid timestamp"),
);

function enumIn(f: Field) {
  // By full name (v1), short name (v2) or number (an enum value unknown when the line was written).
  const full = f.fullNames!;
  const short = f.shortNames!;
  return v.union([
    v.pipe(
      v.picklist([...full, ...short] as [string, ...string[]]),
      v.transform((s) => {
        const i = full.indexOf(s);
        return i >= 0 ? i : short.indexOf(s);
      }),
    ),
    v.pipe(v.number(), v.integer(), v.minValue(0)),
  ]);
}

const str = v.string();
const sequence = v.pipe(
  v.string(),
  v.regex(/^(0|[1-9][0-9]{0,19})$/, "sequence must be a decimal integer string"),
  v.transform((s) => BigInt(s)),
  v.check((n) => n <= 0xffff_ffff_ffff_ffffn, "sequence exceeds uint64"),
);

function valueSchema(f: Field) {
  switch (f.kind) {
    case "string":
    case "decimal":
      return str;
    case "enum":
      return enumIn(f);
    case "ms":
      return isoTime;
    case "bigint":
      return sequence;
    case "strings":
      return v.array(str);
    case "flag":
      return v.literal(true);
  }
}

/**
 * A valibot object over `fields`. `lean`: v2's rules (a string or a timestamp may be absent);
 * otherwise v1's (every non-optional field present).
 */
function objectOf(fields: readonly Field[], lean: boolean, alsoOptional: ReadonlySet<string> = new Set()): RecordPart {
  // One rule of absence for the schema and the fast reader (audit-fast-reader.ts) alike.
  const fast = fields.map((f) => ({ ...f, mayBeAbsent: f.optional || alsoOptional.has(f.key) || (lean && (f.kind === "string" || f.kind === "decimal" || f.kind === "ms")) }));
  const entries: Record<string, v.GenericSchema> = {};
  for (const f of fast) {
    const s = valueSchema(f) as v.GenericSchema;
    entries[f.audit] = f.mayBeAbsent ? v.optional(s) : s;
  }
  return { schema: v.object(entries), fields: fast };
}

/** An order part's or a fill's schema, and its fields as the fast reader takes them. */
interface RecordPart {
  readonly schema: v.GenericSchema;
  readonly fields: readonly FastField[];
}

const errorSchema = v.variant("kind", [
  v.object({
    kind: v.literal("invalid_argument"),
    message: str,
    violations: v.array(v.object({ field: str, description: str })),
  }),
  v.object({ kind: v.literal("failed_precondition"), message: str, reason: v.optional(str), metadata: v.optional(v.record(v.string(), v.string())) }),
  v.object({
    kind: v.literal("already_exists"),
    message: str,
    reason: str,
    metadata: v.optional(v.record(v.string(), v.string())),
  }),
  v.object({ kind: v.literal("resource_exhausted"), message: str, retry_after_ms: v.optional(v.number()) }),
  v.object({ kind: v.literal("unavailable"), message: str, retry_after_ms: v.optional(v.number()) }),
  v.object({
    kind: v.picklist(["not_found", "unauthenticated", "permission_denied", "deadline_exceeded", "aborted", "internal"]),
    message: str,
  }),
]);


const fillV1 = objectOf(FILL, false);
const fillV2 = objectOf(FILL, true, FILL_REF);

const headSchema = v.object({
  v: v.optional(v.literal(2, "unsupported audit format version (this gateway reads v1 and v2)")),
  ts: isoTime,
  event: v.picklist(EVENT_TYPES),
  es: v.optional(sequence),
  en: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
  reason: v.optional(str),
  request_id: v.optional(str),
  same_idempotency: v.optional(v.literal(true)),
  idempotency_key: v.optional(str),
  fingerprint: v.optional(str),
  order_id: v.optional(str),
  fill: v.optional(v.record(v.string(), v.unknown())),
  error: v.optional(errorSchema),
  trading_state: v.optional(
    v.object({
      account: str,
      venue: str,
      state: v.picklist(["ACTIVE", "REDUCE_ONLY", "HALTED"]),
      reason: str,
      set_by: str,
      set_at: isoTime,
    }),
  ),
  risk_limits: v.optional(v.object({ source: str, digest: str, summary: str })),
  reconciliation: v.optional(v.object({ kind: v.picklist(RECONCILE_KINDS), detail: v.string() })),
});
const orderV1 = objectOf(ORDER, false);
const orderV2Full = objectOf(ORDER, true);
const orderV2Change = objectOf(ORDER_MUTABLE, true);

type Head = v.InferOutput<typeof headSchema>;
const EVENT_TYPE_NAMES = new Set<string>(EVENT_TYPES);
const HEAD_STRINGS = ["reason", "request_id", "idempotency_key", "fingerprint", "order_id"] as const;

/**
 * headSchema's fast reader (audit-fast-reader.ts): the lines of orders and fills. A line with an
 * error, a trading state, limits or a reconciliation (rare, and nested) goes to valibot whole.
 */
function fastHeadReader(ms: (x: unknown) => number | undefined, sequence: (x: unknown) => bigint | undefined): (x: unknown) => Head | undefined {
  return (x) => {
    if (!isPlainRecord(x)) return undefined;
    if (x.error !== undefined || x.trading_state !== undefined || x.risk_limits !== undefined || x.reconciliation !== undefined) return undefined;
    const version = x.v;
    if (version !== undefined && version !== 2) return undefined;
    const ts = ms(x.ts);
    if (ts === undefined) return undefined;
    const event = x.event;
    if (typeof event !== "string" || !EVENT_TYPE_NAMES.has(event)) return undefined;
    let es: bigint | undefined;
    if (x.es !== undefined && (es = sequence(x.es)) === undefined) return undefined;
    const en = x.en;
    if (en !== undefined && !(typeof en === "number" && Number.isInteger(en) && en >= 1 && en <= 1_000_000)) return undefined;
    for (const k of HEAD_STRINGS) if (x[k] !== undefined && typeof x[k] !== "string") return undefined;
    if (x.same_idempotency !== undefined && x.same_idempotency !== true) return undefined;
    if (x.fill !== undefined && !isPlainRecord(x.fill)) return undefined;
    return {
      v: version,
      ts,
      event: event as AuditEventType,
      es,
      en,
      reason: x.reason as string | undefined,
      request_id: x.request_id as string | undefined,
      same_idempotency: x.same_idempotency as true | undefined,
      idempotency_key: x.idempotency_key as string | undefined,
      fingerprint: x.fingerprint as string | undefined,
      order_id: x.order_id as string | undefined,
      // The fill schemas read only their own keys: the object itself stands for valibot's copy.
      fill: x.fill as Rec | undefined,
    };
  };
}

function issuesText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((i) => {
      const path = v.getDotPath(i);
      return path === null ? i.message : `${path}: ${i.message}`;
    })
    .join("; ");
}


/**
 * Domain values from validated `x` (keyed by audit name) into `into`; absent lean fields take their
 * v2 meaning: "" for a string, the line's `ts` for a time, a fill's order fields its line's
 * `order`'s; an absent optional field stays absent. Compiled once per field list to straight-line
 * code (compile-function.ts says why): start-up runs it for every line of the log.
 */
type FromRecord = (x: Rec, ts: number, into: Rec, order?: Rec) => void;

function compileFromRecord(fields: readonly Field[]): FromRecord {
  const code = fields.map((f) => {
    const key = plainName(f.key, "audit decoder");
    const absent = FILL_REF.has(f.key)
      ? `if (order !== undefined) into.${key} = order.${key}; else ${absentValue(f, key)}`
      : absentValue(f, key);
    return `v = x[${JSON.stringify(f.audit)}]; if (v !== undefined) into.${key} = v; else ${absent}`;
  });
  return compileFunction({}, `return function fromRecord(x, ts, into, order) { let v; ${code.join("\n")} };`);
}

function absentValue(f: Field, key: string): string {
  if (f.optional) return `delete into.${key};`;
  return f.kind === "ms" ? `into.${key} = ts;` : `into.${key} = "";`;
}

const orderFromRecord = compileFromRecord(ORDER);
const mutableFromRecord = compileFromRecord(ORDER_MUTABLE);
const fillFromRecord = compileFromRecord(FILL);

/**
 * A reader's decoder: v1 and v2 lines, in log order. It keeps the last order of every open order
 * (a v2 change part completes it) and the order of the line before (a v2 "same" part is it);
 * terminal orders are dropped, as the encoder drops them, so the state is bounded by open orders.
 */
export interface AuditDecoder {
  /** Parses and validates one line (with or without its trailing newline). */
  line(line: string): Result<AuditEvent, string>;
  /** Validates an already-parsed record. */
  record(record: unknown): Result<AuditEvent, string>;
  /** Schema reads so far, by path (a record is one to three: its head, its order part, its fill). */
  stats(): Readonly<AuditDecoderStats>;
}

export interface AuditDecoderOptions {
  /**
   * `fast` (default): plainly valid records are read by audit-fast-reader.ts, anything else by
   * valibot; `valibot`: every record by valibot, the reference the fast readers are tested against.
   */
  readonly validation?: "fast" | "valibot";
}

/** A schema's parse: the fast reader's output when it has one, else valibot's safeParse. */
type Parse = (x: unknown) => { success: true; output: Rec } | { success: false; issues: readonly v.BaseIssue<unknown>[] };

/** How a decoder's schema reads went: by a fast reader, or by valibot (tests, benchmarks). */
export interface AuditDecoderStats {
  fast: number;
  valibot: number;
}

function parserOf({ schema }: RecordPart, fast: FastReader | undefined, stats: AuditDecoderStats): Parse {
  return (x) => {
    const out = fast?.(x);
    if (out !== undefined) {
      stats.fast++;
      return { success: true, output: out };
    }
    stats.valibot++;
    return v.safeParse(schema, x) as ReturnType<Parse>;
  };
}

export function createAuditDecoder(options: AuditDecoderOptions = {}): AuditDecoder {
  const fast = options.validation === "valibot" ? undefined : createFastReaders();
  const stats: AuditDecoderStats = { fast: 0, valibot: 0 };
  const parser = (part: RecordPart): Parse => parserOf(part, fast?.object(part.fields), stats);
  const parseOrderV1 = parser(orderV1);
  const parseOrderV2Full = parser(orderV2Full);
  const parseOrderV2Change = parser(orderV2Change);
  const parseFillV1 = parser(fillV1);
  const parseFillV2 = parser(fillV2);
  const fastHead = fast === undefined ? undefined : fastHeadReader(fast.ms, fast.sequence);
  const open = new Map<string, Order>();
  /** The line before's order, request id, and the last idempotency pair seen (v2 lines refer to them). */
  let prev: Order | undefined;
  let prevRequestId: string | undefined;
  let prevIdempotency: AuditEvent["idempotency"];

  function orderOf(h: { v?: 2 | undefined; order_id?: string | undefined; ts: number }, record: Rec): Result<Order | undefined, string> {
    if (h.order_id === undefined) return ok(undefined);
    if (h.v === undefined) {
      const o = parseOrderV1(record);
      if (!o.success) return err(issuesText(o.issues));
      const out: Rec = {};
      orderFromRecord(o.output, h.ts, out);
      return ok(out as unknown as Order);
    }
    if (record[FULL_MARKER.audit] !== undefined) {
      const o = parseOrderV2Full(record);
      if (!o.success) return err(issuesText(o.issues));
      const out: Rec = {};
      orderFromRecord(o.output, h.ts, out);
      return ok(out as unknown as Order);
    }
    if (record[CHANGE_MARKER.audit] !== undefined) {
      const base = open.get(h.order_id);
      if (base === undefined) return err(`order ${h.order_id}: a change with no earlier full record of the order`);
      const o = parseOrderV2Change(record);
      if (!o.success) return err(issuesText(o.issues));
      const out: Rec = {};
      const b = base as unknown as Rec;
      for (const f of ORDER_FIXED) {
        // An absent optional field (external) stays absent, not a key holding undefined.
        const x = b[f.key];
        if (x !== undefined) out[f.key] = x;
      }
      mutableFromRecord(o.output, h.ts, out);
      return ok(out as unknown as Order);
    }
    if (prev === undefined || prev.orderId !== h.order_id) return err(`order ${h.order_id}: no order fields, and the line before is not about this order`);
    return ok(prev);
  }

  function fillOf(h: { v?: 2 | undefined; ts: number; fill?: Rec | undefined }, order: Order | undefined): Result<Fill | undefined, string> {
    if (h.fill === undefined) return ok(undefined);
    const f = h.v === undefined ? parseFillV1(h.fill) : parseFillV2(h.fill);
    if (!f.success) return err(issuesText(f.issues).replace(/^/, "fill."));
    const x = f.output as Rec;
    const out: Rec = {};
    if (h.v !== undefined) {
      for (const key of FILL_REF) {
        const field = FILL.find((ff) => ff.key === key)!;
        if (x[field.audit] === undefined && order === undefined) return err(`fill.${field.audit}: missing, and the line has no order to take it from`);
      }
    }
    fillFromRecord(x, h.ts, out, order as unknown as Rec | undefined);
    return ok(out as unknown as Fill);
  }

  function record(record: unknown): Result<AuditEvent, string> {
    let h = fastHead?.(record);
    if (h !== undefined) stats.fast++;
    else {
      stats.valibot++;
      const head = v.safeParse(headSchema, record);
      if (!head.success) return err(issuesText(head.issues));
      h = head.output;
    }
    if ((h.idempotency_key === undefined) !== (h.fingerprint === undefined)) {
      return err("idempotency_key and fingerprint must appear together");
    }
    let requestId = h.request_id;
    let idempotency = h.idempotency_key !== undefined && h.fingerprint !== undefined ? { key: h.idempotency_key, fingerprint: h.fingerprint } : undefined;
    if (h.v === undefined) {
      if (requestId === undefined) return err("request_id: missing");
      if (h.same_idempotency !== undefined) return err("same_idempotency: not a v1 field");
    } else {
      if (requestId === undefined) requestId = prevRequestId;
      if (requestId === undefined) return err("request_id: missing, and no line before has one");
      if (h.same_idempotency !== undefined) {
        if (idempotency !== undefined) return err("same_idempotency with idempotency_key");
        if (prevIdempotency === undefined) return err("same_idempotency: no line before has an idempotency key");
        idempotency = prevIdempotency;
      }
    }
    const o = orderOf(h, record as Rec);
    if (!o.ok) return o;
    const order = o.value;
    const fl = fillOf(h, order);
    if (!fl.ok) return fl;
    const fill = fl.value;
    let error: GatewayError | undefined;
    if (h.error !== undefined) error = toGatewayError(h.error);
    // State moves only for a line that decoded: a corrupt line changes nothing.
    prev = order;
    prevRequestId = requestId;
    if (idempotency !== undefined) prevIdempotency = idempotency;
    if (order !== undefined) {
      if (isTerminal(order.status)) open.delete(order.orderId);
      else open.set(order.orderId, order);
    }
    // Built by assignment, only what the line has (an absent part is no key): conditional spreads
    // copied the object once per part, for every line of a start-up's replay.
    const event: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = { ts: h.ts, type: h.event, requestId };
    if (idempotency !== undefined) event.idempotency = idempotency;
    if (order !== undefined) event.order = order;
    if (fill !== undefined) event.fill = fill;
    if (error !== undefined) event.error = error;
    if (h.reason !== undefined) event.reason = h.reason;
    if (h.es !== undefined) event.eventSequence = h.es;
    if (h.en !== undefined) event.eventCount = h.en;
    if (h.trading_state !== undefined) {
      const t = h.trading_state;
      event.tradingState = { account: t.account, venue: t.venue, state: t.state, reason: t.reason, setBy: t.set_by, setAtMs: t.set_at };
    }
    if (h.risk_limits !== undefined) event.riskLimits = h.risk_limits;
    if (h.reconciliation !== undefined) event.reconciliation = { kind: h.reconciliation.kind, detail: h.reconciliation.detail };
    return ok(event);
  }

  return {
    record,
    stats: () => ({ ...stats }),
    line(line: string): Result<AuditEvent, string> {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (e) {
        return err(`not JSON: ${(e as Error).message}`);
      }
      return record(parsed);
    },
  };
}

function toGatewayError(e: v.InferOutput<typeof errorSchema>): GatewayError {
  switch (e.kind) {
    case "invalid_argument":
      return { kind: e.kind, message: e.message, violations: e.violations };
    case "failed_precondition":
      return {
        kind: e.kind,
        message: e.message,
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
      };
    case "already_exists":
      return e.metadata === undefined
        ? { kind: e.kind, message: e.message, reason: e.reason }
        : { kind: e.kind, message: e.message, reason: e.reason, metadata: e.metadata };
    case "resource_exhausted":
    case "unavailable":
      return e.retry_after_ms === undefined
        ? { kind: e.kind, message: e.message }
        : { kind: e.kind, message: e.message, retryAfterMs: e.retry_after_ms };
    default:
      return { kind: e.kind, message: e.message };
  }
}


/** Validates one self-contained record (v1, or v2 with a full order part), without a reader's state. */
export function decodeAuditRecord(record: unknown): Result<AuditEvent, string> {
  return createAuditDecoder().record(record);
}

/** Parses and validates one self-contained line (with or without its trailing newline). */
export function decodeAuditLine(line: string): Result<AuditEvent, string> {
  return createAuditDecoder().line(line);
}
