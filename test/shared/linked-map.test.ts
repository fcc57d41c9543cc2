import { test } from "node:test";
import assert from "node:assert/strict";
import { createLinkedMap } from "../../src/shared/linked-map.js";

test("keeps insertion order; set of an existing key and touch move it to the newest end", () => {
  const m = createLinkedMap<string, number>();
  m.set("a", 1);
  m.set("b", 2);
  m.set("c", 3);
  assert.deepEqual([...m.entries()], [["a", 1], ["b", 2], ["c", 3]]);
  m.set("a", 10);
  assert.deepEqual([...m.entries()].map((e) => e[0]), ["b", "c", "a"]);
  assert.equal(m.touch("b"), true);
  assert.equal(m.touch("zz"), false);
  assert.deepEqual([...m.entries()].map((e) => e[0]), ["c", "a", "b"]);
  assert.equal(m.oldest()?.key, "c");
  assert.equal(m.oldest()?.value, 3);
});

test("delete from the middle, the ends, shift until empty", () => {
  const m = createLinkedMap<number, string>();
  for (let i = 0; i < 5; i++) m.set(i, `v${i}`);
  assert.equal(m.delete(2), true);
  assert.equal(m.delete(2), false);
  assert.equal(m.delete(4), true);
  assert.equal(m.delete(0), true);
  assert.deepEqual([...m.entries()], [[1, "v1"], [3, "v3"]]);
  assert.equal(m.shift()?.key, 1);
  assert.equal(m.shift()?.key, 3);
  assert.equal(m.shift(), undefined);
  assert.equal(m.size, 0);
  m.set(7, "x");
  assert.equal(m.get(7), "x");
  assert.equal(m.has(7), true);
  m.clear();
  assert.equal(m.oldest(), undefined);
});

test("entries() tolerates deleting the current entry while iterating", () => {
  const m = createLinkedMap<number, number>();
  for (let i = 0; i < 6; i++) m.set(i, i);
  for (const [k] of m.entries()) if (k % 2 === 0) m.delete(k);
  assert.deepEqual([...m.entries()].map((e) => e[0]), [1, 3, 5]);
});

test("used as a bounded queue the work per operation does not grow with the size (no Map iteration)", () => {
  // Counting, not timing: shift() must return the true oldest every time, at any size.
  const m = createLinkedMap<number, number>();
  const n = 50_000;
  for (let i = 0; i < n; i++) m.set(i, i);
  for (let i = n; i < 2 * n; i++) {
    m.set(i, i);
    assert.equal(m.shift()!.key, i - n);
  }
  assert.equal(m.size, n);
});
