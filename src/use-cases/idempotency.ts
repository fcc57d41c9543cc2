import type { GatewayError } from "../domain/errors.js";
import type { OrderSpec } from "../domain/order.js";
import type { IdempotencyRecord } from "./idempotency-store.js";

/**
 * The idempotency scope key: account + (idempotency_key, or client_order_id
 * if none). The "k:"/"c:" tag keeps the two namespaces apart, so a key "x"
 * and a client order id "x" of the same account never collide. "|" cannot
 * appear in a validated account, key or client order id.
 */
export function idempotencyScopeKey(spec: OrderSpec): string {
  return spec.idempotencyKey !== ""
    ? `${spec.account}|k:${spec.idempotencyKey}`
    : `${spec.account}|c:${spec.clientOrderId}`;
}

const FINGERPRINT_FIELDS = [
  "client_order_id",
  "venue",
  "symbol",
  "side",
  "type",
  "time_in_force",
  "quantity",
  "price",
  "stop_price",
] as const;

/**
 * The request fields a retry must repeat exactly, joined with "|" (which no
 * validated field contains). Kept readable rather than hashed: it is cheap,
 * exact (no collision to reason about), and lets the conflict error name the
 * fields that differ. Versioned so the format can change without mistaking
 * old audit records for conflicts.
 */
export function requestFingerprint(spec: OrderSpec): string {
  // join() builds one flat string; a template literal of this many parts builds a tree of cons
  // strings, which costs hundreds of bytes per idempotency record kept for 24 h.
  return [
    "v1",
    spec.clientOrderId,
    spec.venue,
    spec.symbol,
    spec.side,
    spec.type,
    spec.timeInForce,
    spec.quantity,
    spec.price,
    spec.stopPrice,
  ].join("|");
}

/**
 * The fingerprint a stored record guards: its own, or (the common case, see
 * IdempotencyRecord.fingerprint) the one its order's fields give. Only called
 * when a key is seen again, so the string is built off the first-time path.
 */
export function recordFingerprint(rec: IdempotencyRecord): string {
  if (rec.fingerprint !== undefined) return rec.fingerprint;
  // A record without a fingerprint always holds an order (see store.ts); "" would conflict, never replay.
  return rec.outcome.ok ? requestFingerprint(rec.outcome.value) : "";
}

/** Proto names of the fields in which two fingerprints differ. */
export function fingerprintDiff(a: string, b: string): string[] {
  const x = a.split("|");
  const y = b.split("|");
  if (x[0] !== y[0] || x.length !== y.length) return ["(fingerprint version)"];
  const out: string[] = [];
  for (let i = 0; i < FINGERPRINT_FIELDS.length; i++) if (x[i + 1] !== y[i + 1]) out.push(FINGERPRINT_FIELDS[i]!);
  return out;
}

export type IdempotencyDecision =
  /** First time we see this key (or it expired): run the order. */
  | { readonly kind: "new" }
  /** Same key, same fields: answer with the prior outcome, replayed = true. */
  | { readonly kind: "replay" }
  /** Same key, different fields: refuse. */
  | { readonly kind: "conflict"; readonly error: GatewayError };

const NEW: IdempotencyDecision = { kind: "new" };
const REPLAY: IdempotencyDecision = { kind: "replay" };

/**
 * Pure decision over what is known about the key (a completed record or an
 * in-flight request, both carrying the fingerprint) and this request. The
 * two constant answers are shared objects: no allocation on the hot path.
 */
export function decideIdempotency(
  prior: { readonly fingerprint: string } | undefined,
  fingerprint: string,
  spec: OrderSpec,
): IdempotencyDecision {
  if (prior === undefined) return NEW;
  if (prior.fingerprint === fingerprint) return REPLAY;
  const fields = fingerprintDiff(prior.fingerprint, fingerprint);
  const key = spec.idempotencyKey !== "" ? `idempotency_key "${spec.idempotencyKey}"` : `client_order_id "${spec.clientOrderId}"`;
  return {
    kind: "conflict",
    error: {
      kind: "already_exists",
      reason: "IDEMPOTENCY_KEY_REUSED",
      message: `${key} of account ${spec.account} was already used for a different order (differs in: ${fields.join(", ")})`,
      metadata: { account: spec.account, key: spec.idempotencyKey || spec.clientOrderId, fields: fields.join(",") },
    },
  };
}
