import type { AuditEvent, AuditSink } from "./audit-sink.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderStatus, type Fill, type Order } from "../domain/order.js";
import { isTerminal } from "../domain/order-state.js";
import type { Result } from "../domain/result.js";

/**
 * The order history port: every order and fill the gateway has on record, listed newest first
 * (ListOrders, ListFills; the dashboard and reconciliation use it too). Two adapters implement it
 * with the same ordering and filters (test/use-cases/list-orders.test.ts runs one suite on both):
 * - src/adapters/audit/memory-order-history.ts: an index in memory, built from the JSONL audit
 *   log at start-up and fed every appended event (`current`: as up to date as the order manager);
 * - src/adapters/audit/postgres-order-history.ts: queries the PostgreSQL audit table (it shows
 *   what is committed; the use-case overlays the order manager's newer state).
 */

/** Where a page of orders starts: strictly older than this (created_at, then order_id, descending). */
export interface OrderCursor {
  readonly createdAtMs: number;
  readonly orderId: string;
}

export interface OrderQuery {
  /** Required: orders of this account only. */
  readonly account: string;
  /** "" = any venue. */
  readonly venue: string;
  /** "" = any symbol. */
  readonly symbol: string;
  /** Only these statuses; empty = any. */
  readonly statuses: readonly OrderStatus[];
  /** Only orders that are not final. Combined with `statuses`: both must hold. */
  readonly openOnly: boolean;
  /** created_at >= this (ms), if given. */
  readonly createdAfterMs?: number | undefined;
  /** created_at < this (ms), if given. */
  readonly createdBeforeMs?: number | undefined;
  /** Only orders older than this key (the previous page's last). */
  readonly after?: OrderCursor | undefined;
  /** Most orders to return (>= 1). */
  readonly limit: number;
}

export interface FillQuery {
  readonly account: string;
  /** "" = any order. */
  readonly orderId: string;
  readonly symbol: string;
  readonly venue: string;
  /** fill time >= this (ms), if given. */
  readonly timeAfterMs?: number | undefined;
  /** fill time < this (ms), if given. */
  readonly timeBeforeMs?: number | undefined;
  /** Only fills with a sequence below this (the previous page's last). */
  readonly beforeSequence?: bigint | undefined;
  readonly limit: number;
}

export interface OrderHistory {
  /**
   * True when the history holds every appended event as soon as `record` is called (the memory
   * index). False when it shows what its store has committed (PostgreSQL): the caller overlays
   * the order manager's newer state.
   */
  readonly current: boolean;
  /** Told every event appended to the audit log, in log order (a no-op for a store that reads the log itself). */
  record(events: readonly AuditEvent[]): void;
  /** Up to `limit` orders matching `q`, newest first (created_at, then order_id, descending; ids compared by code unit). */
  listOrders(q: OrderQuery): Promise<Result<readonly Order[], GatewayError>>;
  /** Up to `limit` fills matching `q`, by sequence descending. */
  listFills(q: FillQuery): Promise<Result<readonly Fill[], GatewayError>>;
  close(): Promise<void>;
}

const ALL_STATUSES: readonly OrderStatus[] = Object.values(OrderStatus).filter((s): s is OrderStatus => typeof s === "number" && s !== OrderStatus.UNSPECIFIED);

/**
 * The statuses a query admits (statuses and open_only combined), or undefined for "any".
 * An empty set means nothing can match. Both adapters filter by this one definition.
 */
export function admittedStatuses(q: Pick<OrderQuery, "statuses" | "openOnly">): ReadonlySet<OrderStatus> | undefined {
  if (q.statuses.length === 0 && !q.openOnly) return undefined;
  const base = q.statuses.length > 0 ? q.statuses : ALL_STATUSES;
  return new Set(base.filter((s) => !q.openOnly || !isTerminal(s)));
}

/** Orders' total order: created_at, then order_id by UTF-16 code unit (PostgreSQL: COLLATE "C", the same for the ASCII ids). */
export function compareOrderKey(aMs: number, aId: string, bMs: number, bId: string): number {
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aId === bId ? 0 : aId < bId ? -1 : 1;
}

/** Does `o` match every filter of `q` (the cursor and the limit aside)? */
export function orderMatches(o: Order, q: OrderQuery, statuses: ReadonlySet<OrderStatus> | undefined): boolean {
  return (
    o.account === q.account &&
    (q.venue === "" || o.venue === q.venue) &&
    (q.symbol === "" || o.symbol === q.symbol) &&
    (statuses === undefined || statuses.has(o.status)) &&
    (q.createdAfterMs === undefined || o.createdAtMs >= q.createdAfterMs) &&
    (q.createdBeforeMs === undefined || o.createdAtMs < q.createdBeforeMs)
  );
}

/** The audit sink, telling `history` every event it is given (when the history keeps its own index). */
export function recordingAudit(audit: AuditSink, history: OrderHistory): AuditSink {
  if (!history.current) return audit;
  return {
    mode: audit.mode,
    append(events) {
      history.record(events);
      return audit.append(events);
    },
    close: () => audit.close(),
  };
}

/** The events recovery reads at start-up, also told to `history` (one pass over the log builds both). */
export async function* feedingHistory(events: AsyncIterable<AuditEvent>, history: OrderHistory): AsyncGenerator<AuditEvent, void, undefined> {
  if (!history.current) {
    yield* events;
    return;
  }
  const one: AuditEvent[] = [];
  for await (const e of events) {
    one[0] = e;
    history.record(one);
    yield e;
  }
}
