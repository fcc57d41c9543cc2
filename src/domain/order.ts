import { OrderStatus, OrderType, Side, TimeInForce } from "../../gen/trading/v1/trading_gateway_pb.js";

export { OrderStatus, OrderType, Side, TimeInForce };

/**
 * What the client asked for, after validation. Prices and quantities are
 * decimal strings end to end; they are only ever parsed by the decimal
 * library, never into JavaScript numbers.
 */
export interface OrderSpec {
  readonly clientOrderId: string;
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: string;
  /** "" for MARKET and STOP. */
  readonly price: string;
  /** "" unless STOP or STOP_LIMIT. */
  readonly stopPrice: string;
  /** "" when the client relies on client_order_id for de-duplication. */
  readonly idempotencyKey: string;
}

/** An order as the gateway tracks it. Immutable: every change makes a new object through the transition table. */
export interface Order extends OrderSpec {
  /** Gateway-assigned, unique. */
  readonly orderId: string;
  /** The client order id sent to the venue, derived deterministically from the idempotency key. */
  readonly venueClientOrderId: string;
  /** "" until the venue acknowledged the order. */
  readonly venueOrderId: string;
  readonly status: OrderStatus;
  readonly filledQuantity: string;
  /** "" until something filled. */
  readonly averageFillPrice: string;
  readonly rejectReason: string;
  /**
   * The venue's running fee total for this order as of the last fill the gateway recorded, for
   * venues that report only a total (Kraken QueryOrders `fee`, Coinbase `total_fees`). The next
   * fill synthesized from totals carries the increase over it, so the order's fills add up to the
   * venue's total. Absent for venues that report fees per execution. Decimal string.
   */
  readonly venueFeeTotal?: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /**
   * The client order ids the order had before ReplaceOrder gave it `clientOrderId`, oldest first.
   * Absent for an order never replaced (nearly all: no array per order).
   */
  readonly replacedClientOrderIds?: readonly string[];
  /** Placed at the venue outside the gateway and adopted by reconciliation. Absent otherwise. */
  readonly external?: true;
}

/** One execution, gateway-wide ordered by `sequence`. */
export interface Fill {
  readonly sequence: bigint;
  readonly fillId: string;
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: string;
  readonly price: string;
  readonly fee: string;
  readonly feeCurrency: string;
  readonly timeMs: number;
  /** The venue's trade id; fills are de-duplicated by (venue, venueTradeId). */
  readonly venueTradeId: string;
}
