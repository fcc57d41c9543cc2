import type { DecimalMath, Num } from "../domain/decimal-math.js";
import { scaledDecimalMath } from "../domain/scaled-decimal-math.js";
import { OrderType, Side, type Order } from "../domain/order.js";
import { isTerminal } from "../domain/order-state.js";

/** What one (account, venue, symbol)'s open orders could still fill. */
export interface OpenSides {
  /** Open quantity of buy orders. */
  readonly buy: Num;
  readonly sell: Num;
  /** The priced part of it (LIMIT, STOP_LIMIT at their limit price, STOP at its stop price) as notional. */
  readonly buyNotional: Num;
  readonly sellNotional: Num;
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
  buyNotional: Num;
  sellNotional: Num;
}

function priceOf(o: Order): string {
  return o.type === OrderType.STOP ? o.stopPrice : o.type === OrderType.MARKET ? "" : o.price;
}

/** `onChange` is told of every (account, venue, symbol) whose open quantity moved. */
export function createOpenOrderExposure(onChange?: (account: string, venue: string, symbol: string) => void, math: DecimalMath = scaledDecimalMath): OpenOrderExposure {
  const ZERO = math.zero;

  function remaining(o: Order): Num | undefined {
    if (isTerminal(o.status)) return undefined;
    const r = o.filledQuantity === "" || o.filledQuantity === "0" ? math.parse(o.quantity) : math.sub(math.parse(o.quantity), math.parse(o.filledQuantity));
    return math.sign(r) > 0 ? r : undefined;
  }

  /** account -> "venue\u0000symbol" -> sides. */
  const byAccount = new Map<string, Map<string, Sides>>();
  let size = 0;
  const keyOf = (venue: string, symbol: string): string => `${venue}\u0000${symbol}`;

  function addTo(o: Order, amount: Num): void {
    let m = byAccount.get(o.account);
    if (m === undefined) {
      m = new Map();
      byAccount.set(o.account, m);
    }
    const key = keyOf(o.venue, o.symbol);
    let s = m.get(key);
    if (s === undefined) {
      s = { venue: o.venue, symbol: o.symbol, buy: ZERO, sell: ZERO, buyNotional: ZERO, sellNotional: ZERO };
      m.set(key, s);
      size++;
    }
    const price = priceOf(o);
    const notional = price === "" ? undefined : math.mul(amount, math.parse(price));
    if (o.side === Side.SELL) {
      s.sell = math.add(s.sell, amount);
      if (notional !== undefined) s.sellNotional = math.add(s.sellNotional, notional);
    } else {
      s.buy = math.add(s.buy, amount);
      if (notional !== undefined) s.buyNotional = math.add(s.buyNotional, notional);
    }
    if (math.isZero(s.buy) && math.isZero(s.sell)) {
      m.delete(key);
      size--;
      if (m.size === 0) byAccount.delete(o.account);
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
      const s = byAccount.get(account)?.get(keyOf(venue, symbol));
      if (s === undefined) return ZERO;
      return side === Side.SELL ? s.sell : s.buy;
    },
    sides(account: string, venue: string, symbol: string): OpenSides | undefined {
      return byAccount.get(account)?.get(keyOf(venue, symbol));
    },
    forEachOfAccount(account: string, f: (venue: string, symbol: string, sides: OpenSides) => void): void {
      const m = byAccount.get(account);
      if (m !== undefined) for (const s of m.values()) f(s.venue, s.symbol, s);
    },
    get size(): number {
      return size;
    },
    math,
  };
}
