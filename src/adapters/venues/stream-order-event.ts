import type { Order } from "../../domain/order.js";
import type { VenueOrderUpdate } from "../../use-cases/venue-adapter.js";
import { synthesizeFill } from "./translator.js";

/**
 * One order's state as a venue's user stream reports it, in the same terms as a REST order
 * answer (a VenueOrderUpdate with cumulative figures), so the stream and polling feed the one
 * transition table. `update.fills` is empty for venues whose stream carries totals only (Alpaca's
 * order object, Coinbase's `user` channel): the fill is synthesized at apply time by
 * streamUpdateWithFill, against the order as the gateway knows it then.
 */
export interface StreamOrderEvent {
  readonly venueOrderId: string;
  /** The client order id the venue holds ("" when the message has none). */
  readonly venueClientOrderId: string;
  readonly update: VenueOrderUpdate;
  /** The venue's event time (epoch ms); 0 when the message does not say. */
  readonly timeMs: number;
}

/**
 * The update with the fill its cumulative figures imply over `view` (the order as its venue order
 * sees it, OrderUpdateSink.venueView): quantity = the increase of the filled quantity, fee = the
 * increase of the fee total, price = the slice's price from the cumulative averages, and the id
 * `<venueOrderId>:<cumulative filled>` that the REST path (rest-venue-adapter completeFills ->
 * synthesizeFill) gives the same progress. A REST answer and a stream message reporting the same
 * cumulative quantity therefore carry the same venue trade id, and the order manager's
 * de-duplication by trade id applies that progress once, whichever arrives first. A message
 * reporting no more than the view already holds (a duplicate, or an older message arriving late)
 * yields no fill.
 *
 * Call it synchronously right before applying: computed against a stale view, two different
 * cumulative figures would give two fills that overlap (see order-manager's reported-total guard).
 */
export function streamUpdateWithFill(view: Order, update: VenueOrderUpdate, timeMs: number): VenueOrderUpdate {
  return synthesizeFill(view, update, timeMs);
}
