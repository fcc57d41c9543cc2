import { Decimal, dec } from "../domain/decimal.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderType, Side, type OrderSpec } from "../domain/order.js";
import type { Clock } from "../domain/ports.js";
import { reducesPosition } from "../domain/position.js";
import { err, ok, type Result } from "../domain/result.js";
import type { DailyLossBreach, DailyLossBreachPort } from "./daily-loss.js";
import type { OpenOrderExposure } from "./open-order-exposure.js";
import { utcDay, type PositionBook } from "./position-book.js";
import type { ReferencePriceLookup, RiskCheck, RiskLimitsConfig } from "./risk.js";

export interface PositionRiskOptions {
  readonly book: PositionBook;
  readonly openOrders: OpenOrderExposure;
  readonly limits: RiskLimitsConfig;
  /** The venue's reference price (paper: its configured prices); the last fill price is the fallback. */
  readonly referencePrice: ReferencePriceLookup;
  readonly clock: Clock;
  /** Why the account is reduce-only now (its daily loss), or undefined. */
  readonly reduceOnly?: (account: string, nowMs: number) => DailyLossBreach | undefined;
  /** Called once per account and UTC day when its realized P&L goes below -dailyLossLimit. */
  readonly onDailyLossBreached?: DailyLossBreachPort;
}

/**
 * The pre-trade limits that need positions. Run after the per-order limits (risk.ts).
 *
 * - REDUCE_ONLY: an account made reduce-only (daily loss) may only place orders that, together
 *   with its open orders on the same side, reduce the position without crossing zero
 *   (reducesPosition).
 * - maxPosition, per (account, venue, symbol): the worst position the order could lead to if it
 *   and every open order of the account on the same side filled: position + open buys + the
 *   order (a buy), position - open sells - the order (a sell). Refused when its absolute value is
 *   above the limit and above the same figure without the order (an order that brings the worst
 *   case closer to zero always passes, so a position above a lowered limit can be reduced).
 * - maxGrossExposure, per account: the sum over its (venue, symbol) of the worst absolute
 *   position any mix of fills of its open orders could give, max(|pos + open buys|, |pos - open
 *   sells|), times a price: the venue's reference price, else the last fill price on that venue
 *   and symbol, else the position's average entry price, else (open orders only) the open
 *   orders at their own limit prices. Kept per account incrementally: a (venue, symbol) is
 *   re-valued when its position or open orders change and when it is traded (at the price of
 *   the moment); the others keep the price they were last valued at.
 * - dailyLossLimit, per account: watched on every fill that books P&L (not checked per order):
 *   when the account's realized P&L for the UTC day of the fill is below -limit, the port is
 *   called (the account becomes reduce-only).
 */
export interface PositionRisk {
  readonly check: RiskCheck;
  /** A (account, venue, symbol)'s open orders changed (createOpenOrderExposure's onChange). */
  touched(account: string, venue: string, symbol: string): void;
  /** New limits (a reload); exposures are re-valued on next use and daily losses re-checked. */
  setLimits(limits: RiskLimitsConfig): void;
  /** Stops listening to the book. */
  close(): void;
}

interface Compiled {
  readonly maxPosition: Decimal | undefined;
  readonly symbols: ReadonlyMap<string, Decimal | undefined>;
  readonly maxGrossExposure: Decimal | undefined;
  readonly dailyLossLimit: Decimal | undefined;
}

/** One (venue, symbol) of an account's exposure, as last valued. */
interface Valued {
  /** Position + open buys, position - open sells: the extremes any mix of fills can reach. */
  hi: Decimal;
  lo: Decimal;
  /** max(|hi|, |lo|). */
  worst: Decimal;
  /** The price it was valued at (undefined: open orders at their own prices). */
  price: Decimal | undefined;
  value: Decimal;
}

interface AccountExposure {
  total: Decimal;
  readonly values: Map<string, Valued>;
  /** Keys to re-value before the next check; "all" = rebuild. */
  dirty: Set<string> | "all";
}

const ZERO = new Decimal(0);

function parseLimit(s: string | undefined, where: string): Decimal | undefined {
  if (s === undefined) return undefined;
  let d: Decimal | undefined;
  try {
    d = dec(s);
  } catch {
    d = undefined;
  }
  if (d === undefined || !d.isFinite() || d.isNegative()) throw new Error(`risk limits: ${where} must be a non-negative decimal, got "${s}"`);
  return d;
}

function compile(limits: RiskLimitsConfig): Map<string, Compiled> {
  const out = new Map<string, Compiled>();
  for (const [account, l] of Object.entries(limits)) {
    const symbols = new Map<string, Decimal | undefined>();
    for (const [symbol, sl] of Object.entries(l.symbols ?? {})) {
      if (sl.maxPosition !== undefined) symbols.set(symbol, parseLimit(sl.maxPosition, `${account}.symbols.${symbol}.maxPosition`));
    }
    const c: Compiled = {
      maxPosition: parseLimit(l.maxPosition, `${account}.maxPosition`),
      symbols,
      maxGrossExposure: parseLimit(l.maxGrossExposure, `${account}.maxGrossExposure`),
      dailyLossLimit: parseLimit(l.dailyLossLimit, `${account}.dailyLossLimit`),
    };
    // Every account with an entry is kept, limits or not: an account with its own entry does not also get "*" (as in risk.ts).
    out.set(account, c);
  }
  return out;
}

function breach(reason: string, message: string, metadata: Record<string, string>): Result<OrderSpec, GatewayError> {
  return err({ kind: "failed_precondition", reason, message, metadata });
}

function isoDay(ms: number): string {
  return new Date(utcDay(ms) * 86_400_000).toISOString().slice(0, 10);
}

export function createPositionRisk(options: PositionRiskOptions): PositionRisk {
  const { book, openOrders, referencePrice, clock } = options;
  let accounts = compile(options.limits);
  let wildcard = accounts.get("*");
  /** account -> the UTC day whose loss breach was reported. */
  const breachedDay = new Map<string, number>();
  const exposures = new Map<string, AccountExposure>();
  /** "venue\u0000symbol" -> last fill price there. */
  const lastPrice = new Map<string, Decimal>();
  const keyOf = (venue: string, symbol: string): string => `${venue}\u0000${symbol}`;

  const limitsOf = (account: string): Compiled | undefined => accounts.get(account) ?? wildcard;

  function reportLoss(account: string, venue: string | undefined, pnl: Decimal, limit: Decimal, timeMs: number, recovered: boolean, symbol?: string, seq?: bigint): void {
    const day = utcDay(timeMs);
    if (breachedDay.get(account) === day) return;
    breachedDay.set(account, day);
    options.onDailyLossBreached?.(account, venue, {
      account,
      day: isoDay(timeMs),
      realizedPnl: pnl.toFixed(),
      limit: limit.toFixed(),
      ...(symbol !== undefined ? { symbol } : {}),
      ...(seq !== undefined ? { fillSequence: seq } : {}),
      timeMs,
      recovered,
    });
  }

  /** Accounts already past their limit today (at start-up, after a restart; after a reload). */
  function scanDailyLoss(recovered: boolean): void {
    const now = clock.nowMs();
    for (const account of book.accounts()) {
      const limit = limitsOf(account)?.dailyLossLimit;
      if (limit === undefined) continue;
      const pnl = book.dailyRealized(account, now);
      if (pnl.lessThan(limit.negated())) reportLoss(account, undefined, pnl, limit, now, recovered);
    }
  }

  function touched(account: string, venue: string, symbol: string): void {
    const e = exposures.get(account);
    if (e !== undefined && e.dirty !== "all") e.dirty.add(keyOf(venue, symbol));
  }

  const unsubscribe = book.onPositionChanged((p, fill, realized) => {
    lastPrice.set(keyOf(fill.venue, fill.symbol), dec(fill.price));
    touched(p.account, p.venue, p.symbol);
    if (realized === "0") return;
    const limit = limitsOf(p.account)?.dailyLossLimit;
    if (limit === undefined) return;
    const pnl = book.dailyRealized(p.account, fill.timeMs);
    if (pnl.lessThan(limit.negated())) reportLoss(p.account, fill.venue, pnl, limit, fill.timeMs, false, fill.symbol, fill.sequence);
  });

  /** Parsed reference prices, so an unchanged one costs no parsing (and keeps its identity). */
  const refCache = new Map<string, { readonly s: string; readonly d: Decimal }>();

  /** A market price for (venue, symbol): reference, else last fill; undefined when neither. */
  function marketPrice(venue: string, symbol: string, k: string): Decimal | undefined {
    const ref = referencePrice(venue, symbol);
    if (ref !== undefined && ref !== "") {
      const c = refCache.get(k);
      if (c !== undefined && c.s === ref) return c.d;
      const d = dec(ref);
      refCache.set(k, { s: ref, d });
      return d;
    }
    return lastPrice.get(k);
  }

  /** Values one (venue, symbol) of the account from the book and the open orders. */
  function valueOf(account: string, venue: string, symbol: string, k: string, price: Decimal | undefined): Valued {
    const q = book.quantity(account, venue, symbol);
    const s = openOrders.sides(account, venue, symbol);
    const hi = s === undefined ? q : q.plus(s.buy);
    const lo = s === undefined ? q : q.minus(s.sell);
    const worst = Decimal.max(hi.abs(), lo.abs());
    let p = price ?? marketPrice(venue, symbol, k);
    if (p === undefined && !worst.isZero()) {
      const avg = book.get(account, venue, symbol)?.averageEntryPrice;
      if (avg !== undefined && avg !== "") p = dec(avg);
    }
    // Never traded and no reference: open orders at their own prices.
    const value = worst.isZero() ? ZERO : p !== undefined ? worst.times(p) : s !== undefined ? Decimal.max(s.buyNotional, s.sellNotional) : ZERO;
    return { hi, lo, worst, price: p, value };
  }

  function put(e: AccountExposure, k: string, v: Valued): void {
    const old = e.values.get(k);
    e.values.set(k, v);
    e.total = old === undefined ? e.total.plus(v.value) : e.total.minus(old.value).plus(v.value);
  }

  function exposureOf(account: string): AccountExposure {
    let e = exposures.get(account);
    if (e === undefined) {
      e = { total: ZERO, values: new Map(), dirty: "all" };
      exposures.set(account, e);
    }
    if (e.dirty === "all") {
      e.values.clear();
      e.total = ZERO;
      const add = (venue: string, symbol: string): void => {
        const k = keyOf(venue, symbol);
        if (!e!.values.has(k)) put(e!, k, valueOf(account, venue, symbol, k, undefined));
      };
      book.forEachOfAccount(account, (p) => add(p.venue, p.symbol));
      openOrders.forEachOfAccount(account, (venue, symbol) => add(venue, symbol));
      e.dirty = new Set();
    } else if (e.dirty.size > 0) {
      for (const k of e.dirty) {
        const i = k.indexOf("\u0000");
        put(e, k, valueOf(account, k.slice(0, i), k.slice(i + 1), k, undefined));
      }
      e.dirty.clear();
    }
    return e;
  }

  function checkReduceOnly(spec: OrderSpec, nowMs: number): Result<OrderSpec, GatewayError> | undefined {
    const why = options.reduceOnly?.(spec.account, nowMs);
    if (why === undefined) return undefined;
    const pos = book.get(spec.account, spec.venue, spec.symbol);
    const openSame = openOrders.open(spec.account, spec.venue, spec.symbol, spec.side).toFixed();
    if (reducesPosition(pos, spec.side, spec.quantity, openSame)) return undefined;
    return breach(
      "REDUCE_ONLY",
      `risk limit: account ${spec.account} is reduce-only for ${why.day} (UTC): its realized P&L ${why.realizedPnl} is below the daily loss limit -${why.limit}; only orders that reduce the ${spec.symbol} position on ${spec.venue} (${pos?.quantity ?? "0"}, with ${openSame} already open on this side) without crossing zero may be placed`,
      {
        limit: "dailyLossLimit",
        state: "REDUCE_ONLY",
        cause: "DAILY_LOSS_LIMIT",
        account: spec.account,
        venue: spec.venue,
        symbol: spec.symbol,
        day: why.day,
        realized_pnl: why.realizedPnl,
        daily_loss_limit: why.limit,
        position: pos?.quantity ?? "0",
        open_same_side: openSame,
        order_quantity: spec.quantity,
      },
    );
  }

  function check(spec: OrderSpec): Result<OrderSpec, GatewayError> {
    if (options.reduceOnly !== undefined) {
      const r = checkReduceOnly(spec, clock.nowMs());
      if (r !== undefined) return r;
    }
    const lim = limitsOf(spec.account);
    if (lim === undefined) return ok(spec);

    const maxPosition = lim.symbols.size > 0 && lim.symbols.has(spec.symbol) ? lim.symbols.get(spec.symbol) : lim.maxPosition;
    const maxGross = lim.maxGrossExposure;
    if (maxPosition === undefined && maxGross === undefined) return ok(spec);
    const qty = dec(spec.quantity);
    if (maxPosition !== undefined) {
      const q = book.quantity(spec.account, spec.venue, spec.symbol);
      const openSame = openOrders.open(spec.account, spec.venue, spec.symbol, spec.side);
      const buy = spec.side !== Side.SELL;
      const before = buy ? q.plus(openSame) : q.minus(openSame);
      const after = buy ? before.plus(qty) : before.minus(qty);
      if (after.abs().greaterThan(maxPosition) && after.abs().greaterThan(before.abs())) {
        return breach(
          "MAX_POSITION_EXCEEDED",
          `risk limit: position ${after.toFixed()} in ${spec.symbol} on ${spec.venue} if this order and the open ones on its side filled (now ${q.toFixed()}, ${openSame.toFixed()} open) exceeds the maximum ${maxPosition.toFixed()} for ${spec.account}`,
          {
            limit: "maxPosition",
            max_position: maxPosition.toFixed(),
            projected_position: after.toFixed(),
            position: q.toFixed(),
            open_same_side: openSame.toFixed(),
            order_quantity: spec.quantity,
            account: spec.account,
            venue: spec.venue,
            symbol: spec.symbol,
          },
        );
      }
    }

    if (maxGross !== undefined) {
      const e = exposureOf(spec.account);
      const k = keyOf(spec.venue, spec.symbol);
      // The traded (venue, symbol) is valued at the price of the moment, before and with the order.
      let price = marketPrice(spec.venue, spec.symbol, k);
      if (price === undefined) {
        const own = spec.type === OrderType.STOP ? spec.stopPrice : spec.type === OrderType.MARKET ? "" : spec.price;
        if (own !== "") price = dec(own);
      }
      let v = e.values.get(k);
      if (v === undefined) {
        v = valueOf(spec.account, spec.venue, spec.symbol, k, price);
        put(e, k, v);
      } else if (price !== undefined && price !== v.price) {
        v = { ...v, price, value: v.worst.times(price) };
        put(e, k, v);
      }
      if (price === undefined) {
        return breach("NOTIONAL_UNKNOWN", `risk limit: no reference or last fill price for ${spec.symbol} on ${spec.venue} to check the maximum gross exposure of a MARKET order`, {
          limit: "maxGrossExposure",
          account: spec.account,
          venue: spec.venue,
          symbol: spec.symbol,
        });
      }
      const worst = spec.side === Side.SELL ? Decimal.max(v.hi.abs(), v.lo.minus(qty).abs()) : Decimal.max(v.hi.plus(qty).abs(), v.lo.abs());
      // Only an order that makes the worst case of its (venue, symbol) worse can breach.
      if (worst.greaterThan(v.worst)) {
        const withOrder = worst.times(price);
        const projected = e.total.minus(v.value).plus(withOrder);
        if (projected.greaterThan(maxGross)) {
          return breach(
            "MAX_GROSS_EXPOSURE_EXCEEDED",
            `risk limit: gross exposure ${projected.toFixed()} with this order (now ${e.total.toFixed()}) exceeds the maximum ${maxGross.toFixed()} for ${spec.account}`,
            {
              limit: "maxGrossExposure",
              max_gross_exposure: maxGross.toFixed(),
              projected_gross_exposure: projected.toFixed(),
              gross_exposure: e.total.toFixed(),
              account: spec.account,
              venue: spec.venue,
              symbol: spec.symbol,
              price: price.toFixed(),
            },
          );
        }
      }
    }
    return ok(spec);
  }

  scanDailyLoss(true);

  return {
    check,
    touched,
    setLimits(limits: RiskLimitsConfig): void {
      accounts = compile(limits);
      wildcard = accounts.get("*");
      for (const e of exposures.values()) e.dirty = "all";
      scanDailyLoss(false);
    },
    close(): void {
      unsubscribe();
    },
  };
}
