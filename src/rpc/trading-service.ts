import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  TradingGateway,
  type CancelOrderResponse,
  type GetOrderStatusResponse,
  type PlaceOrderResponse,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import { principalKey, requestIdKey } from "./interceptors/context-keys.js";
import type { CancelOrder } from "../use-cases/cancel-order.js";
import { findOrder } from "../use-cases/find-order.js";
import type { OrderManager } from "../use-cases/order-manager.js";
import type { CallInfo, PlaceOrder } from "../use-cases/place-order.js";
import type { ReplaceOrder } from "../use-cases/replace-order.js";
import { createReplaceOrderHandler } from "./replace-order.js";
import { toConnectError } from "./to-connect-error.js";
import type { GetBalancesHandler } from "./get-balances.js";
import { toProtoOrder } from "./proto-mapping.js";
import type { CancelAllOrders } from "../use-cases/cancel-all-orders.js";
import { createCancelAllOrdersHandler } from "./cancel-all-orders.js";
import type { SetTradingState } from "../use-cases/set-trading-state.js";
import type { TradingStateStore } from "../use-cases/trading-state-store.js";
import { createGetTradingStateHandler, createSetTradingStateHandler } from "./trading-state-handlers.js";
import { createGetPositionsHandler } from "./get-positions.js";
import type { PositionBook } from "../use-cases/position-book.js";

export type StreamFillsHandler = ServiceImpl<typeof TradingGateway>["streamFills"];
export type StreamOrderEventsHandler = ServiceImpl<typeof TradingGateway>["streamOrderEvents"];

export interface TradingServiceDeps {
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  readonly orders: OrderManager;
  /** The StreamFills handler: the fill hub's (src/rpc/stream-fills.ts). */
  readonly streamFills: StreamFillsHandler;
  /** The GetBalances handler (src/rpc/get-balances.ts); absent = UNIMPLEMENTED. */
  readonly getBalances?: GetBalancesHandler;
  /** CancelAllOrders (src/use-cases/cancel-all-orders.ts); UNIMPLEMENTED without it. */
  readonly cancelAllOrders?: CancelAllOrders;
  /** ListOrders and ListFills (src/rpc/list-orders.ts); UNIMPLEMENTED when absent. */
  readonly listOrders?: ServiceImpl<typeof TradingGateway>["listOrders"];
  readonly listFills?: ServiceImpl<typeof TradingGateway>["listFills"];
  /** The StreamOrderEvents handler (src/rpc/stream-order-events.ts); absent: UNIMPLEMENTED. */
  readonly streamOrderEvents?: StreamOrderEventsHandler;
  /** The kill switch (SetTradingState / GetTradingState); absent: UNIMPLEMENTED. */
  readonly tradingState?: { readonly set: SetTradingState; readonly store: TradingStateStore };
  /** Positions kept from fills (src/use-cases/position-book.ts); GetPositions answers from it. */
  readonly positions?: PositionBook;
  /** ReplaceOrder (src/use-cases/replace-order.ts); UNIMPLEMENTED without it. */
  readonly replaceOrder?: ReplaceOrder;
}

// Derived from the field declaration (src/domain/order-fields.ts); re-exported for existing importers.
export { toProtoOrder } from "./proto-mapping.js";

function callInfo(ctx: HandlerContext): CallInfo {
  const t = ctx.timeoutMs();
  return {
    requestId: ctx.values.get(requestIdKey),
    principal: ctx.values.get(principalKey),
    deadlineMs: t === undefined ? undefined : Date.now() + t,
  };
}

/**
 * TradingGateway, thin: proto -> domain, run the pipeline, domain -> proto.
 * Errors are values until here and become ConnectErrors only through
 * toConnectError.
 */
export function createTradingService(deps: TradingServiceDeps): ServiceImpl<typeof TradingGateway> {
  const { placeOrder, cancelOrder, orders } = deps;
  return {
    async placeOrder(req, ctx): Promise<PlaceOrderResponse> {
      // The generated request has exactly the PlaceOrderInput fields; enums arrive as numbers.
      const r = await placeOrder(req, callInfo(ctx));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.PlaceOrderResponse", order: toProtoOrder(r.value.order), replayed: r.value.replayed };
    },
    async cancelOrder(req, ctx): Promise<CancelOrderResponse> {
      const r = await cancelOrder(req, callInfo(ctx));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.CancelOrderResponse", order: toProtoOrder(r.value) };
    },
    getOrderStatus(req, ctx): GetOrderStatusResponse {
      const r = findOrder(orders, req, ctx.values.get(principalKey));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.GetOrderStatusResponse", order: toProtoOrder(r.value) };
    },
    streamFills: deps.streamFills,
    // Issue 20: order management.
    listOrders: deps.listOrders ?? notYet("ListOrders"),
    // (ListFills)
    listFills: deps.listFills ?? notYet("ListFills"),
    // (StreamOrderEvents)
    streamOrderEvents: deps.streamOrderEvents ?? notYetStream("StreamOrderEvents"),
    // (CancelAllOrders)
    cancelAllOrders: deps.cancelAllOrders === undefined ? notYet("CancelAllOrders") : createCancelAllOrdersHandler(deps.cancelAllOrders, callInfo),
    // (ReplaceOrder)
    replaceOrder: deps.replaceOrder === undefined ? notYet("ReplaceOrder") : createReplaceOrderHandler(deps.replaceOrder, callInfo),
    // Issue 21: risk.
    getPositions: deps.positions !== undefined ? createGetPositionsHandler(deps.positions) : notYet("GetPositions"),
    // (GetBalances)
    getBalances: deps.getBalances ?? notYet("GetBalances"),
    // (SetTradingState)
    setTradingState: deps.tradingState !== undefined ? createSetTradingStateHandler(deps.tradingState.set) : notYet("SetTradingState"),
    // (GetTradingState)
    getTradingState: deps.tradingState !== undefined ? createGetTradingStateHandler(deps.tradingState.store) : notYet("GetTradingState"),
  };
}

// Placeholders while the RPCs are built (issues 20 and 21); each is replaced by its handler.
function notYet(name: string): () => never {
  return () => {
    throw new ConnectError(`${name} is not implemented yet`, Code.Unimplemented);
  };
}
function notYetStream(name: string): () => AsyncGenerator<never> {
  return async function* () {
    yield* [];
    throw new ConnectError(`${name} is not implemented yet`, Code.Unimplemented);
  };
}
