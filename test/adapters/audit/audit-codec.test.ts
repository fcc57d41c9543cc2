import { test } from "node:test";
import assert from "node:assert/strict";
import { createLineBuffer, decodeAuditLine, decodeAuditRecord, encodeAuditEvent, writeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { invalidArgument } from "../../../src/domain/errors.js";
import { sampleEvent, sampleFill, sampleOrder } from "./fixtures.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../src/domain/order.js";

function roundTrip(e: AuditEvent): AuditEvent {
  const line = encodeAuditEvent(e);
  assert.ok(line.endsWith("}\n"), "one line, newline-terminated");
  assert.equal(line.indexOf("\n"), line.length - 1, "no newline inside the line");
  const r = decodeAuditLine(line);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.value;
}

test("an accepted order round-trips exactly, decimals as strings and enums by name", () => {
  const e = sampleEvent(7);
  assert.deepEqual(roundTrip(e), e);
  const obj = JSON.parse(encodeAuditEvent(e));
  assert.equal(obj.ts, "2025-12-29T09:20:00.007Z");
  assert.equal(obj.event, "order_accepted");
  assert.equal(obj.request_id, "req-7");
  assert.equal(obj.idempotency_key, "acct-1\u0000c-7");
  assert.equal(obj.fingerprint, "fp-7");
  assert.equal(obj.order_id, "o-7");
  assert.equal(obj.v, 2);
  assert.equal(obj.side, "BUY");
  assert.equal(obj.type, "LIMIT");
  assert.equal(obj.time_in_force, "GTC");
  assert.equal(obj.status, "PARTIALLY_FILLED");
  assert.equal(obj.quantity, "0.10000000000000000001", "a decimal string is never turned into a float");
  assert.equal(obj.client_idempotency_key, "idem-1");
});

test("a fill with a sequence beyond 2^53 round-trips as a string", () => {
  const e: AuditEvent = { ts: 1, type: "fill", requestId: "r", order: sampleOrder(), fill: sampleFill(2n ** 63n + 11n) };
  assert.deepEqual(roundTrip(e), e);
  assert.equal(JSON.parse(encodeAuditEvent(e)).fill.sequence, "9223372036854775819");
});

test("every line carries the order's current fields, never those of an earlier line under the same id", () => {
  const first = sampleOrder();
  const line = (o: typeof first) => JSON.parse(encodeAuditEvent({ ts: 1, type: "order_received", requestId: "r", order: o }));
  assert.equal(line(first).quantity, first.quantity);
  // A later snapshot of the same order (new object, new status) still encodes every field.
  assert.deepEqual(line({ ...first, status: first.status }), line(first));
  // Another order under the same id (another gateway in this process, a test) is never given the first one's fields.
  for (const change of [{ account: "acct-9" }, { quantity: "2" }, { price: "1.5" }, { venueClientOrderId: "v-9" }, { side: first.side === 1 ? 2 : 1 }] as const) {
    const other = { ...first, ...change };
    const decoded = line(other);
    for (const [k, v] of Object.entries(change)) {
      const field = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      assert.equal(decoded[field], typeof v === "number" ? ["UNSPECIFIED", "BUY", "SELL"][v] : v, `${k} after a cached line`);
    }
  }
});

test("business errors of every shape round-trip", () => {
  const errors = [
    invalidArgument([
      { field: "quantity", description: "must be positive" },
      { field: "price", description: 'has a "quote"' },
    ]),
    { kind: "failed_precondition", message: "risk limit", reason: "MAX_NOTIONAL" },
    { kind: "failed_precondition", message: "terminal" },
    { kind: "already_exists", message: "reused", reason: "IDEMPOTENCY_KEY_REUSED", metadata: { order_id: "o-1" } },
    { kind: "resource_exhausted", message: "slow down", retryAfterMs: 250 },
    { kind: "unavailable", message: "venue down" },
    { kind: "not_found", message: "no such order" },
    { kind: "internal", message: "bug" },
  ] as const;
  for (const error of errors) {
    const e: AuditEvent = { ts: 5, type: "order_rejected", requestId: "r", idempotency: { key: "k", fingerprint: "f" }, error };
    assert.deepEqual(roundTrip(e), e);
  }
});

test("strings with quotes, backslashes, control characters and unicode survive", () => {
  const e = sampleEvent(1, { requestId: 'a"b\\c\n\t\u0001\u2028é🙂', order: sampleOrder({ rejectReason: "line1\nline2" }) });
  assert.deepEqual(roundTrip(e), e);
});

test("an enum number without a name is kept as a number", () => {
  const e = sampleEvent(1, { order: sampleOrder({ status: 42 as never }) });
  assert.equal(JSON.parse(encodeAuditEvent(e)).status, 42);
  assert.deepEqual(roundTrip(e), e);
});

test("decoding rejects damaged or invalid lines with a reason", () => {
  const good = JSON.parse(encodeAuditEvent(sampleEvent(1)));
  const cases: Array<[string, string]> = [
    ['{"ts":"2025-', "not JSON"],
    ["\u0000\u0000\u0000", "not JSON"],
    [JSON.stringify({ ...good, event: "order_exploded" }), "event"],
    [JSON.stringify({ ...good, ts: "yesterday" }), "ts"],
    [JSON.stringify({ ...good, side: "SIDE_SIDEWAYS" }), "side"],
    [JSON.stringify({ ...good, quantity: 1.5 }), "quantity"],
    [JSON.stringify({ ...good, fingerprint: undefined }), "fingerprint"],
    [JSON.stringify({ ...good, fill: { ...JSON.parse(encodeAuditEvent({ ts: 1, type: "fill", requestId: "r", fill: sampleFill(1n) })).fill, sequence: 12 } }), "sequence"],
    [JSON.stringify({ ...good, fill: { ...JSON.parse(encodeAuditEvent({ ts: 1, type: "fill", requestId: "r", fill: sampleFill(1n) })).fill, sequence: "18446744073709551616" } }), "uint64"],
    [JSON.stringify({ ...good, error: { kind: "exploded", message: "x" } }), "kind"],
  ];
  for (const [line, mention] of cases) {
    const r = decodeAuditLine(line);
    assert.equal(r.ok, false, line);
    if (!r.ok) assert.match(r.error, new RegExp(mention), `${line} -> ${r.error}`);
  }
  assert.equal(decodeAuditRecord(null).ok, false);
});

test("timestamps match Date#toISOString for any millisecond (the per-second cache is exact)", () => {
  const samples = [0, 1, 999, 1000, 1001, -1, -999, -1000, -1001, 1_767_000_000_000, 1_767_000_000_999, 253_402_300_799_999];
  let x = 12345;
  for (let i = 0; i < 500; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    samples.push(1_700_000_000_000 + x * 7, 1_700_000_000_000 + (x % 3000));
  }
  for (const ms of samples) {
    const line = encodeAuditEvent({ ts: ms, type: "order_received", requestId: "r" });
    assert.equal(JSON.parse(line).ts, new Date(ms).toISOString(), String(ms));
    const back = decodeAuditLine(line);
    assert.ok(back.ok);
    assert.equal(back.value.ts, ms);
  }
});

test("an order's venue fee total round-trips; an order without one decodes without it (older lines)", () => {
  const withFee = sampleEvent(1, { order: sampleOrder({ venueFeeTotal: "0.0123456789" }) });
  const line = encodeAuditEvent(withFee);
  assert.match(line, /"venue_fee_total":"0.0123456789"/);
  assert.deepEqual(decodeAuditLine(line.trimEnd()), { ok: true, value: withFee });
  const without = sampleEvent(2);
  assert.ok(!encodeAuditEvent(without).includes("venue_fee_total"));
  const d = decodeAuditLine(encodeAuditEvent(without).trimEnd());
  assert.ok(d.ok);
  assert.equal("venueFeeTotal" in d.value.order!, false);
});

// Lines a v1 gateway wrote (up to commit 99a61b3), byte for byte: the reader must keep reading them.
const V1_ACCEPTED =
  '{"ts":"2025-12-29T09:20:00.007Z","event":"order_accepted","request_id":"req-7","idempotency_key":"acct-1\\u0000c-7","fingerprint":"fp-7",' +
  '"order_id":"o-7","client_order_id":"c-7","account":"acct-1","venue":"paper","symbol":"BTC-USD","side":"SIDE_BUY","type":"ORDER_TYPE_LIMIT",' +
  '"time_in_force":"TIME_IN_FORCE_GTC","quantity":"0.10000000000000000001","price":"65000.5","stop_price":"","client_idempotency_key":"idem-1",' +
  '"venue_client_order_id":"gw-abc","venue_order_id":"v-9","status":"ORDER_STATUS_PARTIALLY_FILLED","filled_quantity":"0.05",' +
  '"average_fill_price":"65000.25","reject_reason":"","created_at":"2025-12-29T09:20:00.123Z","updated_at":"2025-12-29T09:20:00.456Z"}\n';
const V1_FILL =
  '{"ts":"2025-12-29T09:20:00.400Z","event":"fill","request_id":"r","fill":{"sequence":"12","fill_id":"f-12","order_id":"o-1",' +
  '"client_order_id":"c-1","account":"acct-1","venue":"paper","symbol":"BTC-USD","side":"SIDE_BUY","quantity":"0.05","price":"65000.25",' +
  '"fee":"0.0001","fee_currency":"USD","time":"2025-12-29T09:20:00.400Z","venue_trade_id":"t-12"}}\n';

test("v1 lines (files written by earlier versions) are still read, byte for byte as they were written", () => {
  assert.deepEqual(decodeAuditLine(V1_ACCEPTED), { ok: true, value: sampleEvent(7) });
  assert.deepEqual(decodeAuditLine(V1_FILL), { ok: true, value: { ts: 1_767_000_000_400, type: "fill", requestId: "r", fill: sampleFill(12n) } });
  // v1 is strict as it always was: a field missing from a v1 line is damage, not a v2 default.
  const missing = decodeAuditLine(V1_ACCEPTED.replace('"stop_price":"",', ""));
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(missing.error, /stop_price/);
});

test("the v2 line format is pinned byte for byte (files written now must stay readable)", () => {
  assert.equal(
    encodeAuditEvent(sampleEvent(7)),
    '{"v":2,"ts":"2025-12-29T09:20:00.007Z","event":"order_accepted","request_id":"req-7","idempotency_key":"acct-1\\u0000c-7","fingerprint":"fp-7",' +
      '"order_id":"o-7","client_order_id":"c-7","account":"acct-1","venue":"paper","symbol":"BTC-USD","side":"BUY","type":"LIMIT",' +
      '"time_in_force":"GTC","quantity":"0.10000000000000000001","price":"65000.5","client_idempotency_key":"idem-1",' +
      '"venue_client_order_id":"gw-abc","venue_order_id":"v-9","status":"PARTIALLY_FILLED","filled_quantity":"0.05",' +
      '"average_fill_price":"65000.25","created_at":"2025-12-29T09:20:00.123Z","updated_at":"2025-12-29T09:20:00.456Z"}\n',
  );
  const fill = encodeAuditEvent({ ts: 1_767_000_000_400, type: "fill", requestId: "r", fill: sampleFill(12n) });
  assert.equal(
    fill,
    '{"v":2,"ts":"2025-12-29T09:20:00.400Z","event":"fill","request_id":"r","fill":{"sequence":"12","fill_id":"f-12","order_id":"o-1",' +
      '"client_order_id":"c-1","account":"acct-1","venue":"paper","symbol":"BTC-USD","side":"BUY","quantity":"0.05","price":"65000.25",' +
      '"fee":"0.0001","fee_currency":"USD","venue_trade_id":"t-12"}}\n',
  );
});

test("writeAuditEvent appends UTF-8 bytes after what the buffer holds, grows it, and leaves it untouched when it throws", () => {
  const b = createLineBuffer(64);
  const events = [
    sampleEvent(1),
    sampleEvent(2, { requestId: 'é🙂"\\\n' + "x".repeat(500) }),
    { ts: 3, type: "fill", requestId: "r", order: sampleOrder({ symbol: "ÉTH-€" }), fill: sampleFill(3n) } as AuditEvent,
    { ts: 4, type: "order_rejected", requestId: "r", error: invalidArgument([{ field: "price", description: 'a "quote"' }]) } as AuditEvent,
  ];
  for (const e of events) writeAuditEvent(b, e);
  const expected = events.map(encodeAuditEvent).join("");
  assert.equal(b.buf.toString("utf8", 0, b.len), expected);
  assert.equal(b.len, Buffer.byteLength(expected));
  const before = Buffer.from(b.buf.subarray(0, b.len));
  // A NaN timestamp is a caller bug: it throws, and half a line must not stay in the batch.
  assert.throws(() => writeAuditEvent(b, sampleEvent(5, { ts: Number.NaN, requestId: "y".repeat(200) })), RangeError);
  assert.throws(() => writeAuditEvent(b, { ...sampleEvent(6), order: sampleOrder({ updatedAtMs: Number.NaN }) }), RangeError);
  assert.equal(b.len, before.length);
  assert.deepEqual(Buffer.from(b.buf.subarray(0, b.len)), before);
});

test("events sharing one order object (a fill and its status) encode it the same each time", () => {
  const order = sampleOrder();
  const b = createLineBuffer(64);
  const events: AuditEvent[] = [
    { ts: 1, type: "fill", requestId: "r", order, fill: sampleFill(1n) },
    { ts: 1, type: "order_filled", requestId: "r", order },
    { ts: 2, type: "order_filled", requestId: "r", order: { ...order, status: 6 } },
    { ts: 3, type: "order_filled", requestId: "r", order },
    { ts: 4, type: "order_rejected", requestId: "r", order: { ...order, rejectReason: "x".repeat(20_000) } },
    { ts: 5, type: "order_filled", requestId: "r", order },
  ];
  for (const e of events) writeAuditEvent(b, e);
  const lines = b.buf.toString("utf8", 0, b.len).trimEnd().split("\n");
  assert.equal(lines.length, events.length);
  lines.forEach((l, i) => assert.deepEqual(decodeAuditLine(l), { ok: true, value: events[i] }, `line ${i}`));
  lines.forEach((l, i) => assert.equal(`${l}\n`, encodeAuditEvent(events[i]!), `line ${i} as encoded alone`));
});

test("a later snapshot of an order is written as if alone, whichever of its fields changed (the prefix memo compares every one)", () => {
  const base = sampleOrder();
  // Every Order field, with a value the encoder writes differently; quotes and non-ASCII take the escaped path.
  const changes: Partial<Order>[] = [
    { orderId: "o-2" },
    { clientOrderId: 'c-"quoted"' },
    { account: "acct-é" },
    { venue: "binance" },
    { symbol: "ETH-USD" },
    { side: Side.SELL },
    { type: OrderType.MARKET },
    { timeInForce: TimeInForce.IOC },
    { quantity: "0.1" },
    { price: "65000.50" },
    { stopPrice: "1" },
    { idempotencyKey: "idem-2" },
    { venueClientOrderId: "gw-abd" },
    { venueOrderId: "v-10" },
    { status: OrderStatus.FILLED },
    { filledQuantity: "0.1" },
    { averageFillPrice: "1" },
    { rejectReason: "no" },
    { createdAtMs: 1 },
    { updatedAtMs: 2 },
    { venueFeeTotal: "0.5" },
  ];
  const keys = new Set(Object.keys(base).concat("venueFeeTotal"));
  assert.deepEqual(new Set(changes.flatMap((c) => Object.keys(c))), keys, "every field of Order is changed once");
  const unrelated = sampleOrder({ orderId: "o-unrelated", clientOrderId: "c-unrelated" });
  const event = (order: Order): AuditEvent => ({ ts: 1, type: "order_filled", requestId: "r", order });
  const alone = (o: Order): string => (encodeAuditEvent(event(unrelated)), encodeAuditEvent(event(o)));
  for (const change of changes) {
    const later = { ...base, ...change };
    const expected = new Map([
      [base, alone(base)],
      [later, alone(later)],
    ]);
    // Each snapshot right after the other, both ways round: neither may carry the other's bytes.
    for (const o of [base, later, base, later, { ...base }]) {
      const line = encodeAuditEvent(event(o));
      assert.equal(line, expected.get(o) ?? expected.get(base), `${o === later ? "changed" : "first"} snapshot, change ${JSON.stringify(change)}`);
      assert.deepEqual(decodeAuditLine(line), { ok: true, value: event(o) });
    }
  }
  // Same values in new string instances: still the prefix's bytes, and still exact.
  encodeAuditEvent(event(base));
  const copy = sampleOrder({ clientOrderId: ["c", "1"].join("-"), status: OrderStatus.FILLED });
  assert.equal(encodeAuditEvent(event(copy)), (encodeAuditEvent(event(unrelated)), encodeAuditEvent(event(copy))));
});

test("a snapshot that fails to encode leaves the prefix memo as it was", () => {
  const base = sampleOrder();
  const event = (order: Order): AuditEvent => ({ ts: 1, type: "order_filled", requestId: "r", order });
  const before = encodeAuditEvent(event(base));
  const broken = { ...base, quantity: "9", updatedAtMs: Number.NaN };
  // Twice: a memo that kept the failed object would copy stale bytes the second time instead of throwing.
  assert.throws(() => encodeAuditEvent(event(broken)), RangeError);
  assert.throws(() => encodeAuditEvent(event(broken)), RangeError);
  assert.equal(encodeAuditEvent(event({ ...base })), before);
  assert.equal(JSON.parse(encodeAuditEvent(event({ ...base, quantity: "9" }))).quantity, "9");
});
