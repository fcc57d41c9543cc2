/**
 * A bounded key -> string store kept outside the JavaScript heap: records
 * are appended to one fixed-size byte ring, oldest first, and found through
 * an open-addressing hash index held in typed arrays.
 *
 * Why not a Map of objects? What the gateway retains for hours (idempotency
 * outcomes, terminal orders) is a few hundred thousand small records. As
 * objects and strings they are about 1 KB of live heap each: every full GC
 * marks all of them (its final pause grew to 80 ms at 250,000 keys), and V8
 * sizes the old generation at a multiple of the live heap, so RSS grew to
 * about 1 GB. Here a record is its bytes (about 300) in a buffer the GC never
 * scans, and the heap holds nothing per record. No library on npm keeps
 * string records off-heap with LRU order and O(1) eviction, hence this file.
 *
 * Semantics, as the linked map it replaces: O(1) get / set / delete / touch;
 * `touch` (and `set` of an existing key) makes a record the newest by
 * copying it to the head; the oldest is evicted first when the record count
 * reaches `maxEntries` or when a new record needs the bytes. Every record
 * carries a number (`stamp`, e.g. when it was stored) for the caller's TTL.
 *
 * Record layout (8-byte aligned): u32 length of the whole record, i32 hash,
 * f64 stamp, u32 key bytes, u32 value bytes, key UTF-8, value UTF-8.
 * Deleted and moved records stay in the ring as dead bytes (hash slot gone)
 * until the tail passes them.
 */
export interface RecordRing {
  /** The value and stamp under `key`, or undefined. */
  get(key: string): { readonly value: string; readonly stamp: number } | undefined;
  /**
   * Inserts or replaces, as the newest record. False (and nothing stored, any
   * earlier record under the key removed) if the record is larger than the ring.
   */
  set(key: string, value: string, stamp: number): boolean;
  /** Makes an existing record the newest; false if absent. */
  touch(key: string): boolean;
  delete(key: string): boolean;
  /** The stamp of the oldest record, or undefined when empty. */
  oldestStamp(): number | undefined;
  /** Removes the oldest record. */
  shift(): void;
  /** Records held. */
  readonly size: number;
}

export interface RecordRingOptions {
  /** Most records held; the oldest goes first. */
  readonly maxEntries: number;
  /** Size of the byte ring. Records are evicted oldest first when a new one needs room. */
  readonly capacityBytes: number;
  /**
   * Touch every page of the ring at creation. The memory is then taken (and
   * counted in RSS) up front: the order path never takes a first-touch page
   * fault, and a container limit that is too small fails at start rather
   * than hours later.
   */
  readonly prefault?: boolean;
}

const HEADER = 24;
const LIVE_FLAG = 0x8000_0000; // in the length word: the record is still indexed
const LEN_MASK = 0x7fff_ffff;
const EMPTY = 0;

/** Small rings still take records with long messages: a record never spans more than the ring. */
const MIN_RING_BYTES = 1 << 20;

/** Ring bytes for `maxEntries` records of about `bytesPerEntry` each, at least 1 MiB. */
export function ringBytes(maxEntries: number, bytesPerEntry: number): number {
  return Math.max(maxEntries * bytesPerEntry, MIN_RING_BYTES);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

export function createRecordRing(options: RecordRingOptions): RecordRing {
  const maxEntries = options.maxEntries;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("record ring: maxEntries must be an integer >= 1");
  const cap = Math.floor(options.capacityBytes / 8) * 8;
  if (!(cap >= 64) || cap > LEN_MASK) throw new Error("record ring: capacityBytes must be between 64 bytes and 2 GiB");
  // allocUnsafeSlow: its own memory (not the shared pool), and no zero fill unless asked (pages are
  // then taken as the ring first fills).
  const arena = Buffer.allocUnsafeSlow(cap);
  if (options.prefault === true) arena.fill(0);

  // Index: power-of-two table at most half full; slot holds record offset + 1 (0 = empty).
  let slotsLen = 16;
  while (slotsLen < maxEntries * 2) slotsLen *= 2;
  const mask = slotsLen - 1;
  const slots = new Int32Array(slotsLen);
  const hashes = new Int32Array(slotsLen);

  let scratch = Buffer.allocUnsafeSlow(512);
  let head = 0; // next write offset
  let tail = 0; // oldest record (live or dead)
  let wrapAt = cap; // end of the records before the ring wrapped to 0
  let records = 0; // live + dead records in the ring
  let live = 0;

  /** The FNV-1a hash of the last key keyBytes wrote. */
  let keyHash = 0;

  /**
   * Writes `key` into scratch as UTF-8 and sets keyHash (FNV-1a over those bytes); returns the
   * byte length. Keys are ids, ASCII nearly always: those are copied and hashed in one JS loop,
   * because Buffer#write is a native call that also flattens the (usually concatenated) key
   * string, and took a fifth of the ring's time in a set/get loop (0.3 us of a 1 us set).
   */
  function keyBytes(key: string): number {
    const len = key.length;
    // A UTF-16 unit is at most 3 UTF-8 bytes.
    if (len * 3 > scratch.length) scratch = Buffer.allocUnsafeSlow(len * 3);
    const b = scratch;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return keyBytesUtf8(key);
      b[i] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    keyHash = h;
    return len;
  }

  function keyBytesUtf8(key: string): number {
    const n = scratch.write(key, 0, "utf8");
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ scratch[i]!, 0x01000193);
    keyHash = h;
    return n;
  }

  /** Whether the n key bytes in scratch equal the key of the record at `off` (a JS loop: ids are short, a native compare costs more). */
  function keyAt(off: number, n: number): boolean {
    if (arena.readUInt32LE(off + 16) !== n) return false;
    const b = scratch;
    const a = arena;
    const from = off + HEADER;
    for (let i = 0; i < n; i++) if (a[from + i] !== b[i]) return false;
    return true;
  }

  /** Slot index holding the key in scratch (n bytes, hash h), or -1. */
  function findSlot(n: number, h: number): number {
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === EMPTY) return -1;
      if (hashes[i] === h) {
        if (keyAt(s - 1, n)) return i;
      }
    }
  }

  /** Empties slot i, shifting later entries of the probe run back (no tombstones). */
  function clearSlot(i: number): void {
    let hole = i;
    for (let j = (i + 1) & mask; slots[j] !== EMPTY; j = (j + 1) & mask) {
      const ideal = hashes[j]! & mask;
      // Move j into the hole unless its ideal slot lies cyclically in (hole, j].
      const inRange = hole <= j ? ideal > hole && ideal <= j : ideal > hole || ideal <= j;
      if (!inRange) {
        slots[hole] = slots[j]!;
        hashes[hole] = hashes[j]!;
        hole = j;
      }
    }
    slots[hole] = EMPTY;
  }

  function markDead(off: number): void {
    arena.writeUInt32LE((arena.readUInt32LE(off) & LEN_MASK) >>> 0, off);
    live--;
  }

  /** Removes the oldest record (dropping its index slot if live). */
  function evictTail(): void {
    const word = arena.readUInt32LE(tail);
    if ((word & LIVE_FLAG) !== 0) {
      const h = arena.readInt32LE(tail + 4);
      for (let i = h & mask; ; i = (i + 1) & mask) {
        if (slots[i] === tail + 1) {
          clearSlot(i);
          break;
        }
      }
      live--;
    }
    records--;
    tail += word & LEN_MASK;
    if (tail === wrapAt) {
      tail = 0;
      wrapAt = cap;
    }
    if (records === 0) {
      head = 0;
      tail = 0;
      wrapAt = cap;
    }
  }

  /** Room for `len` bytes at the head, evicting the oldest as needed; returns the offset. */
  function reserve(len: number): number {
    for (;;) {
      if (records === 0) {
        head = 0;
        tail = 0;
        wrapAt = cap;
        return 0;
      }
      if (tail < head) {
        if (head + len <= cap) return head;
        // No room before the end: the ring wraps; [head, cap) stays unused until the tail passes it.
        wrapAt = head;
        head = 0;
        continue;
      }
      // Wrapped (tail >= head): free bytes are [head, tail).
      if (head + len <= tail) return head;
      evictTail();
    }
  }

  /** Appends a record; the caller has removed any live record under the same key. */
  function append(n: number, h: number, value: string, valueBytes: number, stamp: number): boolean {
    const len = align8(HEADER + n + valueBytes);
    if (len > cap) return false;
    while (live >= maxEntries) evictOldestLive();
    const off = reserve(len);
    arena.writeUInt32LE((len | LIVE_FLAG) >>> 0, off);
    arena.writeInt32LE(h, off + 4);
    arena.writeDoubleLE(stamp, off + 8);
    arena.writeUInt32LE(n, off + 16);
    arena.writeUInt32LE(valueBytes, off + 20);
    scratch.copy(arena, off + HEADER, 0, n);
    arena.write(value, off + HEADER + n, valueBytes, "utf8");
    head = off + len;
    records++;
    live++;
    let i = h & mask;
    while (slots[i] !== EMPTY) i = (i + 1) & mask;
    slots[i] = off + 1;
    hashes[i] = h;
    return true;
  }

  function evictOldestLive(): void {
    for (;;) {
      const wasLive = (arena.readUInt32LE(tail) & LIVE_FLAG) !== 0;
      evictTail();
      if (wasLive) return;
    }
  }

  /** Drops dead records at the tail so that `tail` is the oldest live record. */
  function skipDead(): void {
    while (records > 0 && (arena.readUInt32LE(tail) & LIVE_FLAG) === 0) evictTail();
  }

  function valueAt(off: number): string {
    const n = arena.readUInt32LE(off + 16);
    const vb = arena.readUInt32LE(off + 20);
    return arena.toString("utf8", off + HEADER + n, off + HEADER + n + vb);
  }

  return {
    get(key) {
      const n = keyBytes(key);
      const i = findSlot(n, keyHash);
      if (i < 0) return undefined;
      const off = slots[i]! - 1;
      return { value: valueAt(off), stamp: arena.readDoubleLE(off + 8) };
    },
    set(key, value, stamp) {
      const n = keyBytes(key);
      const h = keyHash;
      const i = findSlot(n, h);
      if (i >= 0) {
        markDead(slots[i]! - 1);
        clearSlot(i);
      }
      return append(n, h, value, Buffer.byteLength(value, "utf8"), stamp);
    },
    touch(key) {
      const n = keyBytes(key);
      const h = keyHash;
      const i = findSlot(n, h);
      if (i < 0) return false;
      const off = slots[i]! - 1;
      if (off + (arena.readUInt32LE(off) & LEN_MASK) === head) return true; // already the newest
      const value = valueAt(off);
      const stamp = arena.readDoubleLE(off + 8);
      markDead(off);
      clearSlot(i);
      return append(n, h, value, arena.readUInt32LE(off + 20), stamp);
    },
    delete(key) {
      const n = keyBytes(key);
      const i = findSlot(n, keyHash);
      if (i < 0) return false;
      markDead(slots[i]! - 1);
      clearSlot(i);
      return true;
    },
    oldestStamp() {
      skipDead();
      return records === 0 ? undefined : arena.readDoubleLE(tail + 8);
    },
    shift() {
      skipDead();
      if (records > 0) evictTail();
    },
    get size() {
      return live;
    },
  };
}
