import type { HandlerContext } from "@connectrpc/connect";
import type { StreamOrderEventsRequest, StreamOrderEventsResponse } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { FieldViolation, GatewayError } from "../domain/errors.js";
import type { Principal } from "../domain/principal.js";
import { DEFAULT_GRACE_MS, MAX_GRACE_MS, type CancelOnDisconnect, type GuardedSession, type SessionLease } from "../use-cases/cancel-on-disconnect.js";
import type { OrderEvent, OrderEventHub } from "../use-cases/order-events.js";
import { principalKey, streamEndKey } from "./interceptors/context-keys.js";
import { toProtoOrderEvent } from "./order-event-mapping.js";
import { checkSequencedStreamRequest, MAX_FILTER_LENGTH, pumpSubscription, withOpener, type SequencedStreamOpener } from "./stream-subscription.js";
import { toConnectError } from "./to-connect-error.js";

export interface StreamOrderEventsHandlerDeps {
  readonly hub: OrderEventHub;
  readonly cancelOnDisconnect: CancelOnDisconnect;
  /** Aborted when shutdown starts: open streams end with UNAVAILABLE (resume later); no session is canceled. */
  readonly shutdownSignal?: AbortSignal;
  /** Told +1 when a stream starts and -1 when it ends (the subscribers gauge). */
  readonly onSubscribers?: (delta: 1 | -1) => void;
}

const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request checks, and the guarded session if asked for. */
export function checkStreamOrderEventsRequest(
  req: StreamOrderEventsRequest,
  principal: Principal,
  lastPublished: bigint,
): { readonly error: GatewayError } | { readonly error?: undefined; readonly session: GuardedSession | undefined } {
  const cod = req.cancelOnDisconnect;
  const more: FieldViolation[] = [];
  if (cod !== undefined) {
    if (req.account === "") more.push({ field: "account", description: "is required with cancel_on_disconnect" });
    if (!SESSION_ID.test(cod.sessionId)) more.push({ field: "cancel_on_disconnect.session_id", description: "must be 1-128 characters of [A-Za-z0-9._:-]" });
    if (cod.graceMs > MAX_GRACE_MS) more.push({ field: "cancel_on_disconnect.grace_ms", description: `must be at most ${MAX_GRACE_MS}` });
    for (const f of ["venue", "symbol"] as const) {
      if (cod[f].length > MAX_FILTER_LENGTH) more.push({ field: `cancel_on_disconnect.${f}`, description: `must be at most ${MAX_FILTER_LENGTH} characters` });
    }
  }
  const error = checkSequencedStreamRequest(req, principal, lastPublished, "order event", more);
  if (error !== undefined) return { error };
  if (cod === undefined) return { session: undefined };
  return {
    session: {
      account: req.account,
      sessionId: cod.sessionId,
      graceMs: cod.graceMs === 0 ? DEFAULT_GRACE_MS : cod.graceMs,
      ...(cod.venue !== "" ? { venue: cod.venue } : {}),
      ...(cod.symbol !== "" ? { symbol: cod.symbol } : {}),
    },
  };
}

/**
 * StreamOrderEvents: the order-event hub's subscription for the caller's accounts, plus the
 * cancel-on-disconnect lease when asked for. How the stream ended decides the lease:
 * - the client reset the HTTP/2 stream on a live connection (a deliberate cancel): clean, nothing canceled;
 * - the connection was lost, or the call came over HTTP/1.1 (gRPC-Web, Connect), where a cancel
 *   and a lost connection cannot be told apart: unclean, the grace period starts;
 * - the gateway ended it with an error (slow consumer, history unreadable): unclean (the client
 *   is expected to resume within the grace period);
 * - shutdown: clean (the gateway is going away, not the client; grace timers are dropped).
 */
export function createStreamOrderEventsHandler(deps: StreamOrderEventsHandlerDeps) {
  const open = createOrderEventStreamOpener(deps);
  async function* streamOrderEvents(req: StreamOrderEventsRequest, ctx: HandlerContext): AsyncGenerator<StreamOrderEventsResponse, void, undefined> {
    const opened = open(req, ctx);
    try {
      yield* pumpSubscription(opened.sub, ctx, deps.shutdownSignal, opened.toMessage, opened.noun);
    } finally {
      opened.end();
    }
  }
  // The gRPC stream fast path opens the same way and writes the items itself (stream-subscription.ts).
  return withOpener(streamOrderEvents, open);
}

/**
 * One event as the stream's message. The gRPC stream fast path recognises this function (by
 * identity) and then encodes the domain event directly, to the same bytes
 * (src/server/fast-path/order-event-encoder.ts).
 */
export const orderEventResponse = (e: OrderEvent): StreamOrderEventsResponse => ({ $typeName: "trading.v1.StreamOrderEventsResponse", event: toProtoOrderEvent(e) });

/**
 * Checks the request (throws its ConnectError), subscribes, takes the cancel-on-disconnect lease
 * and counts the subscriber: everything but the pumping, shared by the connect handler and the
 * gRPC stream fast path. `end` undoes it once the stream is over (see the handler's comment for
 * how the way it ended decides the lease).
 */
export function createOrderEventStreamOpener(deps: StreamOrderEventsHandlerDeps): SequencedStreamOpener<StreamOrderEventsRequest, OrderEvent, StreamOrderEventsResponse> {
  const { hub, cancelOnDisconnect } = deps;
  return (req, ctx) => {
    const principal = ctx.values.get(principalKey);
    const checked = checkStreamOrderEventsRequest(req, principal, hub.lastPublished());
    if (checked.error !== undefined) throw toConnectError(checked.error);
    const sub = hub.subscribe({
      account: req.account,
      venue: req.venue,
      symbol: req.symbol,
      allowedAccounts: principal.accounts,
      afterSequence: req.afterSequence,
    });
    let lease: SessionLease | undefined;
    let onClientEnd: (() => void) | undefined;
    if (checked.session !== undefined) {
      const l = cancelOnDisconnect.open(checked.session);
      lease = l;
      const streamEnd = ctx.values.get(streamEndKey);
      onClientEnd = () => {
        if (deps.shutdownSignal?.aborted === true) return l.end(true);
        if (streamEnd === undefined) return l.end(false);
        void streamEnd().then((how) => l.end(how === "client_cancel"));
      };
      if (ctx.signal.aborted) onClientEnd();
      else ctx.signal.addEventListener("abort", onClientEnd, { once: true });
    }
    deps.onSubscribers?.(1);
    let ended = false;
    return {
      sub,
      toMessage: orderEventResponse,
      noun: "order event",
      shutdownSignal: deps.shutdownSignal,
      end: () => {
        if (ended) return;
        ended = true;
        deps.onSubscribers?.(-1);
        if (lease !== undefined && !ctx.signal.aborted) {
          // Ended by the gateway, not by the client: an error end leaves the orders guarded.
          ctx.signal.removeEventListener("abort", onClientEnd!);
          lease.end(deps.shutdownSignal?.aborted === true);
        }
      },
    };
  };
}
