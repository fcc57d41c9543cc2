import type { Order } from "./order.js";
import { ORDER_FIELDS } from "./order-fields.js";

/**
 * An Order as a positional JSON array, in the order of the field declaration
 * (src/domain/order-fields.ts). Positional, not named: a retained order is kept as this JSON array
 * (src/shared/record-ring.ts), and field names would double its size. Tuples live only in this
 * process's memory (never on disk), so the positions may change with the declaration.
 * An optional field that is absent is written as null, and trailing nulls are dropped.
 */
export const ORDER_TUPLE_FIELDS: readonly (keyof Order)[] = ORDER_FIELDS.map((f) => f.key);

const OPTIONAL: readonly boolean[] = ORDER_FIELDS.map((f) => "optional" in f && f.optional === true);

type OrderTuple = unknown[];

/** The order as a JSON-ready array (see ORDER_TUPLE_FIELDS). */
export function orderToTuple(o: Order): OrderTuple {
  const r = o as unknown as Record<string, unknown>;
  const n = ORDER_TUPLE_FIELDS.length;
  const t: OrderTuple = new Array(n);
  let end = 0;
  for (let i = 0; i < n; i++) {
    const v = r[ORDER_TUPLE_FIELDS[i]!];
    if (v === undefined) {
      t[i] = null;
    } else {
      t[i] = v;
      end = i + 1;
    }
  }
  t.length = end;
  return t;
}

/** Inverse of orderToTuple, for tuples this process wrote. */
export function orderFromTuple(t: OrderTuple): Order {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < t.length && i < ORDER_TUPLE_FIELDS.length; i++) {
    const v = t[i];
    if (v === null && OPTIONAL[i]) continue;
    o[ORDER_TUPLE_FIELDS[i]!] = v;
  }
  return o as unknown as Order;
}

/** JSON.stringify(orderToTuple(o)), remembering the last order packed. */
export type OrderTupleJson = (o: Order) => string;

/**
 * A packer with a memo of one: a filled order is packed twice in a row, by the order manager's
 * retired ring and by the idempotency store, and the stringify is the larger part of either (about
 * 1 us). Orders are immutable values, so the object identity is the whole key. Per instance, not
 * module-global: whoever wires the two (createTradingCore) passes them the same packer to share it.
 */
export function createOrderTupleJson(): OrderTupleJson {
  let lastPacked: Order | undefined;
  let lastJson = "";
  return (o) => {
    if (o !== lastPacked) {
      lastJson = JSON.stringify(orderToTuple(o));
      lastPacked = o;
    }
    return lastJson;
  };
}
