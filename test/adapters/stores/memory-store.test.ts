import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryIdempotencyStore } from "../../../src/adapters/stores/memory-store.js";
import type { IdempotencyRecord } from "../../../src/use-cases/idempotency-store.js";
import { everyField } from "../../helpers/every-field-order.js";

const rec = (fingerprint: string, storedAtMs: number): IdempotencyRecord => ({
  fingerprint,
  storedAtMs,
  outcome: { ok: false, error: { kind: "failed_precondition", message: fingerprint } },
});

test("get returns a stored record until the TTL, counted from storage", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 1000, maxEntries: 10 });
  s.set("a", rec("fa", 0), 0);
  assert.equal(s.get("a", 999)?.fingerprint, "fa");
  // Reading does not extend the TTL.
  assert.equal(s.get("a", 1000), undefined);
  assert.equal(s.size, 0);
});

test("max size evicts the least recently used first", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 1e9, maxEntries: 3 });
  s.set("a", rec("a", 0), 0);
  s.set("b", rec("b", 0), 0);
  s.set("c", rec("c", 0), 0);
  assert.ok(s.get("a", 1)); // a is now the most recent
  s.set("d", rec("d", 0), 1);
  assert.equal(s.size, 3);
  assert.equal(s.get("b", 1), undefined, "b was least recently used");
  assert.ok(s.get("a", 1) && s.get("c", 1) && s.get("d", 1));
});

test("expired entries at the head are dropped as new ones arrive (memory follows the TTL)", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 100, maxEntries: 1000 });
  for (let i = 0; i < 50; i++) s.set(`k${i}`, rec(`${i}`, 0), 0);
  for (let i = 0; i < 50; i++) s.set(`n${i}`, rec(`${i}`, 200), 200);
  assert.equal(s.size, 50);
});

test("set replaces, delete removes, bad options are refused", () => {
  const s = createMemoryIdempotencyStore();
  s.set("a", rec("1", 0), 0);
  s.set("a", rec("2", 0), 0);
  assert.equal(s.get("a", 0)?.fingerprint, "2");
  s.delete("a");
  assert.equal(s.get("a", 0), undefined);
  assert.throws(() => createMemoryIdempotencyStore({ ttlMs: 0 }));
  assert.throws(() => createMemoryIdempotencyStore({ maxEntries: 0 }));
});

test("records come back field for field: an order outcome, an error with violations, with and without a fingerprint", () => {
  const s = createMemoryIdempotencyStore({ maxEntries: 10 });
  const orderRec: IdempotencyRecord = { outcome: { ok: true, value: everyField }, storedAtMs: 5 };
  const errRec: IdempotencyRecord = {
    fingerprint: "v1|c|paper",
    storedAtMs: 6,
    outcome: { ok: false, error: { kind: "invalid_argument", message: "invalid quantity: must be > 0", violations: [{ field: "quantity", description: "must be > 0" }] } },
  };
  s.set("o", orderRec, 6);
  s.set("e", errRec, 6);
  assert.deepEqual(s.get("o", 7), orderRec);
  assert.deepEqual(s.get("e", 7), errRec);
});

test("capacity in bytes bounds the store too: a full ring drops the least recently used", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 1e9, maxEntries: 1000, capacityBytes: 4096 });
  for (let i = 0; i < 100; i++) s.set(`k${i}`, rec("x".repeat(100), i), i);
  assert.ok(s.size < 40, `size ${s.size}`);
  assert.equal(s.get("k99", 100)?.fingerprint, "x".repeat(100));
  assert.equal(s.get("k0", 100), undefined);
});

test("the TTL counts from the record's own storage time, and a record exactly ttlMs old is gone", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 1000, maxEntries: 10 });
  s.set("a", rec("fa", 5000), 5000);
  assert.equal(s.get("a", 5999)?.fingerprint, "fa");
  assert.equal(s.get("a", 6000), undefined);
});

test("the default TTL is 24 hours", () => {
  const day = 24 * 60 * 60 * 1000;
  const s = createMemoryIdempotencyStore({ maxEntries: 10 });
  s.set("a", rec("fa", 0), 0);
  assert.equal(s.get("a", day - 1)?.fingerprint, "fa");
  assert.equal(s.get("a", day), undefined);
});

test("each set drops at most 4 expired records from the old end (bounded work), and ttlMs old counts as expired", () => {
  const s = createMemoryIdempotencyStore({ ttlMs: 100, maxEntries: 1000 });
  for (let i = 0; i < 10; i++) s.set(`k${i}`, rec(`${i}`, i), i);
  // At 109 all ten are expired; one set drops the four oldest (k0..k3) and stops.
  s.set("n0", rec("n0", 109), 109);
  assert.equal(s.size, 11 - 4);
  assert.equal(s.get("k4", 103)?.fingerprint, "4", "k4 is kept: only the four oldest went");
  const t = createMemoryIdempotencyStore({ ttlMs: 100, maxEntries: 1000 });
  t.set("a", rec("a", 0), 0);
  t.set("b", rec("b", 50), 50);
  t.set("c", rec("c", 100), 100);
  assert.equal(t.size, 2, "a, exactly 100 old, is dropped when c arrives");
  assert.equal(t.get("b", 100)?.fingerprint, "b");
});

test("bad options are refused with a message naming them", () => {
  for (const o of [{ ttlMs: 0 }, { ttlMs: -1 }, { ttlMs: Number.NaN }, { maxEntries: 0 }, { maxEntries: -5 }, { maxEntries: Number.NaN }]) {
    assert.throws(() => createMemoryIdempotencyStore(o), /idempotency store: ttlMs and maxEntries must be positive/, JSON.stringify(o));
  }
});
