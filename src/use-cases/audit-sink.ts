import type { Fill, Order } from "../domain/order.js";
import type { GatewayError } from "../domain/errors.js";
import type { TradingStateSetting } from "../domain/trading-state.js";

export type AuditEventType =
  | "order_received"
  | "order_accepted"
  | "order_rejected"
  | "order_pending"
  | "order_partially_filled"
  | "order_filled"
  | "cancel_requested"
  /** The venue refused a cancel (or it could not be sent); the order is working again. */
  | "cancel_rejected"
  | "order_canceled"
  | "order_expired"
  /** A replace was sent; the order is PENDING_REPLACE. */
  | "replace_requested"
  /**
   * Reconciliation found the gateway's record differing from the venue's and corrected it (the
   * status events of the correction precede it in the same append), or adopted an order placed
   * at the venue outside the gateway (`reconciliation.kind` "external_adopted": the order's
   * first event, which recovery rebuilds it from).
   */
  | "order_reconciled"
  /** The venue confirmed a replace; the order carries its new client id and fields. */
  | "order_replaced"
  /** The venue refused a replace (or it could not be sent); `error` says why. */
  | "replace_rejected"
  | "fill"
  /** A trading state was set (the kill switch): `tradingState` is set. No order. */
  | "trading_state_set"
  /** The risk limits changed (start-up, SIGHUP, file change): `riskLimits` is set. No order. */
  | "risk_limits_reloaded"
  /** An account's realized P&L for the UTC day went below its daily loss limit (it becomes reduce-only); `error` says the figures. */
  | "daily_loss_limit_breached";

/** What reconciliation corrected; bounded set (also the metric label). */
export type ReconcileKind =
  /** The venue no longer lists an order the gateway thought open; its final word (canceled, filled, expired) was applied. */
  | "venue_closed"
  /** The venue reports another status for an open order. */
  | "status"
  /** The venue reports more filled than the gateway had recorded. */
  | "missed_fill"
  /** An order placed at the venue outside the gateway, adopted as external. */
  | "external_adopted";

export const RECONCILE_KINDS: readonly ReconcileKind[] = ["venue_closed", "status", "missed_fill", "external_adopted"];

/**
 * One line of the audit log. It carries enough to rebuild the gateway's
 * memory on start-up: orders by id, idempotency entries (key + request
 * fingerprint + outcome), and fills with their sequence.
 */
export interface AuditEvent {
  readonly ts: number;
  readonly type: AuditEventType;
  readonly requestId: string;
  /** The idempotency scope key (account + key) and the fingerprint of the request fields it guards. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /** The order after this event; absent only for a business error that created no order. */
  readonly order?: Order;
  readonly fill?: Fill;
  /** A business error stored as the outcome of an idempotency key (e.g. a risk-limit breach). */
  readonly error?: GatewayError;
  /** Why the gateway acted on its own (e.g. "cancel-on-disconnect session s1"); OrderEvent.reason. */
  readonly reason?: string;
  /**
   * The first OrderEvent.sequence of the order events this line yields, and how many numbers it
   * reserved (absent = 1). Set by the order-event log (use-cases/order-events.ts) at the append;
   * absent on lines that yield no order event and on lines written before numbering existed.
   */
  readonly eventSequence?: bigint;
  readonly eventCount?: number;
  /** trading_state_set: the setting as recorded. */
  readonly tradingState?: TradingStateSetting;
  /** risk_limits_reloaded: where the limits came from, their digest and a one-line summary. */
  readonly riskLimits?: RiskLimitsRecord;
  /** On `order_reconciled` events: what differed and what the venue said (no secrets: venue ids and statuses only). */
  readonly reconciliation?: { readonly kind: ReconcileKind; readonly detail: string };
}

/** What the audit log keeps of a risk-limits change (not the limits themselves: the file is the record). */
export interface RiskLimitsRecord {
  /** The file, or "built-in defaults". */
  readonly source: string;
  /** SHA-256 (hex) of the effective limits, canonical JSON. */
  readonly digest: string;
  readonly summary: string;
}

export type AuditMode = "fsync" | "buffered" | "off";

export interface AuditSink {
  readonly mode: AuditMode;
  /**
   * Appends events in order. Returns null when the caller may answer at once
   * (buffered/off), or a promise that settles when every event is durable
   * (fsync group commit). Returning null instead of a resolved promise keeps
   * the hot path free of allocations when there is nothing to wait for.
   */
  append(events: readonly AuditEvent[]): Promise<void> | null;
  /** Flushes and closes; later appends fail. */
  close(): Promise<void>;
}

/**
 * An append refused because the audit log is unreachable for now (the database connection is
 * lost), by a sink that keeps the events and writes them, exactly once and in order, as soon as
 * the log is back. Its callers are refused (the outcome is not on record yet), but the gateway
 * need not stay closed until a restart: the sink says when it is back (AuditAvailability).
 * Any other append error means the events may be lost, and only a restart clears it.
 */
export class AuditOutageError extends Error {
  override readonly name = "AuditOutageError";
  readonly code = "AUDIT_OUTAGE";
}

/**
 * Told by a sink that watches its own back-end (PostgreSQL): the log cannot record events from
 * now on (`permanent`: not even once the back-end is back, e.g. another writer appended to the
 * table meanwhile), or it is back and holds every event it was given. Calls must not throw.
 */
export interface AuditAvailability {
  unavailable(reason: string, cause: unknown, permanent: boolean): void;
  restored(): void;
}
