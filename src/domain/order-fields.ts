import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import { OrderStatusSchema, OrderTypeSchema, SideSchema, TimeInForceSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Fill, Order } from "./order.js";

/**
 * The one declaration of the fields of Order and Fill. Every projection is derived from it: the
 * in-memory tuple (order-tuple.ts), the audit log (src/adapters/audit/audit-codec.ts), the proto
 * mapping (src/rpc/proto-mapping.ts), and through that mapping the fast path's encoders, which
 * take field numbers from the generated descriptors. Adding a field to Order means: the proto (if
 * clients see it; then `npm run generate`), order.ts, and one entry here
 * (test/domain/order-projections.test.ts proves every projection carries every field, and the
 * compile-time checks below that none is left out here). A required (not optional) field also
 * needs its first value where orders are made (OrderManager.createPending) and in tests' Order
 * literals: that value is behaviour, not a projection.
 *
 * Kinds: `string` (text, ids), `decimal` (a decimal string, never a JS number), `enum` (a proto enum
 * number; written by name in the audit log), `ms` (epoch milliseconds; a google.protobuf.Timestamp
 * in the contract, ISO-8601 in the audit log), `bigint` (a uint64, a decimal string in the log),
 * `strings` (a list of text; a repeated string in the contract, a JSON array in the log), `flag`
 * (true or absent; a bool in the contract, `true` in the log).
 */
export type FieldKind = "string" | "decimal" | "enum" | "ms" | "bigint" | "strings" | "flag";

export interface FieldSpec<T> {
  /** The domain property. */
  readonly key: keyof T & string;
  /** Its name in the audit log (snake_case). */
  readonly audit: string;
  /** The proto field's localName in the contract message; absent: the field is gateway-internal. */
  readonly proto?: string;
  readonly kind: FieldKind;
  /** For `enum`: the generated enum, whose value names the audit log writes. */
  readonly enumType?: GenEnum<number>;
  /** Absent (not "") when unknown; an absent optional field stays absent in every projection. */
  readonly optional?: true;
  /**
   * Orders only: can change after the order is created (status, fills, venue ids...). Audit v2
   * writes the order's other fields once, in its first record, and later only the mutable fields
   * whose value changed.
   */
  readonly mutable?: true;
}

const side = SideSchema as GenEnum<number>;

export const ORDER_FIELDS = [
  { key: "orderId", audit: "order_id", proto: "orderId", kind: "string" },
  { key: "clientOrderId", audit: "client_order_id", proto: "clientOrderId", kind: "string" },
  { key: "account", audit: "account", proto: "account", kind: "string" },
  { key: "venue", audit: "venue", proto: "venue", kind: "string" },
  { key: "symbol", audit: "symbol", proto: "symbol", kind: "string" },
  { key: "side", audit: "side", proto: "side", kind: "enum", enumType: side },
  { key: "type", audit: "type", proto: "type", kind: "enum", enumType: OrderTypeSchema as GenEnum<number> },
  { key: "timeInForce", audit: "time_in_force", proto: "timeInForce", kind: "enum", enumType: TimeInForceSchema as GenEnum<number> },
  { key: "quantity", audit: "quantity", proto: "quantity", kind: "decimal" },
  { key: "price", audit: "price", proto: "price", kind: "decimal" },
  { key: "stopPrice", audit: "stop_price", proto: "stopPrice", kind: "decimal" },
  // The client's own idempotency key; the log's top-level idempotency_key is the event's scope key.
  { key: "idempotencyKey", audit: "client_idempotency_key", kind: "string" },
  { key: "venueClientOrderId", audit: "venue_client_order_id", kind: "string" },
  { key: "venueOrderId", audit: "venue_order_id", proto: "venueOrderId", kind: "string", mutable: true },
  { key: "status", audit: "status", proto: "status", kind: "enum", enumType: OrderStatusSchema as GenEnum<number>, mutable: true },
  { key: "filledQuantity", audit: "filled_quantity", proto: "filledQuantity", kind: "decimal", mutable: true },
  { key: "averageFillPrice", audit: "average_fill_price", proto: "averageFillPrice", kind: "decimal", mutable: true },
  { key: "rejectReason", audit: "reject_reason", proto: "rejectReason", kind: "string", mutable: true },
  { key: "createdAtMs", audit: "created_at", proto: "createdAt", kind: "ms" },
  { key: "updatedAtMs", audit: "updated_at", proto: "updatedAt", kind: "ms", mutable: true },
  { key: "venueFeeTotal", audit: "venue_fee_total", kind: "decimal", optional: true, mutable: true },
  { key: "replacedClientOrderIds", audit: "replaced_client_order_ids", proto: "replacedClientOrderIds", kind: "strings", optional: true, mutable: true },
  { key: "external", audit: "external", proto: "external", kind: "flag", optional: true },
] as const satisfies readonly FieldSpec<Order>[];

export const FILL_FIELDS = [
  { key: "sequence", audit: "sequence", proto: "sequence", kind: "bigint" },
  { key: "fillId", audit: "fill_id", proto: "fillId", kind: "string" },
  { key: "orderId", audit: "order_id", proto: "orderId", kind: "string" },
  { key: "clientOrderId", audit: "client_order_id", proto: "clientOrderId", kind: "string" },
  { key: "account", audit: "account", proto: "account", kind: "string" },
  { key: "venue", audit: "venue", proto: "venue", kind: "string" },
  { key: "symbol", audit: "symbol", proto: "symbol", kind: "string" },
  { key: "side", audit: "side", proto: "side", kind: "enum", enumType: side },
  { key: "quantity", audit: "quantity", proto: "quantity", kind: "decimal" },
  { key: "price", audit: "price", proto: "price", kind: "decimal" },
  { key: "fee", audit: "fee", proto: "fee", kind: "decimal" },
  { key: "feeCurrency", audit: "fee_currency", proto: "feeCurrency", kind: "string" },
  { key: "timeMs", audit: "time", proto: "time", kind: "ms" },
  { key: "venueTradeId", audit: "venue_trade_id", kind: "string" },
] as const satisfies readonly FieldSpec<Fill>[];

/**
 * The Fill fields that repeat the order's (a fill is always made from its order: order-manager.ts),
 * so audit v2 leaves them out of a fill record and takes them from the order it belongs to.
 */
export const FILL_ORDER_REF_FIELDS = ["orderId", "clientOrderId", "account", "venue", "symbol", "side"] as const satisfies readonly (keyof Fill & keyof Order)[];

// Compile-time completeness: a property of Order or Fill missing above is a type error here.
type Declared<F extends readonly { key: string }[]> = F[number]["key"];
type MustBeNever<T extends never> = T;
export type _OrderFieldsComplete = MustBeNever<Exclude<keyof Order, Declared<typeof ORDER_FIELDS>>>;
export type _FillFieldsComplete = MustBeNever<Exclude<keyof Fill, Declared<typeof FILL_FIELDS>>>;
// And optional in the declaration exactly when optional in the type.
type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];
type DeclaredOptional<F extends readonly { key: string }[]> = Extract<F[number], { optional: true }>["key"];
export type _OrderOptionalsMatch = MustBeNever<
  Exclude<OptionalKeys<Order>, DeclaredOptional<typeof ORDER_FIELDS>> | Exclude<DeclaredOptional<typeof ORDER_FIELDS>, OptionalKeys<Order>>
>;

/**
 * The value names of an enum (index = number) from the generated descriptor: "full" as in the
 * proto (SIDE_BUY, what audit v1 wrote), "short" without the enum's shared prefix (BUY, audit v2).
 */
export function enumNames(e: GenEnum<number>, form: "full" | "short"): readonly string[] {
  const out: string[] = [];
  for (const v of e.values) out[v.number] = form === "full" ? v.name : v.localName;
  return out;
}
