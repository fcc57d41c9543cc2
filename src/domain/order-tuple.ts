import type { Order } from "./order.js";

/**
 * The fields of an Order in the fixed order of `orderToTuple`. Positional, not named: a retained
 * order is kept as this JSON array (src/shared/record-ring.ts), and field names would double its size.
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

/** Every field but the optional last one. */
const REQUIRED_FIELDS = ORDER_TUPLE_FIELDS.length - 1;

/** The order as a JSON-ready array (see ORDER_TUPLE_FIELDS). */
export function orderToTuple(o: Order): OrderTuple {
  const t: OrderTuple = new Array(REQUIRED_FIELDS);
  for (let i = 0; i < REQUIRED_FIELDS; i++) t[i] = o[ORDER_TUPLE_FIELDS[i]!];
  if (o.venueFeeTotal !== undefined) t.push(o.venueFeeTotal);
  return t;
}

/**
 * JSON.stringify(orderToTuple(o)), remembering the last order it was asked for. A filled order is
 * packed twice in a row, by the order manager's retired ring and by the idempotency store, and
 * the stringify is the larger part of either (about 1 us). Orders are immutable values, so the
 * object identity is the whole key; the one entry it keeps is the last order packed.
 */
export function orderTupleJson(o: Order): string {
  if (o !== lastPacked) {
    lastJson = JSON.stringify(orderToTuple(o));
    lastPacked = o;
  }
  return lastJson;
}

let lastPacked: Order | undefined;
let lastJson = "";

/** Inverse of orderToTuple, for tuples this process wrote. */
export function orderFromTuple(t: OrderTuple): Order {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < t.length && i < ORDER_TUPLE_FIELDS.length; i++) o[ORDER_TUPLE_FIELDS[i]!] = t[i];
  return o as unknown as Order;
}
