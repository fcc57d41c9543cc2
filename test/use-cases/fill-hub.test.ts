import { test } from "node:test";
import assert from "node:assert/strict";
import { createFillHub, type FillSubscription } from "../../src/use-cases/fill-hub.js";
import type { Fill } from "../../src/domain/order.js";
import { captureLogger, sampleFill } from "../adapters/audit/fixtures.js";

const fill = (seq: number, over: Partial<Fill> = {}) => sampleFill(BigInt(seq), over);
const seqs = (fs: readonly Fill[]) => fs.map((f) => Number(f.sequence));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function take(sub: FillSubscription, n: number): Promise<Fill[]> {
  const it = sub[Symbol.asyncIterator]();
  const out: Fill[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

async function drain(sub: FillSubscription): Promise<Fill[]> {
  const out: Fill[] = [];
  for await (const f of sub) out.push(f);
  return out;
}

test("sequences are strictly increasing and continue after the recovered last sequence", () => {
  const hub = createFillHub({ retain: 10, subscriberBuffer: 10, startAfterSequence: 41n });
  assert.equal(hub.nextSequence(), 42n);
  assert.equal(hub.nextSequence(), 43n);
  // Start-up may also refill the ring by publishing recovered fills: numbering continues after them.
  const hub2 = createFillHub({ retain: 10, subscriberBuffer: 10 });
  hub2.publish(fill(7));
  assert.equal(hub2.nextSequence(), 8n);
  assert.equal(hub2.lastPublished(), 7n);
});

test("a subscriber gets retained fills after its sequence, then live fills, without gap or duplicate", async () => {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 100 });
  for (let i = 1; i <= 10; i++) hub.publish(fill(i));
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 4n });
  const first = await take(sub, 3); // 5,6,7 from the ring
  // Fills published while the backlog is being read:
  for (let i = 11; i <= 15; i++) hub.publish(fill(i));
  const rest = await take(sub, 8); // 8..15
  assert.deepEqual(seqs([...first, ...rest]), range(5, 15));
  // Now live.
  const next = take(sub, 2);
  hub.publish(fill(16));
  hub.publish(fill(17));
  assert.deepEqual(seqs(await next), [16, 17]);
  hub.close();
  assert.deepEqual(await drain(sub), []);
  assert.equal(sub.error, undefined, "a clean end on close");
});

test("afterSequence 0 replays everything retained; older fills come from the archive, also while more are published", async () => {
  const durable: Fill[] = [];
  let archiveReads = 0;
  const hub = createFillHub({
    retain: 5,
    subscriberBuffer: 100,
    readArchive: async function* (after) {
      archiveReads++;
      // Reads "the file" as it grows, like the JSONL reader does.
      for (let i = 0; i < durable.length; i++) {
        await Promise.resolve();
        if (durable[i]!.sequence > after) yield durable[i]!;
      }
    },
  });
  const publish = (i: number) => {
    const f = fill(i);
    durable.push(f);
    hub.publish(f);
  };
  for (let i = 1; i <= 20; i++) publish(i);
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 0n });
  const got: Fill[] = [];
  got.push(...(await take(sub, 4)));
  // While it reads the archive, 10 more fills arrive and the ring (5) evicts well past its cursor.
  for (let i = 21; i <= 30; i++) publish(i);
  got.push(...(await take(sub, 26)));
  assert.deepEqual(seqs(got), range(1, 30));
  assert.ok(archiveReads >= 1);
  const live = take(sub, 1);
  publish(31);
  assert.deepEqual(seqs(await live), [31]);
  sub.close();
  assert.equal(hub.subscriberCount(), 0);
});

test("filters: account, venue, symbol and the principal's accounts", async () => {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 100 });
  const fills = [
    fill(1, { account: "a" }),
    fill(2, { account: "b" }),
    fill(3, { account: "a", venue: "binance" }),
    fill(4, { account: "a", symbol: "ETH-USD" }),
    fill(5, { account: "c" }),
  ];
  for (const f of fills) hub.publish(f);
  const check = async (o: Parameters<typeof hub.subscribe>[0], want: number[]) => {
    const sub = hub.subscribe({ ...o, afterSequence: 0n });
    const got = take(sub, want.length);
    // A live fill that matches nothing must not be delivered; one that matches everything must.
    hub.publish(fill(Number(hub.lastPublished()) + 1, { account: "zzz" }));
    const r = await got;
    sub.close();
    assert.deepEqual(seqs(r), want, JSON.stringify(o, (_, v) => (v instanceof Set ? [...v] : v)));
  };
  await check({ allowedAccounts: "any", account: "a" }, [1, 3, 4]);
  await check({ allowedAccounts: "any", account: "a", venue: "paper", symbol: "BTC-USD" }, [1]);
  await check({ allowedAccounts: new Set(["a", "c"]) }, [1, 3, 4, 5]);
  await check({ allowedAccounts: new Set(["b"]), account: "" }, [2]);
});

test("a slow subscriber's buffer is bounded: it drains, ends with RESOURCE_EXHAUSTED, and resumes without loss", async () => {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 3 });
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 0n });
  const first = await take(sub, 0);
  assert.equal(first.length, 0);
  // Become live: the first pull finds the ring empty and waits.
  const waiting = take(sub, 1);
  hub.publish(fill(1));
  assert.deepEqual(seqs(await waiting), [1]);
  for (let i = 2; i <= 4; i++) hub.publish(fill(i)); // nobody reads: 3 fit...
  assert.deepEqual(hub.stats(), { subscribers: 1, live: 1, maxQueued: 3 });
  for (let i = 5; i <= 10; i++) hub.publish(fill(i)); // ...the 4th overflows
  const got = await drain(sub);
  assert.deepEqual(seqs(got), [2, 3, 4]);
  assert.equal(sub.error?.kind, "resource_exhausted");
  assert.match(sub.error!.message, /after_sequence/);
  assert.equal(hub.subscriberCount(), 0, "the overflowed subscriber is gone");
  const again = hub.subscribe({ allowedAccounts: "any", afterSequence: got.at(-1)!.sequence });
  assert.deepEqual(seqs(await take(again, 6)), range(5, 10));
  again.close();
});

test("close ends every stream cleanly, including one waiting on the archive; later subscriptions get UNAVAILABLE", async () => {
  let release: () => void = () => {};
  const hub = createFillHub({
    retain: 1,
    subscriberBuffer: 10,
    readArchive: async function* () {
      await new Promise<void>((r) => (release = r));
      yield fill(1);
    },
  });
  hub.publish(fill(1));
  hub.publish(fill(2));
  const fromArchive = hub.subscribe({ allowedAccounts: "any", afterSequence: 0n });
  const waitingArchive = take(fromArchive, 5);
  const liveSub = hub.subscribe({ allowedAccounts: "any", afterSequence: 2n });
  const waitingLive = take(liveSub, 5);
  await new Promise((r) => setImmediate(r));
  assert.equal(hub.subscriberCount(), 2);
  hub.close();
  release();
  assert.deepEqual(await waitingLive, []);
  assert.deepEqual(await waitingArchive, []);
  assert.equal(fromArchive.error, undefined);
  assert.equal(liveSub.error, undefined);
  const late = hub.subscribe({ allowedAccounts: "any" });
  assert.deepEqual(await drain(late), []);
  assert.equal(late.error?.kind, "unavailable");
});

test("breaking out of for-await unsubscribes", async () => {
  const hub = createFillHub({ retain: 10, subscriberBuffer: 10 });
  for (let i = 1; i <= 5; i++) hub.publish(fill(i));
  const sub = hub.subscribe({ allowedAccounts: "any" });
  for await (const f of sub) if (f.sequence === 2n) break;
  assert.equal(hub.subscriberCount(), 0);
  hub.publish(fill(6)); // no subscriber left to push to, and nothing throws
});

test("a fill published out of order is logged and not streamed; without an archive a gap is logged", async () => {
  const { logger, records } = captureLogger();
  const hub = createFillHub({ retain: 2, subscriberBuffer: 10, logger });
  hub.publish(fill(5));
  hub.publish(fill(4));
  assert.ok(records.some((r) => r.level === 50 && /out of sequence/.test(r.msg)));
  hub.publish(fill(6));
  hub.publish(fill(7)); // evicts 5
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 1n });
  assert.deepEqual(seqs(await take(sub, 2)), [6, 7]);
  assert.ok(records.some((r) => /not replayed/.test(r.msg)));
  sub.close();
});

test("retain 0: resumes always read the archive, live fills are still pushed", async () => {
  const durable: Fill[] = [];
  const hub = createFillHub({
    retain: 0,
    subscriberBuffer: 10,
    readArchive: async function* (after) {
      for (const f of [...durable]) if (f.sequence > after) yield f;
    },
  });
  for (let i = 1; i <= 3; i++) {
    durable.push(fill(i));
    hub.publish(fill(i));
  }
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 1n });
  assert.deepEqual(seqs(await take(sub, 2)), [2, 3]);
  const live = take(sub, 1);
  await new Promise((r) => setImmediate(r));
  durable.push(fill(4));
  hub.publish(fill(4));
  assert.deepEqual(seqs(await live), [4]);
  sub.close();
});

test("a fill published in the same tick as the pull that exhausts the backlog is neither lost nor doubled", { timeout: 5000 }, async () => {
  const hub = createFillHub({ retain: 10, subscriberBuffer: 10 });
  hub.publish(fill(1));
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 0n });
  const it = sub[Symbol.asyncIterator]();
  assert.deepEqual(seqs([(await it.next()).value as Fill]), [1]);
  const pending = it.next(); // finds the ring exhausted and turns live
  hub.publish(fill(2)); // no await in between
  hub.publish(fill(3));
  assert.equal(Number(((await pending).value as Fill).sequence), 2);
  assert.equal(Number(((await it.next()).value as Fill).sequence), 3);
  sub.close();
});

test("a subscriber cut off for being too slow is reported once (gateway_stream_subscribers_dropped_total)", async () => {
  let dropped = 0;
  const hub = createFillHub({ retain: 100, subscriberBuffer: 2, onSubscriberDropped: () => dropped++ });
  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 0n });
  const waiting = take(sub, 1);
  hub.publish(fill(1));
  await waiting;
  for (let i = 2; i <= 3; i++) hub.publish(fill(i));
  assert.equal(dropped, 0, "a full buffer is not a drop");
  for (let i = 4; i <= 8; i++) hub.publish(fill(i));
  assert.equal(dropped, 1);
  await drain(sub);
  assert.equal(sub.error?.kind, "resource_exhausted");
  assert.equal(dropped, 1);
});
