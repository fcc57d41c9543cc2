import type { ConnectError, HandlerContext } from "@connectrpc/connect";
import type { FieldViolation, GatewayError } from "../domain/errors.js";
import { invalidArgument } from "../domain/errors.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import type { Subscription } from "../use-cases/sequence-hub.js";
import { loggerKey } from "./interceptors/context-keys.js";
import { toConnectError } from "./to-connect-error.js";

/** Filters longer than this cannot match any valid account/venue/symbol; refusing them names the field. */
export const MAX_FILTER_LENGTH = 128;

/** The filter and resume point every sequenced stream request has (StreamFills, StreamOrderEvents). */
export interface SequencedStreamRequest {
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  readonly afterSequence: bigint;
}

/** The request checks shared by the sequenced streams, as a value; `noun` names what is streamed ("fill", "order event"). */
export function checkSequencedStreamRequest(
  req: SequencedStreamRequest,
  principal: Principal,
  lastPublished: bigint,
  noun: string,
  more: readonly FieldViolation[] = [],
): GatewayError | undefined {
  const violations: FieldViolation[] = [];
  for (const field of ["account", "venue", "symbol"] as const) {
    if (req[field].length > MAX_FILTER_LENGTH) violations.push({ field, description: `must be at most ${MAX_FILTER_LENGTH} characters` });
  }
  violations.push(...more);
  if (violations.length > 0) return invalidArgument(violations);
  if (req.account !== "" && !mayUseAccount(principal, req.account)) {
    return { kind: "permission_denied", message: `not allowed to see ${noun}s of account ${JSON.stringify(req.account)}` };
  }
  if (req.afterSequence > lastPublished) {
    // Resuming past the end would silently skip everything up to that number: refuse instead.
    return {
      kind: "failed_precondition",
      message: `after_sequence ${req.afterSequence} is ahead of the last ${noun} sequence ${lastPublished}`,
      reason: "AFTER_SEQUENCE_AHEAD",
    };
  }
  return undefined;
}

/**
 * Streams a hub subscription until the client goes away (ctx.signal), shutdown (UNAVAILABLE), or
 * the hub ends it (its error: RESOURCE_EXHAUSTED for a slow consumer, UNAVAILABLE when history
 * cannot be read). The subscription is closed whatever happens.
 */
export async function* pumpSubscription<T, R>(
  sub: Subscription<T>,
  ctx: HandlerContext,
  shutdownSignal: AbortSignal | undefined,
  toMessage: (item: T) => R,
  noun: string,
): AsyncGenerator<R, void, undefined> {
  const removeListeners = closeOnAbort(sub, ctx.signal, shutdownSignal);
  try {
    for await (const item of sub) yield toMessage(item);
  } finally {
    removeListeners();
    sub.close();
  }
  const error = subscriptionEndError(sub, ctx, shutdownSignal, noun);
  if (error !== undefined) throw error;
}

/**
 * Closes `sub` when the call's signal or shutdown aborts; returns the function that removes the
 * listeners (call it when the stream is over).
 */
export function closeOnAbort(sub: Subscription<unknown>, signal: AbortSignal, shutdownSignal: AbortSignal | undefined): () => void {
  const onAbort = (): void => sub.close();
  const signals = shutdownSignal !== undefined ? [signal, shutdownSignal] : [signal];
  for (const s of signals) {
    if (s.aborted) sub.close();
    else s.addEventListener("abort", onAbort, { once: true });
  }
  return () => {
    for (const s of signals) s.removeEventListener("abort", onAbort);
  };
}

/**
 * How a sequenced stream whose subscription has ended (and been closed) ends: the hub's error
 * (RESOURCE_EXHAUSTED for a slow consumer, UNAVAILABLE when history cannot be read), UNAVAILABLE
 * on shutdown, or undefined (OK: the client went away). Both the connect handler (pumpSubscription)
 * and the gRPC stream fast path end through here.
 */
export function subscriptionEndError(
  sub: Subscription<unknown>,
  ctx: Pick<HandlerContext, "signal" | "values">,
  shutdownSignal: AbortSignal | undefined,
  noun: string,
): ConnectError | undefined {
  if (sub.error !== undefined) {
    ctx.values.get(loggerKey)?.info({ reason: sub.error.kind, cursor: String(sub.cursor) }, `${noun} stream ended`);
    return toConnectError(sub.error);
  }
  if (shutdownSignal?.aborted === true && !ctx.signal.aborted) {
    // A sequenced stream never ends by itself: an OK end would leave the client wondering why.
    return toConnectError({ kind: "unavailable", message: "the gateway is shutting down; reconnect and resume with after_sequence = the last sequence received", retryAfterMs: 1000 });
  }
  return undefined;
}

/**
 * A sequenced stream opened (request checked, subscribed, leases taken) but not yet pumped: what
 * the gRPC stream fast path (src/server/fast-path/stream-fast-path.ts) takes from a handler, so it
 * can write every item available at one moment in one write instead of one async step each.
 */
export interface OpenedSequencedStream<T, R> {
  readonly sub: Subscription<T>;
  /** The wire message of one item, exactly what the connect handler yields for it. */
  readonly toMessage: (item: T) => R;
  readonly noun: string;
  readonly shutdownSignal: AbortSignal | undefined;
  /** Releases what opening took (the subscribers gauge, the cancel-on-disconnect lease); call once, after the subscription is closed. */
  readonly end: () => void;
}

/** Opens the stream, or throws its ConnectError (a refused request). */
export type SequencedStreamOpener<Req, T, R> = (req: Req, ctx: Pick<HandlerContext, "signal" | "values">) => OpenedSequencedStream<T, R>;

/** Where a handler keeps its opener, for the fast path (a property of the handler function). */
export const sequencedStreamOpener = Symbol.for("trading-gateway.sequencedStreamOpener");

/** `handler` with its opener attached (the same function object connect is given). */
export function withOpener<H extends object, Req, T, R>(handler: H, open: SequencedStreamOpener<Req, T, R>): H {
  Object.defineProperty(handler, sequencedStreamOpener, { value: open });
  return handler;
}

/** The opener attached to a handler, if any. */
export function openerOf(handler: unknown): SequencedStreamOpener<any, any, any> | undefined {
  if (typeof handler !== "function") return undefined;
  return (handler as unknown as Record<symbol, SequencedStreamOpener<any, any, any> | undefined>)[sequencedStreamOpener];
}
