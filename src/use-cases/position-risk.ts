import type { DecimalMath, Num, Wide } from "../domain/decimal-math.js";
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
  readonly maxPosition: Num | undefined;
  readonly symbols: ReadonlyMap<string, Num | undefined>;
  /** Notionals and P&L: Wides. */
  readonly maxGrossExposure: Wide | undefined;
  readonly dailyLossLimit: Wide | undefined;
}

/** One (venue, symbol) of an account's exposure, as last valued. */
interface Valued {
  /** Position + open buys, position - open sells: the extremes any mix of fills can reach. */
  hi: Num;
  lo: Num;
  /** max(|hi|, |lo|). */
  worst: Num;
  /** The price it was valued at (undefined: open orders at their own prices). */
  price: Num | undefined;
  value: Wide;
}

interface AccountExposure {
  total: Wide;
  readonly values: Map<string, Valued>;
  /** Keys to re-value before the next check; "all" = rebuild. */
  dirty: Set<string> | "all";
}

function parseLimit(math: DecimalMath, s: string | undefined, where: string): Num | undefined {
  if (s === undefined) return undefined;
  let d: Num | undefined;
  try {
    d = math.parse(s);
  } catch {
    d = undefined;
  }
  if (d === undefined || math.sign(d) < 0) throw new Error(`risk limits: ${where} must be a non-negative decimal, got "${s}"`);
  return d;
}

const wide = (math: DecimalMath, n: Num | undefined): Wide | undefined => (n === undefined ? undefined : math.widen(n));

function compile(math: DecimalMath, limits: RiskLimitsConfig): Map<string, Compiled> {
  const out = new Map<string, Compiled>();
  for (const [account, l] of Object.entries(limits)) {
    const symbols = new Map<string, Num | undefined>();
    for (const [symbol, sl] of Object.entries(l.symbols ?? {})) {
      if (sl.maxPosition !== undefined) symbols.set(symbol, parseLimit(math, sl.maxPosition, `${account}.symbols.${symbol}.maxPosition`));
    }
    const c: Compiled = {
      maxPosition: parseLimit(math, l.maxPosition, `${account}.maxPosition`),
      symbols,
      maxGrossExposure: wide(math, parseLimit(math, l.maxGrossExposure, `${account}.maxGrossExposure`)),
      dailyLossLimit: wide(math, parseLimit(math, l.dailyLossLimit, `${account}.dailyLossLimit`)),
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
  // One arithmetic for the book, the open orders and the limits: their numbers are combined.
  const m = book.math;
  if (openOrders.math !== m) throw new Error(`position risk: the position book (${m.name}) and the open orders (${openOrders.math.name}) use different decimal arithmetic`);
  const ZERO = m.zeroWide;
  let accounts = compile(m, options.limits);
  let wildcard = accounts.get("*");
  /** account -> the UTC day whose loss breach was reported. */
  const breachedDay = new Map<string, number>();
  const exposures = new Map<string, AccountExposure>();
  /** "venue\u0000symbol" -> last fill price there. */
  const lastPrice = new Map<string, Num>();
  const keyOf = (venue: string, symbol: string): string => `${venue}\u0000${symbol}`;

  const limitsOf = (account: string): Compiled | undefined => accounts.get(account) ?? wildcard;

  function reportLoss(account: string, venue: string | undefined, pnl: Wide, limit: Wide, timeMs: number, recovered: boolean, symbol?: string, seq?: bigint): void {
    const day = utcDay(timeMs);
    if (breachedDay.get(account) === day) return;
    breachedDay.set(account, day);
    options.onDailyLossBreached?.(account, venue, {
      account,
      day: isoDay(timeMs),
      realizedPnl: m.formatWide(pnl),
      limit: m.formatWide(limit),
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
      if (m.cmp(pnl, m.neg(limit)) < 0) reportLoss(account, undefined, pnl, limit, now, recovered);
    }
  }

  function touched(account: string, venue: string, symbol: string): void {
    const e = exposures.get(account);
    if (e !== undefined && e.dirty !== "all") e.dirty.add(keyOf(venue, symbol));
  }

  const unsubscribe = book.onPositionChanged((p, fill, realized) => {
    lastPrice.set(keyOf(fill.venue, fill.symbol), m.parse(fill.price));
    touched(p.account, p.venue, p.symbol);
    if (realized === "0") return;
    const limit = limitsOf(p.account)?.dailyLossLimit;
    if (limit === undefined) return;
    const pnl = book.dailyRealized(p.account, fill.timeMs);
    if (m.cmp(pnl, m.neg(limit)) < 0) reportLoss(p.account, fill.venue, pnl, limit, fill.timeMs, false, fill.symbol, fill.sequence);
  });

  /** Parsed reference prices, so an unchanged one costs no parsing (and keeps its identity). */
  const refCache = new Map<string, { readonly s: string; readonly d: Num }>();

  /** A market price for (venue, symbol): reference, else last fill; undefined when neither. */
  function marketPrice(venue: string, symbol: string, k: string): Num | undefined {
    const ref = referencePrice(venue, symbol);
    if (ref !== undefined && ref !== "") {
      const c = refCache.get(k);
      if (c !== undefined && c.s === ref) return c.d;
      const d = m.parse(ref);
      refCache.set(k, { s: ref, d });
      return d;
    }
    return lastPrice.get(k);
  }

  /** Values one (venue, symbol) of the account from the book and the open orders. */
  function valueOf(account: string, venue: string, symbol: string, k: string, price: Num | undefined): Valued {
    const q = book.quantity(account, venue, symbol);
    const s = openOrders.sides(account, venue, symbol);
    const hi = s === undefined ? q : m.add(q, s.buy);
    const lo = s === undefined ? q : m.sub(q, s.sell);
    const worst = m.max(m.abs(hi), m.abs(lo));
    let p = price ?? marketPrice(venue, symbol, k);
    if (p === undefined && !m.isZero(worst)) {
      const avg = book.get(account, venue, symbol)?.averageEntryPrice;
      if (avg !== undefined && avg !== "") p = m.parse(avg);
    }
    // Never traded and no reference: open orders at their own prices.
    const value: Wide = m.isZero(worst) ? ZERO : p !== undefined ? m.mul(worst, p) : s !== undefined ? m.max(s.buyNotional, s.sellNotional) : ZERO;
    return { hi, lo, worst, price: p, value };
  }

  function put(e: AccountExposure, k: string, v: Valued): void {
    const old = e.values.get(k);
    e.values.set(k, v);
    e.total = old === undefined ? m.add(e.total, v.value) : m.add(m.sub(e.total, old.value), v.value);
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
    const openSame = m.format(openOrders.open(spec.account, spec.venue, spec.symbol, spec.side));
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
    const qty = m.parse(spec.quantity);
    if (maxPosition !== undefined) {
      const q = book.quantity(spec.account, spec.venue, spec.symbol);
      const openSame = openOrders.open(spec.account, spec.venue, spec.symbol, spec.side);
      const buy = spec.side !== Side.SELL;
      const before = buy ? m.add(q, openSame) : m.sub(q, openSame);
      const after = buy ? m.add(before, qty) : m.sub(before, qty);
      const afterAbs = m.abs(after);
      if (m.cmp(afterAbs, maxPosition) > 0 && m.cmp(afterAbs, m.abs(before)) > 0) {
        return breach(
          "MAX_POSITION_EXCEEDED",
          `risk limit: position ${m.format(after)} in ${spec.symbol} on ${spec.venue} if this order and the open ones on its side filled (now ${m.format(q)}, ${m.format(openSame)} open) exceeds the maximum ${m.format(maxPosition)} for ${spec.account}`,
          {
            limit: "maxPosition",
            max_position: m.format(maxPosition),
            projected_position: m.format(after),
            position: m.format(q),
            open_same_side: m.format(openSame),
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
        if (own !== "") price = m.parse(own);
      }
      let v = e.values.get(k);
      if (v === undefined) {
        v = valueOf(spec.account, spec.venue, spec.symbol, k, price);
        put(e, k, v);
      } else if (price !== undefined && price !== v.price) {
        v = { ...v, price, value: m.mul(v.worst, price) };
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
      const worst = spec.side === Side.SELL ? m.max(m.abs(v.hi), m.abs(m.sub(v.lo, qty))) : m.max(m.abs(m.add(v.hi, qty)), m.abs(v.lo));
      // Only an order that makes the worst case of its (venue, symbol) worse can breach.
      if (m.cmp(worst, v.worst) > 0) {
        const withOrder = m.mul(worst, price);
        const projected = m.add(m.sub(e.total, v.value), withOrder);
        if (m.cmp(projected, maxGross) > 0) {
          return breach(
            "MAX_GROSS_EXPOSURE_EXCEEDED",
            `risk limit: gross exposure ${m.formatWide(projected)} with this order (now ${m.formatWide(e.total)}) exceeds the maximum ${m.formatWide(maxGross)} for ${spec.account}`,
            {
              limit: "maxGrossExposure",
              max_gross_exposure: m.formatWide(maxGross),
              projected_gross_exposure: m.formatWide(projected),
              gross_exposure: m.formatWide(e.total),
              account: spec.account,
              venue: spec.venue,
              symbol: spec.symbol,
              price: m.format(price),
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
      accounts = compile(m, limits);
      wildcard = accounts.get("*");
      for (const e of exposures.values()) e.dirty = "all";
      scanDailyLoss(false);
    },
    close(): void {
      unsubscribe();
    },
  };
}
