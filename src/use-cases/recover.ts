import type { AuditEvent } from "./audit-sink.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderStatus, type Fill, type Order } from "../domain/order.js";
import { isTerminal } from "../domain/order-state.js";
import { scopeKey, type TradingStateSetting } from "../domain/trading-state.js";
import { err, ok } from "../domain/result.js";
import type { IdempotencyRecord, IdempotencyStore } from "./idempotency-store.js";
import type { OrderManager } from "./order-manager.js";
import { createLinkedMap } from "../shared/linked-map.js";
import { recordFingerprint, requestFingerprint } from "./idempotency.js";
import { targetOf } from "./replace-order.js";

export interface RecoverOptions {
  /** "Now" at start-up: records older than the TTL / retention are dropped. */
  readonly nowMs: number;
  readonly idempotencyTtlMs: number;
  readonly idempotencyMaxEntries: number;
  readonly orderRetentionMs: number;
  readonly maxTerminalOrders: number;
  /**
   * Told of every fill in the log, in log order (the position book rebuilds positions from
   * them: positions are not bounded by order retention, so they cannot come from `orders`).
   */
  readonly onFill?: (fill: Fill) => void;
}

export interface RecoveredOrder {
  readonly order: Order;
  /** Venue trade ids already applied, so a poll repeating them adds nothing. */
  readonly venueTradeIds: readonly string[];
  /** A transient venue failure ended it and freed its client_order_id for a retry (see place-order.ts). */
  readonly clientOrderIdReleased: boolean;
  /** PENDING_REPLACE only: the key and fingerprint of the replace in flight (see replace-order.ts). */
  readonly pendingReplace?: { readonly key: string; readonly fingerprint: string } | undefined;
  /** What the chain had filled before its current venue order (see order-manager.ts Rec.base). */
  readonly base?: string | undefined;
}

/** What the audit log says the gateway knew when it stopped. */
export interface RecoveredState {
  /** Idempotency scope key -> record, least recently stored first. */
  readonly idempotency: ReadonlyMap<string, IdempotencyRecord>;
  /** Open orders (not terminal) and terminal orders within retention, by order id. */
  readonly orders: ReadonlyMap<string, RecoveredOrder>;
  /** Highest fill sequence in the log (0n if none): the fill hub continues after it. */
  readonly lastFillSequence: bigint;
  /** Highest order-event sequence a line reserved (0n if none): the order-event hub continues after it. */
  readonly lastEventSequence: bigint;
  readonly events: number;
  /** The last trading-state setting of every scope that is not ACTIVE (the kill switch survives restarts). */
  readonly tradingStates: readonly TradingStateSetting[];
}

/** Errors that released the key (the order certainly did not reach the venue); see place-order.ts. */
function releasesKey(e: GatewayError): boolean {
  return e.kind === "unavailable" || e.kind === "resource_exhausted";
}

interface MutableOrder {
  order: Order;
  venueTradeIds: string[];
  clientOrderIdReleased: boolean;
  pendingReplace?: { readonly key: string; readonly fingerprint: string } | undefined;
  base?: string | undefined;
}

/**
 * Rebuilds idempotency records, orders and the fill sequence from the audit
 * events, in log order. Pure over the sequence (no clock, no I/O besides
 * iterating). Memory stays bounded while reading a long log: keys beyond
 * `idempotencyMaxEntries` and terminal orders beyond `maxTerminalOrders` are
 * dropped oldest first as we go, as the live gateway would have done.
 */
export async function recoverState(events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>, options: RecoverOptions): Promise<RecoveredState> {
  const r = createStateRecovery(options);
  for await (const e of events) r.apply(e);
  return r.finish(options.nowMs);
}

/** recoverState one event at a time: a warm standby applies each event as the leader commits it. */
export interface StateRecovery {
  apply(e: AuditEvent): void;
  /** The state as of the events applied so far; records older than the TTL / retention at `nowMs` are left out. */
  finish(nowMs: number): RecoveredState;
}

export function createStateRecovery(options: Omit<RecoverOptions, "nowMs">): StateRecovery {
  // Linked maps: bounding them evicts the oldest in O(1) (a plain Map's keys().next() is not, see linked-map.ts).
  const keys = createLinkedMap<string, IdempotencyRecord>();
  const orders = new Map<string, MutableOrder>();
  const terminal = createLinkedMap<string, number>();
  let lastSeq = 0n;
  let lastEventSeq = 0n;
  let count = 0;
  const tradingStates = new Map<string, TradingStateSetting>();

  function apply(e: AuditEvent): void {
    count++;
    if (e.tradingState !== undefined) {
      const t = e.tradingState;
      if (t.state === "ACTIVE") tradingStates.delete(scopeKey(t));
      else tradingStates.set(scopeKey(t), t);
    }
    if (e.order !== undefined) {
      const o = e.order;
      let rec = orders.get(o.orderId);
      if (rec === undefined) {
        rec = { order: o, venueTradeIds: [], clientOrderIdReleased: false };
        orders.set(o.orderId, rec);
      } else {
        // A replace that made a new venue order: that order's own totals start from here.
        if (e.type === "order_replaced" && o.venueClientOrderId !== rec.order.venueClientOrderId) rec.base = o.filledQuantity === "" ? "0" : o.filledQuantity;
        rec.order = o;
      }
      if (e.fill !== undefined) rec.venueTradeIds.push(e.fill.venueTradeId);
      // Only a refused new order frees its client id; a refused replace leaves the order as it was.
      if (e.type === "order_rejected" && e.error !== undefined && e.idempotency !== undefined && releasesKey(e.error)) rec.clientOrderIdReleased = true;
      // A replace in flight when the gateway stopped: its target comes back with the order.
      if (e.type === "replace_requested" && e.idempotency !== undefined) rec.pendingReplace = e.idempotency;
      else if (o.status !== OrderStatus.PENDING_REPLACE) rec.pendingReplace = undefined;
      if (isTerminal(o.status)) {
        terminal.set(o.orderId, o.updatedAtMs);
        if (terminal.size > options.maxTerminalOrders) orders.delete(terminal.shift()!.key);
      }
    }
    if (e.fill !== undefined && e.fill.sequence > lastSeq) lastSeq = e.fill.sequence;
    if (e.eventSequence !== undefined) {
      const last = e.eventSequence + BigInt((e.eventCount ?? 1) - 1);
      if (last > lastEventSeq) lastEventSeq = last;
    }
    if (e.fill !== undefined && options.onFill !== undefined) options.onFill(e.fill);
    // replace_requested names its key only to rebuild the replace in flight; its outcome comes later.
    if (e.idempotency !== undefined && e.type !== "replace_requested") {
      const { key, fingerprint } = e.idempotency;
      if (e.error !== undefined && releasesKey(e.error)) {
        keys.delete(key);
      } else if (e.error !== undefined || e.order !== undefined) {
        const prev = keys.get(key);
        const storedAtMs = prev !== undefined && recordFingerprint(prev) === fingerprint ? prev.storedAtMs : e.ts;
        // As in the pipeline, an order that reproduces the fingerprint stands for it (no second copy kept).
        keys.set(
          key,
          e.error !== undefined
            ? { fingerprint, storedAtMs, outcome: err(e.error) }
            : requestFingerprint(e.order!) === fingerprint
              ? { storedAtMs, outcome: ok(e.order!) }
              : { fingerprint, storedAtMs, outcome: ok(e.order!) },
        );
        if (keys.size > options.idempotencyMaxEntries) keys.shift();
      }
    }
  }

  function finish(nowMs: number): RecoveredState {
    const idempotency = new Map<string, IdempotencyRecord>();
    for (const [key, rec] of keys.entries()) if (nowMs - rec.storedAtMs < options.idempotencyTtlMs) idempotency.set(key, rec);
    // A copy: a standby keeps applying events to `orders` after a finish.
    const kept = new Map<string, RecoveredOrder>();
    for (const [orderId, rec] of orders) kept.set(orderId, { ...rec, venueTradeIds: rec.venueTradeIds.slice() });
    for (const [orderId, at] of terminal.entries()) if (nowMs - at >= options.orderRetentionMs) kept.delete(orderId);
    return { idempotency, orders: kept, lastFillSequence: lastSeq, lastEventSequence: lastEventSeq, events: count, tradingStates: [...tradingStates.values()] };
  }
  return { apply, finish };
}

/** Loads a recovered state into a fresh order manager and idempotency store. */
export function applyRecoveredState(
  state: RecoveredState,
  into: { readonly orders: OrderManager; readonly idempotency: IdempotencyStore; readonly venueKind?: (venue: string) => string },
  nowMs: number,
): void {
  for (const r of state.orders.values()) {
    const p = r.pendingReplace;
    const target = p === undefined ? undefined : targetOf(r.order, p.key, p.fingerprint, into.venueKind?.(r.order.venue) ?? "");
    into.orders.restore(r.order, r.venueTradeIds, undefined, !r.clientOrderIdReleased, target, r.base);
  }
  for (const [key, rec] of state.idempotency) into.idempotency.set(key, rec, nowMs);
}
