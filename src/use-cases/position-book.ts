import type { DecimalMath, Num, Wide } from "../domain/decimal-math.js";
import { scaledDecimalMath } from "../domain/scaled-decimal-math.js";
import type { Fill } from "../domain/order.js";
import { applyFillToPosition, type Position, type PositionFigures } from "../domain/position.js";

/** Told of each position a fill changed: the new position, the fill, the P&L it booked ("0" if none). */
export type PositionListener = (position: Position, fill: Fill, realized: string) => void;

export interface PositionFilter {
  /** "" or undefined = every venue. */
  readonly venue?: string;
  /** "" or undefined = every symbol. */
  readonly symbol?: string;
}

const DAY_MS = 86_400_000;

/** The UTC day a time falls in, as days since 1970-01-01. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/**
 * Positions per (account, venue, symbol), kept from recorded fills. The order manager feeds it
 * each new fill once (OrderManagerOptions.onFillRecorded) and recovery feeds it every fill in the
 * audit log (RecoverOptions.onFill). A fill whose sequence is not above its position's last one
 * is ignored, so feeding the same fill twice changes nothing.
 */
export interface PositionBook {
  /** Applies a recorded fill; returns the new position, or undefined when it was already applied. */
  applyFill(fill: Fill): Position | undefined;
  get(account: string, venue: string, symbol: string): Position | undefined;
  /** The signed quantity (zero when there is no position): for the risk check, no string parsing. */
  quantity(account: string, venue: string, symbol: string): Num;
  /** An account's positions (flat ones with booked P&L included), by venue then symbol. */
  list(account: string, filter?: PositionFilter): Position[];
  /** Every position of an account, in no particular order (the risk check's exposure sums). */
  forEachOfAccount(account: string, f: (p: Position, quantity: Num) => void): void;
  /** The account's realized P&L booked by fills executed on the UTC day of `dayMs` (zero if none). */
  dailyRealized(account: string, dayMs: number): Wide;
  /** Accounts with positions. */
  accounts(): Iterable<string>;
  /** Subscribes to position changes; returns the unsubscribe function. Listeners must not throw. */
  onPositionChanged(listener: PositionListener): () => void;
  /** Positions held (all accounts). */
  readonly size: number;
  /** The arithmetic its numbers are in (quantity, dailyRealized). */
  readonly math: DecimalMath;
}

interface Entry {
  position: Position;
  quantity: Num;
  /** The position's figures as decimals: the next fill does not re-parse them. */
  figures: PositionFigures;
}

export interface PositionBookOptions {
  /** Default scaledDecimalMath (the DECIMAL_MATH setting). */
  readonly math?: DecimalMath;
}

export function createPositionBook(options: PositionBookOptions = {}): PositionBook {
  const math = options.math ?? scaledDecimalMath;
  const ZERO = math.zero;
  /** account -> "venue\u0000symbol" -> entry. */
  const byAccount = new Map<string, Map<string, Entry>>();
  /** account -> realized P&L of one UTC day (the latest day seen). */
  const daily = new Map<string, { day: number; pnl: Wide }>();
  const listeners = new Set<PositionListener>();
  let size = 0;

  const keyOf = (venue: string, symbol: string): string => `${venue}\u0000${symbol}`;

  return {
    applyFill(fill: Fill): Position | undefined {
      let positions = byAccount.get(fill.account);
      if (positions === undefined) {
        positions = new Map();
        byAccount.set(fill.account, positions);
      }
      const key = keyOf(fill.venue, fill.symbol);
      const entry = positions.get(key);
      if (entry !== undefined && fill.sequence <= entry.position.lastFillSequence) return undefined;
      const step = applyFillToPosition(entry?.position, fill, entry?.figures, math);
      const position = step.position;
      if (entry === undefined) {
        positions.set(key, { position, quantity: step.quantity, figures: step.figures });
        size++;
      } else {
        entry.position = position;
        entry.quantity = step.quantity;
        entry.figures = step.figures;
      }
      if (step.realized !== "0") {
        // Tallied by the day the fill executed: a late report of yesterday's fill does not count today.
        const day = utcDay(fill.timeMs);
        const d = daily.get(fill.account);
        if (d === undefined || d.day < day) daily.set(fill.account, { day, pnl: step.realizedNum });
        else if (d.day === day) d.pnl = math.add(d.pnl, step.realizedNum);
      }
      for (const l of listeners) l(position, fill, step.realized);
      return position;
    },
    get(account: string, venue: string, symbol: string): Position | undefined {
      return byAccount.get(account)?.get(keyOf(venue, symbol))?.position;
    },
    quantity(account: string, venue: string, symbol: string): Num {
      return byAccount.get(account)?.get(keyOf(venue, symbol))?.quantity ?? ZERO;
    },
    list(account: string, filter?: PositionFilter): Position[] {
      const positions = byAccount.get(account);
      if (positions === undefined) return [];
      const venue = filter?.venue ?? "";
      const symbol = filter?.symbol ?? "";
      const out: Position[] = [];
      for (const e of positions.values()) {
        const p = e.position;
        if ((venue === "" || p.venue === venue) && (symbol === "" || p.symbol === symbol)) out.push(p);
      }
      // Code-unit order, not locale order: stable across machines.
      return out.sort((a, b) => (a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    },
    forEachOfAccount(account: string, f: (p: Position, quantity: Num) => void): void {
      const positions = byAccount.get(account);
      if (positions !== undefined) for (const e of positions.values()) f(e.position, e.quantity);
    },
    dailyRealized(account: string, dayMs: number): Wide {
      const d = daily.get(account);
      return d !== undefined && d.day === utcDay(dayMs) ? d.pnl : math.zeroWide;
    },
    accounts(): Iterable<string> {
      return byAccount.keys();
    },
    onPositionChanged(listener: PositionListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size(): number {
      return size;
    },
    math,
  };
}
