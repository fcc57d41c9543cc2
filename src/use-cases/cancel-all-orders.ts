import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import { OrderStatus, Side, type Order } from "../domain/order.js";
import { isTerminal, isWorking } from "../domain/order-state.js";
import { mayUseAccount } from "../domain/principal.js";
import type { Clock } from "../domain/ports.js";
import { err, ok, type Result } from "../domain/result.js";
import { createAuditGuard, outcomeNotRecorded, settleQuietly, type AuditGuard } from "./audit-guard.js";
import { cancelFailure, withReason } from "./cancel-order.js";
import type { Applied, OrderManager } from "./order-manager.js";
import type { CallInfo } from "./place-order.js";
import { ACCOUNT_PATTERN, SYMBOL_PATTERN } from "./validate.js";
import type { VenueAdapter, VenueCallContext, VenueError, VenueOrderUpdate } from "./venue-adapter.js";

/** Which orders CancelAllOrders cancels: the account's open orders, narrowed by the optional filters. */
export interface CancelScope {
  readonly account: string;
  /** Only this venue (must be configured). */
  readonly venue?: string;
  readonly symbol?: string;
  /** BUY or SELL; undefined (or UNSPECIFIED) = both. */
  readonly side?: Side;
}

/** What happened to one order (proto CancelOutcome). */
export type CancelOutcome = "canceled" | "already_terminal" | "pending" | "failed";

export interface CancelResult {
  /** The order after the attempt. */
  readonly order: Order;
  readonly outcome: CancelOutcome;
  /** For "failed": what CancelOrder would have answered. */
  readonly error?: GatewayError;
}

/** `reason`: why (cancel-on-disconnect, kill switch); recorded with each cancel_requested event. */
export type CancelAllOrders = (scope: CancelScope, call: CallInfo, reason?: string) => Promise<Result<CancelResult[], GatewayError>>;

/** How a venue's orders were canceled: its native mass cancel, or one order at a time. */
export type CancelVia = "native" | "single";

export interface CancelAllOrdersDeps {
  readonly clock: Clock;
  readonly orders: OrderManager;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  /** Gateway shutdown; as in CancelOrder, the caller's own cancellation is not passed on. */
  readonly signal: AbortSignal;
  readonly onError?: (message: string, detail: unknown) => void;
  /** Shared with PlaceOrder and CancelOrder (see audit-guard.ts). */
  readonly auditGuard?: AuditGuard;
  /** Cancels in flight at once per venue on the one-by-one path. Default 4. */
  readonly concurrency?: number;
  /** How long an order not acknowledged yet (PENDING_NEW) or being replaced is waited for. Default 1000 ms. */
  readonly pendingWaitMs?: number;
  /** Waits `ms` (the PENDING_NEW wait, the outbound-limit wait). Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** One call per order result (metrics: bounded labels). */
  readonly onResult?: (venue: string, outcome: CancelOutcome, via: CancelVia) => void;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_PENDING_WAIT_MS = 1_000;
const PENDING_POLL_MS = 20;
/** Outbound-limit waits per order on the one-by-one path before it is reported FAILED. */
const MAX_LIMIT_WAITS = 5;
const noop = (): void => {};
const timerSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An order waiting for the venue (or for a replace) to answer: nothing to cancel by venue id yet. */
function unsettled(o: Order): boolean {
  return o.status === OrderStatus.PENDING_NEW || o.status === OrderStatus.PENDING_REPLACE;
}

function byAge(a: CancelResult, b: CancelResult): number {
  return a.order.createdAtMs - b.order.createdAtMs || (a.order.orderId < b.order.orderId ? -1 : a.order.orderId > b.order.orderId ? 1 : 0);
}

/**
 * CancelAllOrders: every open order of an account (optionally one venue, symbol, side).
 *
 * 1. The scope is the open orders when the call begins (NEW, PARTIALLY_FILLED, PENDING_CANCEL,
 *    PENDING_NEW, PENDING_REPLACE).
 * 2. PENDING_NEW (and PENDING_REPLACE) orders have no venue order to cancel yet: they are
 *    waited for up to `pendingWaitMs` (their PlaceOrder call is in flight and applies the
 *    venue's answer); one that is then working is canceled, one that finished is
 *    ALREADY_TERMINAL, one still waiting is FAILED with FAILED_PRECONDITION
 *    ORDER_NOT_CANCELABLE: call again.
 * 3. Every cancel is recorded (cancel_requested, through the transition table) in one append
 *    before any is sent. A PENDING_CANCEL order (an earlier cancel's answer was lost) takes
 *    the cancel again. If the append fails nothing is sent: the orders go back to working and
 *    the call answers UNAVAILABLE.
 * 4. Per venue, in parallel: the venue's native mass cancel when the adapter says it fits
 *    (VenueAdapter.cancelAll), else one cancel per order, at most `concurrency` at a time,
 *    waiting for the outbound limit (our own budget of the venue's rate limit) to refill.
 * 5. Each order is settled from the venue's answer, through the transition table:
 *    - confirmed CANCELED: CANCELED; the venue says it filled/expired first: ALREADY_TERMINAL
 *      (a fill racing the cancel ends FILLED, never CANCELED);
 *    - accepted but not final (PENDING_CANCEL), refused, unknown to the venue, or the answer
 *      was lost: the order is queried; a final state is applied (CANCELED when the cancel was
 *      accepted or its answer lost, ALREADY_TERMINAL when the venue refused it or did not know
 *      the order);
 *    - refused and still working: back to working, FAILED (FAILED_PRECONDITION CANCEL_REJECTED);
 *      rate limited: FAILED RESOURCE_EXHAUSTED; venue unreachable: FAILED UNAVAILABLE;
 *    - still unknown after the query: stays PENDING_CANCEL, PENDING (reconciliation settles it).
 *
 * Idempotent: a second call cancels what is still open and re-sends lost cancels; an order
 * that finished meanwhile is ALREADY_TERMINAL. The call itself fails only for a bad request,
 * a caller who may not use the account, or an audit log that cannot record the cancels.
 */
export function createCancelAllOrders(deps: CancelAllOrdersDeps): CancelAllOrders {
  const { clock, orders, venues, signal } = deps;
  const onError = deps.onError ?? noop;
  const guard = deps.auditGuard ?? createAuditGuard();
  const concurrency = Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY);
  const pendingWaitMs = deps.pendingWaitMs ?? DEFAULT_PENDING_WAIT_MS;
  const sleep = deps.sleep ?? timerSleep;
  const onResult = deps.onResult ?? noop;

  function validate(scope: CancelScope): FieldViolation[] {
    const v: FieldViolation[] = [];
    if (scope.account === "") v.push({ field: "account", description: "is required" });
    else if (!ACCOUNT_PATTERN.test(scope.account)) v.push({ field: "account", description: "must be 1..64 characters of [A-Za-z0-9._:@-]" });
    if (scope.venue !== undefined && scope.venue !== "" && !venues.has(scope.venue)) {
      v.push({ field: "venue", description: `venue ${scope.venue} is not configured; venues: ${[...venues.keys()].join(", ")}` });
    }
    if (scope.symbol !== undefined && scope.symbol !== "" && !SYMBOL_PATTERN.test(scope.symbol)) {
      v.push({ field: "symbol", description: "must be 1..64 characters of [A-Za-z0-9._:/-]" });
    }
    if (scope.side !== undefined && scope.side !== Side.UNSPECIFIED && scope.side !== Side.BUY && scope.side !== Side.SELL) {
      v.push({ field: "side", description: "must be SIDE_BUY, SIDE_SELL or unspecified (both)" });
    }
    return v;
  }

  function inScope(o: Order, scope: CancelScope): boolean {
    if (o.account !== scope.account) return false;
    if (scope.symbol !== undefined && scope.symbol !== "" && o.symbol !== scope.symbol) return false;
    if (scope.side !== undefined && scope.side !== Side.UNSPECIFIED && o.side !== scope.side) return false;
    return true;
  }

  /** Waits until no order of `ids` is PENDING_NEW / PENDING_REPLACE, or the wait budget (bounded by the deadline) is spent. */
  async function waitSettled(ids: readonly string[], call: CallInfo): Promise<void> {
    let until = clock.nowMs() + pendingWaitMs;
    if (call.deadlineMs !== undefined) until = Math.min(until, call.deadlineMs - 100);
    for (;;) {
      if (!ids.some((id) => { const o = orders.get(id); return o !== undefined && unsettled(o); })) return;
      if (clock.nowMs() >= until || signal.aborted) return;
      await sleep(PENDING_POLL_MS);
    }
  }

  /** Why, per request id of a call in progress: the gateway's own cancels say so on every event. */
  const reasonByRequest = new Map<string, string>();
  function commit(applied: Applied): Promise<void> | null {
    const reason = reasonByRequest.get(applied.events[0]?.requestId ?? "");
    return orders.commit(reason === undefined ? applied : withReason(applied, reason));
  }

  async function commitQuietly(applied: Applied, what: string): Promise<GatewayError | undefined> {
    try {
      const p = commit(applied);
      if (p !== null) await p;
      return undefined;
    } catch (e) {
      guard.failed(`${what} of order ${applied.order.orderId} not recorded`, e);
      return outcomeNotRecorded("the cancel", applied.order.orderId, "query the order with GetOrderStatus before acting on it");
    }
  }

  /** Applies a venue update; an update the table refuses is logged and the order left as it is. */
  function applyUpdate(order: Order, update: VenueOrderUpdate, requestId: string, venue: string): Applied {
    const a = orders.applyUpdate(order.orderId, update, requestId, clock.nowMs());
    if (a.ok) return a.value;
    onError(`venue ${venue} cancel answer for order ${order.orderId} not applied: ${a.error.message}`, a.error);
    return { order: orders.get(order.orderId) ?? order, events: [], fills: [] };
  }

  /**
   * Settles one PENDING_CANCEL order from what the venue said about its cancel (see the steps
   * above). `accepted`: the venue took the cancel, so a final CANCELED found by the query is ours.
   */
  async function settle(adapter: VenueAdapter, order: Order, answer: Result<VenueOrderUpdate, VenueError>, requestId: string, ctx: VenueCallContext): Promise<CancelResult> {
    let accepted = false;
    let refusal: GatewayError | undefined;
    if (answer.ok) {
      const applied = applyUpdate(order, answer.value, requestId, adapter.name);
      const failed = await commitQuietly(applied, "cancel answer");
      if (failed !== undefined) return { order: applied.order, outcome: "failed", error: failed };
      if (isTerminal(applied.order.status)) return terminalResult(applied.order, true);
      // Accepted, not final yet (Kraken, Alpaca, Coinbase answer so): confirm by a query.
      accepted = true;
      order = applied.order;
    } else {
      const e = answer.error;
      if (e.kind === "rate_limited" || e.kind === "unavailable" || e.kind === "auth") return refused(order, cancelFailure(e)!, requestId);
      // Refused or unknown to the venue (it may have finished already): a final state found
      // now is not this cancel's doing. The answer was lost: a CANCELED found now most likely is.
      if (e.kind === "rejected" || e.kind === "not_found") refusal = cancelFailure(e);
      else accepted = true;
    }
    const q = await withinBudget(() => adapter.queryOrder(order, ctx), `queryOrder for order ${order.orderId}`, adapter.name, ctx);
    if (q.ok) {
      const applied = applyUpdate(order, q.value, requestId, adapter.name);
      const failed = await commitQuietly(applied, "cancel confirmation");
      if (failed !== undefined) return { order: applied.order, outcome: "failed", error: failed };
      if (isTerminal(applied.order.status)) return terminalResult(applied.order, accepted);
      order = applied.order;
    }
    // Still working at the venue after a refusal: the cancel did not happen.
    if (refusal !== undefined && q.ok && isWorking(q.value.status)) return refused(order, refusal, requestId);
    return { order: orders.get(order.orderId) ?? order, outcome: "pending" };
  }

  function terminalResult(order: Order, ours: boolean): CancelResult {
    return { order, outcome: ours && order.status === OrderStatus.CANCELED ? "canceled" : "already_terminal" };
  }

  async function refused(order: Order, failure: GatewayError, requestId: string): Promise<CancelResult> {
    const back = orders.cancelRejected(order.orderId, failure.message, requestId, clock.nowMs());
    const failed = await commitQuietly(back, "cancel refusal");
    return { order: back.order ?? order, outcome: "failed", error: failed ?? failure };
  }

  /**
   * One venue call, repeated (within the deadline) while our outbound budget refills: an
   * `unavailable` answer with a delay is the outbound limiter (or the venue's own hint), and
   * nothing was sent. A throw is an adapter bug and the call may have left: unknown outcome.
   */
  async function withinBudget(
    send: () => Promise<Result<VenueOrderUpdate, VenueError>>,
    what: string,
    venue: string,
    ctx: VenueCallContext,
  ): Promise<Result<VenueOrderUpdate, VenueError>> {
    for (let attempt = 0; ; attempt++) {
      let res: Result<VenueOrderUpdate, VenueError>;
      try {
        res = await send();
      } catch (e) {
        onError(`venue ${venue} threw on ${what}`, e);
        return err({ kind: "unknown_outcome", reason: "venue adapter failure" });
      }
      if (res.ok || res.error.kind !== "unavailable" || res.error.retryAfterMs === undefined || attempt >= MAX_LIMIT_WAITS) return res;
      const wait = res.error.retryAfterMs;
      if (ctx.deadlineMs !== undefined && clock.nowMs() + wait >= ctx.deadlineMs) return res;
      await sleep(wait);
    }
  }

  /** Runs `work` over `items`, at most `concurrency` at a time, results in input order. */
  async function pool<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    return out;
  }

  /** One cancel through the venue, within its outbound budget. */
  async function cancelOne(adapter: VenueAdapter, order: Order, requestId: string, ctx: VenueCallContext): Promise<CancelResult> {
    const res = await withinBudget(() => adapter.cancelOrder(order, ctx), `cancelOrder for order ${order.orderId}`, adapter.name, ctx);
    return settle(adapter, order, res, requestId, ctx);
  }

  async function cancelVenue(adapter: VenueAdapter, mine: readonly Order[], others: readonly Order[], requestId: string, ctx: VenueCallContext): Promise<CancelResult[]> {
    let native: ReturnType<NonNullable<VenueAdapter["cancelAll"]>>;
    try {
      native = adapter.cancelAll?.({ orders: mine, others }, ctx);
    } catch (e) {
      onError(`venue ${adapter.name} threw on cancelAll`, e);
      native = undefined;
    }
    if (native !== undefined) {
      let answer: Awaited<typeof native>;
      try {
        answer = await native;
      } catch (e) {
        onError(`venue ${adapter.name} threw on cancelAll`, e);
        answer = new Map();
      }
      // Confirmation queries are bounded like single cancels: a venue-wide cancel of many orders
      // must not turn into a burst of queries the outbound budget refuses.
      const results = await pool(mine, (o) =>
        settle(adapter, o, answer.get(o.orderId) ?? err({ kind: "unknown_outcome", reason: "not in the venue's mass-cancel answer" }), requestId, ctx),
      );
      for (const r of results) onResult(adapter.name, r.outcome, "native");
      return results;
    }
    return pool(mine, async (o) => {
      const r = await cancelOne(adapter, o, requestId, ctx);
      onResult(adapter.name, r.outcome, "single");
      return r;
    });
  }

  async function cancelAllOrders(scope: CancelScope, call: CallInfo, reason?: string): Promise<Result<CancelResult[], GatewayError>> {
    const violations = validate(scope);
    if (violations.length > 0) return err(invalidArgument(violations));
    if (!mayUseAccount(call.principal, scope.account)) {
      return err({ kind: "permission_denied", message: `this API key may not use account ${scope.account}` });
    }
    const refusedNow = guard.refusal();
    if (refusedNow !== undefined) return err(refusedNow);
    // The reason (kill switch, cancel-on-disconnect) travels with every event of the call.
    const requestId = call.requestId;
    const why = reason !== undefined && reason !== "" ? reason : call.reason;
    if (why !== undefined && why !== "") reasonByRequest.set(requestId, why);
    try {
      return await cancelAllInScope(scope, call, requestId);
    } finally {
      reasonByRequest.delete(requestId);
    }
  }

  async function cancelAllInScope(scope: CancelScope, call: CallInfo, requestId: string): Promise<Result<CancelResult[], GatewayError>> {

    // 1. The scope: open orders now.
    const venueNames = scope.venue !== undefined && scope.venue !== "" ? [scope.venue] : [...venues.keys()];
    const snapshot: Order[] = [];
    for (const v of venueNames) for (const o of orders.openOrders(v)) if (inScope(o, scope)) snapshot.push(o);

    // 2. Orders with nothing to cancel at the venue yet are given a moment.
    const waiting = snapshot.filter(unsettled).map((o) => o.orderId);
    if (waiting.length > 0) await waitSettled(waiting, call);

    // 3. Record every cancel before any is sent.
    const results: CancelResult[] = [];
    const requested = new Map<string, Order[]>();
    const events: Applied["events"] = [];
    const now = clock.nowMs();
    for (const o of snapshot) {
      const cur = orders.get(o.orderId) ?? o;
      if (isTerminal(cur.status)) {
        results.push({ order: cur, outcome: "already_terminal" });
        onResult(cur.venue, "already_terminal", "single");
        continue;
      }
      if (unsettled(cur)) {
        const error: GatewayError = {
          kind: "failed_precondition",
          reason: "ORDER_NOT_CANCELABLE",
          message: `order ${cur.orderId} is ${OrderStatus[cur.status]}: the venue has not acknowledged it yet; call CancelAllOrders again shortly`,
        };
        results.push({ order: cur, outcome: "failed", error });
        onResult(cur.venue, "failed", "single");
        continue;
      }
      const r = orders.requestCancel(cur.orderId, requestId, now, true);
      if (!r.ok) {
        results.push({ order: cur, outcome: "failed", error: r.error });
        onResult(cur.venue, "failed", "single");
        continue;
      }
      events.push(...r.value.events);
      const list = requested.get(cur.venue) ?? [];
      list.push(r.value.order);
      requested.set(cur.venue, list);
    }
    if (events.length > 0) {
      try {
        const p = commit({ order: snapshot[0]!, events, fills: [] });
        if (p !== null) await p;
      } catch (e) {
        // Nothing was sent: every order goes back to working (see cancel-order.ts for why this order of steps).
        const refusal = guard.failed(`cancel-all of account ${scope.account} not recorded before its venue calls; nothing was sent`, e);
        for (const list of requested.values()) {
          for (const o of list) settleQuietly(() => commit(orders.cancelRejected(o.orderId, "audit log unavailable", requestId, clock.nowMs())));
        }
        return err({ kind: "unavailable", message: `${refusal.message}; no order was canceled` });
      }
    }

    // 4 and 5. Per venue, in parallel.
    const ctx: VenueCallContext = { signal, deadlineMs: call.deadlineMs };
    const perVenue = await Promise.all(
      [...requested].map(([venue, mine]) => {
        const adapter = venues.get(venue);
        if (adapter === undefined) {
          // Orders recovered from the log for a venue no longer configured.
          const error: GatewayError = { kind: "unavailable", message: `venue ${venue} is not configured` };
          return Promise.all(mine.map((o) => refused(o, error, requestId)));
        }
        const ids = new Set(mine.map((o) => o.orderId));
        const others = [...orders.openOrders(venue)].filter((o) => !ids.has(o.orderId));
        return cancelVenue(adapter, mine, others, requestId, ctx);
      }),
    );
    for (const list of perVenue) results.push(...list);
    return ok(results.sort(byAge));
  }

  return cancelAllOrders;
}
