import { OrderType, Side, TimeInForce } from "../../src/domain/order.js";

/**
 * The fields of a valid MARKET IOC order on paper BTC-USD, shared by the
 * domain input (PlaceOrderInput) and the proto request init: the domain enums
 * are the generated ones.
 */
export const MARKET_ORDER_FIELDS = {
  clientOrderId: "c-1",
  account: "acct-1",
  venue: "paper",
  symbol: "BTC-USD",
  side: Side.BUY,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity: "1.5",
} as const;
