import { MAX_DECIMAL_SCALE, dec } from "./decimal.js";
import type { DecimalMath, Num, Wide } from "./decimal-math.js";
import { scaledDecimalMath } from "./scaled-decimal-math.js";
import { Side, type Fill } from "./order.js";

/**
 * An account's holding of one symbol on one venue, kept from its fills. Decimal strings only.
 *
 * The arithmetic (average cost, the usual broker convention):
 * - The average entry price is the volume-weighted price of the fills that opened the current
 *   position. Fees are not folded in (they are summed apart). It is kept exact as
 *   `openCost / openQuantity` and shown rounded half-even to 18 fraction digits.
 * - A fill on the other side reduces the position: the average entry price does not change and
 *   the reducing side books realized P&L = (fill price - average entry price) x closed quantity
 *   x (+1 long, -1 short), with the average entry price as shown (so a client can redo the sum).
 * - A fill larger than the position flips it through zero: the closed part books P&L as above,
 *   and the remainder opens the new position at the fill's price.
 */
export interface Position {
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  /** Signed: positive long, negative short, "0" flat. */
  readonly quantity: string;
  /** "" when flat. */
  readonly averageEntryPrice: string;
  /** Booked by reducing fills, in the quote currency, before fees. Signed. */
  readonly realizedPnl: string;
  /** Fees charged in the quote currency (or with no currency named), summed. */
  readonly fees: string;
  /** Fees in any other currency (e.g. BNB), summed per currency. */
  readonly otherFees: Readonly<Record<string, string>>;
  readonly updatedAtMs: number;
  /** Fill.sequence of the last fill applied. */
  readonly lastFillSequence: bigint;
  /** Sum of price x quantity over the fills that opened the current position ("0" when flat). */
  readonly openCost: string;
  /** Sum of their quantities ("0" when flat); never shrinks while the position does. */
  readonly openQuantity: string;
}

/**
 * A position's figures as numbers of the book's DecimalMath, as the position book keeps them beside
 * the Position: applying the next fill then parses only the fill's own strings (positions are
 * updated on every fill).
 */
export interface PositionFigures {
  readonly quantity: Num;
  readonly openCost: Wide;
  readonly openQuantity: Num;
  /** The average entry price as shown (rounded); undefined when flat. */
  readonly average: Num | undefined;
  readonly realizedPnl: Wide;
  readonly fees: Num;
}

/** The position a fill made, and the P&L that fill booked (signed, "0" if it only opened). */
export interface PositionStep {
  readonly position: Position;
  readonly realized: string;
  /** The booked P&L as a number ("0" -> zero). */
  readonly realizedNum: Wide;
  /** `position.quantity` as a number (the book keeps it, saving a parse). */
  readonly quantity: Num;
  /** Every figure of `position` as numbers: pass it back with the next fill. */
  readonly figures: PositionFigures;
}

/**
 * A Wide from its string (a cost or P&L has up to 36 fraction digits): as the product of its
 * digits without the point and 10^-k, both Nums.
 */
function parseWide(math: DecimalMath, s: string): Wide {
  const dot = s.indexOf(".");
  if (dot < 0) return math.widen(math.parse(s));
  const high = s.length - dot - 1 - MAX_DECIMAL_SCALE;
  if (high <= 0) return math.widen(math.parse(s));
  // The point moved `high` places right leaves 18 fraction digits; times 10^-high puts it back.
  const shifted = `${s.slice(0, dot)}${s.slice(dot + 1, dot + 1 + high)}.${s.slice(dot + 1 + high)}`;
  return math.mul(math.parse(shifted), math.parse(`0.${"0".repeat(high - 1)}1`));
}

/** `p`'s figures parsed from its strings. */
export function figuresOf(p: Position, math: DecimalMath = scaledDecimalMath): PositionFigures {
  return {
    quantity: math.parse(p.quantity),
    openCost: parseWide(math, p.openCost),
    openQuantity: math.parse(p.openQuantity),
    average: p.averageEntryPrice === "" ? undefined : math.parse(p.averageEntryPrice),
    realizedPnl: parseWide(math, p.realizedPnl),
    fees: math.parse(p.fees),
  };
}

/**
 * The quote currency of a gateway symbol: the part after the last "-" or "/" ("BTC-USD" ->
 * "USD", "ETH/EUR" -> "EUR"), or "" when the symbol does not say (venues name symbols this way
 * in the gateway; venue-native names such as BTCUSDT live only in the venues file's symbol map).
 */
export function quoteCurrencyOf(symbol: string): string {
  const i = Math.max(symbol.lastIndexOf("-"), symbol.lastIndexOf("/"));
  return i >= 0 && i < symbol.length - 1 ? symbol.slice(i + 1) : "";
}

/** A fresh flat position (what `applyFillToPosition` starts from). */
export function flatPosition(account: string, venue: string, symbol: string): Position {
  return {
    account,
    venue,
    symbol,
    quantity: "0",
    averageEntryPrice: "",
    realizedPnl: "0",
    fees: "0",
    otherFees: {},
    updatedAtMs: 0,
    lastFillSequence: 0n,
    openCost: "0",
    openQuantity: "0",
  };
}

/**
 * Applies one fill (of this position's account, venue and symbol). Pure: `prev` is not touched.
 * `prev` undefined is a flat position. `prevFigures`, when given, must be `prev`'s figures (the
 * previous step's `figures`, of the same `math`); otherwise they are parsed from `prev`.
 */
export function applyFillToPosition(prev: Position | undefined, fill: Fill, prevFigures?: PositionFigures, math: DecimalMath = scaledDecimalMath): PositionStep {
  const m = math;
  const zero = m.zero;
  const p = prev ?? flatPosition(fill.account, fill.venue, fill.symbol);
  const n: PositionFigures =
    prevFigures ?? (prev === undefined ? { quantity: zero, openCost: m.zeroWide, openQuantity: zero, average: undefined, realizedPnl: m.zeroWide, fees: zero } : figuresOf(prev, m));
  const q0 = n.quantity;
  const price = m.parse(fill.price);
  const size = m.parse(fill.quantity);
  const delta = fill.side === Side.SELL ? m.neg(size) : size;
  const q1 = m.add(q0, delta);
  const s0 = m.sign(q0);

  let openCost = p.openCost;
  let openQuantity = p.openQuantity;
  let average = p.averageEntryPrice;
  let costD = n.openCost;
  let oqD = n.openQuantity;
  let averageD = n.average;
  let realized: Wide | undefined;

  if (s0 === 0 || s0 === m.sign(delta)) {
    // Opens or adds: the average moves to the VWAP of every opening fill.
    const first = s0 === 0;
    const cost = m.mul(price, size);
    costD = first ? cost : m.add(n.openCost, cost);
    oqD = first ? size : m.add(n.openQuantity, size);
    openCost = m.formatWide(costD);
    openQuantity = m.format(oqD);
    // The first opening fill's price is the average: no division.
    averageD = first ? price : m.div(costD, oqD, MAX_DECIMAL_SCALE);
    average = m.format(averageD);
  } else {
    // Reduces, closes or flips: P&L on the closed part at the unchanged average (as shown).
    const closed = m.min(size, m.abs(q0));
    const perUnit = m.sub(price, averageD ?? m.parse(average));
    realized = s0 < 0 ? m.neg(m.mul(perUnit, closed)) : m.mul(perUnit, closed);
    const s1 = m.sign(q1);
    if (s1 === 0) {
      openCost = "0";
      openQuantity = "0";
      average = "";
      costD = m.zeroWide;
      oqD = zero;
      averageD = undefined;
    } else if (s1 !== s0) {
      // Flipped through zero: the remainder opens at this fill's price.
      const rest = m.abs(q1);
      costD = m.mul(price, rest);
      oqD = rest;
      openCost = m.formatWide(costD);
      openQuantity = m.format(rest);
      averageD = price;
      average = m.format(price);
    }
  }

  let fees = p.fees;
  let feesD = n.fees;
  let otherFees = p.otherFees;
  const fee = fill.fee === "" ? undefined : m.parse(fill.fee);
  if (fee !== undefined && !m.isZero(fee)) {
    const cur = fill.feeCurrency;
    if (cur === "" || cur === quoteCurrencyOf(fill.symbol)) {
      feesD = m.add(n.fees, fee);
      fees = m.format(feesD);
    } else {
      const before = otherFees[cur];
      otherFees = { ...otherFees, [cur]: m.format(before === undefined ? fee : m.add(m.parse(before), fee)) };
    }
  }

  const realizedD = realized === undefined ? n.realizedPnl : m.add(n.realizedPnl, realized);
  const position: Position = {
    account: p.account,
    venue: p.venue,
    symbol: p.symbol,
    quantity: m.format(q1),
    averageEntryPrice: average,
    realizedPnl: realized === undefined ? p.realizedPnl : m.formatWide(realizedD),
    fees,
    otherFees,
    updatedAtMs: fill.timeMs,
    lastFillSequence: fill.sequence,
    openCost,
    openQuantity,
  };
  const figures: PositionFigures = { quantity: q1, openCost: costD, openQuantity: oqD, average: averageD, realizedPnl: realizedD, fees: feesD };
  return { position, realized: realized === undefined ? "0" : m.formatWide(realized), realizedNum: realized ?? m.zeroWide, quantity: q1, figures };
}

/**
 * True when an order of `side` and `quantity`, filled in full, leaves the position closer to
 * zero without crossing it: the only orders a REDUCE_ONLY account may place. `openSameSide` is
 * what the account's open orders on that side could still fill (default none): counted so that
 * several resting reducing orders cannot flip the position together.
 * Flat (or no position): nothing reduces it.
 */
export function reducesPosition(position: Position | undefined, side: Side, quantity: string, openSameSide = "0"): boolean {
  if (position === undefined) return false;
  const q = dec(position.quantity);
  if (q.isZero()) return false;
  // A sell reduces a long, a buy reduces a short.
  if ((side === Side.SELL) !== q.isPositive()) return false;
  return dec(quantity).plus(dec(openSameSide)).lessThanOrEqualTo(q.abs());
}
