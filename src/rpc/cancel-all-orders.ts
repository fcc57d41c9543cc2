import type { HandlerContext } from "@connectrpc/connect";
import {
  CancelOutcome,
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  type CancelResult as ProtoCancelResult,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { CancelAllOrders, CancelOutcome as DomainOutcome, CancelResult } from "../use-cases/cancel-all-orders.js";
import type { CallInfo } from "../use-cases/place-order.js";
import { toProtoOrder } from "./proto-mapping.js";
import { grpcCodeName, toConnectError } from "./to-connect-error.js";

const OUTCOMES: Readonly<Record<DomainOutcome, CancelOutcome>> = {
  canceled: CancelOutcome.CANCELED,
  already_terminal: CancelOutcome.ALREADY_TERMINAL,
  pending: CancelOutcome.PENDING,
  failed: CancelOutcome.FAILED,
};

/** One domain result as the proto's CancelResult: code and message only for FAILED. */
export function toProtoCancelResult(r: CancelResult): ProtoCancelResult {
  const failed = r.outcome === "failed" && r.error !== undefined;
  return {
    $typeName: "trading.v1.CancelResult",
    order: toProtoOrder(r.order),
    outcome: OUTCOMES[r.outcome],
    code: failed ? grpcCodeName(r.error!.kind) : "",
    message: failed ? r.error!.message : "",
  };
}

/** The CancelAllOrders handler: proto -> scope, the use case, results -> proto. */
export function createCancelAllOrdersHandler(cancelAllOrders: CancelAllOrders, callInfo: (ctx: HandlerContext) => CallInfo) {
  return async function cancelAllOrdersHandler(req: CancelAllOrdersRequest, ctx: HandlerContext): Promise<CancelAllOrdersResponse> {
    const r = await cancelAllOrders({ account: req.account, venue: req.venue, symbol: req.symbol, side: req.side }, callInfo(ctx));
    if (!r.ok) throw toConnectError(r.error);
    return { $typeName: "trading.v1.CancelAllOrdersResponse", results: r.value.map(toProtoCancelResult) };
  };
}
