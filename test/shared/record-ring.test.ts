import { test } from "node:test";
import assert from "node:assert/strict";
import { createRecordRing } from "../../src/shared/record-ring.js";
import { createLinkedMap } from "../../src/shared/linked-map.js";

/** Deterministic PRNG (mulberry32) so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("behaves as an LRU map of maxEntries when bytes are plentiful (random operations against a linked map)", () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = rng(seed);
    // 8 entries: a 16-slot index, so probe runs collide and deletions shift entries back.
    const maxEntries = 8;
    const ring = createRecordRing({ maxEntries, capacityBytes: 64 * 1024 });
    const model = createLinkedMap<string, { value: string; stamp: number }>();
    for (let step = 0; step < 20_000; step++) {
      const key = `k${Math.floor(r() * 24)}${r() < 0.1 ? "-é€" : ""}`;
      const op = r();
      if (op < 0.45) {
        const value = "v".repeat(Math.floor(r() * 40)) + step;
        assert.equal(ring.set(key, value, step), true);
        model.set(key, { value, stamp: step });
        while (model.size > maxEntries) model.shift();
      } else if (op < 0.7) {
        assert.deepEqual(ring.get(key), model.get(key), `seed ${seed} step ${step} get ${key}`);
      } else if (op < 0.8) {
        assert.equal(ring.touch(key), model.touch(key));
      } else if (op < 0.9) {
        assert.equal(ring.delete(key), model.delete(key));
      } else if (op < 0.95) {
        assert.equal(ring.oldestStamp(), model.oldest()?.value.stamp);
      } else {
        ring.shift();
        model.shift();
      }
      assert.equal(ring.size, model.size);
    }
    for (const [k, v] of model.entries()) assert.deepEqual(ring.get(k), v);
  }
});

test("under byte pressure the oldest records go first and no key ever returns another's value", () => {
  const r = rng(7);
  const cap = 2048;
  const ring = createRecordRing({ maxEntries: 1000, capacityBytes: cap });
  const last = new Map<string, string>();
  const order: string[] = [];
  for (let step = 0; step < 50_000; step++) {
    const key = `key-${Math.floor(r() * 500)}`;
    const value = `${key}=${step}:${"x".repeat(Math.floor(r() * 200))}`;
    assert.equal(ring.set(key, value, step), true);
    last.set(key, value);
    order.push(key);
    assert.equal(ring.get(key)?.value, value, "the newest record is always there");
    if (step % 97 === 0) {
      for (const [k, v] of last) {
        const got = ring.get(k);
        if (got !== undefined) assert.equal(got.value, v, `stale or foreign value for ${k}`);
      }
    }
  }
  // Records are at most 24 + 8 + ~230 bytes: the newest few always fit in 2 KiB, even with the wrap gap.
  const recent = [...new Set(order.slice(-3))];
  for (const k of recent) assert.equal(ring.get(k)?.value, last.get(k));
  assert.ok(ring.size >= 4 && ring.size < 40, `size ${ring.size}`);
});

test("a record larger than the ring is refused and leaves no stale value behind", () => {
  const ring = createRecordRing({ maxEntries: 10, capacityBytes: 256 });
  assert.equal(ring.set("a", "small", 1), true);
  assert.equal(ring.set("a", "y".repeat(300), 2), false);
  assert.equal(ring.get("a"), undefined);
  assert.equal(ring.size, 0);
  assert.equal(ring.set("b", "fits", 3), true);
  assert.deepEqual(ring.get("b"), { value: "fits", stamp: 3 });
});

test("oldestStamp skips deleted and moved records; bad options are refused", () => {
  const ring = createRecordRing({ maxEntries: 4, capacityBytes: 4096, prefault: true });
  ring.set("a", "1", 10);
  ring.set("b", "2", 20);
  ring.set("c", "3", 30);
  ring.delete("a");
  assert.equal(ring.oldestStamp(), 20);
  ring.touch("b");
  assert.equal(ring.oldestStamp(), 30, "b moved to the newest end keeps its stamp");
  ring.shift();
  assert.equal(ring.get("c"), undefined);
  assert.deepEqual(ring.get("b"), { value: "2", stamp: 20 });
  assert.equal(ring.size, 1);
  assert.throws(() => createRecordRing({ maxEntries: 0, capacityBytes: 4096 }), /maxEntries/);
  assert.throws(() => createRecordRing({ maxEntries: 1, capacityBytes: 8 }), /capacityBytes/);
});

test("keys with the same length and the same hash are told apart by their bytes", () => {
  // FNV-1a, as the ring hashes keys: find two same-length keys that collide (a birthday search).
  const fnv = (s: string): number => {
    let h = 0x811c9dc5 | 0;
    for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193);
    return h;
  };
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined; i++) {
    const key = `order-${i.toString(36).padStart(8, "0")}`;
    const h = fnv(key);
    const other = seen.get(h);
    if (other !== undefined) pair = [other, key];
    else seen.set(h, key);
  }
  const [a, b] = pair;
  assert.equal(a.length, b.length);
  const ring = createRecordRing({ maxEntries: 16, capacityBytes: 64 * 1024 });
  ring.set(a, "value of a", 1);
  assert.equal(ring.get(b), undefined, "a key never finds another key's record");
  ring.set(b, "value of b", 2);
  assert.equal(ring.get(a)?.value, "value of a");
  assert.equal(ring.get(b)?.value, "value of b");
  assert.equal(ring.delete(a), true);
  assert.equal(ring.get(a), undefined);
  assert.equal(ring.get(b)?.value, "value of b");
});
