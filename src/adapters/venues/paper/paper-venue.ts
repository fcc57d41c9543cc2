import { add, compare, formatDecimal, isZero, min, mul, sub, div } from "../../../domain/decimal.js";
import { Decimal } from "../../../domain/decimal.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../domain/order.js";
import { err, ok, type Result } from "../../../domain/result.js";
import type { Clock, IdSource } from "../../../domain/ports.js";
import { createLinkedMap } from "../../../shared/linked-map.js";
import { createPriceWalk, type PriceWalkOptions } from "./price-walk.js";
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
  /**
   * Reference prices follow a seeded random walk (price-walk.ts), and resting LIMIT and STOP
   * orders fill when the walk reaches them (reported through onOrderUpdate). Absent: fixed
   * prices that move only by setReferencePrice.
   */
  readonly walk?: PriceWalkOptions;
  /** The walk's timer; default setTimeout, unref'd (tests pass manual timers or call step()). */
  readonly timers?: PaperTimers;
}

/** One-shot timers for the walk (test/helpers/manual-timers.ts fits). */
export interface PaperTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: PaperTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Told each change the walk makes to a gateway order: its order id and the venue's update. */
export type PaperOrderListener = (orderId: string, update: VenueOrderUpdate) => void;

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
  fills: VenueFill[];
  readonly rejectReason: string;
  /** The gateway's order id, for the walk's reports; unset for orders placed outside the gateway. */
  orderId?: string;
  /** The walk step at which the order (or its last amend) came to rest; the walk fills it from the second step after. */
  since?: number;
  /** A STOP or STOP_LIMIT whose stop price the walk reached. */
  triggered?: boolean;
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
  /** Registers a listener for the fills the walk makes (the composition root feeds them to the order manager). */
  onOrderUpdate(listener: PaperOrderListener): void;
  /** Moves the walk one step now and matches resting orders (what the timer does); no-op with fixed prices. */
  step(): void;
}

/** The paper venue behind a VenueAdapter, when it is one (the composition root subscribes to its walk). */
export function asPaperVenue(adapter: VenueAdapter): PaperVenue | undefined {
  return adapter.kind === "paper" && typeof (adapter as Partial<PaperVenue>).onOrderUpdate === "function" ? (adapter as PaperVenue) : undefined;
}

/**
 * A simulated exchange with infinite patience and (by default) infinite
 * liquidity at one reference price per symbol:
 * - MARKET fills at the reference price (up to the symbol's liquidity; a
 *   remainder is canceled, or the order expires unfilled if FOK).
 * - LIMIT fills at the reference price if it crosses (BUY limit >= ref, SELL
 *   limit <= ref); otherwise it rests NEW (GTC/DAY), is CANCELED (IOC) or
 *   EXPIRED (FOK). A partially filled GTC/DAY LIMIT rests PARTIALLY_FILLED.
 * - STOP and STOP_LIMIT rest as NEW. With fixed prices they never trigger (there is
 *   no price feed, so a trigger would be invented). With a walk (options.walk) the
 *   reference prices move every intervalMs, and on each step resting orders are matched:
 *   a LIMIT fills at its limit price once the reference reaches it, a STOP triggers when
 *   the reference reaches the stop price and then fills at the reference (STOP_LIMIT then
 *   works as a LIMIT), at most walk.depthNotional per order and step (partial fills).
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
  function book(order: Pick<Order, "symbol" | "side">, fill: VenueFill): void {
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
      if (walk !== undefined) {
        po.orderId = order.orderId;
        po.since = stepNo;
      }
      working.set(key, po);
    } else finish(key, po);
    return ok(toUpdate(po, fills));
  }

  // --- the walk ---
  const walk = options.walk === undefined ? undefined : createPriceWalk(options.walk);
  const depth = options.walk?.depthNotional;
  const timers = options.timers ?? realTimers;
  const listeners: PaperOrderListener[] = [];
  let stepNo = 0;
  let timer: unknown;
  let closed = false;
  function schedule(): void {
    if (walk === undefined || closed) return;
    timer = timers.set(() => {
      timer = undefined;
      stepMarket();
      schedule();
    }, options.walk!.intervalMs);
  }

  /** The price a resting order fills at now, or undefined if the reference has not reached it. */
  function fillPrice(po: PaperOrder, sp: NonNullable<PaperOrder["spec"]>, ref: string): string | undefined {
    const buy = sp.side === Side.BUY;
    if (sp.type === OrderType.STOP || sp.type === OrderType.STOP_LIMIT) {
      if (po.triggered !== true) {
        if (!(buy ? compare(ref, sp.stopPrice) >= 0 : compare(ref, sp.stopPrice) <= 0)) return undefined;
        po.triggered = true;
      }
      if (sp.type === OrderType.STOP) return ref;
    } else if (sp.type !== OrderType.LIMIT) return undefined;
    // A resting limit is hit when the market comes to it, and fills at its own price.
    return (buy ? compare(ref, sp.price) <= 0 : compare(ref, sp.price) >= 0) ? sp.price : undefined;
  }

  function stepMarket(): void {
    if (walk === undefined) return;
    stepNo += 1;
    for (const [symbol, price] of walk.step(refs)) {
      refs.set(symbol, price);
      fees.delete(symbol);
    }
    // Deleting the visited entry (finish) while iterating a Map is safe.
    for (const [key, po] of working) {
      const sp = po.spec;
      // Not in the step it rested in nor the next: the gateway has recorded the placement's answer before a fill of it arrives.
      if (sp === undefined || po.since === undefined || po.since + 1 >= stepNo) continue;
      const ref = refs.get(sp.symbol);
      if (ref === undefined) continue;
      const px = fillPrice(po, sp, ref);
      if (px === undefined) continue;
      const remaining = sub(sp.quantity, po.filled);
      let qty = remaining;
      if (depth !== undefined) {
        const most = div(depth, px).toDecimalPlaces(8, Decimal.ROUND_DOWN);
        if (!most.isZero() && most.lessThan(remaining)) qty = most;
      }
      const q = formatDecimal(qty);
      const fill: VenueFill = {
        venueTradeId: `${name}-t-${ids.next()}`,
        quantity: q,
        price: px,
        fee: formatDecimal(mul(mul(q, px), feeRate)),
        feeCurrency: quoteCurrency(sp.symbol),
        timeMs: clock.nowMs(),
      };
      book(sp, fill);
      const filled = add(po.filled, q);
      po.average = po.filled === "0" ? px : formatDecimal(div(add(mul(po.filled, po.average), mul(q, px)), filled));
      po.filled = formatDecimal(filled);
      po.fills = [...po.fills, fill];
      if (compare(filled, sp.quantity) >= 0) {
        po.status = OrderStatus.FILLED;
        finish(key, po);
      } else po.status = OrderStatus.PARTIALLY_FILLED;
      if (po.orderId !== undefined) {
        const update = toUpdate(po, [fill]);
        for (const l of listeners) l(po.orderId, update);
      }
    }
  }
  schedule();

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
        if (walk !== undefined) {
          po.orderId = order.orderId;
          po.since = stepNo;
        }
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
      if (po.spec !== undefined) po.spec = { ...po.spec, quantity: amend.quantity, price: amend.price, stopPrice: amend.stopPrice };
      if (po.since !== undefined) po.since = stepNo;
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
    onOrderUpdate(listener: PaperOrderListener): void {
      listeners.push(listener);
    },
    step: stepMarket,
    async close(): Promise<void> {
      closed = true;
      if (timer !== undefined) timers.clear(timer);
      timer = undefined;
      working.clear();
      finished.clear();
    },
  };
}


