import { Decimal } from "decimal.js";
import { add, compare, formatDecimal } from "../../../domain/decimal.js";
import type { Order } from "../../../domain/order.js";
import { eventForVenueStatus, transition } from "../../../domain/order-state.js";
import type { OrderUpdateSink, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import { synthesizeFill, syntheticTradeId } from "../translator.js";
import type { StreamOrderEvent } from "./stream-spec.js";

/**
 * What a stream event means for the order as the gateway knows it now. Pure.
 *
 * - "apply": the update to give the sink (the same applyVenueUpdate as polling: the transition
 *   table, de-duplication by venue trade id);
 * - "skip": nothing new ("duplicate": every execution in it is already counted) or an old status
 *   the table refuses with nothing else in it ("stale": the stream is behind a REST answer);
 * - "query": the event shows more filled than its executions explain (one was missed), or
 *   contradicts the order with an execution in it: the REST answer settles the order.
 */
export type StreamDecision =
  | { readonly kind: "apply"; readonly update: VenueOrderUpdate }
  | { readonly kind: "skip"; readonly why: "duplicate" | "stale" }
  | { readonly kind: "query"; readonly why: string };

/**
 * Decides on one stream event. `order` is the order as its venue order sees it (sink.venueView:
 * after a replace that made a new venue order, quantities count that venue order alone, as the
 * venue's cumulative figures do).
 *
 * Fills are counted by cumulative quantity as well as by trade id: an event whose cumulative
 * filled quantity is not above what the order already has brings no new execution, whatever its
 * trade id says. That is what makes a stream fill and a REST answer meet whichever comes first,
 * even when the REST side knew the execution only as a rise of totals (a synthesized fill named
 * by syntheticTradeId, Kraken QueryOrders) and the stream names it by its execution id.
 */
export function decideStreamUpdate(order: Order, ev: StreamOrderEvent, nowMs: number): StreamDecision {
  const known = order.filledQuantity === "" ? "0" : order.filledQuantity;
  let u = ev.update;
  const cum = u.filledQuantity === undefined || u.filledQuantity === "" ? undefined : u.filledQuantity;
  const hadFills = u.fills.length > 0 || (ev.cumulativeOnly === true && cum !== undefined && compare(cum, known) > 0);
  if (cum !== undefined && compare(cum, known) <= 0) {
    if (u.fills.length > 0) u = { ...u, fills: [] };
  } else if (cum !== undefined && ev.cumulativeOnly === true) {
    const s = synthesizeFill(order, { ...u, fills: [] }, ev.eventTimeMs > 0 ? ev.eventTimeMs : nowMs);
    if (s.fills.length === 0) return { kind: "query", why: "the event raises the filled quantity without a price" };
    u = s;
  } else if (cum !== undefined) {
    let sum = new Decimal(known);
    for (const f of u.fills) sum = sum.plus(f.quantity);
    if (!sum.eq(cum)) return { kind: "query", why: `filled ${cum} at the venue, ${sum.toFixed()} counting this event's executions: one was missed` };
  }
  const event = eventForVenueStatus(u.status);
  const next = event === undefined ? undefined : transition(order.status, event);
  if (next === undefined || !next.ok) {
    return u.fills.length > 0 ? { kind: "query", why: "the event contradicts the order's status" } : { kind: "skip", why: hadFills ? "duplicate" : "stale" };
  }
  const sameVenueId = u.venueOrderId === "" || u.venueOrderId === order.venueOrderId;
  if (u.fills.length === 0 && next.value === order.status && sameVenueId && (cum === undefined || compare(cum, known) <= 0) && (u.rejectReason ?? "") === "") {
    return { kind: "skip", why: "duplicate" };
  }
  // The running fee total moves with the stream's own executions too, so that a later REST answer
  // with totals only (Kraken, Coinbase) charges its synthesized fill just the increase.
  if (u.fills.length > 0 && u.cumulativeFee === undefined && !ev.cumulativeOnly) {
    let fee = order.venueFeeTotal ?? "0";
    for (const f of u.fills) if (f.fee !== "") fee = formatDecimal(add(fee, f.fee));
    u = { ...u, cumulativeFee: fee };
  }
  return { kind: "apply", update: u };
}

/**
 * The sink with one guard for REST answers that carry totals only: their synthesized fill was
 * computed by the adapter against the order as it was when the request left. If the stream (or
 * another answer) counted executions meanwhile, that fill would count them again under another
 * name; it is synthesized again here against the order as it is now, synchronously before the
 * sink applies it. Give this to the poller and the streams.
 */
export function createFillGuardSink(sink: OrderUpdateSink): OrderUpdateSink {
  function guard(orderId: string, update: VenueOrderUpdate): VenueOrderUpdate {
    if (update.fills.length !== 1 || update.filledQuantity === undefined || update.filledQuantity === "") return update;
    const f = update.fills[0]!;
    let cum: string;
    try {
      cum = new Decimal(update.filledQuantity).toFixed();
    } catch {
      return update;
    }
    if (f.venueTradeId !== syntheticTradeId(update.venueOrderId, cum)) return update;
    const now = sink.venueView?.(orderId);
    if (now === undefined) return update;
    return synthesizeFill(now, { ...update, fills: [] }, f.timeMs);
  }
  return {
    openOrders: (venue) => sink.openOrders(venue),
    ...(sink.venueView !== undefined ? { venueView: (orderId: string) => sink.venueView!(orderId) } : {}),
    ...(sink.replaceProbe !== undefined ? { replaceProbe: (orderId: string) => sink.replaceProbe!(orderId) } : {}),
    ...(sink.settleReplace !== undefined ? { settleReplace: (orderId: string, update: VenueOrderUpdate, source: "poll" | "reconcile" | "stream") => sink.settleReplace!(orderId, update, source) } : {}),
    applyVenueUpdate: (orderId, update, source) => sink.applyVenueUpdate(orderId, guard(orderId, update), source),
  };
}
