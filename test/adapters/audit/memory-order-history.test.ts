/**
 * The memory index keeps finished orders and fills as JSON in an arena of 1 MB Buffers: records
 * on both sides of a chunk boundary come back exactly. (Ordering and filters: the shared suite,
 * test/use-cases/list-orders.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createMemoryOrderHistory, type HistorySpillIo, type MemoryOrderHistory } from "../../../src/adapters/audit/memory-order-history.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../../../src/domain/order.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import type { FillQuery, OrderQuery } from "../../../src/use-cases/order-history.js";

test("finished orders and fills over several arena chunks come back exactly, newest first", async () => {
  const h = createMemoryOrderHistory();
  const orders: Order[] = [];
  const fills: Fill[] = [];
  // About 300 bytes of JSON per order with its fill: 12,000 of them span several 1 MB chunks.
  for (let i = 0; i < 12_000; i++) {
    const o: Order = {
      clientOrderId: `client-order-${i}-${"x".repeat(i % 50)}`,
      account: "acct",
      venue: "paper",
      symbol: "BTC-USD",
      side: Side.SELL,
      type: OrderType.LIMIT,
      timeInForce: TimeInForce.GTC,
      quantity: "1.5",
      price: "50000.25",
      stopPrice: "",
      idempotencyKey: `k-${i}`,
      orderId: `o-${String(i).padStart(6, "0")}`,
      venueClientOrderId: `v-${i}`,
      venueOrderId: `pv-${i}`,
      status: OrderStatus.FILLED,
      filledQuantity: "1.5",
      averageFillPrice: "50000.25",
      rejectReason: "",
      // Non-ASCII: the arena counts bytes, not characters.
      ...(i % 7 === 0 ? { rejectReason: "prix modifié €" } : {}),
      createdAtMs: 1_000 + i,
      updatedAtMs: 2_000 + i,
    };
    const f: Fill = {
      sequence: BigInt(i + 1),
      fillId: `f-${i}`,
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      account: "acct",
      venue: "paper",
      symbol: "BTC-USD",
      side: Side.SELL,
      quantity: "1.5",
      price: "50000.25",
      fee: "0.01",
      feeCurrency: "USD",
      timeMs: 2_000 + i,
      venueTradeId: `t-${i}`,
    };
    h.record([
      { ts: o.updatedAtMs, type: "fill", requestId: "r", order: o, fill: f },
      { ts: o.updatedAtMs, type: "order_filled", requestId: "r", order: o },
    ]);
    orders.push(o);
    fills.push(f);
  }
  const got = await h.listOrders({ account: "acct", venue: "", symbol: "", statuses: [], openOnly: false, limit: 20_000 });
  assert.ok(got.ok);
  assert.deepEqual(got.value, [...orders].reverse());
  const gotFills = await h.listFills({ account: "acct", orderId: "", symbol: "", venue: "", limit: 20_000 });
  assert.ok(gotFills.ok);
  assert.deepEqual(gotFills.value, [...fills].reverse());
});

test("a finished order costs the heap nothing: 50,000 filled orders with their fills add under 40 bytes of heap each", async () => {
  // Why it matters: the index grows with every order ever placed; kept as objects it made every
  // scavenge and full GC slower as the count rose (docs/performance.md, issues 20 and 21).
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const h = createMemoryOrderHistory();
  const record = (i: number): void => {
    const o: Order = {
      clientOrderId: `c-${i}`, account: `acct-${i % 3}`, venue: "paper", symbol: i % 2 === 0 ? "BTC-USD" : "ETH-USD", side: Side.BUY,
      type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1", price: "", stopPrice: "", idempotencyKey: `k-${i}`,
      orderId: `o-${i}`, venueClientOrderId: `v-${i}`, venueOrderId: `pv-${i}`, status: OrderStatus.NEW, filledQuantity: "0",
      averageFillPrice: "", rejectReason: "", createdAtMs: 1_000 + i, updatedAtMs: 1_000 + i,
    };
    const done: Order = { ...o, status: OrderStatus.FILLED, filledQuantity: "1", averageFillPrice: "100" };
    const f: Fill = {
      sequence: BigInt(i + 1), fillId: `f-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: "paper",
      symbol: o.symbol, side: Side.BUY, quantity: "1", price: "100", fee: "0.1", feeCurrency: "USD", timeMs: 2_000 + i, venueTradeId: `t-${i}`,
    };
    const accepted = { ts: 1, type: "order_accepted", requestId: "r", order: o } as const;
    const filled = [{ ts: 2, type: "fill", requestId: "r", order: done, fill: f }, { ts: 2, type: "order_filled", requestId: "r", order: done }] as const;
    // Half in one append, as a market order on the paper venue: opened and finished at once.
    if (i % 2 === 0) h.record([accepted, ...filled]);
    else {
      h.record([accepted]);
      h.record(filled);
    }
  };
  for (let i = 0; i < 5_000; i++) record(i); // warm: columns and Maps at their working size
  gc();
  const before = process.memoryUsage().heapUsed;
  const n = 50_000;
  for (let i = 5_000; i < 5_000 + n; i++) record(i);
  gc();
  const perOrder = (process.memoryUsage().heapUsed - before) / n;
  assert.ok(perOrder < 40, `heap per finished order: ${perOrder.toFixed(1)} bytes`);
  // And they are all there.
  const got = await h.listOrders({ account: "acct-1", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1_000 });
  assert.ok(got.ok);
  assert.equal(got.value.length, 1_000);
  assert.equal(got.value[0]!.status, OrderStatus.FILLED);
});

/**
 * Random order lives checked against a plain model: every order as its last event left it, in
 * listing order, and every fill. Events come in any grouping (the row of the order recorded last is
 * reused), some late (an older order's), some reopening a finished order, some for orders created
 * out of time order (a clock stepped back); listings are walked page by page with random sizes and
 * filters. `opts` picks the index's settings: with few live rows, small segments and an early fold,
 * orders are frozen while open, finish or reopen once frozen, and arrive older than every live one.
 */
async function checkAgainstModel(opts: Parameters<typeof createMemoryOrderHistory>[0], seed: number, steps: number): Promise<{ indexStats: ReturnType<MemoryOrderHistory["indexStats"]> }> {
  const h = createMemoryOrderHistory(opts);
  const rand = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor(seed / 65_536) % n;
  };
  const latest = new Map<string, Order>();
  const fills: Fill[] = [];
  let seq = 0;
  let clock = 1_000;
  const make = (i: number): Order => {
    // Mostly later than every order before; one in ten earlier (a clock stepped back), some at the same ms.
    const r = rand(10);
    const createdAtMs = r === 0 ? 1_000 + rand(clock - 999) : r === 1 ? clock : (clock += 1 + rand(3));
    return {
      clientOrderId: `c-${i}`, account: `acct-${i % 2}`, venue: i % 3 === 0 ? "paper" : "other", symbol: i % 4 === 0 ? "BTC-USD" : "ETH-USD",
      side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "3", price: "100", stopPrice: "", idempotencyKey: `k-${i}`,
      orderId: `o-${String(rand(10_000)).padStart(4, "0")}-${i}`, venueClientOrderId: `v-${i}`, venueOrderId: "", status: OrderStatus.PENDING_NEW, filledQuantity: "0",
      averageFillPrice: "", rejectReason: "", createdAtMs, updatedAtMs: createdAtMs,
    };
  };
  const fillOf = (o: Order): Fill => {
    seq++;
    return {
      sequence: BigInt(seq), fillId: `f-${seq}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: o.venue,
      symbol: o.symbol, side: o.side, quantity: "1", price: "100", fee: "0", feeCurrency: "USD", timeMs: 5_000 + seq, venueTradeId: `t-${seq}`,
    };
  };
  const statuses = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED];
  const pending: AuditEvent[] = [];
  const flush = (): void => {
    if (pending.length > 0) h.record(pending.splice(0));
  };
  const ids: string[] = [];
  for (let step = 0; step < steps; step++) {
    // Mostly the order just recorded or a new one; sometimes an older one (a late event, or a
    // correction that reopens a finished order).
    const r = rand(10);
    let o: Order;
    if (ids.length === 0 || r < 2) {
      o = make(ids.length);
      ids.push(o.orderId);
    } else if (r < 7) o = latest.get(ids.at(-1)!)!;
    else o = latest.get(ids[rand(ids.length)]!)!;
    const prev = latest.get(o.orderId);
    let next: Order = o;
    if (prev !== undefined && rand(3) !== 0) next = { ...o, status: statuses[rand(statuses.length)]!, updatedAtMs: o.updatedAtMs + 1 };
    latest.set(next.orderId, next);
    if (rand(3) === 0) {
      const f = fillOf(next);
      fills.push(f);
      pending.push({ ts: 1, type: "fill", requestId: "r", order: next, fill: f });
      // Now and then the same fill again (a repeat is ignored).
      if (rand(20) === 0) pending.push({ ts: 1, type: "fill", requestId: "r", order: next, fill: fills[rand(fills.length)]! });
    }
    // The same object again, as a fill line's order is followed by its status line's.
    pending.push({ ts: 1, type: "order_accepted", requestId: "r", order: next });
    // An older order's second change in the same append (finished, then reopened by a correction...).
    if (r >= 7 && rand(2) === 0) {
      const again: Order = { ...next, status: statuses[rand(statuses.length)]!, updatedAtMs: next.updatedAtMs + 1 };
      latest.set(again.orderId, again);
      pending.push({ ts: 1, type: "order_accepted", requestId: "r", order: again });
    }
    if (rand(4) === 0) flush();
  }
  flush();
  await h.spillSettled();
  const key = (a: Order, b: Order): number => (a.createdAtMs !== b.createdAtMs ? b.createdAtMs - a.createdAtMs : a.orderId < b.orderId ? 1 : -1);
  const isOpen = (o: Order): boolean => o.status === OrderStatus.PENDING_NEW || o.status === OrderStatus.NEW || o.status === OrderStatus.PARTIALLY_FILLED;
  /** Every page of a listing, `after` the last of each, in random sizes. */
  const walk = async (q: Omit<OrderQuery, "limit" | "after">): Promise<Order[]> => {
    const all: Order[] = [];
    for (;;) {
      const last = all.at(-1);
      const limit = 1 + rand(40);
      const got = await h.listOrders({ ...q, limit, ...(last !== undefined ? { after: { createdAtMs: last.createdAtMs, orderId: last.orderId } } : {}) });
      assert.ok(got.ok, JSON.stringify(!got.ok && got.error));
      all.push(...got.value);
      if (got.value.length < limit) return all;
    }
  };
  const walkFills = async (q: Omit<FillQuery, "limit" | "beforeSequence">): Promise<Fill[]> => {
    const all: Fill[] = [];
    for (;;) {
      const last = all.at(-1);
      const limit = 1 + rand(40);
      const got = await h.listFills({ ...q, limit, ...(last !== undefined ? { beforeSequence: last.sequence } : {}) });
      assert.ok(got.ok, JSON.stringify(!got.ok && got.error));
      all.push(...got.value);
      if (got.value.length < limit) return all;
    }
  };
  const any = { venue: "", symbol: "", statuses: [], openOnly: false };
  for (const account of ["acct-0", "acct-1"]) {
    const mine = [...latest.values()].filter((o) => o.account === account).sort(key);
    assert.deepEqual(await walk({ account, ...any }), mine);
    assert.deepEqual(await walk({ account, ...any, openOnly: true }), mine.filter(isOpen));
    assert.deepEqual(await walk({ account, ...any, statuses: [OrderStatus.CANCELED], venue: "paper" }), mine.filter((o) => o.status === OrderStatus.CANCELED && o.venue === "paper"));
    const mid = mine[Math.floor(mine.length / 2)]!.createdAtMs;
    assert.deepEqual(await walk({ account, ...any, createdAfterMs: mid - 50, createdBeforeMs: mid + 50 }), mine.filter((o) => o.createdAtMs >= mid - 50 && o.createdAtMs < mid + 50));
    const paper = await walkFills({ account, orderId: "", venue: "paper", symbol: "BTC-USD" });
    assert.deepEqual(paper, fills.filter((f) => f.account === account && f.venue === "paper" && f.symbol === "BTC-USD").reverse());
    assert.deepEqual(await walkFills({ account, orderId: "", venue: "", symbol: "", timeAfterMs: 5_100, timeBeforeMs: 5_300 }), fills.filter((f) => f.account === account && f.timeMs >= 5_100 && f.timeMs < 5_300).reverse());
    for (const o of mine.slice(0, 100)) {
      const got = await h.listFills({ account, orderId: o.orderId, venue: "", symbol: "", limit: 10_000 });
      assert.ok(got.ok);
      assert.deepEqual(got.value, fills.filter((f) => f.orderId === o.orderId).reverse(), o.orderId);
    }
  }
  const indexStats = h.indexStats();
  await h.close();
  return { indexStats };
}

test("an order's events in any grouping leave the index as its last event says, listed page by page (the default sizes)", async () => {
  await checkAgainstModel({}, 7, 4_000);
});

test("with a few live rows and small segments, orders frozen while open, changed after they were frozen and created out of time order are listed as their last event says", async () => {
  // The same model with freezing everywhere: 8 live rows an account, segments of 4, a fold once 3
  // frozen orders changed; in memory and spilled to a file in 2 KB chunks (read back from it).
  const seen = { orderSegments: 0, fillSegments: 0, overrides: 0 };
  for (const seed of [1, 2, 3]) {
    const { indexStats } = await checkAgainstModel({ liveRows: 8, segmentRows: 4, foldAt: 3 }, seed, 3_000);
    seen.orderSegments += indexStats.orderSegments;
    seen.fillSegments += indexStats.fillSegments;
    seen.overrides += indexStats.overrides;
    // What stays in memory is bounded: the live rows, and the overrides until a fold (two accounts).
    assert.ok(indexStats.liveOrders <= 2 * 8 && indexStats.liveFills <= 2 * 8 && indexStats.overrides <= 2 * 3, JSON.stringify(indexStats));
    await withSpillDir(async (dir) => {
      await checkAgainstModel({ liveRows: 8, segmentRows: 4, foldAt: 3, spillDir: dir, chunkBytes: 2_048, onSpillError: (e) => assert.fail(e) }, seed, 3_000);
    });
  }
  assert.ok(seen.orderSegments > 100 && seen.fillSegments > 50, JSON.stringify(seen));
});

test("a listing that waits for a segment while the segments change (a split below it, a fold) still lists every order once, in order", async () => {
  await withSpillDir(async (dir) => {
    const h = createMemoryOrderHistory({ spillDir: dir, chunkBytes: 2_048, liveRows: 8, segmentRows: 4, foldAt: 1, onSpillError: (e) => assert.fail(e) });
    const done: Order[] = [];
    for (let i = 0; i < 200; i++) {
      const f = filledOrder(i * 3);
      h.record([f.accepted, ...f.filled]);
      if (f.done.account === "acct-0") done.push(f.done);
    }
    await h.spillSettled();
    const before = h.indexStats().orderSegments;
    // The listing reads its first (newest) segment and waits; meanwhile an order created before
    // every other splits the oldest segment, and two late cancels are folded into theirs.
    const listing = h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1_000 });
    const early: Order = { ...filledOrder(0).done, orderId: "o-early", createdAtMs: 5 };
    h.record([{ ts: 1, type: "order_filled", requestId: "r", order: early }]);
    const canceled = [done[3]!, done[30]!].map((o) => ({ ...o, status: OrderStatus.CANCELED }));
    h.record(canceled.map((order) => ({ ts: 1, type: "order_canceled", requestId: "r", order })));
    assert.equal(h.indexStats().orderSegments, before + 1, "the oldest segment was split");
    assert.equal(h.indexStats().overrides, 0, "the cancels were folded");
    const got = await listing;
    assert.ok(got.ok);
    const ids = got.value.map((o) => o.orderId);
    // Every order listed once, newest first; the early one may or may not be (it came during the listing).
    assert.deepEqual(ids.filter((id) => id !== "o-early"), [...done].reverse().map((o) => o.orderId));
    // And once it is done, a new listing sees the changes.
    const again = await h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [OrderStatus.CANCELED], openOnly: false, limit: 1_000 });
    assert.ok(again.ok);
    assert.deepEqual(again.value, [...canceled].reverse());
    await h.close();
  });
});

test("a late event whose segment cannot be read is kept all the same: told once, no throw on the append path, listed as it says", async () => {
  await withSpillDir(async (dir) => {
    const errors: Error[] = [];
    const h = createMemoryOrderHistory({
      spillDir: dir,
      chunkBytes: 2_048,
      liveRows: 8,
      segmentRows: 4,
      onSpillError: (e) => errors.push(e),
      spillIo: spillIo({
        readSync: () => {
          throw Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
        },
      }),
    });
    const done: Order[] = [];
    for (let i = 0; i < 100; i++) {
      const f = filledOrder(i);
      h.record([f.accepted, ...f.filled]);
      if (f.done.account === "acct-0") done.push(f.done);
    }
    await h.spillSettled();
    // The oldest order's segment is on disk only: its late cancel needs a blocking read, which fails.
    const canceled: Order = { ...done[0]!, status: OrderStatus.CANCELED };
    assert.doesNotThrow(() => h.record([{ ts: 1, type: "order_canceled", requestId: "r", order: canceled }]));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /EIO/);
    const got = await h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1_000 });
    assert.ok(got.ok);
    assert.deepEqual(got.value, [...done.slice(1)].reverse().concat([canceled]));
    await h.close();
  });
});

/** A filled market order and its fill, shaped like the benchmark's (about 500 bytes of records). */
function filledOrder(i: number): { accepted: AuditEvent; filled: AuditEvent[]; done: Order; fill: Fill } {
  const o: Order = {
    clientOrderId: `client-${i}-${"x".repeat(i % 20)}`, account: `acct-${i % 3}`, venue: "paper", symbol: "BTC-USD", side: Side.BUY,
    type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1.5", price: "", stopPrice: "", idempotencyKey: `acct-${i % 3}|c:client-${i}`,
    orderId: `o-${String(i).padStart(7, "0")}`, venueClientOrderId: `acct-${i % 3}|c:client-${i}`, venueOrderId: "", status: OrderStatus.PENDING_NEW,
    filledQuantity: "0", averageFillPrice: "", rejectReason: "", createdAtMs: 1_000 + i, updatedAtMs: 1_000 + i,
  };
  const done: Order = { ...o, status: OrderStatus.FILLED, venueOrderId: `paper-pv-${i}`, filledQuantity: "1.5", averageFillPrice: "65000.5" };
  const fill: Fill = {
    sequence: BigInt(i + 1), fillId: `f-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: "paper",
    symbol: "BTC-USD", side: Side.BUY, quantity: "1.5", price: "65000.5", fee: "97.5", feeCurrency: "USD", timeMs: 2_000 + i, venueTradeId: `paper-t-${i}`,
  };
  return {
    accepted: { ts: 1, type: "order_accepted", requestId: "r", order: o },
    filled: [{ ts: 2, type: "fill", requestId: "r", order: done, fill }, { ts: 2, type: "order_filled", requestId: "r", order: done }],
    done,
    fill,
  };
}

/** Runs `body` with a fresh directory for the spill file, removed afterwards. */
async function withSpillDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "history-spill-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

/** The spill file's calls as node:fs makes them, but for those given. */
function spillIo(over: Partial<HistorySpillIo>): HistorySpillIo {
  return {
    write: (fd, buf, offset, length, position, cb) => fs.write(fd, buf, offset, length, position, cb),
    read: (fd, buf, offset, length, position, cb) => fs.read(fd, buf, offset, length, position, cb),
    readSync: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
    ...over,
  };
}

test("spilled to a file, finished orders and fills come back exactly and memory holds a few chunks; the file is not in the directory", async () => {
  await withSpillDir(async (dir) => {
    const h = createMemoryOrderHistory({ spillDir: dir, chunkBytes: 16_384, onSpillError: (e) => assert.fail(e) });
    assert.deepEqual(readdirSync(dir), [], "the spill file is unlinked once open");
    const done: Order[] = [];
    const fills: Fill[] = [];
    for (let i = 0; i < 3_000; i++) {
      const f = filledOrder(i);
      h.record([f.accepted, ...f.filled]);
      if (f.done.account === "acct-1") {
        done.push(f.done);
        fills.push(f.fill);
      }
    }
    await h.spillSettled();
    const stats = h.spillStats();
    // About 900 KB of records in 16 KB chunks: all but the one being filled are on disk, and
    // memory keeps the Buffers of two chunks written last for the next ones.
    assert.ok(stats.spilled >= 50, JSON.stringify(stats));
    assert.ok(stats.inMemory <= 3, JSON.stringify(stats));
    const got = await h.listOrders({ account: "acct-1", venue: "", symbol: "", statuses: [], openOnly: false, limit: 5_000 });
    assert.ok(got.ok);
    assert.deepEqual(got.value, done.reverse());
    const gotFills = await h.listFills({ account: "acct-1", orderId: "", symbol: "", venue: "", limit: 5_000 });
    assert.ok(gotFills.ok);
    assert.deepEqual(gotFills.value, fills.reverse());
    await h.close();
  });
});

test("spilled, filled orders with their fills add nothing that stays in memory: under 10 bytes each, heap and outside, against over 250 without the spill file", async (t) => {
  // Why it matters: with the JSONL log the index holds every order ever placed; at saturation it
  // grew the gateway's RSS by megabytes a second (docs/performance.md, "60 s at saturation"). Spilled,
  // an account keeps its newest rows live and the older ones go to the file in segments.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const perOrder = async (dir: string, spill: boolean): Promise<{ outside: number; heap: number }> => {
    const h = createMemoryOrderHistory(spill ? { spillDir: dir, onSpillError: (e) => assert.fail(e) } : {});
    let i = 0;
    const add = (n: number): void => {
      for (const end = i + n; i < end; i++) {
        const f = filledOrder(i);
        h.record([f.accepted, ...f.filled]);
      }
    };
    // A freed Buffer leaves the count once V8's sweeper has run, after the GC: give it time.
    const settle = async (): Promise<NodeJS.MemoryUsage> => {
      await h.spillSettled();
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return process.memoryUsage();
    };
    add(20_000);
    const before = await settle();
    add(60_000);
    const after = await settle();
    await h.close();
    return { outside: (after.arrayBuffers - before.arrayBuffers) / 60_000, heap: (after.heapUsed - before.heapUsed) / 60_000 };
  };
  await withSpillDir(async (dir) => {
    const inMemory = await perOrder(dir, false);
    const spilled = await perOrder(dir, true);
    t.diagnostic(`bytes per filled order: in memory ${inMemory.outside.toFixed(0)} outside the heap, ${inMemory.heap.toFixed(1)} heap; spilled ${spilled.outside.toFixed(1)} outside the heap, ${spilled.heap.toFixed(1)} heap`);
    assert.ok(spilled.outside < 10 && spilled.heap < 10, `spilled: ${JSON.stringify(spilled)} bytes per order`);
    assert.ok(inMemory.outside > 250, `in memory: ${inMemory.outside.toFixed(0)} bytes per order`);
  });
});

test("a spill write that fails keeps its chunk and every later one in memory, says so once, and loses nothing", async () => {
  await withSpillDir(async (dir) => {
    let writes = 0;
    const errors: Error[] = [];
    const h = createMemoryOrderHistory({
      spillDir: dir,
      chunkBytes: 8_192,
      onSpillError: (e) => errors.push(e),
      spillIo: spillIo({
        write: (fd, buf, offset, length, position, cb) => {
          // The fifth write fails as a full disk does.
          if (++writes === 5) setImmediate(() => cb(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }), 0));
          else fs.write(fd, buf, offset, length, position, cb);
        },
      }),
    });
    const done: Order[] = [];
    for (let i = 0; i < 1_000; i++) {
      const f = filledOrder(i);
      h.record([f.accepted, ...f.filled]);
      done.push(f.done);
      // Let the writes of full chunks end now and then, as the event loop does between calls.
      if (i % 50 === 0) await h.spillSettled();
    }
    await h.spillSettled();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /ENOSPC/);
    assert.equal(writes, 5, "no write after the one that failed");
    assert.equal(h.spillStats().spilled, 4);
    for (const account of ["acct-0", "acct-1", "acct-2"]) {
      const got = await h.listOrders({ account, venue: "", symbol: "", statuses: [], openOnly: false, limit: 5_000 });
      assert.ok(got.ok);
      assert.deepEqual(got.value, done.filter((o) => o.account === account).reverse());
    }
    await h.close();
  });
});

test("a spill file that cannot be read answers UNAVAILABLE, naming the spill file, not a page with holes", async () => {
  await withSpillDir(async (dir) => {
    const h = createMemoryOrderHistory({
      spillDir: dir,
      chunkBytes: 4_096,
      spillIo: spillIo({
        read: (_fd, _buf, _offset, _length, _position, cb) => setImmediate(() => cb(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }), 0)),
      }),
    });
    for (let i = 0; i < 100; i++) {
      const f = filledOrder(i);
      h.record([f.accepted, ...f.filled]);
    }
    await h.spillSettled();
    const got = await h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [], openOnly: false, limit: 100 });
    assert.ok(!got.ok);
    assert.equal(got.error.kind, "unavailable");
    assert.match(got.error.message, /spill file could not be read \(EIO/);
    // The newest orders, still in the chunk being filled, need no read.
    const newest = await h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1 });
    assert.ok(newest.ok);
    assert.equal(newest.value[0]!.orderId, "o-0000099");
    await h.close();
  });
});

test("spilled records near each other are read together: a page of 1,000 takes a few reads of at most 64 KB, not 1,000", async () => {
  await withSpillDir(async (dir) => {
    const reads: number[] = [];
    const h = createMemoryOrderHistory({
      spillDir: dir,
      onSpillError: (e) => assert.fail(e),
      spillIo: spillIo({
        read: (fd, buf, offset, length, position, cb) => {
          reads.push(length);
          fs.read(fd, buf, offset, length, position, cb);
        },
      }),
    });
    const done: Order[] = [];
    // Of three accounts, about 1,100 bytes apart in the file: one account's records are near each other.
    for (let i = 0; i < 12_000; i++) {
      const f = filledOrder(i);
      h.record([f.accepted, ...f.filled]);
      if (f.done.account === "acct-0") done.push(f.done);
    }
    await h.spillSettled();
    assert.ok(h.spillStats().spilled >= 3, JSON.stringify(h.spillStats()));
    const page = await h.listOrders({ account: "acct-0", venue: "", symbol: "", statuses: [], openOnly: false, limit: 1_000, after: { createdAtMs: done[1_500]!.createdAtMs, orderId: done[1_500]!.orderId } });
    assert.ok(page.ok);
    assert.deepEqual(page.value, done.slice(500, 1_500).reverse());
    // 1,000 records over about 1.1 MB of the file.
    assert.ok(reads.length >= 10 && reads.length <= 40, `${reads.length} reads`);
    assert.ok(Math.max(...reads) <= 64 * 1024, `largest read ${Math.max(...reads)} bytes`);
    await h.close();
  });
});
