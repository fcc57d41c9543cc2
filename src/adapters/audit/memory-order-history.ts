import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GatewayError } from "../../domain/errors.js";
import type { Fill, Order, OrderStatus } from "../../domain/order.js";
import { FILL_FIELDS } from "../../domain/order-fields.js";
import { isTerminal } from "../../domain/order-state.js";
import { createOrderTupleJson, orderFromTuple, type OrderTupleJson } from "../../domain/order-tuple.js";
import { err, ok, type Result } from "../../domain/result.js";
import type { AuditEvent } from "../../use-cases/audit-sink.js";
import { admittedStatuses, compareOrderKey, type FillQuery, type OrderHistory, type OrderQuery } from "../../use-cases/order-history.js";
import { decodeFillRows, decodeOrderRows, encodeFillRows, encodeOrderRows, fillRowBytes, hasFillRow, hasOrderRow, orderRowBytes, writeFillRow, writeOrderRow, type FillRow, type OrderRow } from "./history-segments.js";

/**
 * The order history of a gateway whose audit log is a JSONL file (or off): an index built at
 * start-up from the log (composition-root.ts feeds it the events recovery reads) and fed every
 * event as it is appended, so it is as current as the order manager.
 *
 * Per account, orders sorted by (created_at, order_id) and fills in sequence order, in two parts:
 * - the live part, the newest `liveRows` of each: numbers in typed-array columns (and the Order's
 *   own id strings), a page is a binary search for the cursor and a walk;
 * - the frozen part, everything older, in segments of about 256 rows (history-segments.ts) kept as
 *   records of the arena: memory keeps a segment's first and last key and where it is. A page
 *   reads the segments it walks.
 * A frozen order that changes afterwards (a resting order that finishes, a late event) is noted in
 * `overrides` until a fold rewrites its segment; one that is open stays in `open` (and its key in
 * `frozenOpen`, so that listing open orders reads no segment).
 *
 * Why nothing per order on the heap: this index keeps every order the gateway ever saw, growing by
 * thousands a second under load. Kept as objects (an entry, its id, a Map slot: about 290 bytes
 * each), every scavenge copied and every full GC marked them, and PlaceOrder's CPU per call rose
 * with the count (docs/performance.md, issues 20 and 21). So an open order is a reference to the
 * order manager's own object (bounded by the open orders), the live rows are bounded per account,
 * and everything else is bytes in arenas of Buffers, memory the GC neither traces nor copies.
 *
 * Why a spill file: outside the heap is still memory, and the gateway's RSS grew by megabytes a
 * second at saturation (issue 25). With `spillDir` (the audit log's directory) the arena's chunks
 * (finished orders' tuple JSON, fills, segments) go to a file once full, and memory holds the live
 * rows, a segment's keys and a few chunks, whatever the count of orders: the RSS stays flat
 * (docs/order-history.md). A page reads what it needs back from the file, records near each other
 * in one read (the OS's page cache usually has them).
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
  /** For the rare paths of `record` (a late event of an order in a frozen segment), which cannot wait. */
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
}

const nodeSpillIo: HistorySpillIo = {
  write: (fd, buf, offset, length, position, cb) => fs.write(fd, buf, offset, length, position, cb),
  read: (fd, buf, offset, length, position, cb) => fs.read(fd, buf, offset, length, position, cb),
  readSync: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
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
  /** viewSync's reads from the spill file land here. */
  let scratch = Buffer.alloc(0);

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

  /** Room for `len` bytes at the end (a new chunk when the last is full); returns their position. */
  function reserve(len: number): number {
    if (len > chunkBytes) throw new Error(`order record of ${len} bytes`);
    if (used + len > chunkBytes) {
      if (spilling !== undefined && chunks.length > 0) spillChunk(chunks.length - 1, used);
      chunks.push(spare.pop() ?? Buffer.allocUnsafeSlow(chunkBytes));
      used = 0;
    }
    const at = used;
    used += len;
    lastLen = len;
    return (chunks.length - 1) * chunkBytes + at;
  }

  /** Stores `len` bytes that `write` puts at `offset` of `buf`; returns their position (their length is then `lastLen`). */
  function putWith(len: number, write: (buf: Buffer, offset: number) => void): number {
    const at = reserve(len);
    write(chunks.at(-1)!, at - (chunks.length - 1) * chunkBytes);
    return at;
  }

  /** A view of the bytes at `pos` while their chunk is in memory (read it before the chunk can be reused), else undefined. */
  function view(pos: number, len: number): Buffer | undefined {
    const c = Math.floor(pos / chunkBytes);
    const at = pos - c * chunkBytes;
    return chunks[c]?.subarray(at, at + len);
  }

  function get(pos: number, len: number): string | undefined {
    return view(pos, len)?.toString("utf8");
  }

  return {
    /** Stores `text`; returns its position (its byte length is then `lastLen`). */
    put(text: string): number {
      const len = Buffer.byteLength(text);
      const at = reserve(len);
      chunks.at(-1)!.write(text, at - (chunks.length - 1) * chunkBytes, "utf8");
      return at;
    },
    putWith,
    /** Stores a copy of `bytes`; returns its position (its length is then `lastLen`). */
    putBytes: (bytes: Buffer): number => putWith(bytes.length, (buf, offset) => bytes.copy(buf, offset)),
    get lastLen(): number {
      return lastLen;
    },
    /** The record at `pos`, or undefined when it is only in the spill file (see `readMany`). */
    get,
    /** The bytes at `pos`, from memory or the spill file. */
    async read(pos: number, len: number): Promise<Buffer> {
      const inMemory = view(pos, len);
      return inMemory !== undefined ? Buffer.from(inMemory) : readRange(spill!, pos, len);
    },
    /**
     * The bytes at `pos`, from memory or, blocking, the spill file (rare paths of `record` only). In
     * memory it is a view of the chunk, not a copy: to be read at once, before anything is stored.
     */
    viewSync(pos: number, len: number): Buffer {
      const inMemory = view(pos, len);
      if (inMemory !== undefined) return inMemory;
      // One scratch Buffer for these reads: a fresh one each time is memory outside the heap that
      // V8 counts, and a run of late events then brings on full GCs.
      const sp = spill!;
      if (scratch.length < len) scratch = Buffer.allocUnsafeSlow(Math.max(len, 64 * 1024));
      const n = sp.io.readSync(sp.fd, scratch, 0, len, pos);
      if (n !== len) throw new Error(`order history spill file: ${n} of ${len} bytes at ${pos}`);
      return scratch.subarray(0, len);
    },
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
 * Growable columns of numbers in typed arrays, one row per order or fill of an account's live
 * part. A row keeps its number until the account's oldest rows are frozen (`keep` renumbers the
 * rest); the listing order is kept apart.
 */
function createColumns<K extends string>(kinds: Readonly<Record<K, ColumnKind>>) {
  const names = Object.keys(kinds) as K[];
  const make = (k: K, n: number): Float64Array | Uint32Array => (kinds[k] === "f64" ? new Float64Array(n) : new Uint32Array(n));
  const cols = {} as Record<K, Float64Array | Uint32Array>;
  for (const k of names) cols[k] = make(k, 0);
  let length = 0;
  return {
    cols,
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
    /**
     * Keeps the rows `rows[from..length)`, in that order, as rows 0, 1, ... (the others are gone).
     * `inPlace`: those rows are already from, from + 1, ... (the usual case: a copy within each column).
     */
    keep(rows: Uint32Array, from: number, inPlace: boolean): void {
      const n = length - from;
      for (const k of names) {
        const col = cols[k];
        if (inPlace) col.copyWithin(0, from, length);
        else {
          const old = col.slice(0, length);
          for (let i = 0; i < n; i++) col[i] = old[rows[from + i]!]!;
        }
      }
      length = n;
    },
  };
}

const ORDER_KINDS = { c: "f64", status: "u32", pos: "f64", len: "u32", venue: "u32", symbol: "u32" } as const;
const FILL_KINDS = { seq: "f64", timeMs: "f64", pos: "f64", len: "u32", venue: "u32", symbol: "u32" } as const;
/** `pos` of an order still open: its object is in `open` (the order manager's own). */
const OPEN = -1;
/** The row of an order in a frozen segment (`open`'s entries, `lastRow`). */
const FROZEN = -2;

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

/** Frozen order rows (history-segments.ts), ascending by key, as one record of the arena. */
interface OrderSegment {
  readonly minC: number;
  readonly minId: string;
  readonly maxC: number;
  readonly maxId: string;
  readonly pos: number;
  readonly len: number;
}

/** Frozen fill rows, ascending by sequence. */
interface FillSegment {
  readonly minSeq: number;
  readonly maxSeq: number;
  readonly pos: number;
  readonly len: number;
}

/** What a frozen order became after it was frozen (it finished, or a late event came). */
interface Override {
  readonly c: number;
  readonly status: number;
  readonly pos: number;
  readonly len: number;
}

interface Account {
  /** The live part: the newest orders, in columns. Every key in it is above every frozen key. */
  readonly orders: OrderColumns;
  /** The live orders' ids, by row (the Order's own strings, nothing copied). */
  readonly orderIds: string[];
  /** Live order rows ascending by (created_at, order_id): the listing order. */
  readonly sorted: RowList;
  /** The order id of the last row in `sorted`: an append compares with it. */
  lastId: string;
  readonly fills: FillColumns;
  readonly fillIds: string[];
  /** Live fill rows ascending by sequence. */
  readonly fillsSorted: RowList;
  /** The older orders, frozen: ascending, their key ranges apart. */
  readonly orderSegments: OrderSegment[];
  readonly fillSegments: FillSegment[];
  /** Frozen orders changed since, by id, until `fold` writes them into their segments. */
  readonly overrides: Map<string, Override>;
  /**
   * The keys of frozen orders that are open, ascending (and some that finished since: they are
   * skipped, and swept when the list has doubled), so that listing the open orders never reads a
   * segment: they are all in `open`, however long the history.
   */
  frozenOpen: { readonly c: number; readonly id: string }[];
  /** `frozenOpen` is swept of finished orders when it reaches this length. */
  frozenOpenSweepAt: number;
  /** Changes on every change of the segments: a listing that awaited a read looks again. */
  version: number;
  /** Waiting for `maintain` (the live part is over its size, or overrides pile up). */
  due: boolean;
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

const isOpenStatus = (s: OrderStatus): boolean => !isTerminal(s);

/** Is the key (c, id) below (bc, bid)? The listing order: compareOrderKey. */
const below = (c: number, id: string, bc: number, bid: string): boolean => compareOrderKey(c, id, bc, bid) < 0;

export interface MemoryOrderHistoryOptions {
  /** Share the order pipeline's packer: a finished order is then packed once for all (order-tuple.ts). */
  readonly orderTupleJson?: OrderTupleJson;
  /**
   * Spill finished orders, fills and the frozen rows to a file in this directory (the audit log's):
   * memory then keeps the live part of each account and a few numbers per frozen segment, whatever
   * the count of orders. The file is removed from the directory as soon as it is open, so it lives
   * as long as the process and never outlives it (the index is built again from the audit log at
   * start-up). Absent: all in memory.
   */
  readonly spillDir?: string;
  /** Chunk size of the arenas (default 1 MB); tests make it small. */
  readonly chunkBytes?: number;
  /** Rows of an account's orders (and of its fills) kept live; the oldest beyond are frozen (default 512). */
  readonly liveRows?: number;
  /** Rows frozen together in one segment (default 256; fewer when they would exceed half a chunk). */
  readonly segmentRows?: number;
  /** An account's overrides written into their segments once there are more (default 256). */
  readonly foldAt?: number;
  readonly spillIo?: HistorySpillIo;
  /** The spill file failed: a write (spilling stops and everything stays in memory from then on), or a read on a rare path of `record`. */
  readonly onSpillError?: (e: Error) => void;
}

/** The memory index, with what its spilling does (tests, metrics). */
export interface MemoryOrderHistory extends OrderHistory {
  /** Record chunks held in memory, and those in the spill file only. */
  spillStats(): { inMemory: number; spilled: number };
  /** Resolves once every full chunk is written to the spill file (or failed to be). */
  spillSettled(): Promise<void>;
  /** Rows live in memory, frozen segments and pending overrides, over every account. */
  indexStats(): { liveOrders: number; liveFills: number; orderSegments: number; fillSegments: number; overrides: number };
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

/** An open order: its row (FROZEN: in a segment) and the order manager's object. */
interface OpenEntry {
  readonly account: Account;
  row: number;
  order: Order;
}

/** The last segment whose first key is at or below `(c, id)` (-1: none). */
function orderSegmentAt(segs: readonly OrderSegment[], c: number, id: string): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderKey(segs[mid]!.minC, segs[mid]!.minId, c, id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The last segment whose first sequence is at or below `seq` (-1: none). */
function fillSegmentAt(segs: readonly FillSegment[], seq: number): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid]!.minSeq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function createMemoryOrderHistory(opts: MemoryOrderHistoryOptions = {}): MemoryOrderHistory {
  const pack = opts.orderTupleJson ?? createOrderTupleJson();
  const accounts = new Map<string, Account>();
  /** Open orders only (bounded by what is open): a finished order is found by its key. */
  const open = new Map<string, OpenEntry>();
  const chunkBytes = opts.chunkBytes ?? ARENA_CHUNK;
  const liveRows = opts.liveRows ?? 512;
  const segmentRows = Math.min(opts.segmentRows ?? 256, liveRows);
  const foldAt = opts.foldAt ?? 256;
  /** A segment stays under half a chunk, so that it always fits in one (the arena's records do not span chunks). */
  const segmentBytes = chunkBytes >>> 1;
  const spillFd = opts.spillDir !== undefined ? openSpillFile(opts.spillDir) : undefined;
  const onSpillError = opts.onSpillError ?? (() => {});
  /** Finished orders' tuples, fills and frozen segments: spilled when there is a spill file. */
  const records: Arena = createArena(chunkBytes, spillFd !== undefined ? { fd: spillFd, io: opts.spillIo ?? nodeSpillIo, onError: onSpillError } : undefined);
  /** Accounts whose `due` is set, for `maintain` at the end of `record`. */
  const dueAccounts: Account[] = [];
  /**
   * The order recorded last, its account and its row. An order's events come together (a filled
   * market order: PENDING_NEW, then the fill line and the status line, both with the FILLED
   * order, in one append), so its next event finds its row here, with no search of a finished
   * order, and its fill takes the venue and symbol the row already has.
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
        orderIds: [],
        sorted: { rows: new Uint32Array(0), n: 0 },
        lastId: "",
        fills: createColumns(FILL_KINDS),
        fillIds: [],
        fillsSorted: { rows: new Uint32Array(0), n: 0 },
        orderSegments: [],
        fillSegments: [],
        overrides: new Map(),
        frozenOpen: [],
        frozenOpenSweepAt: 64,
        version: 0,
        due: false,
      };
      accounts.set(name, a);
    }
    return a;
  }

  /** Is `id` open with its row in a segment of `a`? */
  const isFrozenOpen = (a: Account, id: string): boolean => {
    const e = open.get(id);
    return e !== undefined && e.row === FROZEN && e.account === a;
  };

  /** Notes a frozen order that is open (again), in key order; sweeps the finished ones when the list has doubled. */
  function addFrozenOpen(a: Account, c: number, id: string): void {
    const list = a.frozenOpen;
    let at = list.length;
    const last = list.at(-1);
    if (last !== undefined && !below(last.c, last.id, c, id)) {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (below(list[mid]!.c, list[mid]!.id, c, id)) lo = mid + 1;
        else hi = mid;
      }
      if (lo < list.length && list[lo]!.c === c && list[lo]!.id === id) return;
      at = lo;
    }
    list.splice(at, 0, { c, id });
    if (list.length >= a.frozenOpenSweepAt) {
      a.frozenOpen = list.filter((e) => isFrozenOpen(a, e.id));
      a.frozenOpenSweepAt = Math.max(64, 2 * a.frozenOpen.length);
    }
  }

  function markDue(a: Account): void {
    if (!a.due) {
      a.due = true;
      dueAccounts.push(a);
    }
  }

  /** First index in `a.sorted` whose key is >= (ms, id) (`strict`: > (ms, id)). */
  function lowerBound(a: Account, ms: number, id: string, strict: boolean): number {
    const c = a.orders.cols.c;
    let lo = 0;
    let hi = a.sorted.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = a.sorted.rows[mid]!;
      const cmp = compareOrderKey(c[row]!, a.orderIds[row]!, ms, id);
      if (cmp < 0 || (strict && cmp === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The live row of a finished order (rare: a late event after it finished), or undefined. */
  function findRow(a: Account, o: Order): number | undefined {
    const i = lowerBound(a, o.createdAtMs, o.orderId, false);
    if (i >= a.sorted.n) return undefined;
    const row = a.sorted.rows[i]!;
    return a.orders.cols.c[row] === o.createdAtMs && a.orderIds[row] === o.orderId ? row : undefined;
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
    if (row === FROZEN) {
      // Its segment says what it was when frozen; what it is now waits in `overrides` (or `open`).
      if (isTerminal(o.status)) {
        putFinished(o);
        a.overrides.set(o.orderId, { c: o.createdAtMs, status: o.status, pos: lastPos, len: lastLen });
        if (a.overrides.size > foldAt) markDue(a);
      } else a.overrides.delete(o.orderId);
      return;
    }
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

  /**
   * A segment's bytes, from memory (a view: read them before storing anything) or, blocking, the
   * spill file; undefined if it cannot be read (told to onSpillError).
   */
  function segmentBytesSync(seg: { readonly pos: number; readonly len: number }): Buffer | undefined {
    try {
      return records.viewSync(seg.pos, seg.len);
    } catch (e) {
      onSpillError(new Error(`order history spill file: reading a segment for a late event: ${e instanceof Error ? e.message : String(e)}`));
      return undefined;
    }
  }

  /** Writes `rows` as segments of at most `segmentRows` rows and `segmentBytes` bytes; `describe` makes each one's entry. */
  function writeSegments<R extends { readonly id: string }, S>(
    rows: readonly R[],
    rowBytes: (id: string) => number,
    encode: (rows: readonly R[]) => Buffer,
    describe: (first: R, last: R, pos: number, len: number) => S,
  ): S[] {
    const out: S[] = [];
    for (let i = 0; i < rows.length; ) {
      let j = i;
      let bytes = 0;
      while (j < rows.length && j - i < segmentRows && (j === i || bytes + rowBytes(rows[j]!.id) <= segmentBytes)) bytes += rowBytes(rows[j++]!.id);
      const part = rows.slice(i, j);
      const pos = records.putBytes(encode(part));
      out.push(describe(part[0]!, part.at(-1)!, pos, records.lastLen));
      i = j;
    }
    return out;
  }

  const writeOrderSegments = (rows: readonly OrderRow[]): OrderSegment[] =>
    writeSegments(rows, orderRowBytes, encodeOrderRows, (first, last, pos, len) => ({ minC: first.c, minId: first.id, maxC: last.c, maxId: last.id, pos, len }));
  const writeFillSegments = (rows: readonly FillRow[]): FillSegment[] =>
    writeSegments(rows, fillRowBytes, encodeFillRows, (first, last, pos, len) => ({ minSeq: first.seq, maxSeq: last.seq, pos, len }));

  /**
   * An event of an order older than every live one (a late event of a frozen order, or an order
   * recorded out of time order): its segment is read (rare: blocking), and the order's state goes
   * to `overrides`/`open`, or, not there, the order into the segment.
   */
  function recordFrozenOrder(a: Account, o: Order): void {
    const segs = a.orderSegments;
    const at = Math.max(0, orderSegmentAt(segs, o.createdAtMs, o.orderId));
    const bytes = segmentBytesSync(segs[at]!);
    // Unreadable: kept as an override, so that a listing shows its state if it is there.
    if (bytes === undefined || hasOrderRow(bytes, o.createdAtMs, o.orderId)) setRow(a, FROZEN, o);
    else {
      const rows = decodeOrderRows(bytes);
      let pos = OPEN;
      let len = 0;
      if (isTerminal(o.status)) {
        putFinished(o);
        pos = lastPos;
        len = lastLen;
      }
      const i = rows.findIndex((r) => !below(r.c, r.id, o.createdAtMs, o.orderId));
      rows.splice(i < 0 ? rows.length : i, 0, { c: o.createdAtMs, status: o.status, venue: nameId(o.venue), symbol: nameId(o.symbol), pos, len, id: o.orderId });
      segs.splice(at, 1, ...writeOrderSegments(rows));
      a.version++;
    }
    if (!isTerminal(o.status)) {
      open.set(o.orderId, { account: a, row: FROZEN, order: o });
      addFrozenOpen(a, o.createdAtMs, o.orderId);
    }
    remember(o, a, FROZEN);
  }

  function recordOrder(o: Order): void {
    if (isLastOrder(o)) {
      // The same object again (a fill line's order, then its status line's): the row says it all.
      if (o === lastOrder) return;
      const a = lastAccount!;
      const wasOpen = lastRow === FROZEN ? openPending || open.has(o.orderId) : a.orders.cols.pos[lastRow] === OPEN;
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
    }
    if (!newest || a.sorted.n === 0) {
      const seg = a.orderSegments.at(-1);
      if (seg !== undefined && !below(seg.maxC, seg.maxId, o.createdAtMs, o.orderId)) return recordFrozenOrder(a, o);
    }
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
    const row = a.orders.add();
    const cols = a.orders.cols;
    cols.c[row] = o.createdAtMs;
    cols.venue[row] = nameId(o.venue);
    cols.symbol[row] = nameId(o.symbol);
    a.orderIds[row] = o.orderId;
    setRow(a, row, o);
    openPending = !isTerminal(o.status);
    // Nearly always the newest: appended. A clock step back or an order recorded late is inserted in place.
    const at = newest ? a.sorted.n : lowerBound(a, o.createdAtMs, o.orderId, false);
    insertRow(a.sorted, at, row);
    if (at === a.sorted.n - 1) a.lastId = o.orderId;
    if (a.sorted.n > liveRows) markDue(a);
    remember(o, a, row);
  }

  /** Puts the order recorded last into `open` if it waits for that (see openPending). */
  function settleOpen(): void {
    if (openPending) {
      open.set(lastOrder!.orderId, { account: lastAccount!, row: lastRow, order: lastOrder! });
      if (lastRow === FROZEN) addFrozenOpen(lastAccount!, lastOrder!.createdAtMs, lastOrder!.orderId);
      openPending = false;
    }
  }

  function remember(o: Order, a: Account, row: number): void {
    lastOrder = o;
    lastAccount = a;
    lastRow = row;
  }

  /** A fill older than every live one (rare: recorded out of sequence order): into its segment, unless it is there. */
  function recordFrozenFill(a: Account, f: Fill, seq: number): void {
    const segs = a.fillSegments;
    const at = Math.max(0, fillSegmentAt(segs, seq));
    const bytes = segmentBytesSync(segs[at]!);
    if (bytes === undefined || hasFillRow(bytes, seq)) return;
    const rows = decodeFillRows(bytes);
    const pos = records.put(packFill(f));
    const i = rows.findIndex((r) => r.seq > seq);
    rows.splice(i < 0 ? rows.length : i, 0, { seq, timeMs: f.timeMs, venue: nameId(f.venue), symbol: nameId(f.symbol), pos, len: records.lastLen, id: f.orderId });
    segs.splice(at, 1, ...writeFillSegments(rows));
    a.version++;
  }

  function recordFill(f: Fill): void {
    // A fill of the order just recorded (the usual case) shares its account, venue and symbol.
    const ofLast = lastOrder !== undefined && f.orderId === lastOrder.orderId && f.account === lastOrder.account;
    const a = ofLast ? lastAccount! : accountOf(f.account);
    const seqs = a.fills.cols.seq;
    const list = a.fillsSorted;
    const seq = Number(f.sequence);
    const seg = a.fillSegments.at(-1);
    if (seg !== undefined && seq <= seg.maxSeq) return recordFrozenFill(a, f, seq);
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
    const live = ofLast && lastRow !== FROZEN;
    const orders = a.orders.cols;
    const venue = live ? orders.venue[lastRow]! : -1;
    const symbol = live ? orders.symbol[lastRow]! : -1;
    cols.venue[row] = venue >= 0 && names[venue] === f.venue ? venue : nameId(f.venue);
    cols.symbol[row] = symbol >= 0 && names[symbol] === f.symbol ? symbol : nameId(f.symbol);
    cols.pos[row] = records.put(packFill(f));
    cols.len[row] = records.lastLen;
    a.fillIds[row] = f.orderId;
    insertRow(list, at, row);
    if (list.n > liveRows) markDue(a);
  }

  /** How many of the oldest rows (`sorted[0..]`, ids by row) make one segment: up to segmentRows and segmentBytes. */
  function rowsToFreeze(sorted: RowList, ids: readonly string[], rowBytes: (id: string) => number): { k: number; bytes: number } {
    let k = 0;
    let bytes = 0;
    for (; k < segmentRows; k++) {
      const b = rowBytes(ids[sorted.rows[k]!]!);
      if (k > 0 && bytes + b > segmentBytes) break;
      bytes += b;
    }
    return { k, bytes };
  }

  /** Drops the first `k` rows of `sorted` from the columns and `ids`: the rest become rows 0, 1, ... */
  function keepNewest(sorted: RowList, columns: { keep(rows: Uint32Array, from: number, inPlace: boolean): void }, ids: string[], k: number): void {
    const n = sorted.n;
    let inPlace = true;
    for (let i = k; i < n && inPlace; i++) inPlace = sorted.rows[i] === i;
    if (inPlace) ids.copyWithin(0, k, n);
    else {
      const old = ids.slice(0, n);
      for (let i = k; i < n; i++) ids[i - k] = old[sorted.rows[i]!]!;
    }
    ids.length = n - k;
    columns.keep(sorted.rows, k, inPlace);
    sorted.n = n - k;
    for (let i = 0; i < sorted.n; i++) sorted.rows[i] = i;
  }

  /**
   * Freezes the account's oldest live orders into one segment, and renumbers the rest. Written
   * straight from the columns into the arena: this runs once per segmentRows orders of an account.
   */
  function freezeOrders(a: Account): void {
    const cols = a.orders.cols;
    const sorted = a.sorted;
    const ids = a.orderIds;
    const { k, bytes } = rowsToFreeze(sorted, ids, orderRowBytes);
    const first = sorted.rows[0]!;
    const last = sorted.rows[k - 1]!;
    const seg = { minC: cols.c[first]!, minId: ids[first]!, maxC: cols.c[last]!, maxId: ids[last]!, pos: 0, len: bytes };
    seg.pos = records.putWith(bytes, (buf, offset) => {
      let at = offset;
      for (let i = 0; i < k; i++) {
        const row = sorted.rows[i]!;
        const id = ids[row]!;
        at = writeOrderRow(buf, at, cols.c[row]!, cols.status[row]!, cols.venue[row]!, cols.symbol[row]!, cols.pos[row]!, cols.len[row]!, id);
        // An order still open stays in `open`, now pointing at its segment.
        if (cols.pos[row] === OPEN) {
          open.get(id)!.row = FROZEN;
          addFrozenOpen(a, cols.c[row]!, id);
        }
      }
    });
    a.orderSegments.push(seg);
    keepNewest(sorted, a.orders, ids, k);
    for (let i = 0; i < sorted.n; i++) if (cols.pos[i] === OPEN) open.get(ids[i]!)!.row = i;
    a.version++;
  }

  function freezeFills(a: Account): void {
    const cols = a.fills.cols;
    const list = a.fillsSorted;
    const ids = a.fillIds;
    const { k, bytes } = rowsToFreeze(list, ids, fillRowBytes);
    const seg = { minSeq: cols.seq[list.rows[0]!]!, maxSeq: cols.seq[list.rows[k - 1]!]!, pos: 0, len: bytes };
    seg.pos = records.putWith(bytes, (buf, offset) => {
      let at = offset;
      for (let i = 0; i < k; i++) {
        const row = list.rows[i]!;
        at = writeFillRow(buf, at, cols.seq[row]!, cols.timeMs[row]!, cols.venue[row]!, cols.symbol[row]!, cols.pos[row]!, cols.len[row]!, ids[row]!);
      }
    });
    a.fillSegments.push(seg);
    keepNewest(list, a.fills, ids, k);
    a.version++;
  }

  /** Writes the account's overrides into their segments (rewritten), so that they do not pile up in memory. */
  function fold(a: Account): void {
    const segs = a.orderSegments;
    const touched = new Set<number>();
    for (const [id, ov] of a.overrides) touched.add(Math.max(0, orderSegmentAt(segs, ov.c, id)));
    // From the last segment down: a rewritten segment is one segment again (the same rows), but
    // the indexes below stay right whatever it becomes.
    for (const at of [...touched].sort((x, y) => y - x)) {
      const bytes = segmentBytesSync(segs[at]!);
      if (bytes === undefined) continue; // kept as overrides: still right, only not folded
      const rows = decodeOrderRows(bytes);
      for (const r of rows) {
        const ov = a.overrides.get(r.id);
        if (ov !== undefined && ov.c === r.c) {
          r.status = ov.status;
          r.pos = ov.pos;
          r.len = ov.len;
          a.overrides.delete(r.id);
        }
      }
      segs.splice(at, 1, ...writeOrderSegments(rows));
    }
    a.version++;
  }

  /** After an append: freezes what is over the live size, folds overrides that piled up. */
  function maintain(): void {
    for (const a of dueAccounts) {
      a.due = false;
      while (a.sorted.n > liveRows) freezeOrders(a);
      while (a.fillsSorted.n > liveRows) freezeFills(a);
      if (a.overrides.size > foldAt) fold(a);
    }
    dueAccounts.length = 0;
    // Rows were renumbered: the order recorded last is looked up again next time.
    lastOrder = undefined;
    lastAccount = undefined;
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

  /**
   * Walks the account's segments down from `start()`, giving `visit` each one's rows as of now,
   * until it returns false. A segment read from the spill file is looked up again (`start()`) if
   * the account's segments changed meanwhile (a freeze, a fold, a split), so that nothing is
   * skipped or given twice. Returns the error when the file could not be read.
   */
  async function walkSegmentsDown<S extends { readonly pos: number; readonly len: number }, R>(
    a: Account,
    segments: () => readonly S[],
    start: () => number,
    decode: (b: Buffer) => R[],
    visit: (rows: R[]) => boolean,
  ): Promise<GatewayError | undefined> {
    for (let idx = start(); idx >= 0; ) {
      const seg = segments()[idx]!;
      const v = a.version;
      let bytes: Buffer;
      try {
        bytes = await records.read(seg.pos, seg.len);
      } catch (e) {
        return spillUnreadable(e);
      }
      if (a.version !== v) {
        idx = start();
        continue;
      }
      if (!visit(decode(bytes))) return undefined;
      idx--;
    }
    return undefined;
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
      if (dueAccounts.length > 0) maintain();
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
      // The bound: keys below it are listed (the cursor, created_before).
      let bc = Infinity;
      let bid = "";
      if (q.after !== undefined && below(q.after.createdAtMs, q.after.orderId, bc, bid)) [bc, bid] = [q.after.createdAtMs, q.after.orderId];
      if (q.createdBeforeMs !== undefined && below(q.createdBeforeMs, "", bc, bid)) [bc, bid] = [q.createdBeforeMs, ""];
      // The live part, newest first from just below the bound.
      let i = bc === Infinity ? a.sorted.n : lowerBound(a, bc, bid, false);
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const row = a.sorted.rows[i]!;
        if (q.createdAfterMs !== undefined && cols.c[row]! < q.createdAfterMs) return page.done();
        if (venue >= 0 && cols.venue[row] !== venue) continue;
        if (symbol >= 0 && cols.symbol[row] !== symbol) continue;
        if (statuses !== undefined && !statuses.has(cols.status[row]!)) continue;
        const pos = cols.pos[row]!;
        if (pos === OPEN) page.push(open.get(a.orderIds[row]!)!.order);
        else page.pushRecord(pos, cols.len[row]!);
      }
      // Then the frozen segments, below every live row, newest first. A segment read from the
      // spill file is looked up again if the account's segments changed meanwhile.
      if (statuses !== undefined && [...statuses].every(isOpenStatus)) {
        // Open orders only: the frozen ones are all in `open`, no segment is read.
        const list = a.frozenOpen;
        for (let j = list.length - 1; j >= 0 && out.length < q.limit; j--) {
          const { c, id } = list[j]!;
          if (!below(c, id, bc, bid)) continue;
          if (q.createdAfterMs !== undefined && c < q.createdAfterMs) break;
          const e = open.get(id);
          if (e === undefined || e.row !== FROZEN || e.account !== a) continue;
          const o = e.order;
          if ((venue < 0 || nameIds.get(o.venue) === venue) && (symbol < 0 || nameIds.get(o.symbol) === symbol) && statuses.has(o.status)) page.push(o);
        }
        return page.done();
      }
      /** The newest segment with a key below the bound (-1: none). */
      const segmentBelow = (): number => {
        const segs = a.orderSegments;
        const at = orderSegmentAt(segs, bc, bid);
        // A segment's first key at the bound itself has nothing below it: the one before.
        return at >= 0 && !below(segs[at]!.minC, segs[at]!.minId, bc, bid) ? at - 1 : at;
      };
      const failed = await walkSegmentsDown(a, () => a.orderSegments, segmentBelow, decodeOrderRows, (rows) => {
        for (let j = rows.length - 1; j >= 0; j--) {
          if (out.length >= q.limit) return false;
          const r = rows[j]!;
          if (!below(r.c, r.id, bc, bid)) continue;
          if (q.createdAfterMs !== undefined && r.c < q.createdAfterMs) return false;
          [bc, bid] = [r.c, r.id];
          if (venue >= 0 && r.venue !== venue) continue;
          if (symbol >= 0 && r.symbol !== symbol) continue;
          // What it is now: open (the order manager's object), changed since it was frozen, or as frozen.
          const live = open.get(r.id);
          if (live !== undefined && live.account === a) {
            if (statuses === undefined || statuses.has(live.order.status)) page.push(live.order);
            continue;
          }
          const now = a.overrides.get(r.id);
          const status = now !== undefined && now.c === r.c ? now.status : r.status;
          if (statuses !== undefined && !statuses.has(status)) continue;
          if (now !== undefined && now.c === r.c) page.pushRecord(now.pos, now.len);
          else if (r.pos !== OPEN) page.pushRecord(r.pos, r.len);
        }
        return out.length < q.limit;
      });
      if (failed !== undefined) return err(failed);
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
      const matches = (v: number, s: number, timeMs: number, id: string): boolean =>
        (venue < 0 || v === venue) &&
        (symbol < 0 || s === symbol) &&
        (q.timeAfterMs === undefined || timeMs >= q.timeAfterMs) &&
        (q.timeBeforeMs === undefined || timeMs < q.timeBeforeMs) &&
        (q.orderId === "" || id === q.orderId);
      // Sequences below `bound` are listed.
      let bound = q.beforeSequence !== undefined ? Number(q.beforeSequence) : Infinity;
      let i = list.n;
      if (bound !== Infinity) {
        let lo = 0;
        let hi = list.n;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cols.seq[list.rows[mid]!]! < bound) lo = mid + 1;
          else hi = mid;
        }
        i = lo;
      }
      for (i--; i >= 0 && out.length < q.limit; i--) {
        const row = list.rows[i]!;
        if (matches(cols.venue[row]!, cols.symbol[row]!, cols.timeMs[row]!, a.fillIds[row]!)) page.pushRecord(cols.pos[row]!, cols.len[row]!);
      }
      const segmentBelow = (): number => {
        const segs = a.fillSegments;
        const at = fillSegmentAt(segs, bound);
        return at >= 0 && segs[at]!.minSeq >= bound ? at - 1 : at;
      };
      const failed = await walkSegmentsDown(a, () => a.fillSegments, segmentBelow, decodeFillRows, (rows) => {
        for (let j = rows.length - 1; j >= 0 && out.length < q.limit; j--) {
          const r = rows[j]!;
          if (r.seq >= bound) continue;
          bound = r.seq;
          if (matches(r.venue, r.symbol, r.timeMs, r.id)) page.pushRecord(r.pos, r.len);
        }
        return out.length < q.limit;
      });
      if (failed !== undefined) return err(failed);
      return page.done();
    },
    spillStats: () => records.stats(),
    spillSettled: () => records.settled(),
    indexStats() {
      const s = { liveOrders: 0, liveFills: 0, orderSegments: 0, fillSegments: 0, overrides: 0 };
      for (const a of accounts.values()) {
        s.liveOrders += a.sorted.n;
        s.liveFills += a.fillsSorted.n;
        s.orderSegments += a.orderSegments.length;
        s.fillSegments += a.fillSegments.length;
        s.overrides += a.overrides.size;
      }
      return s;
    },
    async close() {
      if (spillFd === undefined) return;
      await records.settled();
      fs.closeSync(spillFd);
    },
  };
}
