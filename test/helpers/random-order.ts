/** Inputs for the hand encoders' tests (binary and JSON): seeded random Orders, changed contracts. */

import type { DescMessage } from "@bufbuild/protobuf";
import { PlaceOrderResponseSchema } from "../../gen/trading/v1/trading_gateway_pb.js";

// A seeded generator, so a failure names a case that can be run again.
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const SAMPLES = ["é", "€", "𝄞", "\ud800", "\u0000", "\u007f", "\u0080", "日本", '"\\'];

export function randomString(r: () => number): string {
  const p = r();
  if (p < 0.3) return "";
  const len = p < 0.8 ? Math.floor(r() * 40) : p < 0.95 ? 100 + Math.floor(r() * 300) : 16_000 + Math.floor(r() * 5_000);
  let s = "";
  for (let i = 0; i < len; i++) s += r() < 0.97 ? String.fromCharCode(0x20 + Math.floor(r() * 95)) : SAMPLES[Math.floor(r() * SAMPLES.length)]!;
  return s;
}

export function randomTimestamp(r: () => number) {
  const p = r();
  if (p < 0.1) return undefined;
  if (p < 0.2) return { $typeName: "google.protobuf.Timestamp" as const, seconds: 0n, nanos: 0 };
  const seconds = p < 0.9 ? BigInt(1_700_000_000 + Math.floor(r() * 1e8)) : BigInt(Math.floor(r() * 2 ** 52));
  return { $typeName: "google.protobuf.Timestamp" as const, seconds, nanos: r() < 0.3 ? 0 : Math.floor(r() * 1e9) };
}

export function randomEnum(r: () => number, max: number): number {
  const p = r();
  return p < 0.3 ? 0 : p < 0.95 ? Math.floor(r() * (max + 1)) : 0x7fffffff;
}

export function randomOrder(r: () => number) {
  const o = {
    $typeName: "trading.v1.Order" as const,
    orderId: randomString(r),
    clientOrderId: randomString(r),
    account: randomString(r),
    venue: randomString(r),
    venueOrderId: randomString(r),
    symbol: randomString(r),
    side: randomEnum(r, 2),
    type: randomEnum(r, 4),
    timeInForce: randomEnum(r, 4),
    quantity: randomString(r),
    price: randomString(r),
    stopPrice: randomString(r),
    status: randomEnum(r, 8),
    filledQuantity: randomString(r),
    averageFillPrice: randomString(r),
    rejectReason: randomString(r),
    createdAt: randomTimestamp(r),
    updatedAt: randomTimestamp(r),
  };
  return o;
}


/** PlaceOrderResponse descriptors that differ from the contract the encoders were written for. */
export function changedContracts(): [string, DescMessage][] {
  const d = PlaceOrderResponseSchema;
  const orderField = d.fields[0]!;
  const order = orderField.message!;
  const withOrderFields = (fields: unknown[]) => ({ ...d, fields: [{ ...orderField, message: { ...order, fields } }, d.fields[1]!] }) as unknown as DescMessage;
  return [
    ["a field fewer", { ...d, fields: d.fields.slice(0, 1) }],
    ["an Order field renumbered", withOrderFields(order.fields.map((f) => (f.localName === "symbol" ? { ...f, number: 40 } : f)))],
    ["an Order field added", withOrderFields([...order.fields, { ...order.fields[0]!, number: 19, localName: "extra" }])],
  ];
}
