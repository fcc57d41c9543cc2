import {
  OrderEventType,
  type OrderEvent as ProtoOrderEvent,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { OrderEvent, OrderEventKind } from "../use-cases/order-events.js";
import { msToTimestamp, toProtoFill, toProtoOrder } from "./proto-mapping.js";
import { toProtoTradingStateSetting } from "./trading-state-handlers.js";
import { toProtoPosition } from "./get-positions.js";

/**
 * A Record, so a new OrderEventKind does not compile until it has its wire value here. Also read
 * by the StreamOrderEvents fast path's direct encoder (src/server/fast-path/order-event-encoder.ts).
 */
export const ORDER_EVENT_TYPE: Readonly<Record<OrderEventKind, OrderEventType>> = {
  accepted: OrderEventType.ACCEPTED,
  new: OrderEventType.NEW,
  partially_filled: OrderEventType.PARTIALLY_FILLED,
  filled: OrderEventType.FILLED,
  cancel_requested: OrderEventType.CANCEL_REQUESTED,
  canceled: OrderEventType.CANCELED,
  cancel_rejected: OrderEventType.CANCEL_REJECTED,
  replace_requested: OrderEventType.REPLACE_REQUESTED,
  replaced: OrderEventType.REPLACED,
  replace_rejected: OrderEventType.REPLACE_REJECTED,
  rejected: OrderEventType.REJECTED,
  expired: OrderEventType.EXPIRED,
  fill: OrderEventType.FILL,
  reconciled: OrderEventType.RECONCILED,
  position_updated: OrderEventType.POSITION_UPDATED,
  trading_state_changed: OrderEventType.TRADING_STATE_CHANGED,
};

/**
 * The domain order event as the wire's OrderEvent. `position` and `trading_state` are mapped by
 * the parts that add POSITION_UPDATED and TRADING_STATE_CHANGED (their payload types are theirs):
 * extend here.
 *
 * One object literal of one shape, an absent payload as an own `undefined` (what protobuf-es and
 * the fast path's encoders read as unset): conditional spreads (`...(x ? { order } : {})`) cost
 * four runtime object copies per event, most of this mapping's time, and a StreamOrderEvents
 * subscriber maps every event (docs/performance.md).
 */
export function toProtoOrderEvent(e: OrderEvent): ProtoOrderEvent {
  return {
    $typeName: "trading.v1.OrderEvent",
    sequence: e.sequence,
    type: ORDER_EVENT_TYPE[e.kind],
    time: msToTimestamp(e.timeMs),
    account: e.account,
    order: e.order !== undefined ? toProtoOrder(e.order) : undefined,
    fill: e.fill !== undefined ? toProtoFill(e.fill) : undefined,
    position: e.position !== undefined ? toProtoPosition(e.position) : undefined,
    tradingState: e.tradingState !== undefined ? toProtoTradingStateSetting(e.tradingState) : undefined,
    reason: e.reason,
  } as ProtoOrderEvent;
}
