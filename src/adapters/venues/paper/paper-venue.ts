import { add, compare, formatDecimal, isZero, min, mul, sub, div } from "../../../domain/decimal.js";
import type { Decimal } from "decimal.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../domain/order.js";
import { err, ok, type Result } from "../../../domain/result.js";
import type { Clock, IdSource } from "../../../domain/ports.js";
import { createLinkedMap } from "../../../shared/linked-map.js";
import type { VenueAdapter, VenueBalance, VenueError, VenueFill, VenueOrderUpdate, MassCancelAnswer, MassCancelScope, VenueAmend, VenueAmendResult, VenueOpenOrder } from "../../../use-cases/venue-adapter.js";

export interface PaperVenueOptions {
  /** Venue name used in requests; default "paper". */
  readonly name?: string;
  /** symbol -> reference price (decimal string). Only these symbols trade. Default: DEFAULT_REFERENCE_PRICES. */
  readonly referencePrices?: Readonly<Record<string, string>>;
  /**
   * symbol -> most quantity one order can execute at the reference price
   * (decimal string). Default: unlimited. Makes partial fills, IOC and FOK observable.
   */
  readonly liquidity?: Readonly<Record<string, string>>;
  /** Fee as a fraction of the fill notional, e.g. "0.001" (10 bp). Default "0.001". */
  readonly feeRate?: string;
  /**
   * asset -> starting balance (decimal string). When given, the venue reports balances
   * (fetchBalances) and its fills move them: a BUY adds the base asset and takes the quote
   * notional plus the fee, a SELL the reverse. Nothing is reserved for resting orders (locked is
   * always "0") and no order is refused for want of funds. Unset: the venue reports no balances,
   * and fills cost nothing extra (the benchmark's hot path).
   */
  readonly balances?: Readonly<Record<string, string>>;
  /** Most orders resting at once; beyond, new resting orders are rejected (bounded memory). Default 100,000. */
  readonly maxWorkingOrders?: number;
  /** Finished orders remembered for queries and duplicate detection. Default 10,000. */
  readonly maxFinishedOrders?: number;
  readonly clock: Clock;
  /** Venue order ids and trade ids. */
  readonly ids: IdSource;
}

/** Reference prices when none are configured; the benchmark trades BTC-USD. */
export const DEFAULT_REFERENCE_PRICES: Readonly<Record<string, string>> = {
  "BTC-USD": "65000",
  "ETH-USD": "3500",
  "SOL-USD": "150",
  "AAPL": "190",
};

interface PaperOrder {
  readonly venueOrderId: string;
  status: OrderStatus;
  filled: string;
  average: string;
  readonly fills: VenueFill[];
  readonly rejectReason: string;
  /** What was ordered, for the open-order listing; set only on resting orders (not on the hot path of fills). */
  spec?: Pick<Order, "symbol" | "side" | "type" | "timeInForce" | "quantity" | "price" | "stopPrice" | "createdAtMs">;
}

/** A paper venue with a few extras tests use to drive it. */
export interface PaperVenue extends VenueAdapter {
  /** Moves the reference price; resting LIMIT orders are NOT re-matched (no order book is simulated). */
  setReferencePrice(symbol: string, price: string): void;
  /** Number of resting orders. */
  readonly workingCount: number;
  /** Cancels a resting order as if from outside the gateway (an operator at the venue's UI); false if not resting. */
  cancelAtVenue(venueClientOrderId: string): boolean;
  /** Rests an order placed outside the gateway (for reconciliation's adoption); returns its venue order id. */
  placeExternal(venueClientOrderId: string, spec: NonNullable<PaperOrder["spec"]>): string;
}

/**
 * A simulated exchange with infinite patience and (by default) infinite
 * liquidity at one reference price per symbol:
 * - MARKET fills at the reference price (up to the symbol's liquidity; a
 *   remainder is canceled, or the order expires unfilled if FOK).
 * - LIMIT fills at the reference price if it crosses (BUY limit >= ref, SELL
 *   limit <= ref); otherwise it rests NEW (GTC/DAY), is CANCELED (IOC) or
 *   EXPIRED (FOK). A partially filled GTC/DAY LIMIT rests PARTIALLY_FILLED.
 * - STOP and STOP_LIMIT rest as NEW and never trigger: the paper venue has no
 *   price feed, so a trigger would be invented. They can be queried and canceled.
 * - DAY orders do not expire (there is no session close).
 * Each fill carries a trade id, price, quantity and a fee of feeRate x notional
 * in the quote currency (the part of the symbol after "-" or "/").
 *
 * This is on the benchmark hot path: a MARKET order costs two decimal
 * multiplications (the fee) and a couple of Map operations.
 */
export function createPaperVenue(options: PaperVenueOptions): PaperVenue {
  const name = options.name ?? "paper";
  const refs = new Map<string, string>(Object.entries(options.referencePrices ?? DEFAULT_REFERENCE_PRICES));
  const liquidity = new Map<string, string>(Object.entries(options.liquidity ?? {}));
  const feeRate = options.feeRate ?? "0.001";
  const maxWorking = options.maxWorkingOrders ?? 100_000;
  const maxFinished = options.maxFinishedOrders ?? 10_000;
  const { clock, ids } = options;
  /** By venue client order id: what a real venue lets us query by. */
  const working = new Map<string, PaperOrder>();
  // A linked map: evicting the oldest is O(1) (a plain Map's keys().next() is not, see linked-map.ts).
  const finished = createLinkedMap<string, PaperOrder>();
  const feeCurrency = new Map<string, string>();
  const wallet = options.balances === undefined ? undefined : new Map<string, Decimal | string>(Object.entries(options.balances));

  /** Moves the wallet by one fill (only when balances are configured). */
  function book(order: Order, fill: VenueFill): void {
    if (wallet === undefined) return;
    const quote = quoteCurrency(order.symbol);
    const base = order.symbol.slice(0, Math.max(0, order.symbol.length - quote.length - 1)) || order.symbol;
    const notional = mul(fill.quantity, fill.price);
    const get = (asset: string): Decimal | string => wallet.get(asset) ?? "0";
    if (order.side === Side.BUY) {
      wallet.set(base, add(get(base), fill.quantity));
      wallet.set(quote, sub(sub(get(quote), notional), fill.fee));
    } else {
      wallet.set(base, sub(get(base), fill.quantity));
      wallet.set(quote, sub(add(get(quote), notional), fill.fee));
    }
  }

  function quoteCurrency(symbol: string): string {
    let c = feeCurrency.get(symbol);
    if (c === undefined) {
      const i = Math.max(symbol.lastIndexOf("-"), symbol.lastIndexOf("/"));
      c = i >= 0 ? symbol.slice(i + 1) : "USD";
      feeCurrency.set(symbol, c);
    }
    return c;
  }

  /**
   * Fee per (symbol, quantity) at the current reference price, memoized: clients send the same
   * few quantities over and over, and decimal multiplication is the paper venue's main cost.
   * Bounded (cleared when large) and dropped when the price moves.
   */
  const fees = new Map<string, Map<string, string>>();
  function feeFor(symbol: string, qty: string, ref: string): string {
    let bySymbol = fees.get(symbol);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      fees.set(symbol, bySymbol);
    }
    let fee = bySymbol.get(qty);
    if (fee === undefined) {
      fee = formatDecimal(mul(mul(qty, ref), feeRate));
      if (bySymbol.size >= 1024) bySymbol.clear();
      bySymbol.set(qty, fee);
    }
    return fee;
  }

  function finish(key: string, po: PaperOrder): void {
    working.delete(key);
    finished.set(key, po);
    if (finished.size > maxFinished) finished.shift();
  }

  function toUpdate(po: PaperOrder, fills: readonly VenueFill[]): VenueOrderUpdate {
    return {
      status: po.status,
      venueOrderId: po.venueOrderId,
      filledQuantity: po.filled,
      averageFillPrice: po.average,
      fills,
      ...(po.rejectReason !== "" ? { rejectReason: po.rejectReason } : {}),
    };
  }

  function execute(order: Order, ref: string): Result<VenueOrderUpdate, VenueError> {
    const key = order.venueClientOrderId;
    const isLimit = order.type === OrderType.LIMIT;
    const crosses =
      !isLimit || (order.side === Side.BUY ? compare(order.price, ref) >= 0 : compare(order.price, ref) <= 0);
    const liq = liquidity.get(order.symbol);
    const available = crosses ? (liq === undefined ? order.quantity : formatDecimal(min(order.quantity, liq))) : "0";
    const full = available === order.quantity || (liq !== undefined && compare(available, order.quantity) === 0);
    const tif = order.timeInForce;
    const rests = isLimit && (tif === TimeInForce.GTC || tif === TimeInForce.DAY);

    let qty = available;
    let status: OrderStatus;
    if (tif === TimeInForce.FOK && !full) {
      qty = "0";
      status = OrderStatus.EXPIRED;
    } else if (full) {
      status = OrderStatus.FILLED;
    } else if (rests) {
      if (working.size >= maxWorking) {
        return err({ kind: "rejected", reason: `paper venue: too many working orders (max ${maxWorking})`, code: "TOO_MANY_ORDERS" });
      }
      status = qty === "0" ? OrderStatus.NEW : OrderStatus.PARTIALLY_FILLED;
    } else {
      // IOC remainder, or a MARKET order larger than the liquidity.
      status = OrderStatus.CANCELED;
    }

    const fills: VenueFill[] = [];
    // qty is "0", a validated positive quantity, or formatDecimal output (which writes zero as "0").
    if (qty !== "0") {
      fills.push({
        venueTradeId: `${name}-t-${ids.next()}`,
        quantity: qty,
        price: ref,
        fee: feeFor(order.symbol, qty, ref),
        feeCurrency: quoteCurrency(order.symbol),
        timeMs: clock.nowMs(),
      });
      book(order, fills[0]!);
    }
    const po: PaperOrder = {
      venueOrderId: `${name}-${ids.next()}`,
      status,
      filled: qty,
      average: fills.length > 0 ? ref : "",
      fills,
      rejectReason: "",
    };
    if (status === OrderStatus.NEW || status === OrderStatus.PARTIALLY_FILLED) {
      po.spec = order;
      working.set(key, po);
    } else finish(key, po);
    return ok(toUpdate(po, fills));
  }

  function cancelOne(order: Order): Result<VenueOrderUpdate, VenueError> {
    const key = order.venueClientOrderId;
    const po = working.get(key);
    if (po === undefined) {
      const done = finished.get(key);
      if (done !== undefined) return err({ kind: "rejected", reason: `order is already ${OrderStatus[done.status]}`, code: "ORDER_CLOSED" });
      return err({ kind: "not_found", reason: `unknown order ${key}` });
    }
    po.status = OrderStatus.CANCELED;
    finish(key, po);
    return ok(toUpdate(po, []));
  }

  return {
    name,
    kind: "paper",
    checkSymbol(symbol: string): string | undefined {
      return refs.has(symbol) ? undefined : `not traded on ${name}; symbols: ${[...refs.keys()].join(", ")}`;
    },
    checkOrderShape(type: OrderType, tif: TimeInForce): string | undefined {
      if (type === OrderType.MARKET && (tif === TimeInForce.GTC || tif === TimeInForce.DAY)) {
        return `${TimeInForce[tif]} is not accepted for MARKET orders on ${name}: a market order cannot rest; use IOC or FOK`;
      }
      if ((type === OrderType.STOP || type === OrderType.STOP_LIMIT) && (tif === TimeInForce.IOC || tif === TimeInForce.FOK)) {
        return `${TimeInForce[tif]} is not accepted for ${OrderType[type]} orders on ${name}: stop orders rest until triggered; use GTC or DAY`;
      }
      return undefined;
    },
    referencePrice(symbol: string): string | undefined {
      return refs.get(symbol);
    },
    setReferencePrice(symbol: string, price: string): void {
      refs.set(symbol, price);
      fees.delete(symbol);
    },
    get workingCount(): number {
      return working.size;
    },
    async placeOrder(order: Order): Promise<Result<VenueOrderUpdate, VenueError>> {
      const key = order.venueClientOrderId;
      if (working.has(key) || finished.has(key)) {
        // What real venues do with a reused client order id; the gateway's idempotency should never let this happen.
        return err({ kind: "rejected", reason: `duplicate client order id ${key}`, code: "DUPLICATE_CLIENT_ORDER_ID" });
      }
      const ref = refs.get(order.symbol);
      if (ref === undefined) return err({ kind: "rejected", reason: `symbol ${order.symbol} is not traded on ${name}` });
      if (order.type === OrderType.STOP || order.type === OrderType.STOP_LIMIT) {
        if (working.size >= maxWorking) {
          return err({ kind: "rejected", reason: `paper venue: too many working orders (max ${maxWorking})`, code: "TOO_MANY_ORDERS" });
        }
        const po: PaperOrder = { venueOrderId: `${name}-${ids.next()}`, status: OrderStatus.NEW, filled: "0", average: "", fills: [], rejectReason: "", spec: order };
        working.set(key, po);
        return ok(toUpdate(po, []));
      }
      return execute(order, ref);
    },
    async cancelOrder(order: Order): Promise<Result<VenueOrderUpdate, VenueError>> {
      return cancelOne(order);
    },
    // Every order of the paper venue is the gateway's: its mass cancel always fits the scope.
    async cancelAll(scope: MassCancelScope): Promise<MassCancelAnswer> {
      return new Map(scope.orders.map((o) => [o.orderId, cancelOne(o)]));
    },
    // Amends in place, keeping the venue order (as Kraken AmendOrder does). A LIMIT order whose new
    // price crosses the reference price fills its remainder there, as a book would match it.
    async amendOrder(order: Order, amend: VenueAmend): Promise<Result<VenueAmendResult, VenueError>> {
      const key = order.venueClientOrderId;
      const po = working.get(key);
      if (po === undefined) {
        const done = finished.get(key);
        if (done !== undefined) return err({ kind: "rejected", reason: `order is already ${OrderStatus[done.status]}`, code: "ORDER_CLOSED" });
        return err({ kind: "not_found", reason: `unknown order ${key}` });
      }
      if (compare(amend.quantity, po.filled) <= 0) {
        return err({ kind: "rejected", reason: `new quantity ${amend.quantity} does not exceed the filled ${po.filled}`, code: "INVALID_QUANTITY" });
      }
      const ref = refs.get(order.symbol);
      const fills: VenueFill[] = [];
      if (order.type === OrderType.LIMIT && ref !== undefined && (order.side === Side.BUY ? compare(amend.price, ref) >= 0 : compare(amend.price, ref) <= 0)) {
        const qty = formatDecimal(sub(amend.quantity, po.filled));
        const f: VenueFill = { venueTradeId: `${name}-t-${ids.next()}`, quantity: qty, price: ref, fee: feeFor(order.symbol, qty, ref), feeCurrency: quoteCurrency(order.symbol), timeMs: clock.nowMs() };
        po.fills.push(f);
        fills.push(f);
        // The average over the earlier fills and this one.
        po.average = po.filled === "0" ? ref : formatDecimal(div(add(mul(po.filled, po.average), mul(qty, ref)), amend.quantity));
        po.filled = amend.quantity;
        po.status = OrderStatus.FILLED;
        finish(key, po);
      }
      return ok({ update: toUpdate(po, fills), newVenueOrder: false });
    },
    async queryOrder(order: Order): Promise<Result<VenueOrderUpdate, VenueError>> {
      const key = order.venueClientOrderId;
      const po = working.get(key) ?? finished.get(key);
      if (po === undefined) return err({ kind: "not_found", reason: `unknown order ${key}` });
      return ok(toUpdate(po, po.fills));
    },
    ...(wallet !== undefined
      ? {
          async fetchBalances(): Promise<Result<VenueBalance[], VenueError>> {
            const out: VenueBalance[] = [];
            for (const [asset, amount] of wallet) if (!isZero(amount)) out.push({ asset, free: formatDecimal(amount), locked: "0" });
            return ok(out);
          },
        }
      : {}),
    async listOpenOrders(): Promise<Result<VenueOpenOrder[], VenueError>> {
      const out: VenueOpenOrder[] = [];
      for (const [key, po] of working) {
        const sp = po.spec;
        if (sp === undefined) continue;
        out.push({
          venueOrderId: po.venueOrderId,
          venueClientOrderId: key,
          symbol: sp.symbol,
          side: sp.side,
          type: sp.type,
          timeInForce: sp.timeInForce,
          quantity: sp.quantity,
          price: sp.price,
          stopPrice: sp.stopPrice,
          status: po.status,
          filledQuantity: po.filled,
          averageFillPrice: po.average,
          createdAtMs: sp.createdAtMs,
        });
      }
      return ok(out);
    },
    cancelAtVenue(venueClientOrderId: string): boolean {
      const po = working.get(venueClientOrderId);
      if (po === undefined) return false;
      po.status = OrderStatus.CANCELED;
      finish(venueClientOrderId, po);
      return true;
    },
    placeExternal(venueClientOrderId, spec): string {
      const po: PaperOrder = { venueOrderId: `${name}-${ids.next()}`, status: OrderStatus.NEW, filled: "0", average: "", fills: [], rejectReason: "", spec };
      working.set(venueClientOrderId, po);
      return po.venueOrderId;
    },
    async close(): Promise<void> {
      working.clear();
      finished.clear();
    },
  };
}


