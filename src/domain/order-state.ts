import { OrderStatus } from "./order.js";
import type { GatewayError } from "./errors.js";
import { err, ok, type Result } from "./result.js";

/**
 * What can happen to an order. Venue answers are first interpreted into a
 * status, then into one of these events (`eventForVenueStatus`), so a venue
 * never sets a status directly: it goes through `transition`.
 */
export type OrderEvent =
  /** The venue acknowledged the order (or a poll still reports it working). */
  | "accepted"
  /** The venue refused the order. */
  | "rejected"
  /** Some, not all, of the quantity executed. */
  | "partial_fill"
  /** The whole quantity executed. */
  | "fill"
  /** The gateway sent a cancel to the venue. */
  | "cancel_requested"
  /** The venue confirmed the cancel (or canceled on its own, e.g. an IOC remainder). */
  | "canceled"
  /** The venue refused the cancel; the order is working again. */
  | "cancel_rejected"
  /** The order ended by time in force (FOK not fillable, DAY at the close). */
  | "expired"
  /** The venue says it has the order but has not acknowledged it yet. */
  | "pending"
  /** The gateway sent a replace (amend, or cancel-then-new) to the venue. */
  | "replace_requested"
  /** The venue confirmed the replace; the order works with its new fields. */
  | "replaced"
  /** The venue refused the replace (or it could not be sent); the order works unchanged. */
  | "replace_rejected";

const S = OrderStatus;

/**
 * THE transition table: `(status, event) -> status`. Anything not listed is
 * impossible and `transition` returns an error value, so a bug or a venue
 * that contradicts itself is seen, never silently applied.
 *
 * Self-loops on terminal states exist on purpose: polls and retried venue
 * answers repeat the final status, and repeating a fact is not a new fact.
 * While a cancel is pending, the order may still fill (the venue executed
 * before our cancel arrived) or be reported working by a poll.
 */
const TABLE: Readonly<Record<OrderStatus, Readonly<Partial<Record<OrderEvent, OrderStatus>>>>> = {
  [S.UNSPECIFIED]: {},
  [S.PENDING_NEW]: {
    pending: S.PENDING_NEW,
    accepted: S.NEW,
    rejected: S.REJECTED,
    partial_fill: S.PARTIALLY_FILLED,
    fill: S.FILLED,
    // An IOC/FOK/MARKET remainder is canceled or expired in the very first venue answer.
    canceled: S.CANCELED,
    expired: S.EXPIRED,
  },
  [S.NEW]: {
    pending: S.NEW,
    replace_requested: S.PENDING_REPLACE,
    accepted: S.NEW,
    partial_fill: S.PARTIALLY_FILLED,
    fill: S.FILLED,
    cancel_requested: S.PENDING_CANCEL,
    canceled: S.CANCELED,
    expired: S.EXPIRED,
    // Some venues (Alpaca) can still reject an order after acknowledging it.
    rejected: S.REJECTED,
  },
  [S.PARTIALLY_FILLED]: {
    partial_fill: S.PARTIALLY_FILLED,
    replace_requested: S.PENDING_REPLACE,
    fill: S.FILLED,
    cancel_requested: S.PENDING_CANCEL,
    canceled: S.CANCELED,
    expired: S.EXPIRED,
  },
  [S.PENDING_CANCEL]: {
    cancel_requested: S.PENDING_CANCEL,
    accepted: S.PENDING_CANCEL,
    partial_fill: S.PENDING_CANCEL,
    fill: S.FILLED,
    canceled: S.CANCELED,
    expired: S.EXPIRED,
    // Back to working; the order manager then re-applies `partial_fill` if something had filled,
    // so PARTIALLY_FILLED is reached through the table as well.
    cancel_rejected: S.NEW,
  },
  [S.PENDING_REPLACE]: {
    accepted: S.PENDING_REPLACE,
    partial_fill: S.PENDING_REPLACE,
    fill: S.FILLED,
    canceled: S.CANCELED,
    expired: S.EXPIRED,
    // Both go back to working; as after cancel_rejected, `partial_fill` is then re-applied if
    // something had filled, so PARTIALLY_FILLED is reached through the table.
    replaced: S.NEW,
    replace_rejected: S.NEW,
  },
  [S.FILLED]: { fill: S.FILLED },
  [S.CANCELED]: { canceled: S.CANCELED },
  [S.REJECTED]: { rejected: S.REJECTED },
  [S.EXPIRED]: { expired: S.EXPIRED },
};

/** The next status, or an `internal` error naming the impossible transition. */
export function transition(status: OrderStatus, event: OrderEvent): Result<OrderStatus, GatewayError> {
  const next = TABLE[status]?.[event];
  if (next === undefined) {
    return err({
      kind: "internal",
      message: `impossible order transition: ${statusName(status)} + ${event}`,
    });
  }
  return ok(next);
}

/** The event a venue-reported status stands for; undefined for UNSPECIFIED (never a valid venue answer). */
export function eventForVenueStatus(status: OrderStatus): OrderEvent | undefined {
  switch (status) {
    case S.PENDING_NEW:
      return "pending";
    case S.NEW:
      return "accepted";
    case S.PARTIALLY_FILLED:
      return "partial_fill";
    case S.FILLED:
      return "fill";
    case S.PENDING_CANCEL:
      return "cancel_requested";
    case S.CANCELED:
      return "canceled";
    case S.REJECTED:
      return "rejected";
    case S.EXPIRED:
      return "expired";
    case S.PENDING_REPLACE:
      return "replace_requested";
    default:
      return undefined;
  }
}

/** FILLED, CANCELED, REJECTED, EXPIRED: nothing more can happen. */
export function isTerminal(status: OrderStatus): boolean {
  return status === S.FILLED || status === S.CANCELED || status === S.REJECTED || status === S.EXPIRED;
}

/** NEW or PARTIALLY_FILLED: resting at the venue, cancelable. */
export function isWorking(status: OrderStatus): boolean {
  return status === S.NEW || status === S.PARTIALLY_FILLED;
}

/** "FILLED", "PENDING_NEW", ...: for messages written to clients. */
export function statusName(status: OrderStatus): string {
  return OrderStatus[status] ?? `UNKNOWN(${status})`;
}

/** Every event, for table-driven tests. */
export const ORDER_EVENTS: readonly OrderEvent[] = [
  "accepted",
  "rejected",
  "partial_fill",
  "fill",
  "cancel_requested",
  "canceled",
  "cancel_rejected",
  "expired",
  "pending",
  "replace_requested",
  "replaced",
  "replace_rejected",
];
