import type { HandlerContext } from "@connectrpc/connect";
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
  const onAbort = (): void => sub.close();
  const signals = shutdownSignal !== undefined ? [ctx.signal, shutdownSignal] : [ctx.signal];
  for (const s of signals) {
    if (s.aborted) sub.close();
    else s.addEventListener("abort", onAbort, { once: true });
  }
  try {
    for await (const item of sub) yield toMessage(item);
  } finally {
    for (const s of signals) s.removeEventListener("abort", onAbort);
    sub.close();
  }
  if (sub.error !== undefined) {
    ctx.values.get(loggerKey)?.info({ reason: sub.error.kind, cursor: String(sub.cursor) }, `${noun} stream ended`);
    throw toConnectError(sub.error);
  }
  if (shutdownSignal?.aborted === true && !ctx.signal.aborted) {
    // A sequenced stream never ends by itself: an OK end would leave the client wondering why.
    throw toConnectError({ kind: "unavailable", message: "the gateway is shutting down; reconnect and resume with after_sequence = the last sequence received", retryAfterMs: 1000 });
  }
}
