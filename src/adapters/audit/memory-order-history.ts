import type { Fill, Order } from "../../domain/order.js";
import { FILL_FIELDS } from "../../domain/order-fields.js";
import { isTerminal } from "../../domain/order-state.js";
import { createOrderTupleJson, orderFromTuple, type OrderTupleJson } from "../../domain/order-tuple.js";
import { ok } from "../../domain/result.js";
import type { AuditEvent } from "../../use-cases/audit-sink.js";
import { admittedStatuses, compareOrderKey, type FillQuery, type OrderHistory, type OrderQuery } from "../../use-cases/order-history.js";

/**
 * The order history of a gateway whose audit log is a JSONL file (or off): an index in memory,
 * built at start-up from the log (composition-root.ts feeds it the events recovery reads) and fed
 * every event as it is appended, so it is as current as the order manager.
 *
 * Per account, orders sorted by (created_at, order_id) and fills in sequence order: a page is a
 * binary search for the cursor and a walk of `limit` matching entries (10,000 open orders, page of
 * 100: bench/list-orders.ts).
 *
 * Memory, per order: an open order keeps a reference to the order manager's own object (nothing
 * copied); a finished one is its tuple JSON (order-tuple.ts) in an arena of Buffers outside the
 * heap, and an entry on the heap. Measured (200,000 filled market orders with one fill each): about
 * 290 bytes of heap (the two entries, the order id, the Map slot) and 270 bytes outside it per
 * order with its fill. A million such orders is thus about 560 MB: a gateway keeping that much
 * history should use the PostgreSQL audit backend, whose history lives in the database.
 * Recording costs a few microseconds of CPU per order on the append path (packing shares the
 * pipeline's memo: the order manager has just packed the same finished order).
 */

interface OrderEntry {
  readonly c: number;
  readonly id: string;
  readonly venue: string;
  readonly symbol: string;
  status: number;
  /** Open: the order itself (shared with the order manager). Finished: where its tuple JSON is in the arena. */
  o: Order | number;
  /** Finished: the tuple JSON's length in bytes. */
  len: number;
}

const ARENA_CHUNK = 1 << 20;

/**
 * Append-only bytes outside the JavaScript heap (Buffers of 1 MB) for finished orders' tuple JSON:
 * the garbage collector neither traces nor counts them, as the order manager's record rings
 * (record-ring.ts). A position is chunk * ARENA_CHUNK + offset. An order re-packed (a late fill on
 * a finished order: rare) leaves its old bytes behind.
 */
function createArena() {
  const chunks: Buffer[] = [];
  let used = ARENA_CHUNK;
  return {
    put(json: string): [number, number] {
      const len = Buffer.byteLength(json);
      if (len > ARENA_CHUNK) throw new Error(`order record of ${len} bytes`);
      if (used + len > ARENA_CHUNK) {
        chunks.push(Buffer.allocUnsafeSlow(ARENA_CHUNK));
        used = 0;
      }
      const at = used;
      chunks.at(-1)!.write(json, at, "utf8");
      used += len;
      return [(chunks.length - 1) * ARENA_CHUNK + at, len];
    },
    get(pos: number, len: number): string {
      const c = Math.floor(pos / ARENA_CHUNK);
      const at = pos - c * ARENA_CHUNK;
      return chunks[c]!.toString("utf8", at, at + len);
    },
    get bytes(): number {
      return chunks.length * ARENA_CHUNK;
    },
  };
}

interface FillEntry {
  /** The sequence as a number: exact below 2^53 fills, and a bigint would be one more heap object per fill. */
  readonly seq: number;
  readonly orderId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly timeMs: number;
  /** Where the fill's values in FILL_FIELDS order (the bigint sequence as a string), as JSON, are in the arena. */
  readonly pos: number;
  readonly len: number;
}

interface Account {
  /** Ascending by (c, id). */
  readonly orders: OrderEntry[];
  /** Ascending by sequence. */
  readonly fills: FillEntry[];
}

const FILL_KEYS = FILL_FIELDS.map((f) => f.key);
const FILL_BIGINT = FILL_FIELDS.map((f) => f.kind === "bigint");

function packFill(f: Fill): string {
  const r = f as unknown as Record<string, unknown>;
  return JSON.stringify(FILL_KEYS.map((k, i) => (FILL_BIGINT[i] ? String(r[k]) : r[k])));
}

function unpackFill(s: string): Fill {
  const t = JSON.parse(s) as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < FILL_KEYS.length; i++) out[FILL_KEYS[i]!] = FILL_BIGINT[i] ? BigInt(t[i] as string) : t[i];
  return out as unknown as Fill;
}

/** First index whose key is >= (ms, id) (`strict`: > (ms, id)). */
function lowerBound(a: readonly OrderEntry[], ms: number, id: string, strict: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareOrderKey(a[mid]!.c, a[mid]!.id, ms, id);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface MemoryOrderHistoryOptions {
  /** Share the order pipeline's packer: a finished order is then packed once for all (order-tuple.ts). */
  readonly orderTupleJson?: OrderTupleJson;
}

export function createMemoryOrderHistory(opts: MemoryOrderHistoryOptions = {}): OrderHistory {
  const pack = opts.orderTupleJson ?? createOrderTupleJson();
  const accounts = new Map<string, Account>();
  const byId = new Map<string, OrderEntry>();
  const arena = createArena();
  /** The last finished order written to the arena, and where. */
  let lastPut: Order | undefined;
  let lastPos = 0;
  let lastLen = 0;
  /** Venue and symbol strings, one copy each (orders read from the log each bring their own). */
  const interned = new Map<string, string>();
  const intern = (s: string): string => {
    const x = interned.get(s);
    if (x !== undefined) return x;
    interned.set(s, s);
    return s;
  };

  function accountOf(name: string): Account {
    let a = accounts.get(name);
    if (a === undefined) {
      a = { orders: [], fills: [] };
      accounts.set(name, a);
    }
    return a;
  }

  function recordOrder(o: Order): void {
    let value: Order | number = o;
    let len = 0;
    if (isTerminal(o.status)) {
      // The same finished order twice in a row (a fill and the status change it caused are two
      // events of one append) is written once.
      if (o !== lastPut) {
        [lastPos, lastLen] = arena.put(pack(o));
        lastPut = o;
      }
      value = lastPos;
      len = lastLen;
    }
    const e = byId.get(o.orderId);
    if (e !== undefined) {
      e.status = o.status;
      e.o = value;
      e.len = len;
      return;
    }
    const entry: OrderEntry = { c: o.createdAtMs, id: o.orderId, venue: intern(o.venue), symbol: intern(o.symbol), status: o.status, o: value, len };
    byId.set(o.orderId, entry);
    const list = accountOf(o.account).orders;
    const last = list.at(-1);
    // Nearly always the newest: appended. A clock step back or an order recorded late is inserted in place.
    if (last === undefined || compareOrderKey(last.c, last.id, entry.c, entry.id) < 0) list.push(entry);
    else list.splice(lowerBound(list, entry.c, entry.id, false), 0, entry);
  }

  function recordFill(f: Fill): void {
    const list = accountOf(f.account).fills;
    const last = list.at(-1);
    const seq = Number(f.sequence);
    if (last !== undefined && last.seq >= seq) {
      // Sequences are appended in order; a repeat (the same fill twice) is ignored, and anything
      // else is inserted in place.
      if (list.some((x) => x.seq === seq)) return;
    }
    const [pos, len] = arena.put(packFill(f));
    const entry: FillEntry = { seq, orderId: f.orderId, venue: intern(f.venue), symbol: intern(f.symbol), timeMs: f.timeMs, pos, len };
    if (last === undefined || last.seq < seq) list.push(entry);
    else {
      let i = list.length;
      while (i > 0 && list[i - 1]!.seq > seq) i--;
      list.splice(i, 0, entry);
    }
  }

  return {
    current: true,
    record(events: readonly AuditEvent[]): void {
      for (const e of events) {
        if (e.order !== undefined) recordOrder(e.order);
        if (e.fill !== undefined) recordFill(e.fill);
      }
    },
    async listOrders(q: OrderQuery) {
      const out: Order[] = [];
      const a = accounts.get(q.account);
      const statuses = admittedStatuses(q);
      if (a === undefined || statuses?.size === 0) return ok(out);
      const list = a.orders;
      // Walk down from just below the cursor (or created_before), newest first.
      let i = list.length;
      if (q.after !== undefined) i = Math.min(i, lowerBound(list, q.after.createdAtMs, q.after.orderId, false));
      if (q.createdBeforeMs !== undefined) i = Math.min(i, lowerBound(list, q.createdBeforeMs, "", false));
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const e = list[i]!;
        if (q.createdAfterMs !== undefined && e.c < q.createdAfterMs) break;
        if (q.venue !== "" && e.venue !== q.venue) continue;
        if (q.symbol !== "" && e.symbol !== q.symbol) continue;
        if (statuses !== undefined && !statuses.has(e.status)) continue;
        out.push(typeof e.o === "number" ? orderFromTuple(JSON.parse(arena.get(e.o, e.len)) as unknown[]) : e.o);
      }
      return ok(out);
    },
    async listFills(q: FillQuery) {
      const out: Fill[] = [];
      const a = accounts.get(q.account);
      if (a === undefined) return ok(out);
      const list = a.fills;
      let i = list.length;
      if (q.beforeSequence !== undefined) {
        const before = Number(q.beforeSequence);
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (list[mid]!.seq < before) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const e = list[i]!;
        if (q.orderId !== "" && e.orderId !== q.orderId) continue;
        if (q.venue !== "" && e.venue !== q.venue) continue;
        if (q.symbol !== "" && e.symbol !== q.symbol) continue;
        if (q.timeAfterMs !== undefined && e.timeMs < q.timeAfterMs) continue;
        if (q.timeBeforeMs !== undefined && e.timeMs >= q.timeBeforeMs) continue;
        out.push(unpackFill(arena.get(e.pos, e.len)));
      }
      return ok(out);
    },
    async close() {},
  };
}
