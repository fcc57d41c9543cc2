import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createAuditDecoder, createAuditEncoder, createLineBuffer, type AuditDecoder } from "../../../src/adapters/audit/audit-codec.js";
import { OrderStatus, type Fill, type Order } from "../../../src/domain/order.js";
import type { GatewayError } from "../../../src/domain/errors.js";
import type { AuditEvent, AuditEventType } from "../../../src/use-cases/audit-sink.js";
import { sampleFill, sampleOrder } from "./fixtures.js";
import { rng } from "../../helpers/random-order.js";

/**
 * The audit decoder's fast readers (src/adapters/audit/audit-fast-reader.ts) against valibot, the
 * reference: two decoders, one with each, read the same records in the same order (decoders keep
 * state: open orders, the line before), and every result must be the same, the decoded event to
 * its last key and every refusal to its last word. Records are a sink's own v2 lines of random
 * events and the v1 fixture's lines, each kept as written or mutated.
 */

const V1_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/audit/v1-gateway.jsonl");

const ERRORS: GatewayError[] = [
  { kind: "invalid_argument", message: "invalid price", violations: [{ field: "price", description: 'a "quote" ✓' }] },
  { kind: "failed_precondition", message: "limit", reason: "MAX_POSITION_EXCEEDED", metadata: { limit: "maxPosition", max: "10" } },
  { kind: "failed_precondition", message: "halted" },
  { kind: "already_exists", message: "dup", reason: "IDEMPOTENCY_KEY_REUSED" },
  { kind: "resource_exhausted", message: "slow down", retryAfterMs: 250 },
  { kind: "unavailable", message: "venue down" },
  { kind: "not_found", message: "no such order" },
];
const EVENT_TYPES: AuditEventType[] = ["order_received", "order_accepted", "order_pending", "order_partially_filled", "cancel_requested", "order_replaced", "order_reconciled"];
const STATUSES = [OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE];
const TERMINAL = [OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED];

/** Appends of random events, as a gateway makes them: orders that change, fills, errors, settings. */
function randomAppends(r: () => number, count: number): AuditEvent[][] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const live: Order[] = [];
  let ts = 1_767_000_000_000;
  let seq = 0n;
  let es = 0n;
  const out: AuditEvent[][] = [];
  for (let i = 0; i < count; i++) {
    // Often the same millisecond as the append before (the decoder's timestamp memo), sometimes not.
    ts += r() < 0.5 ? 0 : Math.floor(r() * 5000);
    const requestId = r() < 0.1 ? "" : `r-${i}`;
    const idempotency = r() < 0.5 ? { key: `acct-${i % 3}|c:c-${i}`, fingerprint: `v1|c-${i}|paper` } : undefined;
    const numbered = (e: AuditEvent): AuditEvent => (r() < 0.7 ? { ...e, eventSequence: (es += 1n), ...(r() < 0.3 ? { eventCount: 1 + Math.floor(r() * 3) } : {}) } : e);
    const roll = r();
    if (roll < 0.08) {
      out.push([{ ts, type: "order_rejected", requestId, ...(idempotency !== undefined ? { idempotency } : {}), error: pick(ERRORS) }]);
      continue;
    }
    if (roll < 0.11) {
      out.push([{ ts, type: "trading_state_set", requestId, tradingState: { account: r() < 0.5 ? "" : "acct-1", venue: r() < 0.5 ? "" : "paper", state: pick(["ACTIVE", "REDUCE_ONLY", "HALTED"] as const), reason: "ops", setBy: "admin", setAtMs: ts - 7 } }]);
      continue;
    }
    if (roll < 0.13) {
      out.push([{ ts, type: "risk_limits_reloaded", requestId, riskLimits: { source: "limits.yaml", digest: "ab12", summary: "maxPosition 10" } }]);
      continue;
    }
    let order: Order;
    if (live.length === 0 || r() < 0.3) {
      order = sampleOrder({
        orderId: `o-${i}`,
        clientOrderId: `c-${i}`,
        account: `acct-${i % 3}`,
        status: OrderStatus.PENDING_NEW,
        side: r() < 0.1 ? 7 : 1 + Math.floor(r() * 2),
        stopPrice: r() < 0.2 ? "64000" : "",
        venueOrderId: "",
        filledQuantity: "0",
        averageFillPrice: "",
        rejectReason: "",
        createdAtMs: ts - (r() < 0.5 ? 0 : 3),
        updatedAtMs: ts,
        ...(r() < 0.1 ? { external: true as const } : {}),
      });
      live.push(order);
    } else {
      const at = Math.floor(r() * live.length);
      const prev = live[at]!;
      const terminal = r() < 0.25;
      order = {
        ...prev,
        status: terminal ? pick(TERMINAL) : r() < 0.05 ? (42 as OrderStatus) : pick(STATUSES),
        venueOrderId: "v-" + prev.orderId,
        filledQuantity: r() < 0.5 ? prev.filledQuantity : "0.05",
        averageFillPrice: r() < 0.5 ? "" : "65000.25",
        rejectReason: r() < 0.1 ? "refusé ✓" : "",
        updatedAtMs: r() < 0.8 ? ts : ts - 1,
        ...(r() < 0.2 ? { venueFeeTotal: "0.01" } : {}),
        ...(r() < 0.1 ? { replacedClientOrderIds: [prev.clientOrderId, `c-r${i}`] } : {}),
      };
      if (terminal) live.splice(at, 1);
      else live[at] = order;
    }
    const events: AuditEvent[] = [numbered({ ts, type: pick(EVENT_TYPES), requestId, ...(idempotency !== undefined ? { idempotency } : {}), order, ...(r() < 0.1 ? { reason: "cancel-on-disconnect s1" } : {}) })];
    for (let f = 0; r() < 0.4 && f < 3; f++) {
      const fill: Fill = sampleFill((seq += 1n), {
        orderId: r() < 0.9 ? order.orderId : "o-other",
        clientOrderId: order.clientOrderId,
        account: order.account,
        side: order.side,
        fee: r() < 0.3 ? "" : "0.0001",
        feeCurrency: r() < 0.3 ? "" : "USD",
        timeMs: r() < 0.5 ? ts : ts - 2,
      });
      events.push(numbered({ ts, type: "fill", requestId, order, fill }));
    }
    if (r() < 0.1) events.push({ ts, type: "order_reconciled", requestId, order, reconciliation: { kind: "missed_fill", detail: "venue filled 0.05" } });
    out.push(events);
  }
  return out;
}

/** Values a mutation puts in a record's place: every JSON type, edge numbers, near-valid strings. */
const ODD: readonly unknown[] = [
  null, 0, -0, -1, 1.5, 2 ** 53, 1_000_001, NaN, Infinity, "", "x", "FILLED", "ORDER_STATUS_FILLED", "BUY", "SIDE_SELL", true, false, [], ["a"], [1], {}, { a: 1 },
  "2026-01-02T03:04:05.678Z", "2026-01-02 03:04:05Z", "2026-13-02T03:04:05Z", "2026-02-30T00:00:00.000Z", "2026-01-02T03:04:05.678+01:00", "2026-01-02T03:04:05.1234567891Z",
  // Matches the ISO regular expression, yet Date.parse gives NaN.
  "2026-01-02T03:04:05+23",
  "0", "007", "-1", "18446744073709551615", "18446744073709551616", "99999999999999999999", "1e3", 2, 3, "order_filled", "fill", "bogus_event",
];

/** A deep copy with one or two changes somewhere: a value replaced, a key removed or added. */
function mutate(r: () => number, record: unknown): unknown {
  if (r() < 0.03) return r() < 0.5 ? [record] : ODD[Math.floor(r() * ODD.length)];
  const copy = structuredClone(record) as Record<string, unknown>;
  for (let n = 1 + Math.floor(r() * 2); n > 0; n--) {
    // A top-level key or one inside a nested object (fill, error, trading_state...).
    let target: Record<string, unknown> = copy;
    const nested = Object.keys(copy).filter((k) => typeof copy[k] === "object" && copy[k] !== null && !Array.isArray(copy[k]));
    if (nested.length > 0 && r() < 0.3) target = copy[nested[Math.floor(r() * nested.length)]!] as Record<string, unknown>;
    const keys = Object.keys(target);
    const roll = r();
    if (roll < 0.2 || keys.length === 0) target[["v", "es", "en", "fill", "error", "same_idempotency", "created_at", "external", "venue_fee_total", "fee", "zzz"][Math.floor(r() * 11)]!] = ODD[Math.floor(r() * ODD.length)];
    else if (roll < 0.35) delete target[keys[Math.floor(r() * keys.length)]!];
    else target[keys[Math.floor(r() * keys.length)]!] = ODD[Math.floor(r() * ODD.length)];
  }
  return copy;
}

type Outcome = { ok: true; value: AuditEvent } | { ok: false; error: string };

test("the fast readers decode every record exactly as valibot does, and refuse exactly what it refuses (random and mutated v1 and v2 records)", () => {
  const v1Lines = fs.readFileSync(V1_FILE, "utf8").trimEnd().split("\n");
  let compared = 0;
  let refused = 0;
  let fastShare = 0;
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const encoder = createAuditEncoder();
    const b = createLineBuffer();
    const records: unknown[] = v1Lines.map((l) => JSON.parse(l));
    randomAppends(r, 600).forEach((events, batch) => {
      b.len = 0;
      encoder.write(b, events, batch);
      if (r() < 0.9) encoder.durable(batch);
      for (const l of b.buf.toString("utf8", 0, b.len).trimEnd().split("\n")) records.push(JSON.parse(l));
    });
    const fast = createAuditDecoder();
    const reference = createAuditDecoder({ validation: "valibot" });
    const fastPlain = createAuditDecoder();
    for (const record of records) {
      // The same record unchanged through a third decoder: how much the fast readers take of valid lines.
      fastPlain.record(record);
      const input = r() < 0.5 ? mutate(r, record) : record;
      const a = fast.record(input) as Outcome;
      const e = reference.record(input) as Outcome;
      assert.deepStrictEqual(a, e, `record ${JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
      compared++;
      if (!e.ok) refused++;
    }
    const s = fastPlain.stats();
    assert.equal(reference.stats().fast, 0, "the reference decoder never takes the fast path");
    fastShare = s.fast / (s.fast + s.valibot);
    // Every valid v2 line except the rare parts (errors, settings, reconciliations) is read fast.
    assert.ok(fastShare > 0.85, `fast share of valid records ${fastShare.toFixed(2)}`);
    assert.ok(fast.stats().valibot > fast.stats().fast / 10, "mutated records reach valibot");
  }
  // Both outcomes well represented (a refused full part also refuses the changes that build on it).
  assert.ok(refused > compared / 10 && compared - refused > compared / 4, `refused ${refused} of ${compared}`);
});

test("a fast reader's timestamp memo only stands for the very same string", () => {
  const d = createAuditDecoder();
  const line = (ts: string) => `{"v":2,"ts":"${ts}","event":"order_rejected","request_id":"r","error":{"kind":"not_found","message":"m"}}`;
  const order = (ts: string, created: string) =>
    `{"v":2,"ts":"${ts}","event":"order_received","request_id":"r","order_id":"o-1","client_order_id":"c","account":"a","venue":"paper","symbol":"S","side":"BUY","type":"LIMIT","time_in_force":"GTC","quantity":"1","price":"2","status":"PENDING_NEW","created_at":"${created}"}`;
  const a = d.line(order("2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.677Z"));
  const b = d.line(order("2026-01-02T03:04:05.679Z", "2026-01-02T03:04:05.678Z"));
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.order!.createdAtMs, Date.parse("2026-01-02T03:04:05.677Z"));
  assert.equal(b.value.ts, Date.parse("2026-01-02T03:04:05.679Z"));
  assert.equal(b.value.order!.createdAtMs, Date.parse("2026-01-02T03:04:05.678Z"));
  assert.ok(d.line(line("2026-01-02T03:04:05.678Z")).ok);
  assert.equal(d.line(line("2026-13-02T03:04:05.678Z")).ok, false);
});

/** Every key of a record and of its nested objects (by the nested object's key), plus keys a line may lack. */
function slots(record: Record<string, unknown>): Array<[nested: string | undefined, key: string]> {
  const out: Array<[string | undefined, string]> = [];
  for (const k of ["v", "es", "en", "fill", "same_idempotency", "request_id", "created_at", "updated_at", "external", "venue_fee_total", "replaced_client_order_ids", "zzz"]) out.push([undefined, k]);
  for (const [k, x] of Object.entries(record)) {
    out.push([undefined, k]);
    if (typeof x === "object" && x !== null && !Array.isArray(x)) for (const n of [...Object.keys(x), "fee", "sequence", "time", "order_id"]) out.push([k, n]);
  }
  return out;
}

test("every field of every line kind, set to each odd value in turn, decodes (or is refused) as valibot decides", () => {
  const r = rng(7);
  let compared = 0;
  const decoders = (prefix: readonly unknown[]): [AuditDecoder, AuditDecoder] => {
    const pair: [AuditDecoder, AuditDecoder] = [createAuditDecoder(), createAuditDecoder({ validation: "valibot" })];
    for (const x of prefix) for (const d of pair) assert.ok(d.record(x).ok);
    return pair;
  };
  // Appends each written by a fresh encoder: the first line full, the next ones changes or "same".
  const appends = randomAppends(r, 120).filter((events) => events.length > 1 || events[0]!.order?.replacedClientOrderIds !== undefined).slice(0, 14);
  appends.push(...randomAppends(rng(8), 40).filter((events) => events[0]!.order === undefined).slice(0, 4));
  for (const events of appends) {
    const b = createLineBuffer();
    createAuditEncoder().write(b, events, 0);
    const lines = b.buf.toString("utf8", 0, b.len).trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    lines.forEach((_, at) => {
      // The lines before it in its append, read first: a change or "same" part builds on them.
      const target = lines[at]!;
      for (const [nested, key] of slots(target)) {
        for (const odd of [undefined, ...ODD]) {
          const copy = structuredClone(target);
          const where = nested === undefined ? copy : (copy[nested] as Record<string, unknown>);
          if (odd === undefined) delete where[key];
          else where[key] = odd;
          const [fast, reference] = decoders(lines.slice(0, at));
          assert.deepStrictEqual(fast.record(copy), reference.record(copy), `${key} = ${String(odd)} in ${JSON.stringify(target)}`);
          compared++;
        }
      }
    });
  }
  assert.ok(compared > 10_000, `${compared} compared`);
});
