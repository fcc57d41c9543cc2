import { ORDER_FIELDS } from "../../src/domain/order-fields.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/domain/order.js";

const chosen: Partial<Order> = {
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

/**
 * Every field set, each to a value no other field has, so a swapped position shows. Fields declared
 * (src/domain/order-fields.ts) without a value above get a generated one, distinct by construction,
 * so a new field is covered by the projection tests without a change here.
 */
export const everyField = Object.fromEntries(
  ORDER_FIELDS.map((f, i) => {
    const given = (chosen as Record<string, unknown>)[f.key];
    if (given !== undefined) return [f.key, given];
    const generated =
      f.kind === "enum"
        ? Math.max(...f.enumType.values.map((v) => v.number))
        : f.kind === "ms"
          ? 1_700_000_000_100 + i
          : f.kind === "strings"
            ? [`${f.key}-${i}`, `${f.key}-${i}-b`]
            : f.kind === "flag"
              ? true
              : `${f.key}-${i}`;
    return [f.key, generated];
  }),
) as unknown as Required<Order>;
