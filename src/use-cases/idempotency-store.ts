import type { GatewayError } from "../domain/errors.js";
import type { Order } from "../domain/order.js";
import type { Result } from "../domain/result.js";

/** What a PlaceOrder key produced: the order (any status, REJECTED included) or a stored business error. */
export type IdempotencyOutcome = Result<Order, GatewayError>;

/** One completed request, kept so a retry gets the same answer. */
export interface IdempotencyRecord {
  /**
   * Fingerprint of the order fields (src/use-cases/idempotency.ts); a retry must match it.
   * Absent when the outcome is an order whose own fields give the same fingerprint
   * (`requestFingerprint(order)`, see `recordFingerprint`): the order already holds every
   * fingerprinted field, so a second copy of them (~100 bytes per key, kept for the TTL)
   * is not stored. Present for stored errors, and for recovered records whose fingerprint
   * the order does not reproduce (another fingerprint version).
   */
  readonly fingerprint?: string;
  readonly outcome: IdempotencyOutcome;
  /** When the outcome was stored; the TTL counts from here, not from the last access. */
  readonly storedAtMs: number;
}

/**
 * Completed idempotency records. In-flight requests are NOT kept here (the
 * pipeline holds their promises), so evicting a record can never let a
 * second venue call through while the first is still running.
 */
export interface IdempotencyStore {
  /** The record if present and younger than the TTL at `nowMs`. */
  get(key: string, nowMs: number): IdempotencyRecord | undefined;
  set(key: string, record: IdempotencyRecord, nowMs: number): void;
  delete(key: string): void;
  readonly size: number;
}
