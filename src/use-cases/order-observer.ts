import type { Order, OrderStatus } from "../domain/order.js";

/** Why an order or request was refused: a bounded set (the metric label). */
export type RejectReason =
  /** The venue refused the order. */
  | "venue"
  /** The venue or the audit log could not be reached; the client may retry. */
  | "unavailable"
  /** A pre-trade risk limit. */
  | "risk"
  /** The request was malformed (INVALID_ARGUMENT). */
  | "validation";

export const REJECT_REASONS: readonly RejectReason[] = ["venue", "unavailable", "risk", "validation"];

/**
 * Told about every order state change the order manager makes, for business metrics. Called on
 * the hot path: an implementation does a few array or Map operations and nothing else (no string
 * building, no label hashing).
 */
export interface OrderObserver {
  /** The order reached `order.status`; `from` is undefined when it was just created. */
  statusChanged(order: Order, from: OrderStatus | undefined): void;
  /** `count` new fills of the order were recorded. */
  filled(order: Order, count: number): void;
  rejected(reason: RejectReason): void;
}
