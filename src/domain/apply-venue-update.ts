import { compare, dec, div, formatDecimal, mul, sub, type Decimal } from "./decimal.js";
import type { GatewayError } from "./errors.js";
import { OrderStatus, type Fill, type Order } from "./order.js";
import { eventForVenueStatus, statusName, transition } from "./order-state.js";
import { err, ok, type Result } from "./result.js";

/**
 * How an order changes with what its venue says: pure functions over immutable values (no clock,
 * no ids, no I/O). The order manager (src/use-cases/order-manager.ts) de-duplicates executions,
 * numbers the fills and records the result; the arithmetic and the rules are here.
 */

/** What a venue update says about the order (a VenueOrderUpdate, src/use-cases/venue-adapter.ts, is one). */
export interface OrderUpdate {
  readonly status: OrderStatus;
  /** "" when the venue did not say. */
  readonly venueOrderId: string;
  /** Cumulative, when the venue reports it. */
  readonly filledQuantity?: string;
  readonly averageFillPrice?: string;
  readonly rejectReason?: string;
  /** The venue's running fee total for the order (see Order.venueFeeTotal). */
  readonly cumulativeFee?: string;
}

/** One execution's size and price (a VenueFill is one). */
export interface Execution {
  readonly quantity: string;
  readonly price: string;
}

/** An order's fill totals: filled quantity, average price, and the notional behind the average. */
export interface FillTotals {
  readonly filledQuantity: string;
  /** "" until something filled at a known price. */
  readonly averageFillPrice: string;
  /**
   * Sum of quantity x price over the fills, kept exact between fills so the average does not
   * drift; undefined until the second fill (then rebuilt from filled x average when needed).
   */
  readonly notional: Decimal | undefined;
}

/** Adds one execution to the totals (decimal.js arithmetic; never JavaScript numbers). */
export function applyFill(totals: FillTotals, x: Execution): FillTotals {
  const filled = totals.filledQuantity;
  if (filled === "0" || filled === "") {
    // First fill: no arithmetic needed (the common MARKET case).
    return { filledQuantity: x.quantity, averageFillPrice: x.price, notional: totals.notional };
  }
  if (totals.averageFillPrice === "") {
    // Earlier executions came as a venue total without a price: the average stays unknown rather
    // than guessed (and mul(filled, "") would throw mid-update).
    return { filledQuantity: formatDecimal(dec(filled).plus(x.quantity)), averageFillPrice: "", notional: totals.notional };
  }
  const prevNotional = totals.notional ?? mul(filled, totals.averageFillPrice);
  const qty = dec(filled).plus(x.quantity);
  const notional = prevNotional.plus(mul(x.quantity, x.price));
  return { filledQuantity: formatDecimal(qty), averageFillPrice: formatDecimal(div(notional, qty)), notional };
}

/**
 * Fills synthesized from an update's cumulative totals (VenueFill.fromTotals: venues whose answers
 * and streams carry totals only) were computed against the order as it stood when the answer was
 * asked for. When another source (the venue's push stream, a concurrent poll) moved the order
 * since, the slice is re-based on `cur`: quantity = the reported total minus what `cur` holds,
 * price from the two averages, fee = the reported fee total minus what `cur` carries. A slice the
 * order already holds (a stale answer) is dropped; otherwise a stale 0->0.5 answer after a
 * 0->1 stream update would add 0.5 twice. Other fills pass unchanged. `withAverages` false
 * (a replaced chain, whose venue average covers the last venue order only) keeps the fill's price.
 */
export function rebaseTotalsFills<T extends Execution & { readonly fee: string; readonly fromTotals?: boolean }>(
  cur: Order,
  update: OrderUpdate,
  fills: readonly T[],
  withAverages = true,
): T[] {
  const reported = update.filledQuantity;
  if (reported === undefined || reported === "" || !fills.some((f) => f.fromTotals === true)) return [...fills];
  const out: T[] = [];
  const before = cur.filledQuantity === "" ? "0" : cur.filledQuantity;
  for (const f of fills) {
    if (f.fromTotals !== true) {
      out.push(f);
      continue;
    }
    const qty = sub(reported, before);
    if (qty.lte(0)) continue;
    // The common case: nothing moved since the answer was asked for.
    if (qty.eq(f.quantity)) {
      out.push(f);
      continue;
    }
    let price = f.price;
    const avg = update.averageFillPrice;
    if (withAverages && avg !== undefined && avg !== "") {
      price =
        dec(before).isZero() || cur.averageFillPrice === ""
          ? avg
          : formatDecimal(mul(reported, avg).minus(mul(before, cur.averageFillPrice)).div(qty).toDecimalPlaces(12));
    }
    let fee = f.fee;
    if (update.cumulativeFee !== undefined) {
      const d = sub(update.cumulativeFee, cur.venueFeeTotal ?? "0");
      fee = d.gt(0) ? formatDecimal(d) : "0";
    }
    out.push({ ...f, quantity: formatDecimal(qty), price, fee });
  }
  return out;
}

export interface UpdatedOrder {
  /** The order after the update; the same object when nothing changed. */
  readonly order: Order;
  readonly changed: boolean;
  /** The fill totals' notional to keep for the next update. */
  readonly notional: Decimal | undefined;
}

/**
 * Applies a venue update to an order through the transition table: `executions` are the update's
 * new fills (already de-duplicated), added in order; the venue's cumulative figures win when it
 * knows of executions we did not see; a venue saying NEW for an order with fills is a stale
 * answer (PARTIALLY_FILLED is kept); the venue fee total moves only with new fills and never down.
 * An update that changes nothing returns the order itself, `changed` false.
 */
export function applyVenueUpdate(
  cur: Order,
  update: OrderUpdate,
  executions: readonly Execution[],
  nowMs: number,
  notional?: Decimal,
): Result<UpdatedOrder, GatewayError> {
  const ev = eventForVenueStatus(update.status);
  if (ev === undefined) {
    return err({ kind: "internal", message: `venue reported status ${statusName(update.status)} for order ${cur.orderId}` });
  }
  const t = transition(cur.status, ev);
  if (!t.ok) return t;
  let next = t.value;

  let totals: FillTotals = { filledQuantity: cur.filledQuantity, averageFillPrice: cur.averageFillPrice, notional };
  for (const x of executions) totals = applyFill(totals, x);
  let filled = totals.filledQuantity;
  let average = totals.averageFillPrice;
  let nextNotional = totals.notional;
  const vq = update.filledQuantity;
  // String equality first: the common answer repeats what the fills already say, and parsing decimals costs.
  if (vq !== undefined && vq !== "" && vq !== filled && compare(vq, filled === "" ? "0" : filled) > 0) {
    filled = vq;
    if (update.averageFillPrice !== undefined && update.averageFillPrice !== "") average = update.averageFillPrice;
    nextNotional = undefined;
  }
  if (next === OrderStatus.NEW && filled !== "0" && filled !== "") {
    const pf = transition(next, "partial_fill");
    if (!pf.ok) return pf;
    next = pf.value;
  }

  const venueOrderId = update.venueOrderId !== "" ? update.venueOrderId : cur.venueOrderId;
  const rejectReason = update.rejectReason ?? cur.rejectReason;
  const newFills = executions.length > 0;
  if (next === cur.status && !newFills && filled === cur.filledQuantity && venueOrderId === cur.venueOrderId && rejectReason === cur.rejectReason) {
    return ok({ order: cur, changed: false, notional: nextNotional });
  }
  // The venue's running fee total moves with the fills it paid for: recorded only when this update
  // brings new fills, and never lowered, so the next fill's fee is the increase over what the
  // recorded fills already carry.
  const venueFeeTotal =
    newFills && update.cumulativeFee !== undefined && compare(update.cumulativeFee, cur.venueFeeTotal ?? "0") > 0 ? update.cumulativeFee : cur.venueFeeTotal;
  const order: Order = {
    ...cur,
    status: next,
    venueOrderId,
    filledQuantity: filled,
    averageFillPrice: average,
    rejectReason,
    ...(venueFeeTotal !== undefined ? { venueFeeTotal } : {}),
    updatedAtMs: nowMs,
  };
  return ok({ order, changed: true, notional: nextNotional });
}

/** A venue execution of `order` as a gateway fill, numbered `sequence`. */
export function fillOf(
  order: Order,
  x: Execution & { readonly fee: string; readonly feeCurrency: string; readonly timeMs: number; readonly venueTradeId: string },
  sequence: bigint,
  fillId: string,
): Fill {
  return {
    sequence,
    fillId,
    orderId: order.orderId,
    clientOrderId: order.clientOrderId,
    account: order.account,
    venue: order.venue,
    symbol: order.symbol,
    side: order.side,
    quantity: x.quantity,
    price: x.price,
    fee: x.fee,
    feeCurrency: x.feeCurrency,
    timeMs: x.timeMs,
    venueTradeId: x.venueTradeId,
  };
}
