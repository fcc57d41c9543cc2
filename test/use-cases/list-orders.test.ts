/**
 * ListOrders / ListFills over the OrderHistory port: one suite, run against both adapters (the
 * memory index of the JSONL gateway, and the PostgreSQL audit table), so ordering and filters are
 * the same in both.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createMemoryOrderHistory } from "../../src/adapters/audit/memory-order-history.js";
import { createPostgresOrderHistory } from "../../src/adapters/audit/postgres-order-history.js";
import { createPostgresAuditSink } from "../../src/adapters/audit/postgres-sink.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../../src/domain/order.js";
import type { GatewayError } from "../../src/domain/errors.js";
import { ANONYMOUS, type Principal } from "../../src/domain/principal.js";
import type { AuditEvent } from "../../src/use-cases/audit-sink.js";
import { createListFills, createListOrders, type ListFillsInput, type ListOrdersInput } from "../../src/use-cases/list-orders.js";
import type { OrderHistory } from "../../src/use-cases/order-history.js";
import { pgUnreachable, testPgUrl } from "../helpers/test-postgres.js";

interface Backend {
  readonly history: OrderHistory;
  /** Appends events (and waits until the history sees them). */
  append(events: readonly AuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

const VENUES = ["paper", "binance"];
const SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD"];
const STATUSES = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.PENDING_NEW];

function order(n: number, over: Partial<Order> = {}): Order {
  return {
    clientOrderId: `c-${n}`,
    account: n % 4 === 3 ? "acct-B" : "acct-A",
    venue: VENUES[n % 2]!,
    symbol: SYMBOLS[n % 3]!,
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "100",
    stopPrice: "",
    idempotencyKey: "",
    // Ids whose string order differs from their numeric order (o-10 < o-9): the tie-break is the string.
    orderId: `o-${n}`,
    venueClientOrderId: `v-${n}`,
    venueOrderId: "",
    status: OrderStatus.PENDING_NEW,
    filledQuantity: "0",
    averageFillPrice: "",
    rejectReason: "",
    // Three orders per millisecond: ties on created_at are broken by order_id.
    createdAtMs: 1_000_000 + Math.floor(n / 3),
    updatedAtMs: 1_000_000 + Math.floor(n / 3),
    ...over,
  };
}

const created = (o: Order): AuditEvent => ({ ts: o.createdAtMs, type: "order_pending", requestId: `r-${o.orderId}`, order: o });

/** The events of order n: created, then moved to its final status (and a fill when it filled). */
function lifecycle(n: number, seq: () => bigint): AuditEvent[] {
  const o = order(n);
  const status = STATUSES[n % STATUSES.length]!;
  const evs: AuditEvent[] = [created(o)];
  if (status === OrderStatus.PENDING_NEW) return evs;
  const filled = status === OrderStatus.FILLED || status === OrderStatus.PARTIALLY_FILLED;
  const next: Order = { ...o, status, updatedAtMs: o.updatedAtMs + 5, ...(filled ? { filledQuantity: status === OrderStatus.FILLED ? "1" : "0.5", averageFillPrice: "100" } : {}) };
  if (filled) {
    const fill: Fill = {
      sequence: seq(),
      fillId: `f-${n}`,
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      account: o.account,
      venue: o.venue,
      symbol: o.symbol,
      side: o.side,
      quantity: next.filledQuantity,
      price: "100",
      fee: "0",
      feeCurrency: "",
      timeMs: o.createdAtMs + 5,
      venueTradeId: `t-${n}`,
    };
    evs.push({ ts: next.updatedAtMs, type: "fill", requestId: "venue-poll", order: next, fill });
  }
  evs.push({ ts: next.updatedAtMs, type: filled ? (status === OrderStatus.FILLED ? "order_filled" : "order_partially_filled") : "order_canceled", requestId: "venue-poll", order: next });
  return evs;
}

function memoryBackend(): Promise<Backend> {
  const history = createMemoryOrderHistory();
  return Promise.resolve({
    history,
    append: async (events) => history.record(events),
    close: () => history.close(),
  });
}

/**
 * The memory index spilling to a file, with chunks of 1 KB (a few records each): after each
 * append the full chunks are on disk only, so nearly every finished order and fill of a page is
 * read back from the file. Each account keeps 6 orders and 6 fills live and freezes the older ones
 * 3 to a segment, and folds as soon as 2 frozen orders changed: every listing crosses many
 * segments read from the file, orders that finish or change after they were frozen included.
 */
function spilledMemoryBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "history-spill-"));
  const history = createMemoryOrderHistory({ spillDir: dir, chunkBytes: 1024, liveRows: 6, segmentRows: 3, foldAt: 2, onSpillError: (e) => assert.fail(e) });
  return Promise.resolve({
    history,
    append: async (events) => {
      history.record(events);
      await history.spillSettled();
    },
    close: async () => {
      assert.ok(history.spillStats().spilled > 10, JSON.stringify(history.spillStats()));
      assert.ok(history.indexStats().orderSegments > 5 && history.indexStats().fillSegments > 5, JSON.stringify(history.indexStats()));
      await history.close();
      rmSync(dir, { recursive: true });
    },
  });
}

async function postgresBackend(): Promise<Backend> {
  const table = `list_orders_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const sink = await createPostgresAuditSink({ connectionString: testPgUrl, table, mode: "fsync" });
  const history = await createPostgresOrderHistory({ connectionString: testPgUrl, table });
  return {
    history,
    append: async (events) => {
      await sink.append(events);
    },
    close: async () => {
      await history.close();
      await sink.close();
      const c = new pg.Client({ connectionString: testPgUrl });
      await c.connect();
      await c.query(`DROP TABLE IF EXISTS "${table}"; DROP FUNCTION IF EXISTS "${table}_append_only"`);
      await c.end();
    },
  };
}

const input = (over: Partial<ListOrdersInput> = {}): ListOrdersInput => ({
  account: "acct-A",
  venue: "",
  symbol: "",
  statuses: [],
  openOnly: false,
  pageSize: 0,
  pageToken: "",
  ...over,
});
const fillInput = (over: Partial<ListFillsInput> = {}): ListFillsInput => ({ account: "acct-A", orderId: "", symbol: "", venue: "", pageSize: 0, pageToken: "", ...over });

const newestFirst = (a: Order, b: Order): number => (a.createdAtMs !== b.createdAtMs ? b.createdAtMs - a.createdAtMs : a.orderId < b.orderId ? 1 : a.orderId > b.orderId ? -1 : 0);

function violationFields(e: GatewayError): string[] {
  assert.equal(e.kind, "invalid_argument", e.message);
  return e.kind === "invalid_argument" ? e.violations.map((v) => v.field) : [];
}

const N = 120;

for (const [name, make] of [
  ["memory (JSONL)", memoryBackend],
  ["memory (JSONL) spilled to a file", spilledMemoryBackend],
  ["postgres", postgresBackend],
] as const) {
  describe(`ListOrders / ListFills on the ${name} history`, async () => {
    const skip = name === "postgres" ? await pgUnreachable() : undefined;
    let be: Backend;
    /** Every order's current state, as the suite wrote it. */
    const truth = new Map<string, Order>();
    const fills: Fill[] = [];
    let seq = 0n;
    const nextSeq = (): bigint => ++seq;
    const append = async (events: AuditEvent[]): Promise<void> => {
      for (const e of events) {
        if (e.order !== undefined) truth.set(e.order.orderId, e.order);
        if (e.fill !== undefined) fills.push(e.fill);
      }
      await be.append(events);
    };
    const listOrders = () => createListOrders({ history: be.history, live: () => undefined });
    const listFills = () => createListFills({ history: be.history });

    /** Every page of a query, walked with `pageSize`; `between` runs after each page. */
    async function walk(q: ListOrdersInput, principal: Principal = ANONYMOUS, between?: (page: number) => Promise<void>): Promise<Order[]> {
      const list = listOrders();
      const out: Order[] = [];
      let token = "";
      for (let page = 0; page < 1000; page++) {
        const r = await list({ ...q, pageToken: token }, principal);
        assert.ok(r.ok, r.ok ? "" : r.error.message);
        assert.ok(r.value.items.length <= (q.pageSize || 100));
        out.push(...r.value.items);
        token = r.value.nextPageToken;
        if (token === "") return out;
        await between?.(page);
      }
      assert.fail("too many pages");
    }

    test("setup", { skip }, async () => {
      be = await make();
      for (let n = 0; n < N; n++) await append(lifecycle(n, nextSeq));
    });

    test("walking every page gives exactly the account's orders, newest first, with orders inserted between pages", { skip }, async () => {
      const expected = [...truth.values()].filter((o) => o.account === "acct-A").sort(newestFirst);
      let extra = 0;
      const got = await walk(input({ pageSize: 7 }), ANONYMOUS, async () => {
        // New orders (newer created_at) arrive while the client pages: they must not shift or repeat later pages.
        await append([created(order(10_000 + extra, { account: "acct-A", createdAtMs: 2_000_000 + extra }))]);
        extra++;
      });
      assert.ok(extra > 5);
      assert.deepEqual(
        got.map((o) => o.orderId),
        expected.map((o) => o.orderId),
      );
      assert.deepEqual(got, expected);
      // The new ones are listed by a fresh walk, first.
      const again = await walk(input({ pageSize: 50 }));
      assert.equal(again.length, expected.length + extra);
      assert.equal(again[0]!.orderId, `o-${10_000 + extra - 1}`);
    });

    test("filters: venue, symbol, statuses, open_only, created range, alone and combined", { skip }, async () => {
      const all = [...truth.values()].filter((o) => o.account === "acct-A");
      const open = new Set([OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE]);
      const cases: Array<[Partial<ListOrdersInput>, (o: Order) => boolean]> = [
        [{ venue: "binance" }, (o) => o.venue === "binance"],
        [{ symbol: "ETH-USD" }, (o) => o.symbol === "ETH-USD"],
        [{ statuses: [OrderStatus.FILLED, OrderStatus.CANCELED] }, (o) => o.status === OrderStatus.FILLED || o.status === OrderStatus.CANCELED],
        [{ openOnly: true }, (o) => open.has(o.status)],
        [{ openOnly: true, statuses: [OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED] }, (o) => o.status === OrderStatus.PARTIALLY_FILLED],
        [{ openOnly: true, statuses: [OrderStatus.FILLED] }, () => false],
        [{ createdAfterMs: 1_000_010, createdBeforeMs: 1_000_030 }, (o) => o.createdAtMs >= 1_000_010 && o.createdAtMs < 1_000_030],
        [
          { venue: "paper", symbol: "BTC-USD", createdAfterMs: 1_000_005, statuses: [OrderStatus.PENDING_NEW, OrderStatus.CANCELED, OrderStatus.FILLED] },
          (o) => o.venue === "paper" && o.symbol === "BTC-USD" && o.createdAtMs >= 1_000_005 && [OrderStatus.PENDING_NEW, OrderStatus.CANCELED, OrderStatus.FILLED].includes(o.status),
        ],
        [{ venue: "nowhere" }, () => false],
      ];
      for (const [q, pred] of cases) {
        const expected = all.filter(pred).sort(newestFirst).map((o) => o.orderId);
        const got = await walk(input({ ...q, pageSize: 4 }));
        assert.deepEqual(
          got.map((o) => o.orderId),
          expected,
          JSON.stringify(q),
        );
      }
      assert.ok(all.filter((o) => o.status === OrderStatus.FILLED).length > 0);
    });

    test("a status change is seen: an order that fills leaves open_only", { skip }, async () => {
      const o = truth.get("o-1")!; // NEW... or whatever lifecycle gave it: make it open, then filled
      const working: Order = { ...o, status: OrderStatus.NEW, updatedAtMs: o.updatedAtMs + 1 };
      await append([{ ts: working.updatedAtMs, type: "order_accepted", requestId: "r", order: working }]);
      let ids = (await walk(input({ openOnly: true, pageSize: 1000 }))).map((x) => x.orderId);
      assert.ok(ids.includes("o-1"));
      const done: Order = { ...working, status: OrderStatus.CANCELED, updatedAtMs: working.updatedAtMs + 1 };
      await append([{ ts: done.updatedAtMs, type: "order_canceled", requestId: "r", order: done }]);
      ids = (await walk(input({ openOnly: true, pageSize: 1000 }))).map((x) => x.orderId);
      assert.ok(!ids.includes("o-1"));
      const one = (await walk(input({ statuses: [OrderStatus.CANCELED], pageSize: 1000 }))).find((x) => x.orderId === "o-1");
      assert.deepEqual(one, done);
    });

    test("a history that lags (PostgreSQL) is overlaid with the order manager's newer state, filters applied to it", { skip: skip ?? (name === "postgres" ? undefined : "the memory index is current") }, async () => {
      const o = truth.get("o-5")!;
      const newer: Order = { ...o, status: OrderStatus.EXPIRED, updatedAtMs: o.updatedAtMs + 100 };
      const list = createListOrders({ history: be.history, live: (id) => (id === "o-5" ? newer : undefined) });
      const expired = await list(input({ statuses: [OrderStatus.EXPIRED], pageSize: 1000 }), ANONYMOUS);
      assert.ok(expired.ok);
      // Not found by the store's status filter (it has the old status): a lagging store cannot add it.
      assert.deepEqual(expired.value.items, []);
      const any = await list(input({ pageSize: 1000 }), ANONYMOUS);
      assert.ok(any.ok);
      assert.deepEqual(
        any.value.items.find((x) => x.orderId === "o-5"),
        newer,
      );
      const old = await list(input({ statuses: [o.status], pageSize: 1000 }), ANONYMOUS);
      assert.ok(old.ok);
      assert.ok(!old.value.items.some((x) => x.orderId === "o-5"), "the newer state no longer matches: left out");
    });

    test("an order recorded late (a clock stepped back) is listed in its place by created_at", { skip }, async () => {
      const late = order(30_000, { account: "acct-A", createdAtMs: 1_000_004 });
      await append([created(late)]);
      const expected = [...truth.values()].filter((o) => o.account === "acct-A").sort(newestFirst);
      const got = await walk(input({ pageSize: 9 }));
      assert.deepEqual(
        got.map((o) => o.orderId),
        expected.map((o) => o.orderId),
      );
      assert.ok(got.some((o) => o.orderId === late.orderId));
    });

    test("page_size: 0 means 100, 1000 is the most, 1001 is INVALID_ARGUMENT naming page_size", { skip }, async () => {
      const list = listOrders();
      const d = await list(input(), ANONYMOUS);
      assert.ok(d.ok);
      assert.equal(d.value.items.length, 100);
      assert.notEqual(d.value.nextPageToken, "");
      const max = await list(input({ pageSize: 1000 }), ANONYMOUS);
      assert.ok(max.ok);
      assert.equal(max.value.nextPageToken, "");
      const over = await list(input({ pageSize: 1001 }), ANONYMOUS);
      assert.ok(!over.ok);
      assert.deepEqual(violationFields(over.error), ["page_size"]);
    });

    test("a foreign, tampered or malformed page_token is INVALID_ARGUMENT naming page_token", { skip }, async () => {
      const list = listOrders();
      const first = await list(input({ pageSize: 3, venue: "paper" }), ANONYMOUS);
      assert.ok(first.ok);
      const token = first.value.nextPageToken;
      assert.ok((await list(input({ pageSize: 3, venue: "paper", pageToken: token }), ANONYMOUS)).ok);
      // Another page size is the same query.
      assert.ok((await list(input({ pageSize: 9, venue: "paper", pageToken: token }), ANONYMOUS)).ok);
      const fillsPage = await listFills()(fillInput({ pageSize: 1 }), ANONYMOUS);
      assert.ok(fillsPage.ok);
      assert.notEqual(fillsPage.value.nextPageToken, "");
      const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
      const bad = [
        ["other filters", input({ pageSize: 3, venue: "binance", pageToken: token })],
        ["other account", input({ pageSize: 3, venue: "paper", account: "acct-B", pageToken: token })],
        ["tampered payload", input({ pageSize: 3, venue: "paper", pageToken: flip(token, 5) })],
        ["tampered mac", input({ pageSize: 3, venue: "paper", pageToken: flip(token, token.length - 2) })],
        ["garbage", input({ pageSize: 3, venue: "paper", pageToken: "hello" })],
        ["ListFills' token", input({ pageSize: 3, venue: "paper", pageToken: fillsPage.value.nextPageToken })],
      ] as const;
      for (const [why, q] of bad) {
        const r = await list(q, ANONYMOUS);
        assert.ok(!r.ok, why);
        assert.deepEqual(violationFields(r.error), ["page_token"], why);
      }
      const f = await listFills()(fillInput({ pageSize: 1, pageToken: token }), ANONYMOUS);
      assert.ok(!f.ok);
      assert.deepEqual(violationFields(f.error), ["page_token"]);
    });

    test("bad requests name their field; an account the key may not use is PERMISSION_DENIED", { skip }, async () => {
      const list = listOrders();
      const cases: Array<[Partial<ListOrdersInput>, string[]]> = [
        [{ account: "" }, ["account"]],
        [{ account: "has space" }, ["account"]],
        [{ statuses: [OrderStatus.UNSPECIFIED] }, ["statuses"]],
        [{ statuses: [99] }, ["statuses"]],
        [{ createdAfterMs: 5, createdBeforeMs: 5 }, ["created_after"]],
        [{ venue: "x".repeat(129) }, ["venue"]],
      ];
      for (const [q, fields] of cases) {
        const r = await list(input(q), ANONYMOUS);
        assert.ok(!r.ok, JSON.stringify(q));
        assert.deepEqual(violationFields(r.error), fields);
      }
      const onlyB: Principal = { keyId: "k", accounts: new Set(["acct-B"]) };
      const r = await list(input(), onlyB);
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "permission_denied");
      const rf = await listFills()(fillInput(), onlyB);
      assert.ok(!rf.ok);
      assert.equal(rf.error.kind, "permission_denied");
      const okB = await list(input({ account: "acct-B" }), onlyB);
      assert.ok(okB.ok);
      assert.ok(okB.value.items.length > 0 && okB.value.items.every((o) => o.account === "acct-B"));
    });

    test("ListFills: every page by sequence descending, filters, paging with fills appended between pages", { skip }, async () => {
      const mine = fills.filter((f) => f.account === "acct-A");
      const cases: Array<[Partial<ListFillsInput>, (f: Fill) => boolean]> = [
        [{}, () => true],
        [{ orderId: mine[2]!.orderId }, (f) => f.orderId === mine[2]!.orderId],
        [{ symbol: "SOL-USD" }, (f) => f.symbol === "SOL-USD"],
        [{ venue: "paper" }, (f) => f.venue === "paper"],
        [{ timeAfterMs: 1_000_010, timeBeforeMs: 1_000_025 }, (f) => f.timeMs >= 1_000_010 && f.timeMs < 1_000_025],
      ];
      let extraFill = 0;
      for (const [q, pred] of cases) {
        // Fills appended by an earlier case are older than this walk's first page: included.
        const expected = fills.filter((f) => f.account === "acct-A" && pred(f)).map((f) => f.sequence).sort((a, b) => (a < b ? 1 : -1));
        const got: Fill[] = [];
        let token = "";
        let added = 0;
        // n % 6 == 2: a FILLED order of acct-A (n % 4 == 0), so a new fill with a newer sequence.
        do {
          const r = await listFills()(fillInput({ ...q, pageSize: 3, pageToken: token }), ANONYMOUS);
          assert.ok(r.ok, r.ok ? "" : r.error.message);
          got.push(...r.value.items);
          token = r.value.nextPageToken;
          if (token !== "" && added < 3) {
            added++;
            await append(lifecycle(20_000 + ++extraFill * 12, nextSeq));
          }
        } while (token !== "");
        assert.deepEqual(
          got.map((f) => f.sequence),
          expected,
          JSON.stringify(q),
        );
      }
      const full = await listFills()(fillInput({ orderId: mine[0]!.orderId }), ANONYMOUS);
      assert.ok(full.ok);
      assert.deepEqual(full.value.items, [mine[0]]);
    });

    test("teardown", { skip }, async () => {
      await be.close();
    });
  });
}
