import { createOrderTupleJson, orderFromTuple, type OrderTupleJson } from "../../domain/order-tuple.js";
import { err, ok } from "../../domain/result.js";
import type { GatewayError } from "../../domain/errors.js";
import { createRecordRing, ringBytes } from "../../shared/record-ring.js";
import type { IdempotencyRecord, IdempotencyStore } from "../../use-cases/idempotency-store.js";

export interface MemoryIdempotencyStoreOptions {
  /** How long a retry is de-duplicated. Default 24 h. */
  readonly ttlMs?: number;
  /** Most records kept; the least recently used goes first. Default 100,000. */
  readonly maxEntries?: number;
  /**
   * Bytes of the record ring; default `maxEntries` x BYTES_PER_RECORD. A market order's record
   * takes about 300 bytes; a store full of larger records (long rejection messages) starts
   * evicting by bytes before it holds `maxEntries`.
   */
  readonly capacityBytes?: number;
  /** Take the ring's memory up front (see record-ring.ts). Production does; tests need not. */
  readonly prefault?: boolean;
  /** Packs orders; pass the order manager's too, to share its memo (order-tuple.ts). Default: its own. */
  readonly orderTupleJson?: OrderTupleJson;
}

export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_IDEMPOTENCY_MAX_ENTRIES = 100_000;
/** Ring bytes reserved per record: room for a market order's record (about 300 bytes) with margin. */
export const BYTES_PER_RECORD = 384;

/** [fingerprint or 0, 1, order tuple] or [fingerprint or 0, 0, error]. */
function encode(orderTupleJson: OrderTupleJson, rec: IdempotencyRecord): string {
  const o = rec.outcome;
  // The order's part is the very string the order manager packed it into (orderTupleJson).
  if (o.ok) return `[${JSON.stringify(rec.fingerprint ?? 0)},1,${orderTupleJson(o.value)}]`;
  return JSON.stringify([rec.fingerprint ?? 0, 0, o.error]);
}

function decode(s: string, storedAtMs: number): IdempotencyRecord {
  const [fp, isOk, body] = JSON.parse(s) as [string | 0, 0 | 1, unknown];
  const outcome = isOk === 1 ? ok(orderFromTuple(body as unknown[])) : err(body as GatewayError);
  return fp === 0 ? { outcome, storedAtMs } : { fingerprint: fp, outcome, storedAtMs };
}

/**
 * LRU + TTL, O(1) per operation, with the records off the JavaScript heap
 * (src/shared/record-ring.ts: a key held for 24 h costs the GC nothing). A record is
 * decoded only when its key is seen again (a replay or a conflict).
 * The TTL counts from storage, not from the last access: a key is
 * de-duplicated for ttlMs after the order, however often it is retried.
 * Memory is bounded by maxEntries (and the ring's bytes) whatever the TTL;
 * expired entries are also dropped from the least recently used end as new
 * ones arrive.
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const maxEntries = options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES;
  if (!(ttlMs > 0) || !(maxEntries > 0)) throw new Error("idempotency store: ttlMs and maxEntries must be positive");
  const orderTupleJson = options.orderTupleJson ?? createOrderTupleJson();
  const ring = createRecordRing({
    maxEntries,
    capacityBytes: options.capacityBytes ?? ringBytes(maxEntries, BYTES_PER_RECORD),
    ...(options.prefault !== undefined ? { prefault: options.prefault } : {}),
  });

  return {
    get(key: string, nowMs: number): IdempotencyRecord | undefined {
      const found = ring.get(key);
      if (found === undefined) return undefined;
      if (nowMs - found.stamp >= ttlMs) {
        ring.delete(key);
        return undefined;
      }
      ring.touch(key);
      return decode(found.value, found.stamp);
    },
    set(key: string, record: IdempotencyRecord, nowMs: number): void {
      // A record larger than the whole ring cannot be kept; it is then not de-duplicated, as if evicted.
      ring.set(key, encode(orderTupleJson, record), record.storedAtMs);
      // Bounded work per call keeps the hot path steady.
      for (let i = 0; i < 4; i++) {
        const stamp = ring.oldestStamp();
        if (stamp === undefined || nowMs - stamp < ttlMs) break;
        ring.shift();
      }
    },
    delete(key: string): void {
      ring.delete(key);
    },
    get size(): number {
      return ring.size;
    },
  };
}
