import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createAuditDecoder, createAuditEncoder, createLineBuffer, type AuditEncoder } from "../../../src/adapters/audit/audit-codec.js";
import { AuditLogCorruptError, readAuditLog } from "../../../src/adapters/audit/audit-reader.js";
import { createJsonlAuditSink } from "../../../src/adapters/audit/jsonl-sink.js";
import { createAuditSink } from "../../../src/adapters/audit/create-audit-sink.js";
import { createAuditFillArchive } from "../../../src/adapters/audit/audit-fill-archive.js";
import { createMemoryIdempotencyStore } from "../../../src/adapters/stores/memory-store.js";
import { createPaperVenue } from "../../../src/adapters/venues/paper/paper-venue.js";
import { invalidArgument } from "../../../src/domain/errors.js";
import { OrderStatus, type Fill, type Order } from "../../../src/domain/order.js";
import { createIdSource } from "../../../src/domain/ports.js";
import { createCounterIds, createLocalFillSequence } from "../../helpers/counter-ids.js";
import { createRequestIdSource } from "../../../src/rpc/interceptors/request-id.js";
import { ANONYMOUS } from "../../../src/domain/principal.js";
import type { AuditEvent, AuditEventType } from "../../../src/use-cases/audit-sink.js";
import { createOrderManager } from "../../../src/use-cases/order-manager.js";
import { createPlaceOrder } from "../../../src/use-cases/place-order.js";
import { applyRecoveredState, recoverState, type RecoverOptions } from "../../../src/use-cases/recover.js";
import { createRiskCheck } from "../../../src/use-cases/risk.js";
import { createOrderValidator } from "../../../src/use-cases/validate.js";
import type { VenueAdapter } from "../../../src/use-cases/venue-adapter.js";
import { runAuditScenario } from "../../helpers/audit-scenario.js";
import { snapshotEvents, snapshotState } from "../../fixtures/audit/snapshot.js";
import { createManualClock, marketOrder } from "../../use-cases/support.js";
import { captureLogger, sampleFill, sampleOrder } from "./fixtures.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/audit");
const V1_FILE = path.join(fixtures, "v1-gateway.jsonl");
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, "v1-gateway.expected.json"), "utf8")) as { nowMs: number; events: unknown; state: unknown };
const recoverOpts = (nowMs: number): RecoverOptions => ({ nowMs, idempotencyTtlMs: 3_600_000, idempotencyMaxEntries: 1000, orderRetentionMs: 3_600_000, maxTerminalOrders: 1000 });

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-v2-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function readAll(file: string, onCorrupt: "skip" | "fail" = "fail"): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of readAuditLog({ path: file, onCorrupt })) out.push(e);
  return out;
}

const linesOf = (file: string) => fs.readFileSync(file, "utf8").trimEnd().split("\n");

test("a v1 log written by the previous gateway (commit 99a61b3) reads and recovers exactly as that gateway did", async () => {
  const events = await readAll(V1_FILE);
  assert.deepEqual(snapshotEvents(events), expected.events);
  assert.deepEqual(snapshotState(await recoverState(events, recoverOpts(expected.nowMs))), expected.state);
});

test("the same orders written in v2 read back as the same events and recover to the same state, in under half the bytes", async (t) => {
  const file = path.join(tempDir(t), "audit.jsonl");
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", lock: false });
  const nowMs = await runAuditScenario(sink);
  await sink.close();
  assert.equal(nowMs, expected.nowMs);
  for (const l of linesOf(file)) assert.ok(l.startsWith('{"v":2,'), l);
  const events = await readAll(file);
  assert.deepEqual(snapshotEvents(events), expected.events);
  assert.deepEqual(snapshotState(await recoverState(events, recoverOpts(nowMs))), expected.state);
  const v1 = fs.statSync(V1_FILE).size;
  const v2 = fs.statSync(file).size;
  assert.ok(v2 * 2 < v1, `v2 ${v2} bytes vs v1 ${v1}`);
  // The filled market order (its three events) in both formats.
  const bytesOf = (f: string) => linesOf(f).filter((l) => l.includes('"order_id":"ord-1"')).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  t.diagnostic(`filled market order, scenario ids: v1 ${bytesOf(V1_FILE)} bytes, v2 ${bytesOf(file)} bytes`);
  assert.ok(bytesOf(file) <= 1024);
});

test("a filled market order with production ids takes at most 1 KB of audit log", async (t) => {
  const file = path.join(tempDir(t), "audit.jsonl");
  const audit = createJsonlAuditSink({ path: file, mode: "fsync", lock: false });
  t.after(() => audit.close());
  const clock = { nowMs: () => Date.now() };
  // The id sources the composition root uses: order and fill ids, UUID-shaped request ids.
  const paper = createPaperVenue({ clock, ids: createIdSource("pv-") });
  const venues = new Map<string, VenueAdapter>([["paper", paper]]);
  const orders = createOrderManager({ clock, ids: createIdSource(), audit, fills: createLocalFillSequence() });
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: createRiskCheck({}, () => undefined),
    venues,
    idempotency: createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 1000 }),
    orders,
    audit,
    signal: new AbortController().signal,
  });
  const requestId = createRequestIdSource();
  const n = 50;
  for (let i = 0; i < n; i++) {
    const r = await placeOrder(marketOrder({ clientOrderId: `bench-${1_000_000 + i}` }), { requestId: requestId(), principal: ANONYMOUS });
    assert.ok(r.ok && r.value.order.status === OrderStatus.FILLED);
  }
  await audit.close();
  const perOrder = fs.statSync(file).size / n;
  t.diagnostic(`v2, production ids: ${perOrder} bytes per filled market order (${linesOf(file).length / n} lines)`);
  assert.ok(perOrder <= 1024, `${perOrder} bytes per filled market order`);
});

test("a v1 log continued by a v2 gateway (a mixed file) recovers both parts; the fill archive reads both", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "audit.jsonl");
  fs.copyFileSync(V1_FILE, file);
  const clock = createManualClock(expected.nowMs + 1000);
  // The v2 gateway starts on the v1 file: recovers, then works on the open orders.
  const audit = await createAuditSink({ mode: "fsync", file, batchMaxMs: 0 });
  const recovered = await recoverState(audit.read(), recoverOpts(clock.nowMs()));
  const orders = createOrderManager({ clock, ids: createCounterIds("fill-v2-"), audit, fills: createLocalFillSequence(recovered.lastFillSequence) });
  applyRecoveredState(recovered, { orders, idempotency: createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 1000 }) }, clock.nowMs());
  const lim = orders.getByClientOrderId("acct-1", "lim-2")!;
  assert.equal(lim.status, OrderStatus.PARTIALLY_FILLED);
  await orders.applyVenueUpdate(lim.orderId, {
    status: OrderStatus.FILLED,
    venueOrderId: lim.venueOrderId,
    fills: [{ venueTradeId: "T-2c", quantity: "0.75", price: "101", fee: "0.07575", feeCurrency: "USD", timeMs: clock.nowMs() }],
  }, "poll");
  clock.advance(5);
  const cxr = orders.getByClientOrderId("acct-1", "cxr-9")!;
  await orders.applyVenueUpdate(cxr.orderId, { status: OrderStatus.CANCELED, venueOrderId: cxr.venueOrderId, fills: [] }, "poll");
  await audit.close();

  const lines = linesOf(file);
  const v1Lines = linesOf(V1_FILE).length;
  assert.ok(lines.slice(0, v1Lines).every((l) => !l.startsWith('{"v":')));
  const added = lines.slice(v1Lines).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(added.map((l) => l.v), [2, 2, 2]);
  // The v2 gateway never wrote these orders: their first v2 line is full, the next ones refer to it.
  assert.equal(added[0]!.client_order_id, "lim-2");
  assert.equal(added[1]!.client_order_id, undefined);
  assert.equal(added[2]!.client_order_id, "cxr-9");

  const events = await readAll(file);
  assert.equal(events.length, v1Lines + 3);
  assert.deepEqual(snapshotEvents(events.slice(0, v1Lines)), expected.events);
  const state = await recoverState(events, recoverOpts(clock.nowMs()));
  const limAfter = state.orders.get(lim.orderId)!;
  assert.equal(limAfter.order.status, OrderStatus.FILLED);
  assert.equal(limAfter.order.filledQuantity, "1.5");
  assert.deepEqual(limAfter.venueTradeIds, ["T-2a", "T-2b", "T-2c"]);
  assert.deepEqual({ ...limAfter.order, status: lim.status, filledQuantity: lim.filledQuantity, averageFillPrice: lim.averageFillPrice, updatedAtMs: lim.updatedAtMs }, lim);
  assert.equal(state.orders.get(cxr.orderId)!.order.status, OrderStatus.CANCELED);
  assert.equal(state.lastFillSequence, recovered.lastFillSequence + 1n);

  // StreamFills' archive over the mixed file: every fill, v1 and v2, complete and in order.
  const audit2 = await createAuditSink({ mode: "fsync", file, batchMaxMs: 0 });
  t.after(() => audit2.close());
  const fills: Fill[] = [];
  for await (const f of createAuditFillArchive(audit2.read)(0n)) fills.push(f);
  assert.deepEqual(fills.map((f) => f.venueTradeId), ["paper-t-pt-1", "T-2a", "T-2b", "T-6a", "T-6b", "T-2c"]);
  assert.deepEqual(fills.map((f) => f.sequence), [1n, 2n, 3n, 4n, 5n, 6n]);
  const last = fills.at(-1)!;
  assert.deepEqual(
    [last.orderId, last.clientOrderId, last.account, last.venue, last.symbol, last.side],
    [lim.orderId, lim.clientOrderId, lim.account, lim.venue, lim.symbol, lim.side],
    "a v2 fill takes the order's fields from its order",
  );
});

// ------------------------------------------------------------------ the codec's state machine

/** Encodes appends with one encoder (each append its own batch, durable unless told), decodes with one decoder. */
function pipe(encoder: AuditEncoder = createAuditEncoder()) {
  const decoder = createAuditDecoder();
  let seq = 0;
  return {
    encoder,
    /** The lines of one append, and the events they decode to. */
    append(events: AuditEvent[], durable = true) {
      const b = createLineBuffer(64);
      encoder.write(b, events, ++seq);
      if (durable) encoder.durable(seq);
      const lines = b.buf.toString("utf8", 0, b.len).trimEnd().split("\n");
      const decoded = lines.map((l) => {
        const r = decoder.line(l);
        assert.ok(r.ok, r.ok ? "" : `${r.error}: ${l}`);
        return r.value;
      });
      return { lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>), decoded };
    },
  };
}

const partOf = (l: Record<string, unknown>) => ("side" in l ? "full" : "status" in l ? "change" : "same");

test("v2: every event type round-trips through a sink's encoder and a reader's decoder, full, as a change and as the same order", () => {
  const p = pipe();
  const idem = { key: "acct-1|c:c-1", fingerprint: "v1|c-1|paper" };
  const o0 = sampleOrder({ status: OrderStatus.PENDING_NEW, venueOrderId: "", filledQuantity: "0", averageFillPrice: "", updatedAtMs: 1_767_000_000_123 });
  const at = (ms: number, over: Partial<Order>) => ({ ...o0, ...over, updatedAtMs: ms });
  const o1 = at(1_767_000_001_000, { status: OrderStatus.NEW, venueOrderId: "v-1" });
  const o2 = at(1_767_000_002_000, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "v-1", filledQuantity: "0.05", averageFillPrice: "65000.25", venueFeeTotal: "0.01" });
  const o3 = at(1_767_000_003_000, { ...o2, status: OrderStatus.PENDING_CANCEL });
  const o4 = at(1_767_000_004_000, { ...o2, status: OrderStatus.PARTIALLY_FILLED, rejectReason: "cancel refusé ✓" });
  const o5 = at(1_767_000_005_000, { ...o4, status: OrderStatus.CANCELED });
  const f = (seq: bigint, over: Partial<Fill> = {}): Fill => sampleFill(seq, { timeMs: 1_767_000_002_000, ...over });
  const appends: AuditEvent[][] = [
    [{ ts: 1_767_000_000_123, type: "order_received", requestId: "r1", idempotency: idem, order: o0 }],
    [{ ts: 1_767_000_000_500, type: "order_pending", requestId: "r1", idempotency: idem, order: o0 }],
    [{ ts: 1_767_000_001_000, type: "order_accepted", requestId: "r1", idempotency: idem, order: o1 }],
    [
      { ts: 1_767_000_002_000, type: "fill", requestId: "poll", order: o2, fill: f(1n) },
      { ts: 1_767_000_002_000, type: "fill", requestId: "poll", order: o2, fill: f(2n, { fee: "", feeCurrency: "", timeMs: 1_767_000_001_999 }) },
      { ts: 1_767_000_002_000, type: "order_partially_filled", requestId: "poll", order: o2 },
    ],
    [{ ts: 1_767_000_003_000, type: "cancel_requested", requestId: "r2", order: o3 }],
    [{ ts: 1_767_000_004_000, type: "cancel_rejected", requestId: "r2", order: o4, error: { kind: "failed_precondition", reason: "CANCEL_REJECTED", message: "too late" } }],
    [{ ts: 1_767_000_005_000, type: "order_canceled", requestId: "r3", order: o5 }],
    // After the terminal status: a late fill writes the order in full again.
    [{ ts: 1_767_000_006_000, type: "fill", requestId: "poll", order: { ...o5, updatedAtMs: 1_767_000_006_000 }, fill: f(3n) }],
    [{ ts: 1_767_000_007_000, type: "order_rejected", requestId: "r4", idempotency: { key: "k4", fingerprint: "f4" }, error: invalidArgument([{ field: "price", description: 'a "quote"' }]) }],
    [{ ts: 1_767_000_008_000, type: "order_expired", requestId: "r5", order: sampleOrder({ orderId: "o-5", status: OrderStatus.EXPIRED }) }],
    [{ ts: 1_767_000_009_000, type: "order_filled", requestId: "r6", order: sampleOrder({ orderId: "o-6", status: OrderStatus.FILLED }) }],
    // A fill of another order than its line's (no such event today): its order fields are written.
    [{ ts: 1_767_000_010_000, type: "fill", requestId: "r7", fill: f(4n, { orderId: "o-x", account: "", side: 2 }) }],
  ];
  const parts: string[][] = [];
  const seen = new Set<AuditEventType>();
  for (const events of appends) {
    const { lines, decoded } = p.append(events);
    assert.deepEqual(decoded, events);
    parts.push(lines.map((l) => ("order_id" in l ? partOf(l) : "-")));
    for (const e of events) seen.add(e.type);
  }
  assert.deepEqual([...seen].sort(), ["cancel_rejected", "cancel_requested", "fill", "order_accepted", "order_canceled", "order_expired", "order_filled", "order_partially_filled", "order_pending", "order_received", "order_rejected"]);
  assert.deepEqual(parts, [["full"], ["change"], ["change"], ["change", "same", "same"], ["change"], ["change"], ["change"], ["full"], ["-"], ["full"], ["full"], ["-"]]);
});

test("v2: a change is written only against a full record known to be on record (durable batch or same append); a failed write starts over", () => {
  const order = sampleOrder({ status: OrderStatus.NEW });
  const later = { ...order, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.07" };
  const ev = (o: Order): AuditEvent => ({ ts: 1, type: "order_accepted", requestId: "r", order: o });
  const p = pipe();
  assert.equal(partOf(p.append([ev(order)], false).lines[0]!), "full");
  // Its batch is not durable yet (still in flight, or it may fail): full again.
  assert.equal(partOf(p.append([ev(later)], false).lines[0]!), "full");
  p.encoder.durable(2);
  assert.equal(partOf(p.append([ev(order)]).lines[0]!), "change");
  p.encoder.reset();
  assert.equal(partOf(p.append([ev(later)]).lines[0]!), "full");
  // Within one append a full record may be followed by changes (same batch).
  const q = pipe();
  assert.deepEqual(q.append([ev(order), { ...ev(order), type: "order_filled" }, ev(later)], false).lines.map(partOf), ["full", "same", "change"]);
  // Another order of the same id in a later batch (say another gateway in a test) is written in full.
  const r = pipe();
  r.append([ev(order)]);
  assert.equal(partOf(r.append([ev({ ...order, account: "acct-9" })]).lines[0]!), "full", "an immutable field differs");
});

test("v2: a throw (a NaN timestamp) leaves the buffer and the encoder's state as they were", () => {
  const encoder = createAuditEncoder();
  const b = createLineBuffer(64);
  const order = sampleOrder({ status: OrderStatus.NEW });
  assert.throws(() => encoder.write(b, [{ ts: 1, type: "order_received", requestId: "r", order }, { ts: Number.NaN, type: "order_accepted", requestId: "r", order }], 1), RangeError);
  assert.equal(b.len, 0);
  encoder.durable(1);
  encoder.write(b, [{ ts: 2, type: "order_accepted", requestId: "r", order }], 2);
  assert.equal(partOf(JSON.parse(b.buf.toString("utf8", 0, b.len))), "full", "the failed append put nothing on record");
});

test("v2 lines that cannot be read are corrupt lines: reported with file:line and skipped, or refused with onCorrupt fail", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "audit.jsonl");
  const p = pipe();
  const order = sampleOrder({ status: OrderStatus.NEW });
  const full = p.append([{ ts: 1, type: "order_accepted", requestId: "r", order }]).lines[0]!;
  const change = p.append([{ ts: 2, type: "order_partially_filled", requestId: "r", order: { ...order, status: OrderStatus.PARTIALLY_FILLED } }]).lines[0]!;
  const bad = [
    [JSON.stringify({ ...change, order_id: "o-unknown" }), /o-unknown.*no earlier full record/],
    [JSON.stringify({ ...full, v: 3 }), /unsupported audit format version/],
    [JSON.stringify({ v: 2, ts: "2026-01-01T00:00:00.000Z", event: "order_filled", same_idempotency: true, order_id: "o-1" }), /request_id|same_idempotency/],
  ] as const;
  fs.writeFileSync(file, [JSON.stringify(full), ...bad.map((b) => b[0]), JSON.stringify(change)].join("\n") + "\n");
  const { logger, records } = captureLogger();
  const events: AuditEvent[] = [];
  for await (const e of readAuditLog({ path: file, logger })) events.push(e);
  assert.deepEqual(events.map((e) => e.order?.status), [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]);
  const warned = records.filter((r) => r.msg === "audit log: corrupt line skipped");
  assert.deepEqual(warned.map((r) => r.line), [2, 3, 4]);
  bad.forEach(([, reason], i) => assert.match(String(warned[i]!.reason), reason));
  await assert.rejects(readAll(file, "fail"), (e: unknown) => e instanceof AuditLogCorruptError && e.line === 2);
});
