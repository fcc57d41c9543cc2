import type { HandlerContext } from "@connectrpc/connect";
import { ReplaceMethod, type ReplaceOrderRequest, type ReplaceOrderResponse } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { CallInfo } from "../use-cases/place-order.js";
import type { ReplaceMethodName, ReplaceOrder } from "../use-cases/replace-order.js";
import { toConnectError } from "./to-connect-error.js";
import { toProtoOrder } from "./proto-mapping.js";

const METHOD: Readonly<Record<ReplaceMethodName, ReplaceMethod>> = {
  amend: ReplaceMethod.AMEND,
  cancel_then_new: ReplaceMethod.CANCEL_THEN_NEW,
  unspecified: ReplaceMethod.UNSPECIFIED,
};

/** ReplaceOrder: the request has exactly the use case's input fields; the answer maps back to proto. */
export function createReplaceOrderHandler(replaceOrder: ReplaceOrder, callInfo: (ctx: HandlerContext) => CallInfo) {
  return async function replaceOrderHandler(req: ReplaceOrderRequest, ctx: HandlerContext): Promise<ReplaceOrderResponse> {
    const r = await replaceOrder(req, callInfo(ctx));
    if (!r.ok) throw toConnectError(r.error);
    return {
      $typeName: "trading.v1.ReplaceOrderResponse",
      order: toProtoOrder(r.value.order),
      replayed: r.value.replayed,
      method: METHOD[r.value.method],
      // "query" steps (a retry learning where the venue stands) are reported as what they are.
      steps: r.value.steps.map((s) => ({ $typeName: "trading.v1.ReplaceStep", step: s.step, succeeded: s.succeeded, detail: s.detail })),
    };
  };
}
