import type { DecimalMath, Num, Wide } from "../domain/decimal-math.js";
import { scaledDecimalMath } from "../domain/scaled-decimal-math.js";
import { OrderType, Side, type Order } from "../domain/order.js";
import { isTerminal } from "../domain/order-state.js";

/** What one (account, venue, symbol)'s open orders could still fill. */
export interface OpenSides {
  /** Open quantity of buy orders. */
  readonly buy: Num;
  readonly sell: Num;
  /** The priced part of it (LIMIT, STOP_LIMIT at their limit price, STOP at its stop price) as notional. */
  readonly buyNotional: Wide;
  readonly sellNotional: Wide;
}

/**
 * What the open (not terminal) orders of each (account, venue, symbol) could still fill, per
 * side: the sum of quantity - filled quantity. Kept incrementally from every order state
 * (OrderManagerOptions.onOrderChange), so the risk check reads it in one lookup. An order
 * counts from PENDING_NEW (before the venue has acknowledged it: it may fill) until terminal.
 */
export interface OpenOrderExposure {
  orderChanged(prev: Order | undefined, next: Order): void;
  /** Open quantity on `side` (zero when none). */
  open(account: string, venue: string, symbol: string, side: Side): Num;
  /** Both sides, or undefined when nothing is open. */
  sides(account: string, venue: string, symbol: string): OpenSides | undefined;
  /** Every (venue, symbol) of the account with open orders. */
  forEachOfAccount(account: string, f: (venue: string, symbol: string, sides: OpenSides) => void): void;
  /** (account, venue, symbol) keys with open orders. */
  readonly size: number;
  /** The arithmetic its numbers are in. */
  readonly math: DecimalMath;
}

interface Sides {
  venue: string;
  symbol: string;
  buy: Num;
  sell: Num;
  buyNotional: Wide;
  sellNotional: Wide;
}

function priceOf(o: Order): string {
  return o.type === OrderType.STOP ? o.stopPrice : o.type === OrderType.MARKET ? "" : o.price;
}

/** Zeroed entries kept before a sweep (see createOpenOrderExposure). */
const MAX_IDLE = 10_000;

/** `onChange` is told of every (account, venue, symbol) whose open quantity moved. */
export function createOpenOrderExposure(onChange?: (account: string, venue: string, symbol: string) => void, math: DecimalMath = scaledDecimalMath): OpenOrderExposure {
  const ZERO = math.zero;

  function remaining(o: Order): Num | undefined {
    if (isTerminal(o.status)) return undefined;
    const r = o.filledQuantity === "" || o.filledQuantity === "0" ? math.parse(o.quantity) : math.sub(math.parse(o.quantity), math.parse(o.filledQuantity));
    return math.sign(r) > 0 ? r : undefined;
  }

  /**
   * account -> venue -> symbol -> sides. Nested maps: no key string is built per lookup. A key whose
   * open orders all ended keeps its (zeroed) entry, so an account trading one symbol does not
   * create and delete map entries on every order (allocation on the order path); the zeroed ones
   * are swept once there are more than MAX_IDLE of them, which bounds the memory of accounts that
   * come and go.
   */
  const byAccount = new Map<string, Map<string, Map<string, Sides>>>();
  let size = 0;
  let idle = 0;

  function entryOf(account: string, venue: string, symbol: string): Sides | undefined {
    return byAccount.get(account)?.get(venue)?.get(symbol);
  }
  const isOpen = (s: Sides): boolean => !math.isZero(s.buy) || !math.isZero(s.sell);

  function sweepIdle(): void {
    for (const [account, venues] of byAccount) {
      for (const [venue, symbols] of venues) {
        for (const [symbol, s] of symbols) if (!isOpen(s)) symbols.delete(symbol);
        if (symbols.size === 0) venues.delete(venue);
      }
      if (venues.size === 0) byAccount.delete(account);
    }
    idle = 0;
  }

  function addTo(o: Order, amount: Num): void {
    let venues = byAccount.get(o.account);
    if (venues === undefined) {
      venues = new Map();
      byAccount.set(o.account, venues);
    }
    let symbols = venues.get(o.venue);
    if (symbols === undefined) {
      symbols = new Map();
      venues.set(o.venue, symbols);
    }
    let s = symbols.get(o.symbol);
    if (s === undefined) {
      s = { venue: o.venue, symbol: o.symbol, buy: ZERO, sell: ZERO, buyNotional: math.zeroWide, sellNotional: math.zeroWide };
      symbols.set(o.symbol, s);
    } else if (!isOpen(s)) {
      idle--;
    }
    if (!isOpen(s)) size++;
    const price = priceOf(o);
    const notional = price === "" ? undefined : math.mul(amount, math.parse(price));
    if (o.side === Side.SELL) {
      s.sell = math.add(s.sell, amount);
      if (notional !== undefined) s.sellNotional = math.add(s.sellNotional, notional);
    } else {
      s.buy = math.add(s.buy, amount);
      if (notional !== undefined) s.buyNotional = math.add(s.buyNotional, notional);
    }
    if (!isOpen(s)) {
      size--;
      // Nothing open: the notionals are zero too (what was added is taken away at the same prices).
      s.buyNotional = math.zeroWide;
      s.sellNotional = math.zeroWide;
      if (++idle > MAX_IDLE) sweepIdle();
    }
  }

  return {
    orderChanged(prev: Order | undefined, next: Order): void {
      // Most changes (PENDING_NEW -> NEW, a cancel request) move no quantity: told apart by string
      // equality before any decimal is parsed (the decimal path below costs a few microseconds).
      if (
        prev !== undefined &&
        prev.quantity === next.quantity &&
        prev.filledQuantity === next.filledQuantity &&
        isTerminal(prev.status) === isTerminal(next.status) &&
        priceOf(prev) === priceOf(next)
      ) {
        return;
      }
      const before = prev === undefined ? undefined : remaining(prev);
      const after = remaining(next);
      if (before === undefined && after === undefined) return;
      if (before !== undefined && after !== undefined && math.cmp(before, after) === 0 && priceOf(prev!) === priceOf(next)) return;
      if (before !== undefined) addTo(prev!, math.neg(before));
      if (after !== undefined) addTo(next, after);
      onChange?.(next.account, next.venue, next.symbol);
    },
    open(account: string, venue: string, symbol: string, side: Side): Num {
      const s = entryOf(account, venue, symbol);
      if (s === undefined) return ZERO;
      return side === Side.SELL ? s.sell : s.buy;
    },
    sides(account: string, venue: string, symbol: string): OpenSides | undefined {
      const s = entryOf(account, venue, symbol);
      return s !== undefined && isOpen(s) ? s : undefined;
    },
    forEachOfAccount(account: string, f: (venue: string, symbol: string, sides: OpenSides) => void): void {
      const venues = byAccount.get(account);
      if (venues === undefined) return;
      for (const symbols of venues.values()) for (const s of symbols.values()) if (isOpen(s)) f(s.venue, s.symbol, s);
    },
    get size(): number {
      return size;
    },
    math,
  };
}
