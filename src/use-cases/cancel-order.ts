import type { GatewayError } from "../domain/errors.js";
import type { Order } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";
import { createAuditGuard, outcomeNotRecorded, settleQuietly, type AuditGuard } from "./audit-guard.js";
import type { CallInfo } from "./place-order.js";
import type { Clock } from "../domain/ports.js";
import type { VenueAdapter, VenueError } from "./venue-adapter.js";
import { findOrder, type OrderRef } from "./find-order.js";
import type { Applied, OrderManager } from "./order-manager.js";
import type { Tracer } from "./tracing.js";

export interface CancelOrderDeps {
  readonly clock: Clock;
  readonly orders: OrderManager;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  /** Gateway shutdown; the caller's own cancellation is not passed on (see place-order.ts). */
  readonly signal: AbortSignal;
  readonly onError?: (message: string, detail: unknown) => void;
  /** Shared with PlaceOrder: once an append failed, cancels are refused too (see audit-guard.ts). */
  readonly auditGuard?: AuditGuard;
  /** Tracing on: spans for the venue call (its traceparent goes to the venue) and the audit commits; absent: none. */
  readonly tracer?: Tracer;
}

export type CancelOrder = (ref: OrderRef, call: CallInfo) => Promise<Result<Order, GatewayError>>;

const noop = (): void => {};

/**
 * What a cancel the venue did not confirm is answered with; undefined when its outcome is unknown
 * (timeout, 5xx, an answer we cannot read): the order stays PENDING_CANCEL and is reconciled.
 * Shared with CancelAllOrders.
 */
export function cancelFailure(e: VenueError): GatewayError | undefined {
  switch (e.kind) {
    case "unknown_outcome":
    case "protocol":
      return undefined;
    case "rate_limited":
      return { kind: "resource_exhausted", message: `venue rate limit: ${e.reason}`, retryAfterMs: e.retryAfterMs };
    case "unavailable":
    case "auth":
      return { kind: "unavailable", message: `venue unavailable: ${e.reason}` };
    default:
      return { kind: "failed_precondition", reason: "CANCEL_REJECTED", message: `the venue refused the cancel: ${e.reason}` };
  }
}

/**
 * CancelOrder. A working order (NEW, PARTIALLY_FILLED) goes PENDING_CANCEL
 * (audited, and durable, before the venue call), then through the venue:
 * - confirmed: CANCELED (or FILLED if it executed first) and answered;
 * - refused / unknown to the venue: back to working, FAILED_PRECONDITION with the venue's reason;
 * - rate limited / unavailable: back to working, RESOURCE_EXHAUSTED / UNAVAILABLE (retry);
 * - unknown outcome: stays PENDING_CANCEL and is answered so; reconciliation settles it.
 * A terminal order is FAILED_PRECONDITION naming its status; PENDING_NEW and
 * PENDING_CANCEL are FAILED_PRECONDITION too (nothing to cancel yet / already cancelling).
 *
 * Audit failure fails closed, as in PlaceOrder: a cancel whose request cannot
 * be recorded is not sent (the order goes back to working), one whose outcome
 * cannot be recorded is answered UNAVAILABLE naming the order, and either way
 * every later cancel is refused: a cancel nobody can prove was sent is worse
 * than an operator cancelling at the venue while the gateway is restarted.
 */
export function createCancelOrder(deps: CancelOrderDeps): CancelOrder {
  const { clock, orders, venues, signal } = deps;
  const onError = deps.onError ?? noop;
  const guard = deps.auditGuard ?? createAuditGuard();
  const tracer = deps.tracer;

  return async function cancelOrder(ref: OrderRef, call: CallInfo): Promise<Result<Order, GatewayError>> {
    const found = findOrder(orders, ref, call.principal);
    if (!found.ok) return found;
    const adapter = venues.get(found.value.venue);
    if (adapter === undefined) {
      return err({ kind: "unavailable", message: `venue ${found.value.venue} of order ${found.value.orderId} is not configured` });
    }
    const refused = guard.refusal();
    if (refused !== undefined) return err(refused);
    const requested = orders.requestCancel(found.value.orderId, call.requestId, clock.nowMs());
    if (!requested.ok) return requested;
    const preSpan = tracer?.startSpan("audit commit");
    try {
      // Durable before the venue hears of it, as for new orders (see place-order.ts).
      const pre = orders.commit(withReason(requested.value, call.reason));
      if (pre !== null) await pre;
      preSpan?.end();
    } catch (e) {
      if (preSpan !== undefined) {
        preSpan.fail("audit append failed");
        preSpan.end();
      }
      // Not sent: put the order back to working and refuse. A sink in an outage keeps
      // `cancel_requested` and writes it once back, so the way back to working follows it.
      const refusal = guard.failed(`cancel of order ${found.value.orderId} not recorded before its venue call; it was not sent`, e);
      const back = orders.cancelRejected(found.value.orderId, "audit log unavailable", call.requestId, clock.nowMs());
      settleQuietly(() => orders.commit(back));
      return err({ kind: "unavailable", message: `${refusal.message}; the cancel of order ${found.value.orderId} was not sent` });
    }

    let res: Awaited<ReturnType<VenueAdapter["cancelOrder"]>>;
    const venueSpan = tracer?.startSpan(`venue ${adapter.kind} cancelOrder`, "client");
    try {
      res = await adapter.cancelOrder(
        requested.value.order,
        venueSpan === undefined ? { signal, deadlineMs: call.deadlineMs } : { signal, deadlineMs: call.deadlineMs, traceparent: venueSpan.traceparent },
      );
    } catch (e) {
      // A throw is an adapter bug and the cancel may have left: unknown outcome, reconciliation settles it.
      onError(`venue ${adapter.name} threw on cancelOrder for order ${requested.value.order.orderId}`, e);
      res = err({ kind: "unknown_outcome", reason: "venue adapter failure" });
    }
    if (venueSpan !== undefined) {
      venueSpan.setAttribute("venue", adapter.name);
      if (!res.ok) venueSpan.fail(res.error.kind);
      venueSpan.end();
    }
    const now = clock.nowMs();
    let applied: Applied;
    let failure: GatewayError | undefined;
    if (res.ok) {
      const a = orders.applyUpdate(requested.value.order.orderId, res.value, call.requestId, now);
      const moved = a.ok ? undefined : orders.get(requested.value.order.orderId);
      if (a.ok) applied = a.value;
      else if (moved !== undefined && moved.status !== requested.value.order.status) {
        // The venue's user stream told of the outcome (CANCELED, or a fill) before this answer
        // arrived, and the answer is older news (Kraken's "cancel accepted"): answered as it stands.
        applied = { order: moved, events: [], fills: [] };
      } else {
        onError(`venue ${adapter.name} cancel answer for order ${requested.value.order.orderId} not applied: ${a.error.message}`, a.error);
        applied = { order: requested.value.order, events: [], fills: [] };
      }
    } else {
      failure = cancelFailure(res.error);
      applied =
        failure === undefined
          ? { order: orders.get(requested.value.order.orderId) ?? requested.value.order, events: [], fills: [] }
          : orders.cancelRejected(requested.value.order.orderId, failure.message, call.requestId, now);
    }
    const auditSpan = tracer?.startSpan("audit commit");
    try {
      const p = orders.commit(withReason(applied, call.reason));
      if (p !== null) await p;
      auditSpan?.end();
    } catch (e) {
      if (auditSpan !== undefined) {
        auditSpan.fail("audit append failed");
        auditSpan.end();
      }
      guard.failed(`cancel events of order ${applied.order.orderId} not recorded`, e);
      return err(outcomeNotRecorded("the cancel", applied.order.orderId, "query the order with GetOrderStatus before acting on it"));
    }
    return failure === undefined ? ok(applied.order) : err(failure);
  };
}

/** The gateway's own cancels (cancel-on-disconnect) say why on every event they record. */
export function withReason(applied: Applied, reason: string | undefined): Applied {
  if (reason === undefined) return applied;
  return { ...applied, events: applied.events.map((e) => ({ ...e, reason })) };
}
