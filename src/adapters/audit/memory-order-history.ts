import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GatewayError } from "../../domain/errors.js";
import type { Fill, Order } from "../../domain/order.js";
import { FILL_FIELDS } from "../../domain/order-fields.js";
import { isTerminal } from "../../domain/order-state.js";
import { createOrderTupleJson, orderFromTuple, type OrderTupleJson } from "../../domain/order-tuple.js";
import { err, ok, type Result } from "../../domain/result.js";
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
 * Why nothing per order on the heap: this index keeps every order the gateway ever saw, growing by
 * thousands a second under load. Kept as objects (an entry, its id, a Map slot: about 290 bytes
 * each), every scavenge copied and every full GC marked them, and PlaceOrder's CPU per call rose
 * with the count (docs/performance.md, issues 20 and 21). So, as the order manager's record rings
 * (record-ring.ts): an open order is a reference to the order manager's own object (bounded by
 * the open orders), and everything else is numbers in typed-array columns and bytes in arenas of
 * Buffers, memory the GC neither traces nor copies: each order id, a finished order's tuple JSON
 * (order-tuple.ts) and a fill's values.
 *
 * Why a spill file: outside the heap is still memory, about 500 bytes per filled order with its
 * fill, and the gateway's RSS grew by megabytes a second at saturation (issue 25). With `spillDir`
 * (the audit log's directory) the records go to a file once their chunk is full, and memory keeps
 * per order its row of columns and its id: about 125 bytes, the columns' doubling included
 * (docs/order-history.md). A page reads the records it needs back from the file, those near each
 * other in one read (the OS's page cache usually has them). A gateway keeping many millions of orders should still use the
 * PostgreSQL audit backend, whose history lives in the database.
 */

const ARENA_CHUNK = 1 << 20;
/** Written chunks' Buffers kept for reuse: one being filled while one is written covers a steady load. */
const SPARE_CHUNKS = 2;
/** A page's records this close in the spill file are read together, in reads of at most READ_RANGE_MAX. */
const READ_GAP_MAX = 8 * 1024;
const READ_RANGE_MAX = 64 * 1024;

/**
 * The file calls the arena makes when it spills (a seam for tests: a write that fails). Production
 * uses node:fs's callback API, which runs them on libuv's thread pool.
 */
export interface HistorySpillIo {
  write(fd: number, buf: Buffer, offset: number, length: number, position: number, cb: (err: NodeJS.ErrnoException | null, written: number) => void): void;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number, cb: (err: NodeJS.ErrnoException | null, read: number) => void): void;
}

const nodeSpillIo: HistorySpillIo = {
  write: (fd, buf, offset, length, position, cb) => fs.write(fd, buf, offset, length, position, cb),
  read: (fd, buf, offset, length, position, cb) => fs.read(fd, buf, offset, length, position, cb),
};

interface Spill {
  readonly fd: number;
  readonly io: HistorySpillIo;
  /** Told of the first write that fails (spilling then stops). */
  readonly onError: (e: Error) => void;
}

/**
 * Append-only bytes outside the JavaScript heap, in chunks (1 MB Buffers). A position is chunk *
 * chunkBytes + offset. A record re-written (a late fill on a finished order: rare) leaves its old
 * bytes behind.
 *
 * With `spill`, a full chunk is written to the spill file at its own position and, once written,
 * its Buffer is taken for a later chunk: memory holds the chunk being filled and those still being
 * written, whatever the count of records, and a record on disk is read back when a page asks for
 * it. A write that fails keeps that chunk in memory for good and stops spilling (nothing is lost;
 * `spill.onError` is told once).
 */
function createArena(chunkBytes: number, spill?: Spill) {
  /** undefined: the chunk is in the spill file only. */
  const chunks: (Buffer | undefined)[] = [];
  /** Buffers of spilled chunks, ready to be filled again. */
  const spare: Buffer[] = [];
  let used = chunkBytes;
  let lastLen = 0;
  /** Whether full chunks are still written out (`spill` stays, for reading what was written). */
  let spilling = spill;
  let writing = 0;
  /** Waiting for `writing` to reach 0. */
  let waiters: (() => void)[] = [];

  function spillChunk(index: number, length: number): void {
    const sp = spilling!;
    const buf = chunks[index]!;
    writing++;
    let done = 0;
    const finish = (err: Error | undefined): void => {
      if (err === undefined) {
        chunks[index] = undefined;
        // Kept for the next chunks, but not a burst's worth of them.
        if (spare.length < SPARE_CHUNKS) spare.push(buf);
      } else if (spilling !== undefined) {
        spilling = undefined;
        sp.onError(err);
      }
      if (--writing === 0) {
        const ws = waiters;
        waiters = [];
        for (const w of ws) w();
      }
    };
    const step = (): void => {
      sp.io.write(sp.fd, buf, done, length - done, index * chunkBytes + done, (err, written) => {
        if (err !== null) return finish(err);
        done += written;
        if (done < length) {
          if (written === 0) return finish(new Error("the spill file took no bytes"));
          return step();
        }
        finish(undefined);
      });
    };
    step();
  }

  function readRange(sp: Spill, pos: number, len: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(len);
    return new Promise((resolve, reject) => {
      sp.io.read(sp.fd, buf, 0, len, pos, (err, n) => {
        if (err !== null) reject(err);
        else if (n !== len) reject(new Error(`order history spill file: ${n} of ${len} bytes at ${pos}`));
        else resolve(buf);
      });
    });
  }

  function get(pos: number, len: number): string | undefined {
    const c = Math.floor(pos / chunkBytes);
    const at = pos - c * chunkBytes;
    return chunks[c]?.toString("utf8", at, at + len);
  }

  return {
    /** Stores `text`; returns its position (its byte length is then `lastLen`). */
    put(text: string): number {
      const len = Buffer.byteLength(text);
      if (len > chunkBytes) throw new Error(`order record of ${len} bytes`);
      if (used + len > chunkBytes) {
        if (spilling !== undefined && chunks.length > 0) spillChunk(chunks.length - 1, used);
        chunks.push(spare.pop() ?? Buffer.allocUnsafeSlow(chunkBytes));
        used = 0;
      }
      const at = used;
      chunks.at(-1)!.write(text, at, "utf8");
      used += len;
      lastLen = len;
      return (chunks.length - 1) * chunkBytes + at;
    },
    get lastLen(): number {
      return lastLen;
    },
    /** The record at `pos`, or undefined when it is only in the spill file (see `read`). */
    get,
    /**
     * The records at `at` (positions and lengths), from the spill file: records near each other
     * are read in one go (a page of one account's orders is a few KB apart in the file, between
     * other accounts'), so a page costs a few reads, not one per order.
     */
    async readMany(at: readonly { readonly pos: number; readonly len: number }[]): Promise<string[]> {
      const sp = spill!;
      const order = at.map((_, i) => i).sort((a, b) => at[a]!.pos - at[b]!.pos);
      const out: string[] = new Array(at.length);
      const reads: Promise<void>[] = [];
      for (let i = 0; i < order.length; ) {
        const start = at[order[i]!]!.pos;
        let end = start + at[order[i]!]!.len;
        let j = i + 1;
        for (; j < order.length; j++) {
          const r = at[order[j]!]!;
          if (r.pos - end > READ_GAP_MAX || r.pos + r.len - start > READ_RANGE_MAX) break;
          end = Math.max(end, r.pos + r.len);
        }
        const members = order.slice(i, j);
        reads.push(readRange(sp, start, end - start).then((buf) => {
          for (const m of members) out[m] = buf.toString("utf8", at[m]!.pos - start, at[m]!.pos - start + at[m]!.len);
        }));
        i = j;
      }
      await Promise.all(reads);
      return out;
    },
    /** Chunk Buffers held in memory (spares included), and chunks in the spill file only. */
    stats(): { inMemory: number; spilled: number } {
      const held = chunks.filter((c) => c !== undefined).length;
      return { inMemory: held + spare.length, spilled: chunks.length - held };
    },
    /** Resolves once no chunk is being written. */
    settled(): Promise<void> {
      return writing === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

type Arena = ReturnType<typeof createArena>;

type ColumnKind = "f64" | "u32";

/**
 * Growable columns of numbers in typed arrays, one row per order or fill. Rows never move once
 * written (a row number found once stays valid); the listing order is kept apart.
 */
function createColumns<K extends string>(kinds: Readonly<Record<K, ColumnKind>>) {
  const names = Object.keys(kinds) as K[];
  const make = (k: K, n: number): Float64Array | Uint32Array => (kinds[k] === "f64" ? new Float64Array(n) : new Uint32Array(n));
  const cols = {} as Record<K, Float64Array | Uint32Array>;
  for (const k of names) cols[k] = make(k, 0);
  let length = 0;
  return {
    cols,
    get length(): number {
      return length;
    },
    /** A new row at the end; returns its number. */
    add(): number {
      if (length === cols[names[0]!].length) {
        const capacity = Math.max(1024, length * 2);
        for (const k of names) {
          const next = make(k, capacity);
          next.set(cols[k]);
          cols[k] = next;
        }
      }
      return length++;
    },
  };
}

const ORDER_KINDS = { c: "f64", status: "u32", pos: "f64", len: "u32", venue: "u32", symbol: "u32", idPos: "f64", idLen: "u32" } as const;
const FILL_KINDS = { seq: "f64", timeMs: "f64", pos: "f64", len: "u32", venue: "u32", symbol: "u32", idPos: "f64", idLen: "u32" } as const;
/** `pos` of an order still open: its object is in `open` (the order manager's own). */
const OPEN = -1;

type OrderColumns = ReturnType<typeof createColumns<keyof typeof ORDER_KINDS>>;
type FillColumns = ReturnType<typeof createColumns<keyof typeof FILL_KINDS>>;

/** A sorted list of row numbers (a Uint32Array and its length). */
interface RowList {
  rows: Uint32Array;
  n: number;
}

function insertRow(l: RowList, i: number, row: number): void {
  if (l.n === l.rows.length) {
    const next = new Uint32Array(Math.max(1024, l.n * 2));
    next.set(l.rows);
    l.rows = next;
  }
  if (i < l.n) l.rows.copyWithin(i + 1, i, l.n);
  l.rows[i] = row;
  l.n++;
}

interface Account {
  readonly orders: OrderColumns;
  /** Order rows ascending by (created_at, order_id): the listing order. */
  readonly sorted: RowList;
  /** The order id of the last row in `sorted`: an append compares with it without reading the arena. */
  lastId: string;
  readonly fills: FillColumns;
  /** Fill rows ascending by sequence. */
  readonly fillsSorted: RowList;
}

const FILL_KEYS = FILL_FIELDS.map((f) => f.key);
const FILL_BIGINT = FILL_FIELDS.map((f) => f.kind === "bigint");

function packFill(f: Fill): string {
  const r = f as unknown as Record<string, unknown>;
  const t: unknown[] = new Array(FILL_KEYS.length);
  for (let i = 0; i < FILL_KEYS.length; i++) {
    const v = r[FILL_KEYS[i]!];
    t[i] = FILL_BIGINT[i] ? String(v) : v;
  }
  return JSON.stringify(t);
}

const unpackOrder = (s: string): Order => orderFromTuple(JSON.parse(s) as unknown[]);

function unpackFill(s: string): Fill {
  const t = JSON.parse(s) as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < FILL_KEYS.length; i++) out[FILL_KEYS[i]!] = FILL_BIGINT[i] ? BigInt(t[i] as string) : t[i];
  return out as unknown as Fill;
}

export interface MemoryOrderHistoryOptions {
  /** Share the order pipeline's packer: a finished order is then packed once for all (order-tuple.ts). */
  readonly orderTupleJson?: OrderTupleJson;
  /**
   * Spill finished orders and fills to a file in this directory (the audit log's): memory then
   * keeps per order only its columns and its id, about a quarter of what it keeps without. The file
   * is removed from the directory as soon as it is open, so it lives as long as the process and
   * never outlives it (the index is built again from the audit log at start-up). Absent: all in memory.
   */
  readonly spillDir?: string;
  /** Chunk size of the arenas (default 1 MB); tests make it small. */
  readonly chunkBytes?: number;
  readonly spillIo?: HistorySpillIo;
  /** A spill write failed: spilling stops and everything stays in memory from then on. */
  readonly onSpillError?: (e: Error) => void;
}

/** The memory index, with what its spilling does (tests, metrics). */
export interface MemoryOrderHistory extends OrderHistory {
  /** Record chunks held in memory, and those in the spill file only. */
  spillStats(): { inMemory: number; spilled: number };
  /** Resolves once every full chunk is written to the spill file (or failed to be). */
  spillSettled(): Promise<void>;
}

const spillUnreadable = (e: unknown): GatewayError => ({
  kind: "unavailable",
  message: `order history unavailable: its spill file could not be read (${e instanceof Error ? e.message : String(e)})`,
  retryAfterMs: 1000,
});

/** Opens a new spill file in `dir` and unlinks it at once: it lives as long as the descriptor. */
function openSpillFile(dir: string): number {
  const file = path.join(dir, `.order-history-${process.pid}-${randomBytes(6).toString("hex")}.spill`);
  const fd = fs.openSync(file, "wx+", 0o600);
  try {
    fs.unlinkSync(file);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/** An open order: its row and the order manager's object. */
interface OpenEntry {
  readonly account: Account;
  readonly row: number;
  order: Order;
}

export function createMemoryOrderHistory(opts: MemoryOrderHistoryOptions = {}): MemoryOrderHistory {
  const pack = opts.orderTupleJson ?? createOrderTupleJson();
  const accounts = new Map<string, Account>();
  /** Open orders only (bounded by what is open): a finished order is found by its key. */
  const open = new Map<string, OpenEntry>();
  const chunkBytes = opts.chunkBytes ?? ARENA_CHUNK;
  const spillFd = opts.spillDir !== undefined ? openSpillFile(opts.spillDir) : undefined;
  /** Finished orders' tuples and fills: spilled when there is a spill file. */
  const records: Arena = createArena(chunkBytes, spillFd !== undefined ? { fd: spillFd, io: opts.spillIo ?? nodeSpillIo, onError: opts.onSpillError ?? (() => {}) } : undefined);
  /** Order ids: always in memory (the listing's order and the lookups of late events compare them). */
  const ids: Arena = createArena(chunkBytes);
  /**
   * The order recorded last, its account and its row. An order's events come together (a filled
   * market order: PENDING_NEW, then the fill line and the status line, both with the FILLED
   * order, in one append), so its next event finds its row here, with no search of a finished
   * order, and its fill takes the id bytes, venue and symbol the row already has.
   */
  let lastOrder: Order | undefined;
  let lastAccount: Account | undefined;
  let lastRow = 0;
  /**
   * The order recorded last is open and not in `open` yet. A new order's entry waits there until
   * another order is recorded or the append ends (`settleOpen`), so an order that opens and
   * finishes in one append (a filled market order) never enters `open`. Nothing reads `open`
   * meanwhile: a listing runs between appends.
   */
  let openPending = false;
  /** The last finished order written to the arena, and where. */
  let lastPut: Order | undefined;
  let lastPos = 0;
  let lastLen = 0;
  /** Venue and symbol strings by number, and back. */
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const nameId = (s: string): number => {
    let id = nameIds.get(s);
    if (id === undefined) {
      id = names.length;
      names.push(s);
      nameIds.set(s, id);
    }
    return id;
  };

  function accountOf(name: string): Account {
    let a = accounts.get(name);
    if (a === undefined) {
      a = {
        orders: createColumns(ORDER_KINDS),
        sorted: { rows: new Uint32Array(0), n: 0 },
        lastId: "",
        fills: createColumns(FILL_KINDS),
        fillsSorted: { rows: new Uint32Array(0), n: 0 },
      };
      accounts.set(name, a);
    }
    return a;
  }

  const orderIdAt = (a: Account, row: number): string => ids.get(a.orders.cols.idPos[row]!, a.orders.cols.idLen[row]!)!;

  /** First index in `a.sorted` whose key is >= (ms, id) (`strict`: > (ms, id)). Reads ids from the arena: listing and rare paths only. */
  function lowerBound(a: Account, ms: number, id: string, strict: boolean): number {
    const c = a.orders.cols.c;
    let lo = 0;
    let hi = a.sorted.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = a.sorted.rows[mid]!;
      const cmp = c[row]! !== ms ? compareOrderKey(c[row]!, "", ms, "") : compareOrderKey(ms, orderIdAt(a, row), ms, id);
      if (cmp < 0 || (strict && cmp === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The row of a finished order (rare: a late event after it finished), or undefined. */
  function findRow(a: Account, o: Order): number | undefined {
    const i = lowerBound(a, o.createdAtMs, o.orderId, false);
    if (i >= a.sorted.n) return undefined;
    const row = a.sorted.rows[i]!;
    return a.orders.cols.c[row] === o.createdAtMs && orderIdAt(a, row) === o.orderId ? row : undefined;
  }

  /** Where `o`'s finished record is in the arena (the same order twice in a row is written once). */
  function putFinished(o: Order): void {
    // A fill and the status change it caused are two events of one append: one write.
    if (o !== lastPut) {
      lastPos = records.put(pack(o));
      lastLen = records.lastLen;
      lastPut = o;
    }
  }

  function setRow(a: Account, row: number, o: Order): void {
    const cols = a.orders.cols;
    cols.status[row] = o.status;
    if (isTerminal(o.status)) {
      putFinished(o);
      cols.pos[row] = lastPos;
      cols.len[row] = lastLen;
    } else {
      cols.pos[row] = OPEN;
      cols.len[row] = 0;
    }
  }

  /** Is `o` an event of the order recorded last (same id, account and creation time: the same row)? */
  function isLastOrder(o: Order): boolean {
    const l = lastOrder;
    return l !== undefined && o.orderId === l.orderId && o.account === l.account && o.createdAtMs === l.createdAtMs;
  }

  function recordOrder(o: Order): void {
    if (isLastOrder(o)) {
      // The same object again (a fill line's order, then its status line's): the row says it all.
      if (o === lastOrder) return;
      const a = lastAccount!;
      const wasOpen = a.orders.cols.pos[lastRow] === OPEN;
      setRow(a, lastRow, o);
      lastOrder = o;
      // As below: once settled, `open` holds exactly the orders whose row is open.
      if (isTerminal(o.status)) {
        if (openPending) openPending = false;
        else if (wasOpen) open.delete(o.orderId);
      } else if (!wasOpen) openPending = true;
      else if (!openPending) open.get(o.orderId)!.order = o;
      return;
    }
    settleOpen();
    const known = open.get(o.orderId);
    if (known !== undefined) {
      setRow(known.account, known.row, o);
      if (isTerminal(o.status)) open.delete(o.orderId);
      else known.order = o;
      remember(o, known.account, known.row);
      return;
    }
    const a = accountOf(o.account);
    let newest = true;
    if (a.sorted.n > 0) {
      const last = a.sorted.rows[a.sorted.n - 1]!;
      const lastC = a.orders.cols.c[last]!;
      newest = lastC < o.createdAtMs || (lastC === o.createdAtMs && a.lastId < o.orderId);
      if (!newest) {
        // A late event of an order already finished (or one recorded out of time order).
        const row = findRow(a, o);
        if (row !== undefined) {
          setRow(a, row, o);
          if (!isTerminal(o.status)) open.set(o.orderId, { account: a, row, order: o });
          remember(o, a, row);
          return;
        }
      }
    }
    const row = a.orders.add();
    const cols = a.orders.cols;
    cols.c[row] = o.createdAtMs;
    cols.venue[row] = nameId(o.venue);
    cols.symbol[row] = nameId(o.symbol);
    cols.idPos[row] = ids.put(o.orderId);
    cols.idLen[row] = ids.lastLen;
    setRow(a, row, o);
    openPending = !isTerminal(o.status);
    // Nearly always the newest: appended. A clock step back or an order recorded late is inserted in place.
    const at = newest ? a.sorted.n : lowerBound(a, o.createdAtMs, o.orderId, false);
    insertRow(a.sorted, at, row);
    if (at === a.sorted.n - 1) a.lastId = o.orderId;
    remember(o, a, row);
  }

  /** Puts the order recorded last into `open` if it waits for that (see openPending). */
  function settleOpen(): void {
    if (openPending) {
      open.set(lastOrder!.orderId, { account: lastAccount!, row: lastRow, order: lastOrder! });
      openPending = false;
    }
  }

  function remember(o: Order, a: Account, row: number): void {
    lastOrder = o;
    lastAccount = a;
    lastRow = row;
  }

  function recordFill(f: Fill): void {
    // A fill of the order just recorded (the usual case) shares its account and its id bytes.
    const ofLast = lastOrder !== undefined && f.orderId === lastOrder.orderId && f.account === lastOrder.account;
    const a = ofLast ? lastAccount! : accountOf(f.account);
    const seqs = a.fills.cols.seq;
    const list = a.fillsSorted;
    const seq = Number(f.sequence);
    let at = list.n;
    if (list.n > 0 && seqs[list.rows[list.n - 1]!]! >= seq) {
      // Sequences are appended in order; a repeat (the same fill twice) is ignored, and anything
      // else is inserted in place.
      let lo = 0;
      let hi = list.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (seqs[list.rows[mid]!]! < seq) lo = mid + 1;
        else hi = mid;
      }
      if (lo < list.n && seqs[list.rows[lo]!] === seq) return;
      at = lo;
    }
    const row = a.fills.add();
    const cols = a.fills.cols;
    cols.seq[row] = seq;
    cols.timeMs[row] = f.timeMs;
    const orders = a.orders.cols;
    const venue = ofLast ? orders.venue[lastRow]! : -1;
    const symbol = ofLast ? orders.symbol[lastRow]! : -1;
    cols.venue[row] = venue >= 0 && names[venue] === f.venue ? venue : nameId(f.venue);
    cols.symbol[row] = symbol >= 0 && names[symbol] === f.symbol ? symbol : nameId(f.symbol);
    cols.pos[row] = records.put(packFill(f));
    cols.len[row] = records.lastLen;
    if (ofLast) {
      // The same id: its bytes are already in the id arena (it never moves or drops them).
      cols.idPos[row] = orders.idPos[lastRow]!;
      cols.idLen[row] = orders.idLen[lastRow]!;
    } else {
      cols.idPos[row] = ids.put(f.orderId);
      cols.idLen[row] = ids.lastLen;
    }
    insertRow(list, at, row);
  }

  /**
   * A page being gathered: open orders and records in memory go in at once; records in the spill
   * file only are read when the page is done (records.readMany) and put in their places.
   */
  function createPage<T>(decode: (text: string) => T) {
    const out: T[] = [];
    /** Records in the spill file only: where they go in `out`, and where they are. */
    const slots: number[] = [];
    const onDisk: { pos: number; len: number }[] = [];
    return {
      out,
      push(item: T): void {
        out.push(item);
      },
      pushRecord(pos: number, len: number): void {
        const text = records.get(pos, len);
        if (text !== undefined) {
          out.push(decode(text));
          return;
        }
        slots.push(out.length);
        onDisk.push({ pos, len });
        out.push(undefined as T); // a placeholder until it is read
      },
      async done(): Promise<Result<readonly T[], GatewayError>> {
        if (onDisk.length === 0) return ok(out);
        let texts: string[];
        try {
          texts = await records.readMany(onDisk);
        } catch (e) {
          return err(spillUnreadable(e));
        }
        for (let i = 0; i < slots.length; i++) out[slots[i]!] = decode(texts[i]!);
        return ok(out);
      },
    };
  }

  return {
    current: true,
    record(events: readonly AuditEvent[]): void {
      try {
        for (const e of events) {
          if (e.order !== undefined) recordOrder(e.order);
          if (e.fill !== undefined) recordFill(e.fill);
        }
      } finally {
        settleOpen();
      }
    },
    async listOrders(q: OrderQuery) {
      const page = createPage(unpackOrder);
      const out = page.out;
      const a = accounts.get(q.account);
      const statuses = admittedStatuses(q);
      if (a === undefined || statuses?.size === 0) return ok(out);
      const cols = a.orders.cols;
      const venue = q.venue === "" ? -1 : (nameIds.get(q.venue) ?? -2);
      const symbol = q.symbol === "" ? -1 : (nameIds.get(q.symbol) ?? -2);
      if (venue === -2 || symbol === -2) return ok(out);
      // Walk down from just below the cursor (or created_before), newest first.
      let i = a.sorted.n;
      if (q.after !== undefined) i = Math.min(i, lowerBound(a, q.after.createdAtMs, q.after.orderId, false));
      if (q.createdBeforeMs !== undefined) i = Math.min(i, lowerBound(a, q.createdBeforeMs, "", false));
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const row = a.sorted.rows[i]!;
        if (q.createdAfterMs !== undefined && cols.c[row]! < q.createdAfterMs) break;
        if (venue >= 0 && cols.venue[row] !== venue) continue;
        if (symbol >= 0 && cols.symbol[row] !== symbol) continue;
        if (statuses !== undefined && !statuses.has(cols.status[row]!)) continue;
        const pos = cols.pos[row]!;
        if (pos === OPEN) page.push(open.get(orderIdAt(a, row))!.order);
        else page.pushRecord(pos, cols.len[row]!);
      }
      return page.done();
    },
    async listFills(q: FillQuery) {
      const page = createPage(unpackFill);
      const out = page.out;
      const a = accounts.get(q.account);
      if (a === undefined) return ok(out);
      const cols = a.fills.cols;
      const list = a.fillsSorted;
      const venue = q.venue === "" ? -1 : (nameIds.get(q.venue) ?? -2);
      const symbol = q.symbol === "" ? -1 : (nameIds.get(q.symbol) ?? -2);
      if (venue === -2 || symbol === -2) return ok(out);
      let i = list.n;
      if (q.beforeSequence !== undefined) {
        const before = Number(q.beforeSequence);
        let lo = 0;
        let hi = list.n;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cols.seq[list.rows[mid]!]! < before) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const row = list.rows[i]!;
        if (venue >= 0 && cols.venue[row] !== venue) continue;
        if (symbol >= 0 && cols.symbol[row] !== symbol) continue;
        if (q.timeAfterMs !== undefined && cols.timeMs[row]! < q.timeAfterMs) continue;
        if (q.timeBeforeMs !== undefined && cols.timeMs[row]! >= q.timeBeforeMs) continue;
        if (q.orderId !== "" && ids.get(cols.idPos[row]!, cols.idLen[row]!) !== q.orderId) continue;
        page.pushRecord(cols.pos[row]!, cols.len[row]!);
      }
      return page.done();
    },
    spillStats: () => records.stats(),
    spillSettled: () => records.settled(),
    async close() {
      if (spillFd === undefined) return;
      await records.settled();
      fs.closeSync(spillFd);
    },
  };
}
