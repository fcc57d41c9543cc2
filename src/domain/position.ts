import { Decimal, MAX_DECIMAL_SCALE, dec, formatDecimal } from "./decimal.js";
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
 * A position's figures as decimals, as the position book keeps them beside the Position: applying
 * the next fill then parses only the fill's own strings (each parse and format costs about a
 * microsecond; positions are updated on every fill).
 */
export interface PositionFigures {
  readonly quantity: Decimal;
  readonly openCost: Decimal;
  readonly openQuantity: Decimal;
  /** The average entry price as shown (rounded); undefined when flat. */
  readonly average: Decimal | undefined;
  readonly realizedPnl: Decimal;
  readonly fees: Decimal;
}

/** The position a fill made, and the P&L that fill booked (signed, "0" if it only opened). */
export interface PositionStep {
  readonly position: Position;
  readonly realized: string;
  /** `position.quantity` as a decimal (the book keeps it, saving a parse). */
  readonly quantity: Decimal;
  /** Every figure of `position` as a decimal: pass it back with the next fill. */
  readonly figures: PositionFigures;
}

/** `p`'s figures parsed from its strings. */
export function figuresOf(p: Position): PositionFigures {
  return {
    quantity: dec(p.quantity),
    openCost: dec(p.openCost),
    openQuantity: dec(p.openQuantity),
    average: p.averageEntryPrice === "" ? undefined : dec(p.averageEntryPrice),
    realizedPnl: dec(p.realizedPnl),
    fees: dec(p.fees),
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

const ZERO = new Decimal(0);
const FLAT: PositionFigures = { quantity: ZERO, openCost: ZERO, openQuantity: ZERO, average: undefined, realizedPnl: ZERO, fees: ZERO };

function signed(side: Side, qty: Decimal): Decimal {
  return side === Side.SELL ? qty.negated() : qty;
}

/** Plain notation of a decimal (formatDecimal without the parse). */
function plain(d: Decimal): string {
  return d.isZero() ? "0" : d.toFixed();
}

/**
 * Applies one fill (of this position's account, venue and symbol). Pure: `prev` is not touched.
 * `prev` undefined is a flat position. `prevFigures`, when given, must be `prev`'s figures (the
 * previous step's `figures`); otherwise they are parsed from `prev`.
 */
export function applyFillToPosition(prev: Position | undefined, fill: Fill, prevFigures?: PositionFigures): PositionStep {
  const p = prev ?? flatPosition(fill.account, fill.venue, fill.symbol);
  const n = prevFigures ?? (prev === undefined ? FLAT : figuresOf(prev));
  const q0 = n.quantity;
  const price = dec(fill.price);
  const delta = signed(fill.side, dec(fill.quantity));
  const q1 = q0.plus(delta);

  let openCost = p.openCost;
  let openQuantity = p.openQuantity;
  let average = p.averageEntryPrice;
  let costD = n.openCost;
  let oqD = n.openQuantity;
  let averageD = n.average;
  let realized: Decimal | undefined;

  if (q0.isZero() || q0.isNegative() === delta.isNegative()) {
    // Opens or adds: the average moves to the VWAP of every opening fill.
    const first = q0.isZero();
    costD = first ? price.times(delta.abs()) : n.openCost.plus(price.times(delta.abs()));
    oqD = first ? delta.abs() : n.openQuantity.plus(delta.abs());
    openCost = costD.toFixed();
    openQuantity = oqD.toFixed();
    // The first opening fill's price is the average: no division.
    averageD = first ? price : costD.dividedBy(oqD).toDecimalPlaces(MAX_DECIMAL_SCALE, Decimal.ROUND_HALF_EVEN);
    average = plain(averageD);
  } else {
    // Reduces, closes or flips: P&L on the closed part at the unchanged average (as shown).
    const closed = Decimal.min(delta.abs(), q0.abs());
    const perUnit = price.minus(averageD ?? dec(average));
    realized = q0.isNegative() ? perUnit.times(closed).negated() : perUnit.times(closed);
    if (q1.isZero()) {
      openCost = "0";
      openQuantity = "0";
      average = "";
      costD = ZERO;
      oqD = ZERO;
      averageD = undefined;
    } else if (q1.isNegative() !== q0.isNegative()) {
      // Flipped through zero: the remainder opens at this fill's price.
      const rest = q1.abs();
      costD = price.times(rest);
      oqD = rest;
      openCost = costD.toFixed();
      openQuantity = rest.toFixed();
      averageD = price;
      average = plain(price);
    }
  }

  let fees = p.fees;
  let feesD = n.fees;
  let otherFees = p.otherFees;
  const fee = fill.fee === "" ? undefined : dec(fill.fee);
  if (fee !== undefined && !fee.isZero()) {
    const cur = fill.feeCurrency;
    if (cur === "" || cur === quoteCurrencyOf(fill.symbol)) {
      feesD = n.fees.plus(fee);
      fees = plain(feesD);
    } else {
      const before = otherFees[cur];
      otherFees = { ...otherFees, [cur]: formatDecimal(before === undefined ? fee : dec(before).plus(fee)) };
    }
  }

  const realizedD = realized === undefined ? n.realizedPnl : n.realizedPnl.plus(realized);
  const position: Position = {
    account: p.account,
    venue: p.venue,
    symbol: p.symbol,
    quantity: plain(q1),
    averageEntryPrice: average,
    realizedPnl: realized === undefined ? p.realizedPnl : plain(realizedD),
    fees,
    otherFees,
    updatedAtMs: fill.timeMs,
    lastFillSequence: fill.sequence,
    openCost,
    openQuantity,
  };
  const figures: PositionFigures = { quantity: q1, openCost: costD, openQuantity: oqD, average: averageD, realizedPnl: realizedD, fees: feesD };
  return { position, realized: realized === undefined ? "0" : plain(realized), quantity: q1, figures };
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
