import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Fill as ProtoFill, Order as ProtoOrder } from "../../gen/trading/v1/trading_gateway_pb.js";
import { FILL_FIELDS, ORDER_FIELDS, type FieldSpec } from "../domain/order-fields.js";
import type { Fill, Order } from "../domain/order.js";

/**
 * Domain Order / Fill -> proto messages, derived from the field declaration
 * (src/domain/order-fields.ts): every declared field with a `proto` name is copied, an `ms` field
 * becomes a google.protobuf.Timestamp. Built as complete messages (with $typeName) rather than
 * through create(): connect then uses them as they are, which saves a reflective copy per call on
 * the hot path; the fast path's encoders (src/server/fast-path/) encode these objects.
 */

export function msToTimestamp(ms: number): Timestamp {
  // Floor and a non-negative remainder: exact for any integer ms, before 1970 too.
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos: (((ms % 1000) + 1000) % 1000) * 1_000_000 };
}

interface Copy {
  readonly from: string;
  readonly to: string;
  readonly time: boolean;
  /** An optional domain field's proto value when it is absent (proto3 scalars have no "absent"). */
  readonly absent: unknown;
}

function plan(fields: readonly FieldSpec<never>[]): readonly Copy[] {
  const out: Copy[] = [];
  for (const f of fields) {
    if (f.proto === undefined) continue;
    const absent = f.kind === "enum" || f.kind === "ms" ? 0 : f.kind === "bigint" ? 0n : "";
    out.push({ from: f.key, to: f.proto, time: f.kind === "ms", absent });
  }
  return out;
}

const ORDER_COPY = plan(ORDER_FIELDS as readonly FieldSpec<never>[]);
const FILL_COPY = plan(FILL_FIELDS as readonly FieldSpec<never>[]);

function copy(typeName: string, steps: readonly Copy[], from: object): Record<string, unknown> {
  // Properties are always added in the same order, so every message of a type shares one shape.
  const out: Record<string, unknown> = { $typeName: typeName };
  const src = from as Record<string, unknown>;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    const v = src[s.from] ?? s.absent;
    out[s.to] = s.time ? msToTimestamp(v as number) : v;
  }
  return out;
}

/** Domain order -> proto Order. */
export function toProtoOrder(o: Order): ProtoOrder {
  return copy("trading.v1.Order", ORDER_COPY, o) as unknown as ProtoOrder;
}

/** Domain fill -> proto Fill. */
export function toProtoFill(f: Fill): ProtoFill {
  return copy("trading.v1.Fill", FILL_COPY, f) as unknown as ProtoFill;
}
