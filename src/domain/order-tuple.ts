import type { Order } from "./order.js";

/**
 * The fields of an Order in the fixed order used by `packOrder`. Positional, not named: a retained
 * order is kept as this JSON array (record-ring.ts), and field names would double its size.
 * Append new fields at the end; an optional field is omitted from the array when absent.
 */
export const ORDER_TUPLE_FIELDS = [
  "orderId",
  "clientOrderId",
  "account",
  "venue",
  "symbol",
  "side",
  "type",
  "timeInForce",
  "quantity",
  "price",
  "stopPrice",
  "idempotencyKey",
  "venueClientOrderId",
  "venueOrderId",
  "status",
  "filledQuantity",
  "averageFillPrice",
  "rejectReason",
  "createdAtMs",
  "updatedAtMs",
  "venueFeeTotal",
] as const satisfies readonly (keyof Order)[];

type OrderTuple = unknown[];

/** The order as a JSON-ready array (see ORDER_TUPLE_FIELDS). */
export function orderToTuple(o: Order): OrderTuple {
  const t: OrderTuple = [
    o.orderId,
    o.clientOrderId,
    o.account,
    o.venue,
    o.symbol,
    o.side,
    o.type,
    o.timeInForce,
    o.quantity,
    o.price,
    o.stopPrice,
    o.idempotencyKey,
    o.venueClientOrderId,
    o.venueOrderId,
    o.status,
    o.filledQuantity,
    o.averageFillPrice,
    o.rejectReason,
    o.createdAtMs,
    o.updatedAtMs,
  ];
  if (o.venueFeeTotal !== undefined) t.push(o.venueFeeTotal);
  return t;
}

/** Inverse of orderToTuple, for tuples this process wrote. */
export function orderFromTuple(t: OrderTuple): Order {
  const order: Order = {
    orderId: t[0] as string,
    clientOrderId: t[1] as string,
    account: t[2] as string,
    venue: t[3] as string,
    symbol: t[4] as string,
    side: t[5] as Order["side"],
    type: t[6] as Order["type"],
    timeInForce: t[7] as Order["timeInForce"],
    quantity: t[8] as string,
    price: t[9] as string,
    stopPrice: t[10] as string,
    idempotencyKey: t[11] as string,
    venueClientOrderId: t[12] as string,
    venueOrderId: t[13] as string,
    status: t[14] as Order["status"],
    filledQuantity: t[15] as string,
    averageFillPrice: t[16] as string,
    rejectReason: t[17] as string,
    createdAtMs: t[18] as number,
    updatedAtMs: t[19] as number,
  };
  return t.length > 20 ? { ...order, venueFeeTotal: t[20] as string } : order;
}
