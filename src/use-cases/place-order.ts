import type { AuditEvent, AuditSink } from "./audit-sink.js";
import type { GatewayError } from "../domain/errors.js";
import type { Order, OrderSpec } from "../domain/order.js";
import { OrderStatus } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import type { IdempotencyStore } from "./idempotency-store.js";
import type { Applied, OrderManager } from "./order-manager.js";
import type { VenueAdapter, VenueError } from "./venue-adapter.js";
import { deriveVenueClientOrderId } from "./client-order-id.js";
import { createAuditGuard, outcomeNotRecorded, settleQuietly, type AuditGuard } from "./audit-guard.js";
import { decideIdempotency, idempotencyScopeKey, recordFingerprint, requestFingerprint } from "./idempotency.js";
import { TRANSIENT_RISK_REASONS, type RiskCheck } from "./risk.js";
import type { OrderObserver } from "./order-observer.js";
import { routeOrder } from "./route.js";
import type { Clock } from "../domain/ports.js";
import type { PlaceOrderInput, ValidateOrder } from "./validate.js";
import type { Tracer } from "./tracing.js";

/** Per-call facts the RPC edge passes in. */
export interface CallInfo {
  readonly requestId: string;
  readonly principal: Principal;
  /** Absolute epoch ms of the RPC deadline, if any; bounds the venue call. */
  readonly deadlineMs?: number | undefined;
  /** Why the gateway itself makes this call (cancel-on-disconnect): recorded on its audit events. */
  readonly reason?: string;
}

export interface PlaceOrderResult {
  readonly order: Order;
  /** True when this answer is the stored outcome of an earlier request with the same key. */
  readonly replayed: boolean;
}

export interface PlaceOrderDeps {
  readonly clock: Clock;
  readonly validate: ValidateOrder;
  readonly risk: RiskCheck;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly idempotency: IdempotencyStore;
  readonly orders: OrderManager;
  readonly audit: AuditSink;
  /**
   * Aborted when the gateway shuts down; given to venue calls. The caller's
   * own cancellation is deliberately NOT passed on: once an order is on its
   * way to a venue we see the answer through and record it, because a
   * cancelled RPC must not turn a known outcome into an unknown one.
   */
  readonly signal: AbortSignal;
  /** Told about venue answers the state machine refuses (a venue adapter bug). */
  readonly onError?: (message: string, detail: unknown) => void;
  /**
   * Trips on the first failed audit append and then refuses new orders
   * (shared with CancelOrder and the order manager). Default: a guard of
   * this pipeline's own, which nobody outside hears about.
   */
  readonly auditGuard?: AuditGuard;
  /** Business metrics: told about risk and validation refusals (venue ones come from the order manager). */
  readonly observer?: Pick<OrderObserver, "rejected">;
  /**
   * Tracing on: a span per step (validate, idempotency, risk, route), for the venue call (its
   * traceparent goes to the venue) and for each audit commit, children of the RPC's span.
   * Absent: each step pays one `undefined` check and makes no object.
   */
  readonly tracer?: Tracer;
}

export type PlaceOrder = (input: PlaceOrderInput, call: CallInfo) => Promise<Result<PlaceOrderResult, GatewayError>>;

interface InFlight {
  readonly fingerprint: string;
  readonly promise: Promise<Result<PlaceOrderResult, GatewayError>>;
}

/** Venue failures where the order certainly did not happen and the client should retry the same key. */
function transientError(e: VenueError): GatewayError | undefined {
  switch (e.kind) {
    case "rate_limited":
      return { kind: "resource_exhausted", message: `venue rate limit: ${e.reason}`, retryAfterMs: e.retryAfterMs };
    case "unavailable":
      return e.retryAfterMs === undefined
        ? { kind: "unavailable", message: `venue unavailable: ${e.reason}` }
        : { kind: "unavailable", message: `venue unavailable: ${e.reason}`, retryAfterMs: e.retryAfterMs };
    case "auth":
      // An operator problem (credentials); the client may retry once it is fixed. The reason never carries secrets.
      return { kind: "unavailable", message: `venue refused the gateway's credentials: ${e.reason}` };
    default:
      return undefined;
  }
}

const noop = (): void => {};

/**
 * PlaceOrder: validate -> idempotency -> risk -> route -> execute, then audit
 * and answer. The decision steps are pure and synchronous; this shell is the
 * only place where they meet I/O (venue call, audit append).
 *
 * Idempotency:
 * - a duplicate of a request still in flight awaits the first one's promise
 *   (the check and the registration happen with no await in between, so two
 *   venue calls for one key are impossible in this process);
 * - a completed key answers with its stored outcome, replayed = true, with no
 *   audit and no venue call. For a success the answer carries the order's
 *   current state while it is still in memory (the freshest truth), else the
 *   state stored with the key;
 * - business outcomes are stored: the order in any status (a venue rejection
 *   is an order with status REJECTED) and risk-limit breaches. Malformed
 *   requests are not stored (nothing happened), nor transient venue failures
 *   (rate limited, unavailable): the order certainly did not reach the venue,
 *   so the same key may be retried; the audit log records the release.
 *
 * Audit: every event of the order carries the order; the first and the last
 * event of the call carry `idempotency` {key, fingerprint}, so start-up
 * recovery rebuilds the key with the outcome the client was given. For real
 * venues `order_received` is appended, and awaited, before the venue call
 * (write-ahead); for the in-process paper venue, which forgets everything on
 * restart, everything goes in one append. The answer waits for the final
 * append when the sink says so.
 *
 * Audit failure fails closed (audit-guard.ts): a write-ahead append that
 * fails stops the order before the venue call; a final append that fails
 * keeps the idempotency entry (a retry is a replay, never a second venue
 * order) and answers UNAVAILABLE naming the order whose outcome is not on
 * record; either way the guard trips and new orders are refused until restart.
 */
export function createPlaceOrder(deps: PlaceOrderDeps): PlaceOrder {
  const { clock, validate, risk, venues, idempotency: store, orders, audit, signal } = deps;
  const onError = deps.onError ?? noop;
  const guard = deps.auditGuard ?? createAuditGuard();
  const inFlight = new Map<string, InFlight>();
  const tracer = deps.tracer;

  async function execute(spec: OrderSpec, key: string, fingerprint: string, call: CallInfo, nowMs: number): Promise<Result<PlaceOrderResult, GatewayError>> {
    // An order still in memory under this (account, client_order_id) but another idempotency key.
    const existing = orders.getByClientOrderId(spec.account, spec.clientOrderId);
    if (existing !== undefined) {
      if (existing.idempotencyKey === spec.idempotencyKey && requestFingerprint(existing) === fingerprint) {
        // Its idempotency record was evicted before the order left memory: still the same request.
        return ok({ order: existing, replayed: true });
      }
      return err({
        kind: "already_exists",
        reason: "DUPLICATE_CLIENT_ORDER_ID",
        message: `client_order_id "${spec.clientOrderId}" is already used by order ${existing.orderId} of account ${spec.account}`,
        metadata: { order_id: existing.orderId },
      });
    }

    const idem = { key, fingerprint };
    const riskSpan = tracer?.startSpan("risk");
    const checked = risk(spec);
    if (riskSpan !== undefined) {
      if (!checked.ok) riskSpan.fail(checked.error.kind);
      riskSpan.end();
    }
    if (!checked.ok) {
      deps.observer?.rejected("risk");
      // A refusal by a state that passes (halt, reduce-only, order rate, open orders) is not the key's
      // outcome: the same request may pass once it has. Recorded without the key, so recovery keeps none.
      const e = checked.error;
      const transient = e.kind === "failed_precondition" && e.reason !== undefined && TRANSIENT_RISK_REASONS.has(e.reason);
      if (!transient) store.set(key, { fingerprint, outcome: checked, storedAtMs: nowMs }, nowMs);
      try {
        const p = audit.append([{ ts: nowMs, type: "order_rejected", requestId: call.requestId, ...(transient ? {} : { idempotency: idem }), error: checked.error }]);
        if (p !== null) await p;
      } catch (e) {
        const refusal = guard.failed(`risk rejection of client order ${spec.clientOrderId} (account ${spec.account}) not recorded`, e);
        return err({ kind: "unavailable", message: `${refusal.message}; the risk rejection of this request was not recorded` });
      }
      return checked;
    }

    const routeSpan = tracer?.startSpan("route");
    const routed = routeOrder(spec.venue, venues);
    routeSpan?.end();
    if (!routed.ok) return routed;
    const adapter = routed.value;
    if (signal.aborted) return err({ kind: "unavailable", message: "the gateway is shutting down" });

    // The paper venue lives in this process and forgets everything on restart: the scope key itself is a
    // fine venue client order id there, and skipping the hash keeps the benchmark path cheap.
    const venueClientOrderId = adapter.kind === "paper" ? key : deriveVenueClientOrderId(adapter.kind, key);
    const order = orders.createPending(spec, venueClientOrderId, nowMs);
    const received: AuditEvent = { ts: nowMs, type: "order_received", requestId: call.requestId, idempotency: idem, order };
    const writeAhead = adapter.kind !== "paper";
    if (writeAhead) {
      try {
        // Awaited (one group commit in fsync mode) before anything leaves: a real venue keeps the order
        // across our restarts, so the log must know it first. That costs a batch window on a path
        // that then waits for a remote venue anyway.
        const span = tracer?.startSpan("audit commit");
        span?.setAttribute("audit.events", 1);
        try {
          const p = audit.append([received]);
          if (p !== null) await p;
        } catch (e) {
          span?.fail("audit append failed");
          throw e;
        } finally {
          span?.end();
        }
      } catch (e) {
        // Nothing has left yet: stop here rather than send an order the log does not know about.
        const refusal = guard.failed(`order ${order.orderId} not recorded before its venue call; it was not sent`, e);
        const r = orders.reject(order.orderId, "audit log unavailable", call.requestId, clock.nowMs(), refusal);
        if (r.ok) {
          orders.releaseClientOrderId(order);
          // A sink in an outage keeps `order_received` and writes it once it is back: the
          // rejection, which releases the key, must follow it, or a restart would find the order
          // pending. Not awaited: this call is answered now either way.
          const events = r.value.events;
          if (events.length > 0) events[events.length - 1] = { ...events[events.length - 1]!, idempotency: idem };
          settleQuietly(() => orders.commit(r.value));
        }
        return err({ kind: "unavailable", message: `${refusal.message}; order ${order.orderId} was not sent` });
      }
    }

    let res: Awaited<ReturnType<VenueAdapter["placeOrder"]>>;
    const venueSpan = tracer?.startSpan(`venue ${adapter.kind} placeOrder`, "client");
    try {
      res = await adapter.placeOrder(
        order,
        venueSpan === undefined ? { signal, deadlineMs: call.deadlineMs } : { signal, deadlineMs: call.deadlineMs, traceparent: venueSpan.traceparent },
      );
    } catch (e) {
      // Adapters return errors as values; a throw is a bug, and the request may have left: unknown outcome.
      onError(`venue ${spec.venue} threw on placeOrder for order ${order.orderId}`, e);
      res = err({ kind: "unknown_outcome", reason: "venue adapter failure" });
    }
    if (venueSpan !== undefined) {
      venueSpan.setAttribute("venue", spec.venue);
      if (!res.ok) venueSpan.fail(res.error.kind);
      venueSpan.end();
    }
    const now = clock.nowMs();
    let applied: Applied;
    let failure: GatewayError | undefined;
    if (res.ok) {
      const a = orders.applyUpdate(order.orderId, res.value, call.requestId, now);
      const moved = a.ok ? undefined : orders.get(order.orderId);
      if (a.ok) {
        applied = a.value;
      } else if (moved !== undefined && moved.status !== OrderStatus.PENDING_NEW) {
        // The venue's user stream (or a poll) told of the order before this answer arrived, and the
        // answer is older news (Kraken AddOrder says "open" of an order the stream saw fill): the
        // order stands as they left it, already on record (order_received holds the key), and is
        // answered as it is.
        applied = { order: moved, events: [], fills: [] };
      } else {
        // The venue said something our state machine refuses: keep PENDING_NEW so reconciliation settles it.
        onError(`venue ${spec.venue} answer for order ${order.orderId} not applied: ${a.error.message}`, a.error);
        applied = { order, events: [{ ts: now, type: "order_pending", requestId: call.requestId, order }], fills: [] };
      }
    } else {
      const e = res.error;
      failure = transientError(e);
      if (e.kind === "rejected" || failure !== undefined) {
        const r = orders.reject(order.orderId, failure?.message ?? e.reason, call.requestId, now, failure);
        applied = r.ok ? r.value : { order, events: [], fills: [] };
        if (failure !== undefined) orders.releaseClientOrderId(order);
      } else {
        // unknown_outcome, protocol, not_found: the order may exist at the venue. It stays PENDING_NEW
        // and is answered as such; reconciliation (venue pollers) moves it on.
        applied = { order, events: [{ ts: now, type: "order_pending", requestId: call.requestId, order }], fills: [] };
      }
    }

    const events = applied.events;
    const n = events.length;
    if (n > 0) events[n - 1] = { ...events[n - 1]!, idempotency: idem };
    if (!writeAhead) events.unshift(received);
    // Stored before the append and kept if it fails: the venue may have the order, so a retry must replay.
    // No fingerprint copy: the order carries every fingerprinted field (recordFingerprint).
    if (failure === undefined) store.set(key, { outcome: ok(applied.order), storedAtMs: nowMs }, now);
    const auditSpan = tracer?.startSpan("audit commit");
    auditSpan?.setAttribute("audit.events", applied.events.length);
    try {
      const p = orders.commit(applied);
      if (p !== null) await p;
      auditSpan?.end();
    } catch (e) {
      if (auditSpan !== undefined) {
        auditSpan.fail("audit append failed");
        auditSpan.end();
      }
      guard.failed(`events of order ${applied.order.orderId} not recorded`, e);
      return err(outcomeNotRecorded("this order", applied.order.orderId, "query it with GetOrderStatus or retry with the same key (a retry never sends a second order)"));
    }
    return failure === undefined ? ok({ order: applied.order, replayed: false }) : err(failure);
  }

  function replayOf(outcome: Result<Order, GatewayError>): Result<PlaceOrderResult, GatewayError> {
    if (!outcome.ok) return outcome;
    return ok({ order: orders.get(outcome.value.orderId) ?? outcome.value, replayed: true });
  }

  async function waitFor(first: InFlight): Promise<Result<PlaceOrderResult, GatewayError>> {
    const r = await first.promise;
    return r.ok ? ok({ order: orders.get(r.value.order.orderId) ?? r.value.order, replayed: true }) : r;
  }

  return async function placeOrder(input: PlaceOrderInput, call: CallInfo): Promise<Result<PlaceOrderResult, GatewayError>> {
    const validateSpan = tracer?.startSpan("validate");
    const v = validate(input);
    if (validateSpan !== undefined) {
      if (!v.ok) validateSpan.fail(v.error.kind);
      validateSpan.end();
    }
    if (!v.ok) {
      deps.observer?.rejected("validation");
      return v;
    }
    const spec = v.value;
    if (!mayUseAccount(call.principal, spec.account)) {
      return err({ kind: "permission_denied", message: `this API key may not trade account ${spec.account}` });
    }
    const key = idempotencyScopeKey(spec);
    const fingerprint = requestFingerprint(spec);

    const idemSpan = tracer?.startSpan("idempotency");
    const first = inFlight.get(key);
    if (first !== undefined) {
      const d = decideIdempotency(first, fingerprint, spec);
      if (idemSpan !== undefined) {
        idemSpan.setAttribute("idempotency.decision", d.kind === "conflict" ? "conflict" : "in_flight");
        idemSpan.end();
      }
      return d.kind === "conflict" ? err(d.error) : waitFor(first);
    }
    const nowMs = clock.nowMs();
    const prior = store.get(key, nowMs);
    const d = decideIdempotency(prior === undefined ? undefined : { fingerprint: recordFingerprint(prior) }, fingerprint, spec);
    if (idemSpan !== undefined) {
      idemSpan.setAttribute("idempotency.decision", d.kind);
      idemSpan.end();
    }
    if (d.kind === "conflict") return err(d.error);
    if (d.kind === "replay") {
      // The sink may still hold this key's events unwritten: confirm it once they are on record.
      const down = guard.outage();
      return down === undefined ? replayOf(prior!.outcome) : err(down);
    }
    const refused = guard.refusal();
    if (refused !== undefined) return err(refused);

    const promise = execute(spec, key, fingerprint, call, nowMs);
    inFlight.set(key, { fingerprint, promise });
    try {
      return await promise;
    } finally {
      inFlight.delete(key);
    }
  };
}
