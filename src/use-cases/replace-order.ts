import { checkPositiveDecimal, compare, formatDecimal, sub } from "../domain/decimal.js";
import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import { OrderStatus, OrderType, type Order, type OrderSpec } from "../domain/order.js";
import { isTerminal, statusName } from "../domain/order-state.js";
import type { Clock } from "../domain/ports.js";
import { err, ok, type Result } from "../domain/result.js";
import { createAuditGuard, outcomeNotRecorded, settleQuietly, type AuditGuard } from "./audit-guard.js";
import type { AuditSink } from "./audit-sink.js";
import { deriveVenueClientOrderId } from "./client-order-id.js";
import { findOrder } from "./find-order.js";
import type { IdempotencyStore } from "./idempotency-store.js";
import type { Applied, OrderManager, ReplaceTarget } from "./order-manager.js";
import type { CallInfo } from "./place-order.js";
import { CLIENT_ORDER_ID_PATTERN } from "./validate.js";
import type { VenueAdapter, VenueError, VenueOrderUpdate } from "./venue-adapter.js";

/** ReplaceOrderRequest as it arrives (the generated message satisfies this shape). */
export interface ReplaceOrderInput {
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly account: string;
  readonly newClientOrderId: string;
  /** "" = unchanged. */
  readonly quantity: string;
  readonly price: string;
  readonly stopPrice: string;
}

export type ReplaceMethodName = "amend" | "cancel_then_new" | "unspecified";

/** One venue step of a replace ("amend", "cancel" or "new"). */
export interface ReplaceStepResult {
  readonly step: "amend" | "cancel" | "new" | "query";
  readonly succeeded: boolean;
  readonly detail: string;
}

export interface ReplaceOrderResult {
  readonly order: Order;
  readonly replayed: boolean;
  readonly method: ReplaceMethodName;
  readonly steps: readonly ReplaceStepResult[];
}

/**
 * Pre-trade checks of the order as it would be after the replace: risk limits, and (once built)
 * the trading state, which must refuse replaces while HALTED. The one call site is in
 * createReplaceOrder; compose further checks into this function in the composition root.
 */
export type ReplaceRiskCheck = (amended: OrderSpec) => Result<unknown, GatewayError>;

export interface ReplaceOrderDeps {
  readonly clock: Clock;
  readonly orders: OrderManager;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  /** Shared with PlaceOrder: replace keys live in their own namespace ("r:"). */
  readonly idempotency: IdempotencyStore;
  readonly risk: ReplaceRiskCheck;
  /** For business refusals that change no order (risk). */
  readonly audit: AuditSink;
  /** Gateway shutdown; the caller's own cancellation is not passed on (see place-order.ts). */
  readonly signal: AbortSignal;
  readonly onError?: (message: string, detail: unknown) => void;
  readonly auditGuard?: AuditGuard;
  /** Told once per replace that reached a decision (bounded labels: method and outcome). */
  readonly onOutcome?: (method: ReplaceMethodName, outcome: "replaced" | "rejected" | "pending" | "failed", venue?: string) => void;
  /** Pause between queries confirming a cancel the venue only acknowledged. Default setTimeout. */
  readonly wait?: (ms: number) => Promise<void>;
  /** Delays before each confirming query; default 0, 50, 100, 200, 400, 800 ms (then: unknown outcome). */
  readonly cancelConfirmDelaysMs?: readonly number[];
  /** How many answers' method/steps are kept for replays (memory only). Default 10,000. */
  readonly maxRememberedAnswers?: number;
}

export type ReplaceOrder = (input: ReplaceOrderInput, call: CallInfo) => Promise<Result<ReplaceOrderResult, GatewayError>>;

/** The idempotency scope key of a replace: the order's account + the new client order id. */
export function replaceScopeKey(account: string, newClientOrderId: string): string {
  return `${account}|r:${newClientOrderId}`;
}

/**
 * What a retry must repeat: the order (resolved: naming it by another id of its chain is the same
 * request), the new client id and the requested fields ("" = unchanged). Parsed back at start-up
 * to rebuild a replace in flight (parseReplaceFingerprint).
 */
export function replaceFingerprint(orderId: string, input: ReplaceOrderInput): string {
  return ["r1", orderId, input.newClientOrderId, input.quantity, input.price, input.stopPrice].join("|");
}

const FINGERPRINT_FIELDS = ["order_id", "new_client_order_id", "quantity", "price", "stop_price"] as const;

/** The target a replace fingerprint stands for, given the order as it was when the replace was sent. */
export function targetOf(order: Order, key: string, fingerprint: string, venueKind: string): ReplaceTarget | undefined {
  const p = fingerprint.split("|");
  if (p[0] !== "r1" || p.length !== 6) return undefined;
  return {
    key,
    fingerprint,
    clientOrderId: p[2]!,
    quantity: p[3] !== "" ? p[3]! : order.quantity,
    price: p[4] !== "" ? p[4]! : order.price,
    stopPrice: p[5] !== "" ? p[5]! : order.stopPrice,
    venueClientOrderId: deriveVenueClientOrderId(venueKind, key),
  };
}

function validate(input: ReplaceOrderInput): FieldViolation[] {
  const v: FieldViolation[] = [];
  if (input.newClientOrderId === "") v.push({ field: "new_client_order_id", description: "is required" });
  else if (!CLIENT_ORDER_ID_PATTERN.test(input.newClientOrderId)) {
    v.push({ field: "new_client_order_id", description: "must be 1..64 characters of [A-Za-z0-9._:-]" });
  }
  if (input.quantity === "" && input.price === "" && input.stopPrice === "") {
    v.push({ field: "quantity", description: "at least one of quantity, price, stop_price must be given" });
  }
  const fields = [
    ["quantity", input.quantity],
    ["price", input.price],
    ["stop_price", input.stopPrice],
  ] as const;
  for (const [name, value] of fields) {
    if (value === "") continue;
    const why = checkPositiveDecimal(value);
    if (why !== undefined) v.push({ field: name, description: why });
  }
  return v;
}

/** Field rules that need the order: applicable to its type, quantity above what filled. */
function validateAgainst(order: Order, input: ReplaceOrderInput): FieldViolation[] {
  const v: FieldViolation[] = [];
  const t = order.type;
  if (input.price !== "" && t !== OrderType.LIMIT && t !== OrderType.STOP_LIMIT) {
    v.push({ field: "price", description: `cannot be set on a ${OrderType[t]} order (LIMIT and STOP_LIMIT only)` });
  }
  if (input.stopPrice !== "" && t !== OrderType.STOP && t !== OrderType.STOP_LIMIT) {
    v.push({ field: "stop_price", description: `cannot be set on a ${OrderType[t]} order (STOP and STOP_LIMIT only)` });
  }
  if (input.quantity !== "" && compare(input.quantity, order.filledQuantity === "" ? "0" : order.filledQuantity) <= 0) {
    v.push({ field: "quantity", description: `must exceed the filled quantity ${order.filledQuantity} (it is the order's new total)` });
  }
  return v;
}

/** The order already is what this replace asks for (its current client id and every given field). */
function sameTarget(order: Order, input: ReplaceOrderInput): boolean {
  return (
    order.clientOrderId === input.newClientOrderId &&
    (input.quantity === "" || compare(input.quantity, order.quantity) === 0) &&
    (input.price === "" || (order.price !== "" && compare(input.price, order.price) === 0)) &&
    (input.stopPrice === "" || (order.stopPrice !== "" && compare(input.stopPrice, order.stopPrice) === 0))
  );
}

function transient(e: VenueError): GatewayError | undefined {
  switch (e.kind) {
    case "rate_limited":
      return { kind: "resource_exhausted", message: `venue rate limit: ${e.reason}`, retryAfterMs: e.retryAfterMs };
    case "unavailable":
      return { kind: "unavailable", message: `venue unavailable: ${e.reason}`, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) };
    case "auth":
      return { kind: "unavailable", message: `venue refused the gateway's credentials: ${e.reason}` };
    default:
      return undefined;
  }
}

function replaceRefused(orderId: string, why: string, order?: Order): GatewayError {
  return {
    kind: "failed_precondition",
    reason: "REPLACE_REJECTED",
    message: `the replace of order ${orderId} was refused: ${why}${order === undefined || why.includes(statusName(order.status)) ? "" : `; the order is ${statusName(order.status)}`}`,
  };
}

const noop = (): void => {};

/** What one drive of the venue ended in. */
interface Driven {
  readonly result: Result<ReplaceOrderResult, GatewayError>;
  /** Store the result under the key (a final business outcome; not transient, not unknown). */
  readonly final: boolean;
}

/**
 * ReplaceOrder (FIX cancel/replace). The order goes PENDING_REPLACE (audited and durable before
 * any venue call, with the target and the idempotency key), then:
 * - the venue's native amend where it has one for this change (atomic at the venue); or
 * - cancel-then-new: cancel the venue order, and only once the venue confirmed the cancel, place
 *   the remainder (new quantity - filled) as a new venue order whose venue client order id is
 *   derived from the new client id. Never two live venue orders for one order_id.
 * A fill that wins the race is answered as what happened: FILLED -> REPLACE_REJECTED; a partial
 * fill is counted and the new quantity stays the order's total.
 *
 * Idempotent by (account, new_client_order_id): final outcomes (replaced, refused by the venue or
 * by risk) are stored and a retry is answered from them, replayed. Transient refusals (rate limit,
 * venue down) release the key. An unknown venue outcome leaves the order PENDING_REPLACE with its
 * target; a retry of the same request drives it again (amends are absolute, the new venue order
 * has a derived id, so nothing happens twice) and the venue poller settles it meanwhile.
 */
export function createReplaceOrder(deps: ReplaceOrderDeps): ReplaceOrder {
  const { clock, orders, venues, idempotency: store, signal, audit } = deps;
  const onError = deps.onError ?? noop;
  const onOutcome = deps.onOutcome ?? noop;
  const guard = deps.auditGuard ?? createAuditGuard();
  const inFlight = new Map<string, { fingerprint: string; promise: Promise<Result<ReplaceOrderResult, GatewayError>> }>();
  /** key -> how the stored answer was reached, for replays (memory only: after a restart, UNSPECIFIED). */
  const answers = new Map<string, { method: ReplaceMethodName; steps: readonly ReplaceStepResult[] }>();
  const maxAnswers = deps.maxRememberedAnswers ?? 10_000;
  const wait = deps.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const confirmDelaysMs = deps.cancelConfirmDelaysMs ?? [0, 50, 100, 200, 400, 800];

  function remember(key: string, method: ReplaceMethodName, steps: readonly ReplaceStepResult[]): void {
    answers.delete(key);
    answers.set(key, { method, steps });
    if (answers.size > maxAnswers) answers.delete(answers.keys().next().value!);
  }

  async function commit(applied: Applied, what: string): Promise<GatewayError | undefined> {
    try {
      const p = orders.commit(applied);
      if (p !== null) await p;
      return undefined;
    } catch (e) {
      guard.failed(`${what} of order ${applied.order.orderId} not recorded`, e);
      return outcomeNotRecorded("this replace", applied.order.orderId, "query the order with GetOrderStatus before acting on it");
    }
  }

  /** Applies a venue answer; a refused one is reported and ignored (reconciliation settles it). */
  function applyAnswer(orderId: string, update: VenueOrderUpdate, requestId: string): Applied | undefined {
    const a = orders.applyUpdate(orderId, update, requestId, clock.nowMs());
    if (a.ok) return a.value;
    onError(`venue answer for order ${orderId} not applied during a replace: ${a.error.message}`, a.error);
    return undefined;
  }

  /** Refuses the replace, the order back to working (or as it now is); audited with the key. */
  async function refuse(target: ReplaceTarget, orderId: string, error: GatewayError, requestId: string, method: ReplaceMethodName, steps: ReplaceStepResult[], final: boolean): Promise<Driven> {
    const applied = orders.replaceRejected(orderId, error, requestId, clock.nowMs());
    // Carries the key even when a fill ended the order first: recovery rebuilds the outcome from it.
    const events = applied.events.map((e) => ({ ...e, idempotency: { key: target.key, fingerprint: target.fingerprint } }));
    const failed = await commit({ ...applied, events }, "replace refusal");
    if (failed !== undefined) return { result: err(failed), final: false };
    onOutcome(method, final ? "rejected" : "failed");
    if (final) remember(target.key, method, steps);
    return { result: err(error), final };
  }

  /** The venue order as a new one of the chain: the remainder, the derived venue client id. */
  function newLeg(order: Order, target: ReplaceTarget, remainder: string): Order {
    const { venueFeeTotal: _f, ...rest } = order;
    return {
      ...rest,
      quantity: remainder,
      price: target.price,
      stopPrice: target.stopPrice,
      venueClientOrderId: target.venueClientOrderId,
      venueOrderId: "",
      filledQuantity: "0",
      averageFillPrice: "",
    };
  }

  /** Confirms the replace and applies what the venue said about the (new) venue order. */
  async function confirm(orderId: string, update: VenueOrderUpdate, newVenueOrder: boolean, requestId: string, method: ReplaceMethodName, steps: ReplaceStepResult[]): Promise<Driven> {
    const target = orders.pendingReplace(orderId);
    const c = orders.completeReplace(
      orderId,
      newVenueOrder ? { venueOrderId: update.venueOrderId, venueClientOrderId: target?.venueClientOrderId ?? "" } : { venueOrderId: update.venueOrderId },
      requestId,
      clock.nowMs(),
    );
    if (!c.ok) return { result: err(c.error), final: false };
    // A new venue order's totals are its own, not the chain's: only its executions count (the
    // venue's cumulative figure of the new order would understate the chain's).
    const u: VenueOrderUpdate = newVenueOrder ? { status: update.status, venueOrderId: update.venueOrderId, fills: update.fills } : update;
    const after = applyAnswer(orderId, u, requestId);
    const events = after === undefined ? c.value.events : [...c.value.events, ...after.events];
    const applied: Applied = { order: after?.order ?? c.value.order, events, fills: after?.fills ?? [] };
    const failed = await commit(applied, "replace");
    if (failed !== undefined) return { result: err(failed), final: false };
    onOutcome(method, "replaced", applied.order.venue);
    remember(target?.key ?? "", method, steps);
    return { result: ok({ order: applied.order, replayed: false, method, steps }), final: true };
  }

  /** Unknown venue outcome: the order stays PENDING_REPLACE; a retry or the poller settles it. */
  function pending(orderId: string, method: ReplaceMethodName, steps: ReplaceStepResult[]): Driven {
    onOutcome(method, "pending");
    return { result: ok({ order: orders.get(orderId)!, replayed: false, method, steps }), final: false };
  }

  /** Learns what the venue did to the old order after a refused step: a fill wins over the replace. */
  async function settleRefused(target: ReplaceTarget, adapter: VenueAdapter, orderId: string, why: string, call: CallInfo, method: ReplaceMethodName, steps: ReplaceStepResult[]): Promise<Driven> {
    const cur = orders.venueView(orderId)!;
    const q = await adapter.queryOrder(cur, { signal, deadlineMs: call.deadlineMs }).catch((): Result<VenueOrderUpdate, VenueError> => err({ kind: "protocol", reason: "adapter failure" }));
    if (q.ok && (q.value.status === OrderStatus.FILLED || q.value.status === OrderStatus.PARTIALLY_FILLED || q.value.status === OrderStatus.CANCELED || q.value.status === OrderStatus.EXPIRED)) {
      const a = applyAnswer(orderId, q.value.status === OrderStatus.PARTIALLY_FILLED ? { ...q.value } : q.value, call.requestId);
      if (a !== undefined) {
        const failed = await commit(a, "venue answer");
        if (failed !== undefined) return { result: err(failed), final: false };
      }
    }
    const now = orders.get(orderId)!;
    const detail = isTerminal(now.status) ? `${why}; the order is ${statusName(now.status)}` : why;
    return refuse(target, orderId, replaceRefused(orderId, detail, now), call.requestId, method, steps, true);
  }

  async function amend(adapter: VenueAdapter, order: Order, target: ReplaceTarget, call: CallInfo): Promise<Driven> {
    const steps: ReplaceStepResult[] = [];
    let res: Awaited<ReturnType<NonNullable<VenueAdapter["amendOrder"]>>>;
    try {
      // The venue sees its own order: after an earlier replace made a new venue order, its
      // quantities count from there (the new total minus what the chain filled before it).
      const view = orders.venueView(order.orderId) ?? order;
      const base = sub(order.quantity, view.quantity);
      const quantity = formatDecimal(sub(target.quantity, base));
      res = await adapter.amendOrder!(view, { quantity, price: target.price, stopPrice: target.stopPrice, venueClientOrderId: target.venueClientOrderId }, { signal, deadlineMs: call.deadlineMs });
    } catch (e) {
      onError(`venue ${adapter.name} threw on amendOrder for order ${order.orderId}`, e);
      res = err({ kind: "unknown_outcome", reason: "venue adapter failure" });
    }
    if (res.ok) {
      steps.push({ step: "amend", succeeded: true, detail: "" });
      return confirm(order.orderId, res.value.update, res.value.newVenueOrder, call.requestId, "amend", steps);
    }
    const e = res.error;
    steps.push({ step: "amend", succeeded: false, detail: e.reason });
    const t = transient(e);
    if (t !== undefined) return refuse(target, order.orderId, t, call.requestId, "amend", steps, false);
    if (e.kind === "rejected" || e.kind === "not_found") return settleRefused(target, adapter, order.orderId, e.reason, call, "amend", steps);
    return pending(order.orderId, "amend", steps);
  }

  /** Queries the old venue order a few times, backing off, until it is no longer working. */
  async function confirmCanceled(adapter: VenueAdapter, order: Order, last: VenueOrderUpdate, call: CallInfo): Promise<VenueOrderUpdate> {
    let u = last;
    for (const ms of confirmDelaysMs) {
      if (call.deadlineMs !== undefined && clock.nowMs() + ms >= call.deadlineMs) break;
      if (ms > 0) await wait(ms);
      const q = await adapter.queryOrder({ ...order, venueOrderId: order.venueOrderId || u.venueOrderId }, { signal, deadlineMs: call.deadlineMs }).catch((): Result<VenueOrderUpdate, VenueError> => err({ kind: "protocol", reason: "adapter failure" }));
      if (!q.ok) continue;
      // The cancel's own answer may carry fills the query repeats: de-duplicated by trade id.
      u = q.value;
      if (u.status === OrderStatus.CANCELED || u.status === OrderStatus.EXPIRED || u.status === OrderStatus.FILLED) break;
    }
    return u;
  }

  async function cancelThenNew(adapter: VenueAdapter, order: Order, target: ReplaceTarget, call: CallInfo, retry: boolean): Promise<Driven> {
    const steps: ReplaceStepResult[] = [];
    const ctx = { signal, deadlineMs: call.deadlineMs };
    const id = order.orderId;
    // Cancels and queries name the current venue order as the venue sees it (see venueView).
    const venueOrder = orders.venueView(id) ?? order;
    let oldCanceled = false;
    if (retry) {
      // A retry after an unknown outcome (the new venue order was probed in drive): the old may be gone.
      const old = await adapter.queryOrder(venueOrder, ctx).catch((): Result<VenueOrderUpdate, VenueError> => err({ kind: "protocol", reason: "adapter failure" }));
      if (!old.ok) {
        steps.push({ step: "query", succeeded: false, detail: old.error.reason });
        const t = transient(old.error);
        return t !== undefined ? { result: err(t), final: false } : pending(id, "cancel_then_new", steps);
      }
      if (old.value.status === OrderStatus.CANCELED) oldCanceled = true;
      else if (old.value.status === OrderStatus.FILLED || old.value.status === OrderStatus.EXPIRED) {
        return settleRefused(target, adapter, id, `the order is ${statusName(old.value.status)} at the venue`, call, "cancel_then_new", steps);
      }
    }

    if (!oldCanceled) {
      let c: Result<VenueOrderUpdate, VenueError>;
      try {
        c = await adapter.cancelOrder(venueOrder, ctx);
      } catch (e) {
        onError(`venue ${adapter.name} threw on cancelOrder for order ${id}`, e);
        c = err({ kind: "unknown_outcome", reason: "venue adapter failure" });
      }
      if (!c.ok) {
        steps.push({ step: "cancel", succeeded: false, detail: c.error.reason });
        const t = transient(c.error);
        if (t !== undefined) return refuse(target, id, t, call.requestId, "cancel_then_new", steps, false);
        if (c.error.kind === "rejected" || c.error.kind === "not_found") return settleRefused(target, adapter, id, c.error.reason, call, "cancel_then_new", steps);
        return pending(id, "cancel_then_new", steps);
      }
      let u = c.value;
      if (u.status !== OrderStatus.CANCELED && u.status !== OrderStatus.EXPIRED && u.status !== OrderStatus.FILLED) {
        // Many venues only acknowledge a cancel (Alpaca 204, Kraken count): the new order waits
        // for the venue to confirm the old one is gone.
        u = await confirmCanceled(adapter, venueOrder, u, call);
      }
      if (u.status === OrderStatus.FILLED) {
        steps.push({ step: "cancel", succeeded: false, detail: "the order filled first" });
        return settleRefused(target, adapter, id, "the order filled before the cancel", call, "cancel_then_new", steps);
      }
      if (u.status !== OrderStatus.CANCELED && u.status !== OrderStatus.EXPIRED) {
        // The venue took the cancel but has not confirmed it: the new order must wait.
        steps.push({ step: "cancel", succeeded: false, detail: `the venue reports the order ${statusName(u.status)}` });
        return pending(id, "cancel_then_new", steps);
      }
      steps.push({ step: "cancel", succeeded: true, detail: "" });
      // The cancel's executions count (a partial fill raced the cancel); the order stays PENDING_REPLACE.
      const a = applyAnswer(id, { ...u, status: OrderStatus.NEW }, call.requestId);
      if (a !== undefined) {
        const failed = await commit(a, "cancel answer");
        if (failed !== undefined) return { result: err(failed), final: false };
      }
    }

    const now = orders.get(id)!;
    const filled = now.filledQuantity === "" ? "0" : now.filledQuantity;
    if (compare(target.quantity, filled) <= 0) {
      // The race left nothing to place: the order is done at its new quantity.
      const c = orders.completeReplace(id, {}, call.requestId, clock.nowMs());
      if (!c.ok) return { result: err(c.error), final: false };
      const f = applyAnswer(id, { status: OrderStatus.FILLED, venueOrderId: "", fills: [] }, call.requestId);
      const applied: Applied = { order: f?.order ?? c.value.order, events: [...c.value.events, ...(f?.events ?? [])], fills: [] };
      const failed = await commit(applied, "replace");
      if (failed !== undefined) return { result: err(failed), final: false };
      steps.push({ step: "new", succeeded: true, detail: "nothing left to place: the fills reached the new quantity" });
      onOutcome("cancel_then_new", "replaced", applied.order.venue);
      remember(target.key, "cancel_then_new", steps);
      return { result: ok({ order: applied.order, replayed: false, method: "cancel_then_new", steps }), final: true };
    }
    const remainder = formatDecimal(sub(target.quantity, filled));
    let n: Result<VenueOrderUpdate, VenueError>;
    try {
      n = await adapter.placeOrder(newLeg(now, target, remainder), ctx);
    } catch (e) {
      onError(`venue ${adapter.name} threw on placeOrder for the replacement of order ${id}`, e);
      n = err({ kind: "unknown_outcome", reason: "venue adapter failure" });
    }
    if (n.ok) {
      steps.push({ step: "new", succeeded: true, detail: "" });
      return confirm(id, n.value, true, call.requestId, "cancel_then_new", steps);
    }
    steps.push({ step: "new", succeeded: false, detail: n.error.reason });
    const t = transient(n.error);
    if (t !== undefined) {
      // The old venue order is canceled and the new one certainly not placed: the order stays
      // PENDING_REPLACE with nothing live; the same request retried places it.
      onOutcome("cancel_then_new", "pending");
      return { result: err({ ...t, message: `${t.message}; the venue order was canceled and the replacement not placed yet: retry the same request` }), final: false };
    }
    if (n.error.kind === "rejected") {
      // Nothing is live at the venue any more: the order ends canceled, and the answer says so.
      const r = orders.applyUpdate(id, { status: OrderStatus.CANCELED, venueOrderId: "", rejectReason: `replacement refused by the venue: ${n.error.reason}`, fills: [] }, call.requestId, clock.nowMs());
      if (r.ok) {
        const failed = await commit(r.value, "replace");
        if (failed !== undefined) return { result: err(failed), final: false };
      }
      return refuse(target, id, replaceRefused(id, `the venue canceled the old order but refused the new one (${n.error.reason}); the order is CANCELED`, orders.get(id)), call.requestId, "cancel_then_new", steps, true);
    }
    return pending(id, "cancel_then_new", steps);
  }

  /** Native amend where the venue has one for this change, else cancel-then-new. */
  async function drive(adapter: VenueAdapter, order: Order, target: ReplaceTarget, call: CallInfo, retry: boolean): Promise<Driven> {
    const change = { quantity: target.quantity, price: target.price, stopPrice: target.stopPrice, venueClientOrderId: target.venueClientOrderId };
    const native = adapter.amendOrder !== undefined && adapter.checkAmend?.(order, change) === undefined;
    const method: ReplaceMethodName = native ? "amend" : "cancel_then_new";
    if (retry) {
      // A retry after an unknown outcome: the venue may hold the chain's new venue order already
      // (cancel-then-new, Binance cancelReplace, Alpaca PATCH); then the replace took effect.
      const probe = await adapter.queryOrder(newLeg(order, target, target.quantity), { signal, deadlineMs: call.deadlineMs }).catch((): Result<VenueOrderUpdate, VenueError> => err({ kind: "protocol", reason: "adapter failure" }));
      if (probe.ok) return confirm(order.orderId, probe.value, true, call.requestId, method, [{ step: "query", succeeded: true, detail: "the new venue order exists" }]);
    }
    return native ? amend(adapter, order, target, call) : cancelThenNew(adapter, order, target, call, retry);
  }

  async function execute(order: Order, input: ReplaceOrderInput, key: string, fingerprint: string, call: CallInfo): Promise<Result<ReplaceOrderResult, GatewayError>> {
    const adapter = venues.get(order.venue);
    if (adapter === undefined) return err({ kind: "unavailable", message: `venue ${order.venue} of order ${order.orderId} is not configured` });
    const nowMs = clock.nowMs();

    // The same request again while its replace is still in flight after an unknown outcome: drive it again.
    const inProgress = orders.pendingReplace(order.orderId);
    if (inProgress !== undefined && inProgress.key === key) {
      const down = guard.refusal();
      if (down !== undefined) return err(down);
      const d = await drive(adapter, order, inProgress, call, true);
      if (d.final) store.set(key, { fingerprint, outcome: d.result.ok ? ok(d.result.value.order) : (d.result as Result<never, GatewayError>), storedAtMs: nowMs }, clock.nowMs());
      return d.result;
    }

    const taken = orders.getByClientOrderId(order.account, input.newClientOrderId);
    if (taken !== undefined && taken.orderId === order.orderId && sameTarget(order, input)) {
      // Settled by the venue poller (or its key expired) after an unknown outcome: this very replace.
      return ok({ order, replayed: true, method: answers.get(key)?.method ?? "unspecified", steps: answers.get(key)?.steps ?? [] });
    }
    if (taken !== undefined) {
      return err({
        kind: "already_exists",
        reason: "DUPLICATE_CLIENT_ORDER_ID",
        message: `client_order_id "${input.newClientOrderId}" is already used by order ${taken.orderId} of account ${order.account}`,
        metadata: { order_id: taken.orderId },
      });
    }
    const v = validateAgainst(order, input);
    if (v.length > 0) return err(invalidArgument(v));
    if (isTerminal(order.status)) {
      return err({ kind: "failed_precondition", reason: "ORDER_TERMINAL", message: `order ${order.orderId} is ${statusName(order.status)}: it can no longer be replaced` });
    }
    const refused = guard.refusal();
    if (refused !== undefined) return err(refused);

    const target = targetOf(order, key, fingerprint, adapter.kind)!;
    // The one pre-trade call site: the order as it would be (risk limits; trading state).
    const amended: OrderSpec = { ...order, clientOrderId: target.clientOrderId, quantity: target.quantity, price: target.price, stopPrice: target.stopPrice };
    const checked = deps.risk(amended);
    if (!checked.ok) {
      store.set(key, { fingerprint, outcome: checked, storedAtMs: nowMs }, nowMs);
      try {
        const p = audit.append([{ ts: nowMs, type: "replace_rejected", requestId: call.requestId, idempotency: { key, fingerprint }, order, error: checked.error }]);
        if (p !== null) await p;
      } catch (e) {
        const r = guard.failed(`risk refusal of the replace of order ${order.orderId} not recorded`, e);
        return err({ kind: "unavailable", message: `${r.message}; the risk refusal of this replace was not recorded` });
      }
      onOutcome("unspecified", "rejected");
      return checked as Result<never, GatewayError>;
    }

    const requested = orders.requestReplace(order.orderId, target, call.requestId, nowMs);
    if (!requested.ok) return requested;
    try {
      // Durable before the venue hears of it (see place-order.ts): after a restart the order is
      // found PENDING_REPLACE with its target, and a retry drives it on.
      const pre = orders.commit(requested.value);
      if (pre !== null) await pre;
    } catch (e) {
      const r = guard.failed(`replace of order ${order.orderId} not recorded before its venue call; it was not sent`, e);
      const back = orders.replaceRejected(order.orderId, { kind: "unavailable", message: "audit log unavailable" }, call.requestId, clock.nowMs());
      settleQuietly(() => orders.commit(back));
      return err({ kind: "unavailable", message: `${r.message}; the replace of order ${order.orderId} was not sent` });
    }
    if (signal.aborted) {
      await refuse(target, order.orderId, { kind: "unavailable", message: "the gateway is shutting down" }, call.requestId, "unspecified", [], false);
      return err({ kind: "unavailable", message: "the gateway is shutting down" });
    }
    const d = await drive(adapter, requested.value.order, target, call, false);
    if (d.final) {
      const outcome = d.result.ok ? ok(d.result.value.order) : (d.result as Result<never, GatewayError>);
      store.set(key, { fingerprint, outcome, storedAtMs: nowMs }, clock.nowMs());
    }
    return d.result;
  }

  function replay(key: string, outcome: Result<Order, GatewayError>): Result<ReplaceOrderResult, GatewayError> {
    if (!outcome.ok) return outcome;
    const a = answers.get(key);
    return ok({ order: orders.get(outcome.value.orderId) ?? outcome.value, replayed: true, method: a?.method ?? "unspecified", steps: a?.steps ?? [] });
  }

  return async function replaceOrder(input: ReplaceOrderInput, call: CallInfo): Promise<Result<ReplaceOrderResult, GatewayError>> {
    const violations = validate(input);
    if (violations.length > 0) return err(invalidArgument(violations));
    const found = findOrder(orders, { orderId: input.orderId, clientOrderId: input.clientOrderId, account: input.account }, call.principal);
    if (!found.ok) return found;
    const order = found.value;
    const key = replaceScopeKey(order.account, input.newClientOrderId);
    const fingerprint = replaceFingerprint(order.orderId, input);

    const conflict = (prior: string): GatewayError => {
      const a = prior.split("|");
      const b = fingerprint.split("|");
      const fields = FINGERPRINT_FIELDS.filter((_, i) => a[i + 1] !== b[i + 1]);
      return {
        kind: "already_exists",
        reason: "IDEMPOTENCY_KEY_REUSED",
        message: `new_client_order_id "${input.newClientOrderId}" of account ${order.account} was already used for a different replace (differs in: ${fields.join(", ")})`,
        metadata: { account: order.account, key: input.newClientOrderId, fields: fields.join(",") },
      };
    };
    const first = inFlight.get(key);
    if (first !== undefined) {
      if (first.fingerprint !== fingerprint) return err(conflict(first.fingerprint));
      const r = await first.promise;
      return r.ok ? ok({ ...r.value, order: orders.get(r.value.order.orderId) ?? r.value.order, replayed: true }) : r;
    }
    const prior = store.get(key, clock.nowMs());
    if (prior !== undefined) {
      const fp = prior.fingerprint ?? "";
      if (fp !== fingerprint) return err(conflict(fp));
      const down = guard.outage();
      return down === undefined ? replay(key, prior.outcome) : err(down);
    }
    const pendingTarget = orders.pendingReplace(order.orderId);
    if (pendingTarget !== undefined && pendingTarget.key === key && pendingTarget.fingerprint !== fingerprint) return err(conflict(pendingTarget.fingerprint));

    const promise = execute(order, input, key, fingerprint, call);
    inFlight.set(key, { fingerprint, promise });
    try {
      return await promise;
    } finally {
      inFlight.delete(key);
    }
  };
}
