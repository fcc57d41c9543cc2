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

/** The position a fill made, and the P&L that fill booked (signed, "0" if it only opened). */
export interface PositionStep {
  readonly position: Position;
  readonly realized: string;
  /** `position.quantity` as a decimal (the book keeps it, saving a parse). */
  readonly quantity: Decimal;
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

function signed(side: Side, qty: Decimal): Decimal {
  return side === Side.SELL ? qty.negated() : qty;
}

/**
 * Applies one fill (of this position's account, venue and symbol). Pure: `prev` is not touched.
 * `prev` undefined is a flat position.
 */
export function applyFillToPosition(prev: Position | undefined, fill: Fill): PositionStep {
  const p = prev ?? flatPosition(fill.account, fill.venue, fill.symbol);
  const q0 = dec(p.quantity);
  const price = dec(fill.price);
  const delta = signed(fill.side, dec(fill.quantity));
  const q1 = q0.plus(delta);

  let openCost = p.openCost;
  let openQuantity = p.openQuantity;
  let average = p.averageEntryPrice;
  let realized: Decimal | undefined;

  if (q0.isZero() || q0.isNegative() === delta.isNegative()) {
    // Opens or adds: the average moves to the VWAP of every opening fill.
    const first = q0.isZero();
    const cost = first ? price.times(delta.abs()) : dec(openCost).plus(price.times(delta.abs()));
    const oq = first ? delta.abs() : dec(openQuantity).plus(delta.abs());
    openCost = cost.toFixed();
    openQuantity = oq.toFixed();
    // The first opening fill's price is the average: no division.
    average = first ? formatDecimal(price) : formatDecimal(cost.dividedBy(oq), MAX_DECIMAL_SCALE);
  } else {
    // Reduces, closes or flips: P&L on the closed part at the unchanged average.
    const closed = Decimal.min(delta.abs(), q0.abs());
    const perUnit = price.minus(dec(average));
    realized = q0.isNegative() ? perUnit.times(closed).negated() : perUnit.times(closed);
    if (q1.isZero()) {
      openCost = "0";
      openQuantity = "0";
      average = "";
    } else if (q1.isNegative() !== q0.isNegative()) {
      // Flipped through zero: the remainder opens at this fill's price.
      const rest = q1.abs();
      openCost = price.times(rest).toFixed();
      openQuantity = rest.toFixed();
      average = formatDecimal(price);
    }
  }

  let fees = p.fees;
  let otherFees = p.otherFees;
  const fee = fill.fee === "" ? undefined : dec(fill.fee);
  if (fee !== undefined && !fee.isZero()) {
    const cur = fill.feeCurrency;
    if (cur === "" || cur === quoteCurrencyOf(fill.symbol)) {
      fees = formatDecimal(dec(fees).plus(fee));
    } else {
      const before = otherFees[cur];
      otherFees = { ...otherFees, [cur]: formatDecimal(before === undefined ? fee : dec(before).plus(fee)) };
    }
  }

  const position: Position = {
    account: p.account,
    venue: p.venue,
    symbol: p.symbol,
    quantity: formatDecimal(q1),
    averageEntryPrice: average,
    realizedPnl: realized === undefined ? p.realizedPnl : formatDecimal(dec(p.realizedPnl).plus(realized)),
    fees,
    otherFees,
    updatedAtMs: fill.timeMs,
    lastFillSequence: fill.sequence,
    openCost,
    openQuantity,
  };
  return { position, realized: realized === undefined ? "0" : formatDecimal(realized), quantity: q1 };
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
