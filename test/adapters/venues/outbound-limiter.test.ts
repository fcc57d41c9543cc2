import assert from "node:assert/strict";
import { test } from "node:test";
import { createOutboundLimiter } from "../../../src/adapters/venues/outbound-limiter.js";

test("weighted token bucket per credential: burst, refill, retry delay; unknown keys unlimited", () => {
  let now = 0;
  const limiter = createOutboundLimiter({ now: () => now, limits: new Map([["k", { capacity: 10, refillPerSecond: 2 }]]) });
  assert.ok(limiter.tryAcquire("k", 4).ok);
  assert.ok(limiter.tryAcquire("k", 4).ok);
  const denied = limiter.tryAcquire("k", 4);
  assert.deepEqual(denied, { ok: false, retryAfterMs: 1000 }, "2 tokens left, 2 missing at 2/s");
  now = 1000;
  assert.ok(limiter.tryAcquire("k", 4).ok);
  assert.ok(!limiter.tryAcquire("k", 1).ok);
  now = 100_000;
  for (let i = 0; i < 10; i++) assert.ok(limiter.tryAcquire("k", 1).ok, "refill is capped at capacity");
  assert.ok(!limiter.tryAcquire("k", 1).ok);
  for (let i = 0; i < 100; i++) assert.ok(limiter.tryAcquire("other", 5).ok);
});

test("venue-reported usage lowers the budget, never raises it", () => {
  const now = 0;
  const limiter = createOutboundLimiter({ now: () => now, limits: new Map([["k", { capacity: 10, refillPerSecond: 1 }]]) });
  limiter.observeUsed("k", 8);
  assert.ok(limiter.tryAcquire("k", 2).ok);
  assert.ok(!limiter.tryAcquire("k", 1).ok);
  limiter.observeUsed("k", 0);
  assert.ok(!limiter.tryAcquire("k", 1).ok, "a lower reported usage does not mint tokens");
  limiter.observeUsed("unlimited", 1e9);
  assert.ok(limiter.tryAcquire("unlimited", 5).ok);
});
