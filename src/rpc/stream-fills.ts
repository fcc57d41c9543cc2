import type { HandlerContext } from "@connectrpc/connect";
import type {
  StreamFillsRequest,
  StreamFillsResponse,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { GatewayError } from "../domain/errors.js";
import { principalKey } from "./interceptors/context-keys.js";
import type { Principal } from "../domain/principal.js";
import { checkSequencedStreamRequest, pumpSubscription, withOpener, type SequencedStreamOpener } from "./stream-subscription.js";
import { toConnectError } from "./to-connect-error.js";
import { toProtoFill } from "./proto-mapping.js";
import type { FillHub } from "../use-cases/fill-hub.js";
import type { Fill } from "../domain/order.js";

export interface StreamFillsHandlerDeps {
  readonly hub: FillHub;
  /** Aborted when shutdown starts: open streams end with UNAVAILABLE (the client resumes elsewhere or later). */
  readonly shutdownSignal?: AbortSignal;
}

// Derived from the field declaration (src/domain/order-fields.ts); re-exported for existing importers.
export { toProtoFill } from "./proto-mapping.js";

/** The request checks, as a value: what the caller asked for and may see, or why not. */
export function checkStreamFillsRequest(req: StreamFillsRequest, principal: Principal, lastPublished: bigint): GatewayError | undefined {
  return checkSequencedStreamRequest(req, principal, lastPublished, "fill");
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
  const open: SequencedStreamOpener<StreamFillsRequest, Fill, StreamFillsResponse> = (req, ctx) => {
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
    return { sub, toMessage: fillMessage, noun: "fill", shutdownSignal: deps.shutdownSignal, end: noop };
  };
  async function* streamFills(req: StreamFillsRequest, ctx: HandlerContext): AsyncGenerator<StreamFillsResponse, void, undefined> {
    const opened = open(req, ctx);
    yield* pumpSubscription(opened.sub, ctx, deps.shutdownSignal, opened.toMessage, opened.noun);
  }
  // The gRPC stream fast path opens the same way and writes the items itself (stream-subscription.ts).
  return withOpener(streamFills, open);
}

const fillMessage = (f: Fill): StreamFillsResponse => ({ $typeName: "trading.v1.StreamFillsResponse", fill: toProtoFill(f) });

function noop(): void {}
