import { createLinkedMap } from "./linked-map.js";
import type { IdempotencyRecord, IdempotencyStore } from "./store.js";

export interface MemoryIdempotencyStoreOptions {
  /** How long a retry is de-duplicated. Default 24 h. */
  readonly ttlMs?: number;
  /**
   * Most records kept; the least recently used goes first. Default 100,000: the
   * order manager's cap on terminal orders, so with default settings a record
   * shares its order with the order manager instead of keeping one alive alone.
   */
  readonly maxEntries?: number;
}

export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_IDEMPOTENCY_MAX_ENTRIES = 100_000;

/**
 * LRU + TTL, O(1) per operation: a hash index plus a doubly linked list in
 * use order (see linked-map.ts for why not a plain Map's insertion order).
 * The TTL counts from storage, not from the last access: a key is
 * de-duplicated for ttlMs after the order, however often it is retried.
 * Memory is bounded by maxEntries whatever the TTL; expired entries are also
 * dropped from the least recently used end as new ones arrive.
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const maxEntries = options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES;
  if (!(ttlMs > 0) || !(maxEntries > 0)) throw new Error("idempotency store: ttlMs and maxEntries must be positive");
  const lru = createLinkedMap<string, IdempotencyRecord>();

  return {
    get(key: string, nowMs: number): IdempotencyRecord | undefined {
      const rec = lru.get(key);
      if (rec === undefined) return undefined;
      if (nowMs - rec.storedAtMs >= ttlMs) {
        lru.delete(key);
        return undefined;
      }
      lru.touch(key);
      return rec;
    },
    set(key: string, record: IdempotencyRecord, nowMs: number): void {
      lru.set(key, record);
      while (lru.size > maxEntries) lru.shift();
      // Bounded work per call keeps the hot path steady.
      for (let i = 0; i < 4; i++) {
        const first = lru.oldest();
        if (first === undefined || nowMs - first.value.storedAtMs < ttlMs) break;
        lru.shift();
      }
    },
    delete(key: string): void {
      lru.delete(key);
    },
    get size(): number {
      return lru.size;
    },
  };
}
