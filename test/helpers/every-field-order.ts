import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/domain/order.js";

/** Every field set, each to a value no other field has, so a swapped position shows. */
export const everyField: Required<Order> = {
  orderId: "o-1",
  clientOrderId: "c-1",
  account: "acct-1",
  venue: "kraken",
  symbol: "BTC-USD",
  side: Side.SELL,
  type: OrderType.STOP_LIMIT,
  timeInForce: TimeInForce.GTC,
  quantity: "1.5",
  price: "65000.1",
  stopPrice: "64000.2",
  idempotencyKey: "key-1",
  venueClientOrderId: "vc-1",
  venueOrderId: "vo-1",
  status: OrderStatus.CANCELED,
  filledQuantity: "0.5",
  averageFillPrice: "65000.05",
  rejectReason: "reason \"quoted\" é",
  createdAtMs: 1_700_000_000_001,
  updatedAtMs: 1_700_000_000_002,
  venueFeeTotal: "0.0001",
};
