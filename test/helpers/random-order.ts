/** Inputs for the hand encoders' tests (binary and JSON): seeded random Orders, changed contracts. */

import { ScalarType, type DescMessage } from "@bufbuild/protobuf";
import { OrderSchema, PlaceOrderResponseSchema, type Order as ProtoOrder } from "../../gen/trading/v1/trading_gateway_pb.js";

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

/**
 * A random trading.v1.Order, field by field as the generated descriptor lists them (so a field
 * added to the contract is in every case without a change here).
 */
export function randomOrder(r: () => number): ProtoOrder {
  const o: Record<string, unknown> = { $typeName: "trading.v1.Order" };
  for (const f of OrderSchema.fields) {
    if (f.fieldKind === "enum") o[f.localName] = randomEnum(r, Math.max(...f.enum.values.map((v) => v.number)));
    else if (f.fieldKind === "message") o[f.localName] = randomTimestamp(r);
    else if (f.fieldKind === "list") o[f.localName] = Array.from({ length: r() < 0.7 ? 0 : 1 + Math.floor(r() * 4) }, () => randomString(r) || "x");
    else if (f.fieldKind === "scalar" && f.scalar === ScalarType.BOOL) o[f.localName] = r() < 0.5;
    else o[f.localName] = randomString(r);
  }
  return o as ProtoOrder;
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
