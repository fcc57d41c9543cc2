import { Decimal, dec, formatDecimal } from "../../../domain/decimal.js";

/** How the paper venue's reference prices move (PaperVenueOptions.walk). */
export interface PriceWalkOptions {
  /** Largest move of one step as a fraction of the price (decimal string), e.g. "0.001" = 10 bp. */
  readonly volatility: string;
  /** Prices are multiples of this (decimal string), per symbol or one for all; e.g. "0.01". */
  readonly tickSize: string | Readonly<Record<string, string>>;
  /** Milliseconds between steps. */
  readonly intervalMs: number;
  /** Seed of the pseudo-random sequence: the same seed and start prices give the same path. */
  readonly seed: number;
  /**
   * Most notional (quote currency, decimal string) one resting order fills per step; a larger
   * order fills partially, over several steps. Absent: a crossing order fills at once.
   */
  readonly depthNotional?: string;
}

/**
 * mulberry32: a tiny 32-bit PRNG. Its output only picks the size of a move; every price is
 * computed in decimal arithmetic, so one seed gives the same prices on every machine.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const HALF_RANGE = new Decimal(2 ** 31);

/** Rounds to the nearest multiple of `tick`, never below one tick (a price stays positive). */
export function roundToTick(price: Decimal, tick: Decimal): Decimal {
  const ticks = price.dividedBy(tick).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN);
  return (ticks.lessThan(1) ? new Decimal(1) : ticks).times(tick);
}

export interface PriceWalk {
  /** Moves every price one step (symbols in the order given at creation); returns the new prices. */
  step(prices: ReadonlyMap<string, string>): Map<string, string>;
}

/**
 * A seeded random walk: each step moves each symbol by u x volatility x price, u uniform in
 * [-1, 1) drawn as a 32-bit integer and turned into a decimal, rounded to the symbol's tick.
 */
export function createPriceWalk(options: PriceWalkOptions): PriceWalk {
  const next = mulberry32(options.seed);
  const vol = dec(options.volatility);
  const ticks = new Map<string, Decimal>();
  const tickOf = (symbol: string): Decimal => {
    let t = ticks.get(symbol);
    if (t === undefined) {
      const ts = options.tickSize;
      t = dec(typeof ts === "string" ? ts : (ts[symbol] ?? "0.01"));
      ticks.set(symbol, t);
    }
    return t;
  };
  return {
    step(prices) {
      const out = new Map<string, string>();
      for (const [symbol, price] of prices) {
        const u = new Decimal(next()).minus(HALF_RANGE).dividedBy(HALF_RANGE);
        const p = dec(price);
        out.set(symbol, formatDecimal(roundToTick(p.plus(p.times(vol).times(u)), tickOf(symbol))));
      }
      return out;
    },
  };
}
