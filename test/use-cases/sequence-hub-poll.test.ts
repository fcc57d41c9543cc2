/**
 * Subscription.poll() (what the gRPC stream fast path gathers a write with): it takes what can be
 * had without waiting, from the ring while catching up and from the live queue after, sharing one
 * position with the iterator, so mixing the two neither skips nor repeats an item.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import type { GatewayError } from "../../src/domain/errors.js";
import type { Fill } from "../../src/domain/order.js";
import { sampleFill } from "../adapters/audit/fixtures.js";

const fill = (seq: number, over: Partial<Fill> = {}) => sampleFill(BigInt(seq), over);

test("poll catches up from the ring, turns live, then takes queued items; mixed with next(), no gap and no duplicate", async () => {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 100 });
  for (let i = 1; i <= 10; i++) hub.publish(fill(i, i % 3 === 0 ? { account: "other" } : {}));
  const sub = hub.subscribe({ account: "", venue: "", symbol: "", allowedAccounts: "any", afterSequence: 4n });
  const it = sub[Symbol.asyncIterator]();
  const got: number[] = [];
  got.push(Number((await it.next()).value!.sequence)); // 5, through the iterator
  for (let f = sub.poll(); f !== undefined; f = sub.poll()) got.push(Number(f.sequence)); // 6..10 from the ring, then live
  assert.equal(hub.stats().live, 1, "caught up by poll: live");
  for (let i = 11; i <= 20; i++) hub.publish(fill(i));
  got.push(Number((await it.next()).value!.sequence)); // 11
  for (let f = sub.poll(); f !== undefined; f = sub.poll()) got.push(Number(f.sequence)); // 12..20
  assert.equal(sub.poll(), undefined);
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => 5 + i));
  sub.close();
});

test("poll respects the filter and leaves a needed archive read to next()", async () => {
  const hub = createFillHub({ retain: 3, subscriberBuffer: 10, readArchive: async function* () {} });
  for (let i = 1; i <= 6; i++) hub.publish(fill(i));
  const sub = hub.subscribe({ account: "", venue: "", symbol: "", allowedAccounts: "any", afterSequence: 1n });
  assert.equal(sub.poll(), undefined, "items 2-3 are only in the archive: poll does not skip them");
  sub.close();
});

test("while gathering is set, live items queue past the buffer; once cleared, the next one over it ends the stream with a resume hint", async () => {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 3 });
  const sub = hub.subscribe({ account: "", venue: "", symbol: "", allowedAccounts: "any" });
  assert.equal(sub.poll(), undefined, "live");
  sub.gathering = true;
  for (let i = 1; i <= 8; i++) hub.publish(fill(i));
  assert.equal(sub.error, undefined, "a burst while gathering is not a slow consumer");
  sub.gathering = false;
  hub.publish(fill(9));
  // Read again after publish (TypeScript keeps the narrowing of the assert above).
  const ended = sub.error as GatewayError | undefined;
  assert.equal(ended?.kind, "resource_exhausted", "the bound holds again once cleared");
  assert.equal(ended?.kind === "resource_exhausted" ? ended.metadata?.["resume_after_sequence"] : undefined, "8");
  const got: number[] = [];
  for (let f = sub.poll(); f !== undefined; f = sub.poll()) got.push(Number(f.sequence));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8], "what was queued is still delivered before the error");
  assert.equal(hub.subscriberCount(), 0);
});
