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
import { createMemoryOrderHistory, type HistorySpillIo } from "../../../src/adapters/audit/memory-order-history.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../../../src/domain/order.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";

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

test("an order's events in any grouping leave the index as its last event says (the row of the order recorded last is reused)", async () => {
  // The index remembers the order recorded last and finds its row without a search; its fills
  // share that row's id bytes, venue and symbol. Checked against a plain model: every order as its
  // last event left it, in listing order, and every fill by its order id, venue and symbol.
  const h = createMemoryOrderHistory();
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor(seed / 65_536) % n;
  };
  const latest = new Map<string, Order>();
  const fills: Fill[] = [];
  let seq = 0;
  const make = (i: number): Order => ({
    clientOrderId: `c-${i}`, account: `acct-${i % 2}`, venue: i % 3 === 0 ? "paper" : "other", symbol: i % 4 === 0 ? "BTC-USD" : "ETH-USD",
    side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "3", price: "100", stopPrice: "", idempotencyKey: `k-${i}`,
    orderId: `o-${String(i).padStart(4, "0")}`, venueClientOrderId: `v-${i}`, venueOrderId: "", status: OrderStatus.PENDING_NEW, filledQuantity: "0",
    averageFillPrice: "", rejectReason: "", createdAtMs: 1_000 + i, updatedAtMs: 1_000 + i,
  });
  const fillOf = (o: Order): Fill => {
    seq++;
    return {
      sequence: BigInt(seq), fillId: `f-${seq}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: o.venue,
      symbol: o.symbol, side: o.side, quantity: "1", price: "100", fee: "0", feeCurrency: "USD", timeMs: 5_000 + seq, venueTradeId: `t-${seq}`,
    };
  };
  const statuses = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED];
  const pending: { ts: number; type: "order_accepted" | "fill"; requestId: string; order: Order; fill?: Fill }[] = [];
  const flush = (): void => {
    if (pending.length > 0) h.record(pending.splice(0));
  };
  let made = 0;
  for (let step = 0; step < 4_000; step++) {
    // Mostly the order just recorded or a new one; sometimes an older one (a late event, or a
    // correction that reopens a finished order).
    const r = rand(10);
    let o: Order;
    if (made === 0 || r < 2) o = make(made++);
    else if (r < 7) o = latest.get(`o-${String(made - 1).padStart(4, "0")}`)!;
    else o = latest.get(`o-${String(rand(made)).padStart(4, "0")}`)!;
    const prev = latest.get(o.orderId);
    let next: Order = o;
    if (prev !== undefined && rand(3) !== 0) next = { ...o, status: statuses[rand(statuses.length)]!, updatedAtMs: o.updatedAtMs + 1 };
    latest.set(next.orderId, next);
    if (rand(3) === 0) {
      const f = fillOf(next);
      fills.push(f);
      pending.push({ ts: 1, type: "fill", requestId: "r", order: next, fill: f });
    }
    // The same object again, as a fill line's order is followed by its status line's.
    pending.push({ ts: 1, type: "order_accepted", requestId: "r", order: next });
    if (rand(4) === 0) flush();
  }
  flush();
  const key = (a: Order, b: Order): number => (a.createdAtMs !== b.createdAtMs ? b.createdAtMs - a.createdAtMs : a.orderId < b.orderId ? 1 : -1);
  const isOpen = (o: Order): boolean => o.status === OrderStatus.PENDING_NEW || o.status === OrderStatus.NEW || o.status === OrderStatus.PARTIALLY_FILLED;
  for (const account of ["acct-0", "acct-1"]) {
    const mine = [...latest.values()].filter((o) => o.account === account).sort(key);
    const all = await h.listOrders({ account, venue: "", symbol: "", statuses: [], openOnly: false, limit: 10_000 });
    assert.ok(all.ok);
    assert.deepEqual(all.value, mine);
    const open = await h.listOrders({ account, venue: "", symbol: "", statuses: [], openOnly: true, limit: 10_000 });
    assert.ok(open.ok);
    assert.deepEqual(open.value, mine.filter(isOpen));
    const paper = await h.listFills({ account, orderId: "", venue: "paper", symbol: "BTC-USD", limit: 10_000 });
    assert.ok(paper.ok);
    assert.deepEqual(paper.value, fills.filter((f) => f.account === account && f.venue === "paper" && f.symbol === "BTC-USD").reverse());
    for (const o of mine.slice(0, 200)) {
      const got = await h.listFills({ account, orderId: o.orderId, venue: "", symbol: "", limit: 10_000 });
      assert.ok(got.ok);
      assert.deepEqual(got.value, fills.filter((f) => f.orderId === o.orderId).reverse(), o.orderId);
    }
  }
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

test("spilled, a filled order with its fill adds its row and its id to memory: under 100 bytes, against over 250 without the spill file", async (t) => {
  // Why it matters: with the JSONL log the index holds every order ever placed; at saturation it
  // grew the gateway's RSS by megabytes a second (docs/performance.md, "60 s at saturation").
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const perOrder = async (dir: string, spill: boolean): Promise<number> => {
    const h = createMemoryOrderHistory(spill ? { spillDir: dir, onSpillError: (e) => assert.fail(e) } : {});
    let i = 0;
    const add = (n: number): void => {
      for (const end = i + n; i < end; i++) {
        const f = filledOrder(i);
        h.record([f.accepted, ...f.filled]);
      }
    };
    // A freed Buffer leaves the count once V8's sweeper has run, after the GC: give it time.
    const settle = async (): Promise<number> => {
      await h.spillSettled();
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return process.memoryUsage().arrayBuffers;
    };
    // Three accounts of 23,334 orders each, their columns at 32,768 rows: the next 9,000 orders of
    // each need no doubling, so what is counted is what an order adds, not a column's growth.
    add(70_000);
    const before = await settle();
    add(27_000);
    const bytes = ((await settle()) - before) / 27_000;
    await h.close();
    return bytes;
  };
  await withSpillDir(async (dir) => {
    const inMemory = await perOrder(dir, false);
    const spilled = await perOrder(dir, true);
    t.diagnostic(`bytes per filled order outside the heap: ${inMemory.toFixed(0)} in memory, ${spilled.toFixed(0)} spilled`);
    assert.ok(spilled < 100, `spilled: ${spilled.toFixed(0)} bytes per order`);
    assert.ok(inMemory > 250, `in memory: ${inMemory.toFixed(0)} bytes per order`);
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
