import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  TradingGateway,
  type CancelOrderResponse,
  type GetOrderStatusResponse,
  type Order as ProtoOrder,
  type PlaceOrderResponse,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Order } from "../domain/order.js";
import { principalKey, requestIdKey } from "./interceptors/context-keys.js";
import type { CancelOrder } from "../use-cases/cancel-order.js";
import { findOrder } from "../use-cases/find-order.js";
import type { OrderManager } from "../use-cases/order-manager.js";
import type { CallInfo, PlaceOrder } from "../use-cases/place-order.js";
import { toConnectError } from "./to-connect-error.js";

export type StreamFillsHandler = ServiceImpl<typeof TradingGateway>["streamFills"];

export interface TradingServiceDeps {
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  readonly orders: OrderManager;
  /** The StreamFills handler: the fill hub's (src/rpc/stream-fills.ts). */
  readonly streamFills: StreamFillsHandler;
}

function timestamp(ms: number): Timestamp {
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/**
 * Domain order -> proto Order. Built as a complete message (with $typeName)
 * rather than through create(): connect then uses it as is, which saves a
 * reflective copy per call on the hot path.
 */
export function toProtoOrder(o: Order): ProtoOrder {
  return {
    $typeName: "trading.v1.Order",
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    account: o.account,
    venue: o.venue,
    venueOrderId: o.venueOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    quantity: o.quantity,
    price: o.price,
    stopPrice: o.stopPrice,
    status: o.status,
    filledQuantity: o.filledQuantity,
    averageFillPrice: o.averageFillPrice,
    rejectReason: o.rejectReason,
    createdAt: timestamp(o.createdAtMs),
    updatedAt: timestamp(o.updatedAtMs),
  };
}

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
  };
}
