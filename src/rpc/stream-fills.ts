import type { HandlerContext } from "@connectrpc/connect";
import type {
  StreamFillsRequest,
  StreamFillsResponse,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { FieldViolation, GatewayError } from "../domain/errors.js";
import { invalidArgument } from "../domain/errors.js";
import { loggerKey, principalKey } from "./interceptors/context-keys.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import { toConnectError } from "./to-connect-error.js";
import { toProtoFill } from "./proto-mapping.js";
import type { FillHub } from "../use-cases/fill-hub.js";

/** Filters longer than this cannot match any valid account/venue/symbol; refusing them names the field. */
const MAX_FILTER_LENGTH = 128;

export interface StreamFillsHandlerDeps {
  readonly hub: FillHub;
  /** Aborted when shutdown starts: open streams end with UNAVAILABLE (the client resumes elsewhere or later). */
  readonly shutdownSignal?: AbortSignal;
}

// Derived from the field declaration (src/domain/order-fields.ts); re-exported for existing importers.
export { toProtoFill } from "./proto-mapping.js";

/** The request checks, as a value: what the caller asked for and may see, or why not. */
export function checkStreamFillsRequest(req: StreamFillsRequest, principal: Principal, lastPublished: bigint): GatewayError | undefined {
  const violations: FieldViolation[] = [];
  for (const field of ["account", "venue", "symbol"] as const) {
    if (req[field].length > MAX_FILTER_LENGTH) violations.push({ field, description: `must be at most ${MAX_FILTER_LENGTH} characters` });
  }
  if (violations.length > 0) return invalidArgument(violations);
  if (req.account !== "" && !mayUseAccount(principal, req.account)) {
    return { kind: "permission_denied", message: `not allowed to see fills of account ${JSON.stringify(req.account)}` };
  }
  if (req.afterSequence > lastPublished) {
    // Resuming past the end would silently skip every fill up to that number: refuse instead.
    return {
      kind: "failed_precondition",
      message: `after_sequence ${req.afterSequence} is ahead of the last fill sequence ${lastPublished}`,
      reason: "AFTER_SEQUENCE_AHEAD",
    };
  }
  return undefined;
}

/**
 * The StreamFills implementation for the Connect ServiceImpl. The caller sees only the accounts
 * its principal may trade (an empty `account` means all of those); the stream ends when the
 * client goes away (ctx.signal), on shutdown with UNAVAILABLE, or with RESOURCE_EXHAUSTED when
 * the client reads too slowly (in both cases, resume with after_sequence = the last sequence
 * received).
 */
export function createStreamFillsHandler(deps: StreamFillsHandlerDeps) {
  const { hub } = deps;
  return async function* streamFills(req: StreamFillsRequest, ctx: HandlerContext): AsyncGenerator<StreamFillsResponse, void, undefined> {
    const principal = ctx.values.get(principalKey);
    const problem = checkStreamFillsRequest(req, principal, hub.lastPublished());
    if (problem !== undefined) throw toConnectError(problem);
    const sub = hub.subscribe({
      account: req.account,
      venue: req.venue,
      symbol: req.symbol,
      allowedAccounts: principal.accounts,
      afterSequence: req.afterSequence,
    });
    const onAbort = (): void => sub.close();
    const signals = deps.shutdownSignal !== undefined ? [ctx.signal, deps.shutdownSignal] : [ctx.signal];
    for (const s of signals) {
      if (s.aborted) sub.close();
      else s.addEventListener("abort", onAbort, { once: true });
    }
    try {
      for await (const f of sub) {
        yield { $typeName: "trading.v1.StreamFillsResponse", fill: toProtoFill(f) };
      }
    } finally {
      for (const s of signals) s.removeEventListener("abort", onAbort);
      sub.close();
    }
    if (sub.error !== undefined) {
      ctx.values.get(loggerKey)?.info({ reason: sub.error.kind, cursor: String(sub.cursor) }, "fill stream ended");
      throw toConnectError(sub.error);
    }
    if (deps.shutdownSignal?.aborted === true && !ctx.signal.aborted) {
      // A fill stream never ends by itself: an OK end would leave the client wondering why.
      throw toConnectError({ kind: "unavailable", message: "the gateway is shutting down; reconnect and resume with after_sequence = the last sequence received", retryAfterMs: 1000 });
    }
  };
}
