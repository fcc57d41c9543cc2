import type { AuditEvent, AuditEventType, AuditSink } from "./audit-sink.js";
import { add, formatDecimal, sub, type Decimal } from "../domain/decimal.js";
import { applyVenueUpdate, fillOf, rebaseTotalsFills } from "../domain/apply-venue-update.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderStatus, type Fill, type Order, type OrderSpec } from "../domain/order.js";
import { isTerminal, isWorking, statusName, transition } from "../domain/order-state.js";
import { err, ok, type Result } from "../domain/result.js";
import type { Clock, FillPublisher, IdSource } from "../domain/ports.js";
import type { OrderUpdateSink, VenueFill, VenueOrderUpdate } from "./venue-adapter.js";
import { createRecordRing, ringBytes } from "../shared/record-ring.js";
import { createOrderTupleJson, orderFromTuple, type OrderTupleJson } from "../domain/order-tuple.js";
import type { AuditGuard } from "./audit-guard.js";
import type { OrderObserver } from "./order-observer.js";
import type { ReconcileKind } from "./audit-sink.js";
import type { VenueOpenOrder } from "./venue-adapter.js";
import { eventForVenueStatus } from "../domain/order-state.js";

export interface OrderManagerOptions {
  readonly clock: Clock;
  /** Gateway fill ids (and order ids unless `orderIds` is given). */
  readonly ids: IdSource;
  /** Gateway order ids; default `ids`. */
  readonly orderIds?: IdSource;
  readonly audit: AuditSink;
  readonly fills: FillPublisher;
  /** How long a terminal order stays queryable in memory. Default 10 min. It stays in the audit log forever. */
  readonly retentionMs?: number;
  /** Most terminal orders kept in memory whatever their age. Default 100,000. */
  readonly maxTerminalOrders?: number;
  /** Take the memory of the terminal-order rings at creation (record-ring.ts). Default false. */
  readonly prefault?: boolean;
  /** Told about venue updates that could not be applied (impossible transitions, failed audit). */
  readonly onError?: (message: string, detail: unknown) => void;
  /** Tripped when a venue update's events (fills from polls) cannot be appended; see audit-guard.ts. */
  readonly auditGuard?: AuditGuard;
  /** Packs terminal orders; pass the idempotency store's too, to share its memo (order-tuple.ts). Default: its own. */
  readonly orderTupleJson?: OrderTupleJson;
  /**
   * Told of each new fill once, in `commit`, right before its events are appended: in the same
   * synchronous step in which the order's open quantity went down (the position book, so the
   * risk check never sees a fill in neither the position nor the open orders).
   */
  readonly onFillRecorded?: (fill: Fill) => void;
  /** Told of every state an order takes (created, restored, changed): `prev` undefined for a new one. */
  readonly onOrderChange?: (prev: Order | undefined, next: Order) => void;
  /** Business metrics: told about every status change and fill (order-observer.ts). */
  readonly observer?: OrderObserver;
}

/** The client order id an adopted external order gets: deterministic, so the order is found again by it. */
export function externalClientOrderId(venue: string, venueOrderId: string): string {
  return `ext-${venue}-${venueOrderId}`;
}

/** An order placed at the venue outside the gateway, as reconciliation adopts it. */
export interface ExternalOrderInput {
  readonly venue: string;
  /** The venue's configured external account (venue file `externalAccount`). */
  readonly account: string;
  readonly open: VenueOpenOrder;
}

export const DEFAULT_ORDER_RETENTION_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_TERMINAL_ORDERS = 100_000;
/**
 * Ring bytes per terminal order: a filled market order packs to about 250 bytes. Orders with long
 * reject reasons or many fills take more, and the ring then drops the oldest before the count cap.
 */
const BYTES_PER_TERMINAL_ORDER = 384;
/** Ring bytes per (account, client order id) -> order id record. */
const BYTES_PER_CLIENT_KEY = 160;

/**
 * A replace in flight (PENDING_REPLACE): what the order becomes once the venue confirms it.
 * Absolute values (the order's total quantity, not a delta), so sending the same amend again
 * after an unknown outcome changes nothing twice.
 */
export interface ReplaceTarget {
  /** The replace's idempotency scope key (account + "r:" + new client order id). */
  readonly key: string;
  readonly fingerprint: string;
  readonly clientOrderId: string;
  readonly quantity: string;
  readonly price: string;
  readonly stopPrice: string;
  /** The venue client order id a new venue order of the chain gets (cancel-then-new, cancelReplace). */
  readonly venueClientOrderId: string;
}

/** The venue side of a confirmed replace: set when the venue order changed. */
export interface ReplacedAtVenue {
  readonly venueOrderId?: string;
  readonly venueClientOrderId?: string;
}

/** The result of one state change: the new order, the audit events that record it, the new fills. */
export interface Applied {
  readonly order: Order;
  readonly events: AuditEvent[];
  readonly fills: Fill[];
}

export interface OrderManager extends OrderUpdateSink {
  /** Registers a new order in PENDING_NEW. The caller has ensured (account, client_order_id) is free. */
  createPending(spec: OrderSpec, venueClientOrderId: string, nowMs: number): Order;
  get(orderId: string): Order | undefined;
  getByClientOrderId(account: string, clientOrderId: string): Order | undefined;
  /**
   * Applies what the venue said through the transition table: new fills
   * (de-duplicated by venue trade id) get a sequence and update filled
   * quantity and average price. Synchronous: sequences are taken here and the
   * caller appends `events` before its next await, so the log holds fills in
   * sequence order. An update that changes nothing gives no events.
   */
  applyUpdate(orderId: string, update: VenueOrderUpdate, requestId: string, nowMs: number): Result<Applied, GatewayError>;
  /** PENDING_NEW (or working) -> REJECTED with a reason; `error` marks a transient failure (the key is released). */
  reject(orderId: string, reason: string, requestId: string, nowMs: number, error?: GatewayError): Result<Applied, GatewayError>;
  /**
   * Working -> PENDING_CANCEL; terminal or not cancelable -> failed_precondition naming the status.
   * `resend`: a PENDING_CANCEL order takes the cancel again (the table's PENDING_CANCEL +
   * cancel_requested self-loop), recorded like the first one; CancelAllOrders re-sends a cancel
   * whose answer was lost.
   */
  requestCancel(orderId: string, requestId: string, nowMs: number, resend?: boolean): Result<Applied, GatewayError>;
  /** PENDING_CANCEL -> NEW (then PARTIALLY_FILLED if something filled); a no-op if the order moved on meanwhile. */
  cancelRejected(orderId: string, reason: string, requestId: string, nowMs: number): Applied;
  /**
   * Working -> PENDING_REPLACE, remembering `target`; its client order id is reserved for the
   * order at once (no PlaceOrder can take it meanwhile). Terminal -> ORDER_TERMINAL; PENDING_NEW,
   * PENDING_CANCEL, PENDING_REPLACE -> ORDER_NOT_REPLACEABLE.
   */
  requestReplace(orderId: string, target: ReplaceTarget, requestId: string, nowMs: number): Result<Applied, GatewayError>;
  /**
   * The order as its current venue order sees it: after a replace that made a new venue order,
   * quantity and filled quantity count that venue order alone (what venue adapters compare with
   * the venue's own figures). The order itself otherwise.
   */
  venueView(orderId: string): Order | undefined;
  /** The replace in flight for the order, if PENDING_REPLACE. */
  pendingReplace(orderId: string): ReplaceTarget | undefined;
  /**
   * PENDING_REPLACE -> NEW (then PARTIALLY_FILLED if something filled) with the target's fields:
   * the previous client id joins `replacedClientOrderIds`. Audited as `order_replaced`.
   */
  completeReplace(orderId: string, venue: ReplacedAtVenue, requestId: string, nowMs: number): Result<Applied, GatewayError>;
  /**
   * PENDING_REPLACE -> NEW/PARTIALLY_FILLED unchanged, the reserved client id released; audited
   * as `replace_rejected` with `error`. When the order left PENDING_REPLACE meanwhile (it filled),
   * the event still records the refusal, with the order as it is.
   */
  replaceRejected(orderId: string, error: GatewayError, requestId: string, nowMs: number): Applied;
  /** Frees (account, client_order_id) after a transient failure so the client can retry with the same id. */
  releaseClientOrderId(order: Order): void;
  /**
   * Puts back an order rebuilt from the audit log, with the venue trade ids already seen.
   * `indexClientOrderId` false: findable by order id only (its client order id was released).
   */
  restore(order: Order, venueTradeIds: Iterable<string>, terminalAtMs?: number, indexClientOrderId?: boolean, replace?: ReplaceTarget, base?: string): void;
  /**
   * Appends the events and, once durable, publishes the fills. Returns null
   * when nothing needs waiting for (buffered/off audit): fills are then
   * already published.
   */
  commit(applied: Applied): Promise<void> | null;
  /** Drops terminal orders past retention; also done as orders are created. */
  sweep(nowMs: number): void;
  /** Number of non-terminal orders of `venue` (the open-orders gauge reads it at scrape time). */
  openCount(venue: string): number;
  /**
   * Adopts an order placed at the venue outside the gateway: a new order id, `external: true`,
   * account and client order id (`ext-<venue>-<venue order id>`) of its own, its status reached
   * from PENDING_NEW through the transition table, recorded by one `order_reconciled` event
   * (which recovery rebuilds it from). Appended and committed here.
   */
  adoptExternal(input: ExternalOrderInput): Promise<Order>;
  /**
   * Applies a correction reconciliation learned from the venue through the transition table
   * and records it: the usual status/fill events, then an `order_reconciled` event saying what
   * differed. Returns the order after it, or undefined when the update changed nothing or could
   * not be applied (told to onError).
   */
  applyReconciliation(orderId: string, update: VenueOrderUpdate, kind: ReconcileKind, detail: string): Promise<Order | undefined>;
  /** Orders in memory (working + retained terminal). */
  readonly size: number;
  /** Non-terminal orders of the account (PENDING_NEW included): the max-open-orders limit's count, O(1). */
  openCountOf(account: string): number;
}

/** A tracked order. Working orders keep theirs in `byId`; a terminal one is packed (packRec) and rebuilt when used. */
interface Rec {
  order: Order;
  /** The first venue trade id applied ("" if none): most orders fill once, and a Set per order is costly. */
  firstTradeId: string;
  /** Venue trade ids already applied beyond the first; created on the second fill. */
  tradeIds: Set<string> | undefined;
  /** Sum of qty x price over applied fills, for the average price; undefined until the second fill. */
  notional: Decimal | undefined;
  /** The replace in flight (PENDING_REPLACE only). */
  replace?: ReplaceTarget | undefined;
  /**
   * What the chain had filled before its current venue order (a replace that made a new venue
   * order): the venue's cumulative figures count that order alone. undefined = the first one.
   */
  base?: string | undefined;
}

const AUDIT_TYPE: Readonly<Record<OrderStatus, AuditEventType>> = {
  [OrderStatus.UNSPECIFIED]: "order_pending",
  [OrderStatus.PENDING_NEW]: "order_pending",
  [OrderStatus.NEW]: "order_accepted",
  [OrderStatus.PARTIALLY_FILLED]: "order_partially_filled",
  [OrderStatus.FILLED]: "order_filled",
  [OrderStatus.PENDING_CANCEL]: "cancel_requested",
  [OrderStatus.CANCELED]: "order_canceled",
  [OrderStatus.REJECTED]: "order_rejected",
  [OrderStatus.EXPIRED]: "order_expired",
  [OrderStatus.PENDING_REPLACE]: "replace_requested",
};

/** A terminal order as one JSON string: [order tuple, first trade id, other trade ids...]. */
function packRec(orderTupleJson: OrderTupleJson, rec: Rec): string {
  // JSON.stringify([orderToTuple(rec.order), rec.firstTradeId, ...rec.tradeIds]), byte for byte.
  let s = `[${orderTupleJson(rec.order)},${JSON.stringify(rec.firstTradeId)}`;
  if (rec.tradeIds !== undefined) for (const id of rec.tradeIds) s += `,${JSON.stringify(id)}`;
  return `${s}]`;
}

function unpackRec(s: string): Rec {
  const t = JSON.parse(s) as [unknown[], string, ...string[]];
  return { order: orderFromTuple(t[0]), firstTradeId: t[1], tradeIds: t.length > 2 ? new Set(t.slice(2) as string[]) : undefined, notional: undefined };
}

function notFound(orderId: string): GatewayError {
  return { kind: "not_found", message: `order ${orderId} not found` };
}

/** Accounts past which one with no open order loses its count entry (countOpen). */
const MAX_ZERO_COUNTS = 10_000;

/**
 * Owns every order the gateway is tracking, by order id and by (account,
 * client order id). All state changes go through `transition`.
 *
 * Working orders are objects in Maps. An order that becomes terminal is
 * packed into a record ring outside the JS heap (record-ring.ts), with its
 * client order id in a second ring: up to `maxTerminalOrders` of them stay
 * queryable for hours without the GC marking them. They leave after
 * `retentionMs` or when more than `maxTerminalOrders` are kept, oldest first
 * in the order they became terminal, a few per call so no call pays for a
 * large sweep.
 *
 * It is also the `OrderUpdateSink` venue pollers and reconcilers feed.
 */
export function createOrderManager(options: OrderManagerOptions): OrderManager {
  const { clock, ids, audit, fills: hub } = options;
  const orderIds = options.orderIds ?? ids;
  const retentionMs = options.retentionMs ?? DEFAULT_ORDER_RETENTION_MS;
  const maxTerminal = options.maxTerminalOrders ?? DEFAULT_MAX_TERMINAL_ORDERS;
  const onError = options.onError ?? (() => {});
  const observer = options.observer;
  const orderTupleJson = options.orderTupleJson ?? createOrderTupleJson();
  const onFillRecorded = options.onFillRecorded;
  const onOrderChange = options.onOrderChange;
  /** Working (non-terminal) orders. */
  const byId = new Map<string, Rec>();
  /** clientKey -> orderId of working orders. */
  const byClient = new Map<string, string>();
  const prefault = options.prefault === true;
  /** Terminal orders: orderId -> packRec, stamped with when they became terminal. */
  const retired = createRecordRing({ maxEntries: maxTerminal, capacityBytes: ringBytes(maxTerminal, BYTES_PER_TERMINAL_ORDER), prefault });
  /** clientKey -> orderId of terminal orders, same stamps. */
  const retiredClients = createRecordRing({ maxEntries: maxTerminal, capacityBytes: ringBytes(maxTerminal, BYTES_PER_CLIENT_KEY), prefault });

  const clientKey = (account: string, clientOrderId: string): string => `${account}|${clientOrderId}`;

  /**
   * Non-terminal order ids per venue, so pollers' `openOrders(venue)` walks only those and not
   * every retained terminal order.
   */
  const open = new Map<string, Set<string>>();
  /** Non-terminal orders per account, kept with `open` (risk: max open orders per account). */
  const openByAccount = new Map<string, number>();
  function countOpen(account: string, delta: number): void {
    const n = (openByAccount.get(account) ?? 0) + delta;
    // An account at zero keeps its entry (no map delete and re-insert on every order of an account
    // that has one order open at a time), unless there are many accounts: then memory comes first.
    if (n <= 0 && openByAccount.size > MAX_ZERO_COUNTS) openByAccount.delete(account);
    else openByAccount.set(account, n > 0 ? n : 0);
  }
  function openSet(venue: string): Set<string> {
    let set = open.get(venue);
    if (set === undefined) {
      set = new Set();
      open.set(venue, set);
    }
    return set;
  }

  /** The tracked order: the working one, or a terminal one rebuilt from its ring record. */
  function recOf(orderId: string): Rec | undefined {
    const rec = byId.get(orderId);
    if (rec !== undefined) return rec;
    const packed = retired.get(orderId);
    return packed === undefined ? undefined : unpackRec(packed.value);
  }

  /** Keeps `next` as the order's state; a newly terminal order moves to the rings. */
  function store(rec: Rec, next: Order, nowMs: number): void {
    const from = rec.order.status;
    const wasTerminal = isTerminal(from);
    if (onOrderChange !== undefined) onOrderChange(rec.order, next);
    rec.order = next;
    if (observer !== undefined && from !== next.status) observer.statusChanged(next, from);
    if (!isTerminal(next.status)) return;
    const id = next.orderId;
    if (wasTerminal) {
      // Still terminal (a late fill or a repeated final status): re-packed, keeping when it ended.
      retired.set(id, packRec(orderTupleJson, rec), retired.get(id)?.stamp ?? nowMs);
      return;
    }
    byId.delete(id);
    if (open.get(next.venue)?.delete(id) === true) countOpen(next.account, -1);
    // Every client id of the chain (earlier ones, the current one, one reserved by a replace in flight).
    for (const cid of chainIds(next, rec.replace)) {
      const ck = clientKey(next.account, cid);
      if (byClient.get(ck) === id) {
        byClient.delete(ck);
        retiredClients.set(ck, id, nowMs);
      }
    }
    rec.replace = undefined;
    retired.set(id, packRec(orderTupleJson, rec), nowMs);
  }

  function chainIds(order: Order, replace: ReplaceTarget | undefined): string[] {
    const out = order.replacedClientOrderIds === undefined ? [order.clientOrderId] : [...order.replacedClientOrderIds, order.clientOrderId];
    if (replace !== undefined && replace.clientOrderId !== order.clientOrderId) out.push(replace.clientOrderId);
    return out;
  }

  /**
   * The order as its current venue order sees it (a replaced chain's later venue order): quantity
   * and filled count that order alone, so adapters comparing the venue's totals with ours (synthesized
   * fills, Binance's trade lookup) compare like with like. Its own average is not kept: "".
   */
  function venueView(rec: Rec): Order {
    const o = rec.order;
    const { venueFeeTotal: fee, ...rest } = o;
    const filled = formatDecimal(sub(o.filledQuantity === "" ? "0" : o.filledQuantity, rec.base!));
    const quantity = formatDecimal(sub(o.quantity, rec.base!));
    return { ...rest, ...(fee !== undefined ? { venueFeeTotal: fee } : {}), quantity, filledQuantity: filled, averageFillPrice: filled === "0" ? "" : o.averageFillPrice };
  }

  function sweepRing(ring: typeof retired, nowMs: number, budget: number): void {
    for (let i = 0; i < budget; i++) {
      const at = ring.oldestStamp();
      if (at === undefined || nowMs - at < retentionMs) return;
      ring.shift();
    }
  }

  /** The rings enforce `maxTerminalOrders` themselves; this drops what is past retention. */
  function sweepSome(nowMs: number, budget: number): void {
    sweepRing(retired, nowMs, budget);
    sweepRing(retiredClients, nowMs, budget);
  }

  function statusEvent(type: AuditEventType, order: Order, requestId: string, nowMs: number): AuditEvent {
    return { ts: nowMs, type, requestId, order };
  }

  function apply(rec: Rec, update: VenueOrderUpdate, requestId: string, nowMs: number): Result<Applied, GatewayError> {
    const cur = rec.order;
    // New executions, de-duplicated by venue trade id (polls repeat earlier trades). They join `rec`
    // only once the update is applied: an update refused half-way must not mark its trades as seen,
    // or the next poll would drop them for good.
    let fresh: VenueFill[] | undefined;
    for (const vf of update.fills) {
      const tid = vf.venueTradeId;
      if (rec.firstTradeId === tid || rec.tradeIds?.has(tid) === true || fresh?.some((f) => f.venueTradeId === tid) === true) continue;
      (fresh ??= []).push(vf);
    }
    // A later venue order of a replaced chain reports its own totals: the chain's are base + those.
    // Its average covers that order alone and is not the chain's: the fills' prices make that.
    const u: VenueOrderUpdate =
      rec.base !== undefined && update.filledQuantity !== undefined && update.filledQuantity !== ""
        ? { status: update.status, venueOrderId: update.venueOrderId, fills: update.fills, filledQuantity: formatDecimal(add(rec.base, update.filledQuantity)), ...(update.rejectReason !== undefined ? { rejectReason: update.rejectReason } : {}), ...(update.cumulativeFee !== undefined ? { cumulativeFee: update.cumulativeFee } : {}) }
        : update;
    // Fills synthesized from totals against an older view of the order are re-based on it now.
    if (fresh !== undefined) {
      fresh = rebaseTotalsFills(cur, u, fresh, rec.base === undefined);
      if (fresh.length === 0) fresh = undefined;
    }
    // The state change itself is a pure domain function (src/domain/apply-venue-update.ts).
    const r = applyVenueUpdate(cur, u, fresh ?? [], nowMs, rec.notional);
    if (!r.ok) return r;
    if (fresh !== undefined) {
      for (const vf of fresh) {
        if (rec.firstTradeId === "") rec.firstTradeId = vf.venueTradeId;
        else (rec.tradeIds ??= new Set()).add(vf.venueTradeId);
      }
    }
    rec.notional = r.value.notional;
    if (!r.value.changed) return ok({ order: cur, events: [], fills: [] });
    const order = r.value.order;
    // Numbered here, in append order: the caller appends `events` before its next await.
    const newFills = fresh?.map((vf) => fillOf(cur, vf, hub.nextSequence(), ids.next()));
    if (observer !== undefined) {
      if (newFills !== undefined) observer.filled(order, newFills.length);
      if (order.status === OrderStatus.REJECTED && cur.status !== OrderStatus.REJECTED) observer.rejected("venue");
    }
    store(rec, order, nowMs);
    const events: AuditEvent[] = [];
    if (newFills !== undefined) for (const fill of newFills) events.push({ ts: nowMs, type: "fill", requestId, order, fill });
    const pendingAndFilled = (order.status === OrderStatus.PENDING_CANCEL || order.status === OrderStatus.PENDING_REPLACE) && newFills !== undefined;
    const type = pendingAndFilled ? "order_partially_filled" : AUDIT_TYPE[order.status];
    events.push(statusEvent(type, order, requestId, nowMs));
    return ok({ order, events, fills: newFills ?? [] });
  }

  function publishAll(fills: readonly Fill[]): void {
    for (const f of fills) hub.publish(f);
  }

  const manager: OrderManager = {
    createPending(spec: OrderSpec, venueClientOrderId: string, nowMs: number): Order {
      sweepSome(nowMs, 4);
      const order: Order = {
        clientOrderId: spec.clientOrderId,
        account: spec.account,
        venue: spec.venue,
        symbol: spec.symbol,
        side: spec.side,
        type: spec.type,
        timeInForce: spec.timeInForce,
        quantity: spec.quantity,
        price: spec.price,
        stopPrice: spec.stopPrice,
        idempotencyKey: spec.idempotencyKey,
        orderId: orderIds.next(),
        venueClientOrderId,
        venueOrderId: "",
        status: OrderStatus.PENDING_NEW,
        filledQuantity: "0",
        averageFillPrice: "",
        rejectReason: "",
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
      };
      byId.set(order.orderId, { order, firstTradeId: "", tradeIds: undefined, notional: undefined });
      if (onOrderChange !== undefined) onOrderChange(undefined, order);
      byClient.set(clientKey(spec.account, spec.clientOrderId), order.orderId);
      openSet(order.venue).add(order.orderId);
      countOpen(order.account, 1);
      observer?.statusChanged(order, undefined);
      return order;
    },
    get(orderId: string): Order | undefined {
      return recOf(orderId)?.order;
    },
    getByClientOrderId(account: string, clientOrderId: string): Order | undefined {
      const ck = clientKey(account, clientOrderId);
      const id = byClient.get(ck) ?? retiredClients.get(ck)?.value;
      return id === undefined ? undefined : recOf(id)?.order;
    },
    applyUpdate(orderId: string, update: VenueOrderUpdate, requestId: string, nowMs: number): Result<Applied, GatewayError> {
      const rec = recOf(orderId);
      if (rec === undefined) return err(notFound(orderId));
      return apply(rec, update, requestId, nowMs);
    },
    reject(orderId: string, reason: string, requestId: string, nowMs: number, error?: GatewayError): Result<Applied, GatewayError> {
      const rec = recOf(orderId);
      if (rec === undefined) return err(notFound(orderId));
      const t = transition(rec.order.status, "rejected");
      if (!t.ok) return t;
      const order: Order = { ...rec.order, status: t.value, rejectReason: reason, updatedAtMs: nowMs };
      observer?.rejected(error === undefined ? "venue" : "unavailable");
      store(rec, order, nowMs);
      const ev: AuditEvent = error === undefined ? statusEvent("order_rejected", order, requestId, nowMs) : { ts: nowMs, type: "order_rejected", requestId, order, error };
      return ok({ order, events: [ev], fills: [] });
    },
    requestCancel(orderId: string, requestId: string, nowMs: number, resend = false): Result<Applied, GatewayError> {
      const rec = recOf(orderId);
      if (rec === undefined) return err(notFound(orderId));
      const cur = rec.order;
      if (isTerminal(cur.status)) {
        return err({ kind: "failed_precondition", reason: "ORDER_TERMINAL", message: `order ${orderId} is ${statusName(cur.status)}: it can no longer be canceled` });
      }
      if (!isWorking(cur.status) && !(resend && cur.status === OrderStatus.PENDING_CANCEL)) {
        const why =
          cur.status === OrderStatus.PENDING_CANCEL
            ? "a cancel is already in progress"
            : cur.status === OrderStatus.PENDING_REPLACE
              ? "a replace is in progress; retry once it settled"
              : "the venue has not acknowledged it yet; retry shortly";
        return err({ kind: "failed_precondition", reason: "ORDER_NOT_CANCELABLE", message: `order ${orderId} is ${statusName(cur.status)}: ${why}` });
      }
      const t = transition(cur.status, "cancel_requested");
      if (!t.ok) return t;
      const order: Order = { ...cur, status: t.value, updatedAtMs: nowMs };
      store(rec, order, nowMs);
      return ok({ order, events: [statusEvent("cancel_requested", order, requestId, nowMs)], fills: [] });
    },
    cancelRejected(orderId: string, reason: string, requestId: string, nowMs: number): Applied {
      const rec = recOf(orderId);
      if (rec === undefined || rec.order.status !== OrderStatus.PENDING_CANCEL) {
        const order = rec?.order;
        return { order: order as Order, events: [], fills: [] };
      }
      const cur = rec.order;
      const t = transition(cur.status, "cancel_rejected");
      let status = t.ok ? t.value : cur.status;
      if (status === OrderStatus.NEW && cur.filledQuantity !== "0" && cur.filledQuantity !== "") {
        const pf = transition(status, "partial_fill");
        if (pf.ok) status = pf.value;
      }
      const order: Order = { ...cur, status, updatedAtMs: nowMs };
      store(rec, order, nowMs);
      return { order, events: [{ ts: nowMs, type: "cancel_rejected", requestId, order, error: { kind: "failed_precondition", reason: "CANCEL_REJECTED", message: reason } }], fills: [] };
    },
    requestReplace(orderId: string, target: ReplaceTarget, requestId: string, nowMs: number): Result<Applied, GatewayError> {
      const rec = recOf(orderId);
      if (rec === undefined) return err(notFound(orderId));
      const cur = rec.order;
      if (isTerminal(cur.status)) {
        return err({ kind: "failed_precondition", reason: "ORDER_TERMINAL", message: `order ${orderId} is ${statusName(cur.status)}: it can no longer be replaced` });
      }
      if (!isWorking(cur.status)) {
        const why =
          cur.status === OrderStatus.PENDING_CANCEL
            ? "a cancel is in progress"
            : cur.status === OrderStatus.PENDING_REPLACE
              ? "another replace is in progress"
              : "the venue has not acknowledged it yet; retry shortly";
        return err({ kind: "failed_precondition", reason: "ORDER_NOT_REPLACEABLE", message: `order ${orderId} is ${statusName(cur.status)}: ${why}` });
      }
      const t = transition(cur.status, "replace_requested");
      if (!t.ok) return t;
      const order: Order = { ...cur, status: t.value, updatedAtMs: nowMs };
      store(rec, order, nowMs);
      rec.replace = target;
      byClient.set(clientKey(cur.account, target.clientOrderId), orderId);
      return ok({ order, events: [{ ts: nowMs, type: "replace_requested", requestId, order, idempotency: { key: target.key, fingerprint: target.fingerprint } }], fills: [] });
    },
    venueView(orderId: string): Order | undefined {
      const rec = recOf(orderId);
      if (rec === undefined) return undefined;
      return rec.base === undefined ? rec.order : venueView(rec);
    },
    pendingReplace(orderId: string): ReplaceTarget | undefined {
      const rec = byId.get(orderId);
      return rec?.order.status === OrderStatus.PENDING_REPLACE ? rec.replace : undefined;
    },
    completeReplace(orderId: string, venue: ReplacedAtVenue, requestId: string, nowMs: number): Result<Applied, GatewayError> {
      const rec = byId.get(orderId);
      const target = rec?.replace;
      if (rec === undefined || target === undefined || rec.order.status !== OrderStatus.PENDING_REPLACE) {
        return err({ kind: "internal", message: `order ${orderId} has no replace in flight` });
      }
      const cur = rec.order;
      const t = transition(cur.status, "replaced");
      if (!t.ok) return t;
      let status = t.value;
      if (status === OrderStatus.NEW && cur.filledQuantity !== "0" && cur.filledQuantity !== "") {
        const pf = transition(status, "partial_fill");
        if (pf.ok) status = pf.value;
      }
      const newVenueOrder = venue.venueClientOrderId !== undefined && venue.venueClientOrderId !== cur.venueClientOrderId;
      const { venueFeeTotal: _fees, ...rest } = cur;
      const order: Order = {
        // A new venue order starts its own fee total (see Order.venueFeeTotal).
        ...(newVenueOrder ? rest : cur),
        status,
        clientOrderId: target.clientOrderId,
        replacedClientOrderIds: [...(cur.replacedClientOrderIds ?? []), cur.clientOrderId],
        quantity: target.quantity,
        price: target.price,
        stopPrice: target.stopPrice,
        venueOrderId: venue.venueOrderId !== undefined && venue.venueOrderId !== "" ? venue.venueOrderId : cur.venueOrderId,
        venueClientOrderId: venue.venueClientOrderId ?? cur.venueClientOrderId,
        updatedAtMs: nowMs,
      };
      rec.replace = undefined;
      if (newVenueOrder) rec.base = cur.filledQuantity === "" ? "0" : cur.filledQuantity;
      store(rec, order, nowMs);
      return ok({
        order,
        events: [{ ts: nowMs, type: "order_replaced", requestId, order, idempotency: { key: target.key, fingerprint: target.fingerprint } }],
        fills: [],
      });
    },
    replaceRejected(orderId: string, error: GatewayError, requestId: string, nowMs: number): Applied {
      const rec = recOf(orderId);
      if (rec === undefined) return { order: undefined as unknown as Order, events: [], fills: [] };
      const target = rec.replace;
      const cur = rec.order;
      let order = cur;
      if (cur.status === OrderStatus.PENDING_REPLACE) {
        const t = transition(cur.status, "replace_rejected");
        let status = t.ok ? t.value : cur.status;
        if (status === OrderStatus.NEW && cur.filledQuantity !== "0" && cur.filledQuantity !== "") {
          const pf = transition(status, "partial_fill");
          if (pf.ok) status = pf.value;
        }
        order = { ...cur, status, updatedAtMs: nowMs };
        if (target !== undefined) {
          const ck = clientKey(cur.account, target.clientOrderId);
          if (byClient.get(ck) === orderId) byClient.delete(ck);
        }
        rec.replace = undefined;
        store(rec, order, nowMs);
      }
      const idem = target === undefined ? {} : { idempotency: { key: target.key, fingerprint: target.fingerprint } };
      return { order, events: [{ ts: nowMs, type: "replace_rejected", requestId, order, error, ...idem }], fills: [] };
    },
    releaseClientOrderId(order: Order): void {
      const ck = clientKey(order.account, order.clientOrderId);
      if (byClient.get(ck) === order.orderId) byClient.delete(ck);
      else if (retiredClients.get(ck)?.value === order.orderId) retiredClients.delete(ck);
    },
    restore(order: Order, venueTradeIds: Iterable<string>, terminalAtMs?: number, indexClientOrderId = true, replace?: ReplaceTarget, base?: string): void {
      const tradeIds = new Set(venueTradeIds);
      const first = tradeIds.values().next();
      const firstTradeId = first.done === true ? "" : first.value;
      tradeIds.delete(firstTradeId);
      const rec: Rec = { order, firstTradeId, tradeIds: tradeIds.size > 0 ? tradeIds : undefined, notional: undefined };
      if (onOrderChange !== undefined) onOrderChange(undefined, order);
      // Every client id the order had finds it (a replaced order answers to its whole chain).
      const keys = chainIds(order, order.status === OrderStatus.PENDING_REPLACE ? replace : undefined).map((cid) => clientKey(order.account, cid));
      if (isTerminal(order.status)) {
        const at = terminalAtMs ?? order.updatedAtMs;
        retired.set(order.orderId, packRec(orderTupleJson, rec), at);
        if (indexClientOrderId) for (const ck of keys) retiredClients.set(ck, order.orderId, at);
        return;
      }
      if (order.status === OrderStatus.PENDING_REPLACE) rec.replace = replace;
      if (base !== undefined) rec.base = base;
      byId.set(order.orderId, rec);
      if (indexClientOrderId) for (const ck of keys) byClient.set(ck, order.orderId);
      const set = openSet(order.venue);
      if (!set.has(order.orderId)) countOpen(order.account, 1);
      set.add(order.orderId);
    },
    commit(applied: Applied): Promise<void> | null {
      if (applied.events.length === 0) return null;
      if (onFillRecorded !== undefined) for (const f of applied.fills) onFillRecorded(f);
      const p = audit.append(applied.events);
      if (p === null) {
        publishAll(applied.fills);
        return null;
      }
      if (applied.fills.length === 0) return p;
      return p.then(() => publishAll(applied.fills));
    },
    sweep(nowMs: number): void {
      sweepSome(nowMs, Number.MAX_SAFE_INTEGER);
    },
    get size(): number {
      return byId.size + retired.size;
    },
    openCountOf(account: string): number {
      return openByAccount.get(account) ?? 0;
    },
    openCount(venue: string): number {
      return open.get(venue)?.size ?? 0;
    },
    async adoptExternal(input: ExternalOrderInput): Promise<Order> {
      const nowMs = clock.nowMs();
      const o = input.open;
      const base: Order = {
        clientOrderId: externalClientOrderId(input.venue, o.venueOrderId),
        account: input.account,
        venue: input.venue,
        symbol: o.symbol,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        quantity: o.quantity,
        price: o.price,
        stopPrice: o.stopPrice,
        idempotencyKey: "",
        orderId: orderIds.next(),
        venueClientOrderId: o.venueClientOrderId,
        venueOrderId: o.venueOrderId,
        status: OrderStatus.PENDING_NEW,
        filledQuantity: "0",
        averageFillPrice: "",
        rejectReason: "",
        createdAtMs: o.createdAtMs > 0 ? o.createdAtMs : nowMs,
        updatedAtMs: nowMs,
        external: true,
      };
      // Created like any order (PENDING_NEW), then moved by the venue's status through the table.
      // A venue PENDING_CANCEL counts as working: the cancel is not ours to track.
      const event = o.status === OrderStatus.PENDING_CANCEL ? "accepted" : (eventForVenueStatus(o.status) ?? "accepted");
      const t = transition(OrderStatus.PENDING_NEW, event);
      const order: Order = {
        ...base,
        status: t.ok && !isTerminal(t.value) ? t.value : OrderStatus.NEW,
        filledQuantity: o.filledQuantity === "" ? "0" : o.filledQuantity,
        averageFillPrice: o.averageFillPrice,
      };
      const rec: Rec = { order, firstTradeId: "", tradeIds: undefined, notional: undefined };
      byId.set(order.orderId, rec);
      byClient.set(clientKey(order.account, order.clientOrderId), order.orderId);
      openSet(order.venue).add(order.orderId);
      countOpen(order.account, 1);
      if (onOrderChange !== undefined) onOrderChange(undefined, order);
      observer?.statusChanged(order, undefined);
      const detail = `adopted venue order ${o.venueOrderId}${o.venueClientOrderId !== "" ? ` (venue client order id ${o.venueClientOrderId})` : ""} as external, ${statusName(order.status)}, filled ${order.filledQuantity}`;
      try {
        const p = audit.append([{ ts: nowMs, type: "order_reconciled", requestId: "venue-reconcile", order, reconciliation: { kind: "external_adopted", detail } }]);
        if (p !== null) await p;
      } catch (e) {
        // Tracked but not on record: the gateway stops taking orders as for any lost event.
        options.auditGuard?.failed(`adoption of external order ${order.orderId} (venue ${input.venue} order ${o.venueOrderId}) not recorded`, e);
        throw e;
      }
      return order;
    },
    async applyReconciliation(orderId: string, update: VenueOrderUpdate, kind: ReconcileKind, detail: string): Promise<Order | undefined> {
      const nowMs = clock.nowMs();
      const r = manager.applyUpdate(orderId, update, "venue-reconcile", nowMs);
      if (!r.ok) {
        onError(`venue reconcile update for order ${orderId} not applied: ${r.error.message}`, r.error);
        return undefined;
      }
      if (r.value.events.length === 0) return undefined;
      r.value.events.push({ ts: nowMs, type: "order_reconciled", requestId: "venue-reconcile", order: r.value.order, reconciliation: { kind, detail } });
      try {
        const p = manager.commit(r.value);
        if (p !== null) await p;
      } catch (e) {
        options.auditGuard?.failed(`reconciliation of order ${orderId} not recorded`, e);
        throw e;
      }
      return r.value.order;
    },
    openOrders(venue: string): Iterable<Order> {
      const ids = open.get(venue);
      if (ids === undefined || ids.size === 0) return [];
      // A snapshot: callers await venue calls while iterating, and orders may close meanwhile.
      const out: Order[] = [];
      for (const id of ids) {
        const rec = byId.get(id);
        if (rec !== undefined) out.push(rec.order);
      }
      return out;
    },
    replaceProbe(orderId: string): Order | undefined {
      const rec = byId.get(orderId);
      const t = rec?.replace;
      if (rec === undefined || t === undefined || rec.order.status !== OrderStatus.PENDING_REPLACE) return undefined;
      const { venueFeeTotal: _f, ...rest } = rec.order;
      return { ...rest, quantity: t.quantity, price: t.price, stopPrice: t.stopPrice, venueClientOrderId: t.venueClientOrderId, venueOrderId: "", filledQuantity: "0", averageFillPrice: "" };
    },
    async settleReplace(orderId: string, update: VenueOrderUpdate, source: "poll" | "reconcile" | "stream"): Promise<void> {
      const rec = byId.get(orderId);
      const t = rec?.replace;
      if (rec === undefined || t === undefined) return;
      const now = clock.nowMs();
      const c = manager.completeReplace(orderId, { venueOrderId: update.venueOrderId, venueClientOrderId: t.venueClientOrderId }, `venue-${source}`, now);
      if (!c.ok) {
        onError(`venue ${source}: replace of order ${orderId} not settled: ${c.error.message}`, c.error);
        return;
      }
      // The new venue order's own totals understate the chain's: only its executions count.
      const a = manager.applyUpdate(orderId, { status: update.status, venueOrderId: update.venueOrderId, fills: update.fills }, `venue-${source}`, now);
      const applied: Applied = a.ok ? { order: a.value.order, events: [...c.value.events, ...a.value.events], fills: a.value.fills } : c.value;
      try {
        const p = manager.commit(applied);
        if (p !== null) await p;
      } catch (e) {
        options.auditGuard?.failed(`venue ${source} settlement of the replace of order ${orderId} not recorded`, e);
        throw e;
      }
    },
    async applyVenueUpdate(orderId: string, update: VenueOrderUpdate, source: "poll" | "reconcile" | "stream"): Promise<void> {
      const r = manager.applyUpdate(orderId, update, `venue-${source}`, clock.nowMs());
      if (!r.ok) {
        onError(`venue ${source} update for order ${orderId} not applied: ${r.error.message}`, r.error);
        return;
      }
      try {
        const p = manager.commit(r.value);
        if (p !== null) await p;
      } catch (e) {
        // Un-audited fills: the gateway stops taking orders; the caller (poller) logs and goes on.
        options.auditGuard?.failed(`venue ${source} update of order ${orderId} not recorded`, e);
        throw e;
      }
    },
  };
  return manager;
}
