import type { Order, OrderStatus, OrderType, Side, TimeInForce } from "../domain/order.js";
import type { Result } from "../domain/result.js";

/** An execution as the venue reports it, before the gateway gives it a sequence. */
export interface VenueFill {
  /** The venue's trade/execution id, unique per venue. */
  readonly venueTradeId: string;
  readonly quantity: string;
  readonly price: string;
  readonly fee: string;
  readonly feeCurrency: string;
  readonly timeMs: number;
  /**
   * True when the adapter derived this execution from the answer's cumulative totals (venues
   * without per-fill data): the order manager re-bases it on the order as it stands when applied
   * (rebaseTotalsFills, src/domain/apply-venue-update.ts).
   */
  readonly fromTotals?: boolean;
}

/** What the venue told us about one order, already interpreted into gateway terms. */
export interface VenueOrderUpdate {
  /** Mapped through the venue's status table; an unknown venue status is a VenueError, never passed through. */
  readonly status: OrderStatus;
  readonly venueOrderId: string;
  /** Cumulative filled quantity, when the venue reports it. */
  readonly filledQuantity?: string;
  /** Volume-weighted average fill price, when the venue reports it. */
  readonly averageFillPrice?: string;
  readonly rejectReason?: string;
  /**
   * The venue's running fee total for the order (decimal string), for venues whose answers carry
   * totals only (Kraken `fee`, Coinbase `total_fees`): a synthesized fill's fee is its increase.
   */
  readonly cumulativeFee?: string;
  /** Currency of `cumulativeFee`; undefined = the quote currency of the order's symbol. */
  readonly feeCurrency?: string;
  /** Executions contained in this answer (may repeat earlier ones; the gateway de-duplicates by venueTradeId). */
  readonly fills: readonly VenueFill[];
}

export type VenueError =
  /** The venue refused the order or cancel; it definitely did not happen. */
  | { readonly kind: "rejected"; readonly reason: string; readonly code?: string }
  /** The request may have reached the venue (timeout, reset, 5xx): the outcome must be reconciled by query. */
  | { readonly kind: "unknown_outcome"; readonly reason: string }
  /** 429 / 418 and equivalents; nothing was done. */
  | { readonly kind: "rate_limited"; readonly reason: string; readonly retryAfterMs: number }
  /** The request certainly did not reach the venue (connection refused, venue marked down, our own outbound limit). */
  | { readonly kind: "unavailable"; readonly reason: string; readonly retryAfterMs?: number }
  /** The venue does not know the order (query or cancel). */
  | { readonly kind: "not_found"; readonly reason: string }
  /** Credentials missing or refused: an operator problem, not the client's. */
  | { readonly kind: "auth"; readonly reason: string }
  /** The venue answered something we cannot interpret (unknown status, malformed JSON). */
  | { readonly kind: "protocol"; readonly reason: string };

/**
 * One asset's balance as the venue reports it for the gateway's credentials there. Decimal
 * strings; the asset is named as the venue names it (Kraken "XXBT", Coinbase "BTC").
 */
export interface VenueBalance {
  readonly asset: string;
  /** Available to trade. */
  readonly free: string;
  /** Held by open orders or otherwise unavailable ("0" where the venue reports no held amount). */
  readonly locked: string;
}

/**
 * What CancelAllOrders asks a venue to cancel at once. Every order in `orders` is this venue's,
 * PENDING_CANCEL, and its cancel is already on record in the audit log.
 */
export interface MassCancelScope {
  /** The orders to cancel. */
  readonly orders: readonly Order[];
  /**
   * The gateway's other open orders on this venue (other accounts, sides, symbols, or orders
   * not acknowledged yet). A venue-wide or per-symbol cancel-all would cancel these too, so it
   * fits only when none of them is in its reach.
   */
  readonly others: readonly Order[];
}

/** The venue's answer per order id (Order.orderId); an order missing from it is settled by a query. */
export type MassCancelAnswer = ReadonlyMap<string, Result<VenueOrderUpdate, VenueError>>;
/** What a replace asks of the venue: absolute new values (the order's total quantity, not a delta). */
export interface VenueAmend {
  readonly quantity: string;
  /** "" for MARKET and STOP. */
  readonly price: string;
  /** "" unless STOP or STOP_LIMIT. */
  readonly stopPrice: string;
  /**
   * The venue client order id for the venue order that results, when the venue's replace makes a
   * new one (Binance cancelReplace, Alpaca PATCH): derived from the new client order id, so a
   * retry is de-duplicated by the venue and reconciliation can find it.
   */
  readonly venueClientOrderId: string;
}

/** A venue's answer to an amend. */
export interface VenueAmendResult {
  /** The order as it stands after the amend (the new venue order's, when there is one). */
  readonly update: VenueOrderUpdate;
  /** True when the venue replaced its order by a new one with `VenueAmend.venueClientOrderId`. */
  readonly newVenueOrder: boolean;
}

/**
 * One order the venue lists as open (working) for the account, in gateway terms: what
 * reconciliation compares with the gateway's open orders, and what it adopts as an external
 * order when the gateway did not place it.
 */
export interface VenueOpenOrder {
  readonly venueOrderId: string;
  /** The client order id the venue holds ("" when the order has none, e.g. a Kraken order placed without cl_ord_id). */
  readonly venueClientOrderId: string;
  /** The gateway symbol (the venue file's symbol map applied backwards; unmapped venue symbols pass through). */
  readonly symbol: string;
  /** UNSPECIFIED when the venue's value has no gateway equivalent (only possible for external orders). */
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: string;
  /** "" when none. */
  readonly price: string;
  readonly stopPrice: string;
  /** NEW, PARTIALLY_FILLED or PENDING_CANCEL (mapped through the venue's status table). */
  readonly status: OrderStatus;
  /** Cumulative filled quantity ("0" when nothing filled). */
  readonly filledQuantity: string;
  /** "" until something filled or when the venue does not say. */
  readonly averageFillPrice: string;
  /** When the venue created it; 0 when unknown. */
  readonly createdAtMs: number;
}

export interface VenueCallContext {
  /** Aborts the venue call when the RPC is cancelled or the gateway shuts down. */
  readonly signal: AbortSignal;
  /** Absolute epoch ms by which the call must be over (the RPC deadline); undefined = the venue's own timeout. */
  readonly deadlineMs?: number | undefined;
  /** W3C traceparent of the venue call's span, when tracing is on: HTTP venues send it as a header. */
  readonly traceparent?: string;
}

/**
 * The interface every venue implements, the paper venue included. Inside, a
 * real adapter is split translate -> sign -> send -> parse and only `send`
 * does I/O; the pipeline sees only these operations.
 */
export interface VenueAdapter {
  readonly name: string;
  readonly kind: string;
  /** undefined if the symbol is tradable on this venue, else why not (reported as a field violation on `symbol`). */
  checkSymbol(symbol: string): string | undefined;
  /** undefined if the venue accepts this type/time-in-force combination, else why not. */
  checkOrderShape(type: OrderType, timeInForce: TimeInForce): string | undefined;
  /**
   * Optional: a recent price for `symbol` (decimal string), used by pre-trade risk to value
   * MARKET orders against a max-notional limit. undefined = not known.
   */
  referencePrice?(symbol: string): string | undefined;
  placeOrder(order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>>;
  cancelOrder(order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>>;
  /**
   * Optional: the venue's native mass cancel (Binance DELETE openOrders, Kraken CancelAll,
   * Alpaca DELETE /v2/orders, Coinbase batch_cancel). Returns undefined, synchronously and
   * without sending anything, when the native call does not fit the scope (it would reach
   * orders in `scope.others` or orders placed outside the gateway): the caller then cancels one
   * by one. Otherwise one result per order it could say something about; a failure of the
   * whole call is reported for each order it covered.
   */
  cancelAll?(scope: MassCancelScope, ctx: VenueCallContext): Promise<MassCancelAnswer> | undefined;

  /**
   * Optional: undefined when `amendOrder` can make this change to this order, else why not (the
   * gateway then cancels and places anew). Absent = every change `amendOrder` is given.
   */
  checkAmend?(order: Order, amend: VenueAmend): string | undefined;
  /**
   * Optional: the venue's native replace (FIX cancel/replace). Atomic at the venue: there is never
   * a moment with two live venue orders. Venues without one get cancel-then-new from the gateway.
   */
  amendOrder?(order: Order, amend: VenueAmend, ctx: VenueCallContext): Promise<Result<VenueAmendResult, VenueError>>;
  /** Looks the order up by its venue client order id (works even when venueOrderId is unknown). */
  queryOrder(order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>>;
  /**
   * Optional: the balances of the gateway's credentials at the venue, zero balances left out.
   * Absent = the venue does not report balances (GetBalances says so per venue).
   */
  fetchBalances?(ctx: VenueCallContext): Promise<Result<VenueBalance[], VenueError>>;

  /**
   * Optional: the venue's dead-man switch (Kraken CancelAllOrdersAfter): the venue cancels every
   * order of this API key unless called again within `timeoutSeconds`; 0 disarms it. Only venues
   * that have one implement it (cancel-on-disconnect arms it as a second line of defence).
   */
  deadManSwitch?(timeoutSeconds: number, ctx: VenueCallContext): Promise<Result<void, VenueError>>;

  /**
   * Optional: every order the venue lists as open for this account (paged through by the
   * adapter), for reconciliation's venue-wide pass. A venue without it is reconciled order by
   * order only (the poller's queryOrder), and cannot adopt external orders.
   */
  listOpenOrders?(ctx: VenueCallContext): Promise<Result<VenueOpenOrder[], VenueError>>;
  /** Releases connection pools and timers. */
  close(): Promise<void>;
}

/**
 * Implemented by the order manager; used by venue pollers and reconcilers to
 * feed what they learn back into the one state machine.
 */
export interface OrderUpdateSink {
  /**
   * Orders of `venue` that are working or whose outcome is unknown (PENDING_NEW, NEW,
   * PARTIALLY_FILLED, PENDING_CANCEL, PENDING_REPLACE).
   */
  openOrders(venue: string): Iterable<Order>;
  /**
   * The order as its current venue order sees it (after a replace that made a new venue order,
   * quantities count that venue order alone): what to give the venue adapter's query.
   */
  venueView?(orderId: string): Order | undefined;
  applyVenueUpdate(orderId: string, update: VenueOrderUpdate, source: "poll" | "reconcile" | "stream"): Promise<void>;
  /**
   * For a PENDING_REPLACE order whose replace may have made a new venue order: the order as that
   * venue order (its derived venue client order id), to query by. undefined otherwise.
   */
  replaceProbe?(orderId: string): Order | undefined;
  /** The venue has the replace's new venue order: the replace took effect; `update` is that order's. */
  settleReplace?(orderId: string, update: VenueOrderUpdate, source: "poll" | "reconcile" | "stream"): Promise<void>;
}
