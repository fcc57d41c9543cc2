import { add, compare, formatDecimal } from "../../src/domain/decimal.js";
import { OrderStatus, type Order } from "../../src/domain/order.js";
import { err, ok, type Result } from "../../src/domain/result.js";
import type { VenueAdapter, VenueAmend, VenueAmendResult, VenueError, VenueFill, VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";

/**
 * A fault an operation meets once: "drop" = the venue does it and the answer is lost (timeout);
 * "500" = the same with an HTTP 500; "429" = refused before doing anything; "reject" = refused.
 */
export type BookFault = "drop" | "500" | "429" | "reject";

interface Live {
  readonly venueOrderId: string;
  readonly orderId: string;
  status: OrderStatus;
  quantity: string;
  price: string;
  filled: string;
  readonly fills: VenueFill[];
}

/**
 * An in-memory venue with real order state for replace tests: orders by venue client order id,
 * faults injected per operation, and a watch on the invariant that matters — the most venue
 * orders ever live at once for one gateway order (`maxLive`), which must stay 1.
 */
export interface BookVenue extends VenueAdapter {
  readonly faults: Record<"place" | "cancel" | "amend" | "query", BookFault[]>;
  /** Most live venue orders seen at once per gateway order id. */
  readonly maxLive: Map<string, number>;
  readonly calls: string[];
  /** Executes `qty` of the live venue order of `orderId` (a fill racing the replace). */
  fill(orderId: string, qty: string, price?: string): void;
  liveOf(orderId: string): Array<{ venueClientOrderId: string; quantity: string; price: string }>;
}

export function createBookVenue(opts: { name?: string; kind?: string; amend?: boolean } = {}): BookVenue {
  const book = new Map<string, Live>();
  let n = 0;
  const faults: BookVenue["faults"] = { place: [], cancel: [], amend: [], query: [] };
  const maxLive = new Map<string, number>();
  const calls: string[] = [];

  function watch(orderId: string): void {
    let live = 0;
    for (const o of book.values()) if (o.orderId === orderId && (o.status === OrderStatus.NEW || o.status === OrderStatus.PARTIALLY_FILLED)) live++;
    maxLive.set(orderId, Math.max(maxLive.get(orderId) ?? 0, live));
  }
  function update(o: Live): VenueOrderUpdate {
    return { status: o.status, venueOrderId: o.venueOrderId, filledQuantity: o.filled, fills: [...o.fills] };
  }
  /** Runs `act`, then answers per the next fault of `op`. */
  function faulty<T>(op: keyof BookVenue["faults"], act: () => Result<T, VenueError>): Result<T, VenueError> {
    const f = faults[op].shift();
    if (f === "429") return err({ kind: "rate_limited", reason: "HTTP 429", retryAfterMs: 1000 });
    if (f === "reject") return err({ kind: "rejected", reason: "refused by the fake" });
    const r = act();
    if (f === "drop") return err({ kind: "unknown_outcome", reason: "timeout after the venue accepted" });
    if (f === "500") return err({ kind: "unknown_outcome", reason: "HTTP 500" });
    return r;
  }

  const v: BookVenue = {
    name: opts.name ?? "book",
    kind: opts.kind ?? "book",
    faults,
    maxLive,
    calls,
    checkSymbol: () => undefined,
    checkOrderShape: () => undefined,
    fill(orderId, qty, price = "100") {
      for (const o of book.values()) {
        if (o.orderId !== orderId || (o.status !== OrderStatus.NEW && o.status !== OrderStatus.PARTIALLY_FILLED)) continue;
        o.fills.push({ venueTradeId: `T${++n}`, quantity: qty, price, fee: "0", feeCurrency: "USD", timeMs: 1 });
        o.filled = formatDecimal(add(o.filled, qty));
        o.status = compare(o.filled, o.quantity) >= 0 ? OrderStatus.FILLED : OrderStatus.PARTIALLY_FILLED;
        return;
      }
      throw new Error(`no live venue order for ${orderId}`);
    },
    liveOf(orderId) {
      return [...book.entries()]
        .filter(([, o]) => o.orderId === orderId && (o.status === OrderStatus.NEW || o.status === OrderStatus.PARTIALLY_FILLED))
        .map(([k, o]) => ({ venueClientOrderId: k, quantity: o.quantity, price: o.price }));
    },
    async placeOrder(order: Order) {
      calls.push(`place ${order.venueClientOrderId} ${order.quantity}`);
      return faulty("place", () => {
        if (book.has(order.venueClientOrderId)) return err({ kind: "rejected", reason: "duplicate client order id" });
        const o: Live = { venueOrderId: `BV${++n}`, orderId: order.orderId, status: OrderStatus.NEW, quantity: order.quantity, price: order.price, filled: "0", fills: [] };
        book.set(order.venueClientOrderId, o);
        watch(order.orderId);
        return ok(update(o));
      });
    },
    async cancelOrder(order: Order) {
      calls.push(`cancel ${order.venueClientOrderId}`);
      return faulty("cancel", () => {
        const o = book.get(order.venueClientOrderId);
        if (o === undefined) return err({ kind: "not_found", reason: "unknown order" });
        if (o.status !== OrderStatus.NEW && o.status !== OrderStatus.PARTIALLY_FILLED) return err({ kind: "rejected", reason: `order is ${OrderStatus[o.status]}` });
        o.status = OrderStatus.CANCELED;
        return ok(update(o));
      });
    },
    async queryOrder(order: Order) {
      calls.push(`query ${order.venueClientOrderId}`);
      return faulty("query", () => {
        const o = book.get(order.venueClientOrderId);
        return o === undefined ? err({ kind: "not_found", reason: "unknown order" }) : ok(update(o));
      });
    },
    async close() {},
  };
  if (opts.amend === true) {
    v.amendOrder = async (order: Order, amend: VenueAmend): Promise<Result<VenueAmendResult, VenueError>> => {
      calls.push(`amend ${order.venueClientOrderId} ${amend.quantity} ${amend.price}`);
      return faulty("amend", () => {
        const o = book.get(order.venueClientOrderId);
        if (o === undefined) return err({ kind: "not_found", reason: "unknown order" });
        if (o.status !== OrderStatus.NEW && o.status !== OrderStatus.PARTIALLY_FILLED) return err({ kind: "rejected", reason: `order is ${OrderStatus[o.status]}` });
        o.quantity = amend.quantity;
        o.price = amend.price;
        return ok({ update: update(o), newVenueOrder: false });
      });
    };
  }
  return v;
}
