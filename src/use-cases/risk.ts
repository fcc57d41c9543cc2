import { createHash } from "node:crypto";
import { Decimal, dec } from "../domain/decimal.js";
import type { DecimalMath, Num, Wide } from "../domain/decimal-math.js";
import { scaledDecimalMath } from "../domain/scaled-decimal-math.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderType, type OrderSpec } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";

/**
 * A limit's value: a decimal string, or "off" (no limit, even where a broader level or the
 * built-in defaults set one). Written as a YAML/JSON number or a string in the limits file.
 */
export type LimitValue = string;

/** Limits for one symbol (or for every symbol of an account). */
export interface SymbolLimits {
  /** Most quantity of one order. */
  readonly maxQuantity?: LimitValue;
  /** Most quantity x price of one order, in the symbol's quote currency. */
  readonly maxNotional?: LimitValue;
  // --- issue 21 (kill switch and flow limits): order price sanity ---
  /**
   * A LIMIT or STOP_LIMIT order's limit price must be within this many percent of the reference
   * price (the venue's, e.g. the paper venue's reference, else the last fill on that venue and
   * symbol). No reference known: not checked (the notional limit still values the order at its
   * limit price).
   */
  readonly priceBandPercent?: LimitValue;
  /**
   * Largest absolute position per (venue, symbol) the account may reach if the order and its open
   * orders on the same side all filled (src/use-cases/position-risk.ts).
   */
  readonly maxPosition?: string;

}

/** Limits for one account, or for every account under the key "*". */
export interface AccountLimits extends SymbolLimits {
  /** If set, only these symbols may be traded. */
  readonly allowedSymbols?: readonly string[];
  /** Per-symbol limits; a field given here replaces the account-wide one for that symbol, others are inherited. */
  readonly symbols?: Readonly<Record<string, SymbolLimits>>;
  // --- issue 21 (kill switch and flow limits): per-account flow ---
  /** Most non-terminal orders of the account at once (all venues). */
  readonly maxOpenOrders?: LimitValue;
  /** Orders per second per account (a token bucket, apart from the inbound RPC_RATE limit). */
  readonly maxOrderRate?: LimitValue;
  /** The bucket's size: orders that may arrive at once after a quiet spell. Default: maxOrderRate. */
  readonly orderRateBurst?: LimitValue;
  // --- issue 21 (positions): limits that need positions (src/use-cases/position-risk.ts) ---
  /** Largest sum over the account's positions of their worst-case notional, open orders included (position-risk.ts). */
  readonly maxGrossExposure?: string;
  /** The account becomes reduce-only for the rest of the UTC day once its realized P&L that day is below minus this. */
  readonly dailyLossLimit?: string;
}

/**
 * account (or "*") -> limits. A field left out is inherited: account+symbol, then account, then
 * "*"+symbol, then "*", then the built-in defaults.
 */
export type RiskLimitsConfig = Readonly<Record<string, AccountLimits>>;

/**
 * The built-in defaults: on unless relaxed (RISK_LIMITS_FILE), so an embedded gateway can never
 * send an absurd order. Conservative on purpose; shown by `--help` and in the README.
 */
export const BUILT_IN_RISK_LIMITS: AccountLimits = {
  maxQuantity: "10000",
  maxNotional: "100000",
  priceBandPercent: "10",
  maxOpenOrders: "1000",
  maxOrderRate: "100",
  orderRateBurst: "200",
};

/** What each limit means, for --help and the README (one row each). */
export const RISK_LIMIT_DOCS: readonly { readonly key: keyof AccountLimits; readonly level: string; readonly meaning: string }[] = [
  { key: "maxQuantity", level: "account, account+symbol", meaning: "most quantity of one order" },
  { key: "maxNotional", level: "account, account+symbol", meaning: "most quantity x price of one order (quote currency; MARKET orders valued at the reference price, refused when there is none)" },
  { key: "priceBandPercent", level: "account, account+symbol", meaning: "a LIMIT/STOP_LIMIT price must be within this % of the reference price (venue reference, else last fill); no reference: not checked" },
  { key: "maxOpenOrders", level: "account", meaning: "most open (not yet terminal) orders of the account" },
  { key: "maxOrderRate", level: "account", meaning: "orders per second per account (token bucket, apart from RATE_LIMIT_RPS)" },
  { key: "orderRateBurst", level: "account", meaning: "orders the account may send at once after a quiet spell (the bucket size)" },
];

/** Where MARKET orders get a price to value their notional, and LIMIT prices their band's centre. */
export type ReferencePriceLookup = (venue: string, symbol: string) => string | undefined;

/** Reasons whose refusal is not stored as the idempotency key's outcome: the same request may pass later. */
export const TRANSIENT_RISK_REASONS: ReadonlySet<string> = new Set(["TRADING_HALTED", "REDUCE_ONLY", "ORDER_RATE_EXCEEDED", "MAX_OPEN_ORDERS_EXCEEDED"]);

export type RiskCheck = (spec: OrderSpec) => Result<OrderSpec, GatewayError>;

/** A limit in the engine's arithmetic, with its text for messages. */
interface Limit<N> {
  readonly n: N;
  readonly text: string;
}
interface CompiledLimits {
  readonly maxQuantity: Limit<Num> | undefined;
  /** A notional: compared with quantity x price, a Wide. */
  readonly maxNotional: Limit<Wide> | undefined;
  readonly priceBandPercent: Limit<Num> | undefined;
}
interface CompiledAccount {
  readonly allowed: ReadonlySet<string> | undefined;
  readonly all: CompiledLimits;
  readonly symbols: ReadonlyMap<string, CompiledLimits>;
  readonly maxOpenOrders: number | undefined;
  /** Tokens per ms and bucket size, or undefined (no rate limit). */
  readonly rate: { readonly perMs: number; readonly burst: number; readonly perSecond: string } | undefined;
}
interface Compiled {
  readonly accounts: ReadonlyMap<string, CompiledAccount>;
  /** Accounts without an entry of their own ("*" over the base). */
  readonly fallback: CompiledAccount | undefined;
}

const SYMBOL_KEYS = ["maxQuantity", "maxNotional", "priceBandPercent"] as const;
const ACCOUNT_KEYS = ["maxOpenOrders", "maxOrderRate", "orderRateBurst"] as const;

function parseLimit(s: string | undefined, where: string, integer = false): Decimal | undefined {
  if (s === undefined || s === "off") return undefined;
  let d: Decimal | undefined;
  try {
    d = dec(s);
  } catch {
    d = undefined;
  }
  if (d === undefined || !d.isFinite() || d.isNegative()) throw new Error(`risk limits: ${where} must be a non-negative decimal, got "${s}" (or \"off\")`);
  if (integer && !d.isInteger()) throw new Error(`risk limits: ${where} must be a whole number or "off", got "${s}"`);
  return d;
}

function pick<T extends object, K extends keyof T>(levels: readonly (T | undefined)[], key: K): T[K] | undefined {
  for (const l of levels) if (l !== undefined && l[key] !== undefined) return l[key];
  return undefined;
}

function compileSymbol(math: DecimalMath, levels: readonly (SymbolLimits | undefined)[], where: string): CompiledLimits {
  const limit = (key: (typeof SYMBOL_KEYS)[number]): Limit<Num> | undefined => {
    const d = parseLimit(pick(levels, key), `${where}.${key}`);
    if (d === undefined) return undefined;
    const text = d.toFixed();
    return { n: math.parse(text), text };
  };
  const notional = limit("maxNotional");
  return {
    maxQuantity: limit("maxQuantity"),
    maxNotional: notional === undefined ? undefined : { n: math.widen(notional.n), text: notional.text },
    priceBandPercent: limit("priceBandPercent"),
  };
}

function compileAccount(math: DecimalMath, name: string, own: AccountLimits | undefined, star: AccountLimits | undefined, base: AccountLimits | undefined): CompiledAccount {
  const levels = [own, star, base];
  const symbolNames = new Set([...Object.keys(own?.symbols ?? {}), ...Object.keys(star?.symbols ?? {})]);
  const symbols = new Map<string, CompiledLimits>();
  for (const sym of symbolNames) {
    symbols.set(sym, compileSymbol(math, [own?.symbols?.[sym], own, star?.symbols?.[sym], star, base], `${name}.symbols.${sym}`));
  }
  const maxOpen = parseLimit(pick(levels, "maxOpenOrders"), `${name}.maxOpenOrders`, true);
  const rate = parseLimit(pick(levels, "maxOrderRate"), `${name}.maxOrderRate`);
  const burst = parseLimit(pick(levels, "orderRateBurst"), `${name}.orderRateBurst`, true);
  const allowed = pick(levels, "allowedSymbols");
  return {
    allowed: allowed === undefined ? undefined : new Set(allowed),
    all: compileSymbol(math, levels, name),
    symbols,
    maxOpenOrders: maxOpen?.toNumber(),
    rate:
      rate === undefined
        ? undefined
        : { perMs: rate.toNumber() / 1000, burst: Math.max(1, (burst ?? rate.ceil()).toNumber()), perSecond: rate.toFixed() },
  };
}

/**
 * Validates and compiles limits over `base` (the built-in defaults, or none). Throws an Error
 * naming the field on a bad value: a reload keeps the old limits then.
 */
function compile(math: DecimalMath, limits: RiskLimitsConfig, base: AccountLimits | undefined): Compiled {
  const star = limits["*"];
  const accounts = new Map<string, CompiledAccount>();
  for (const [account, l] of Object.entries(limits)) {
    if (account === "*") continue;
    accounts.set(account, compileAccount(math, account, l, star, base));
  }
  const any = star !== undefined || (base !== undefined && Object.keys(base).length > 0);
  return { accounts, fallback: any ? compileAccount(math, "*", undefined, star, base) : undefined };
}

/** A canonical digest and one-line summary of limits, for the audit record of a change. */
export function describeRiskLimits(limits: RiskLimitsConfig, base: AccountLimits | undefined): { readonly digest: string; readonly summary: string } {
  const canonical = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(canonical) : x !== null && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, canonical((x as Record<string, unknown>)[k])])) : x;
  const digest = createHash("sha256").update(JSON.stringify(canonical({ base: base ?? {}, limits }))).digest("hex");
  const star = { ...base, ...limits["*"] };
  const keys = [...SYMBOL_KEYS, ...ACCOUNT_KEYS].filter((k) => star[k] !== undefined).map((k) => `${k}=${star[k]}`);
  const accounts = Object.keys(limits).filter((a) => a !== "*");
  return { digest, summary: `defaults ${keys.join(" ") || "none"}; ${accounts.length} account entr${accounts.length === 1 ? "y" : "ies"}${accounts.length > 0 ? ` (${accounts.slice(0, 10).join(", ")}${accounts.length > 10 ? ", ..." : ""})` : ""}` };
}

/** A refusal's account and symbol metadata: made only when refusing, so a passing check allocates nothing of its own. */
function whoOf(spec: OrderSpec): { account: string; symbol: string } {
  return { account: spec.account, symbol: spec.symbol };
}

function breach(reason: string, message: string, metadata: Record<string, string>): Result<OrderSpec, GatewayError> {
  return err({ kind: "failed_precondition", reason, message, metadata });
}

export interface RiskEngineDeps {
  readonly referencePrice: ReferencePriceLookup;
  /** Open (non-terminal) orders of an account; without it maxOpenOrders is not checked. */
  readonly openOrderCount?: (account: string) => number;
  /** Milliseconds for the order-rate bucket; without it maxOrderRate is not checked. */
  readonly nowMs?: () => number;
  /** Runs first: the trading state (kill switch) of the order's scope (trading-state-check.ts). */
  readonly tradingState?: (spec: OrderSpec) => Result<void, GatewayError>;
  /** Told every refusal's reason (a metric: bounded reasons). */
  readonly onReject?: (reason: string) => void;
  /** The defaults under every account (BUILT_IN_RISK_LIMITS in the gateway); default none. */
  readonly base?: AccountLimits;
  /** The arithmetic of the checks (the DECIMAL_MATH setting); default scaledDecimalMath. */
  readonly math?: DecimalMath;
}

export interface RiskEngine {
  readonly check: RiskCheck;
  /** Validates and swaps in new limits; throws (naming the field) and keeps the old ones on a bad value. */
  replace(limits: RiskLimitsConfig): void;
  /** The limits in force (as given, without the base). */
  readonly limits: RiskLimitsConfig;
  readonly base: AccountLimits | undefined;
}

/** Most accounts with an order-rate bucket; past it the buckets start over (a brief fail-open, bounded memory). */
const MAX_BUCKETS = 100_000;

/**
 * Pre-trade risk: the trading state, then allowed symbols, max quantity, price band, max
 * notional, max open orders and the order rate, per account (and symbol), over `deps.base`.
 * A breach is `failed_precondition` with a stable ErrorInfo reason and metadata naming the limit
 * and the values compared. Limits are compiled once (and on `replace`); an account costs one
 * Map lookup plus its checks.
 *
 * Notional: LIMIT and STOP_LIMIT use `price`, STOP uses `stop_price`, MARKET uses the reference
 * price. If a max notional applies and a MARKET order cannot be valued, the order is refused
 * (fail closed): a limit that is skipped when data is missing is not a limit.
 */
export function createRiskEngine(initial: RiskLimitsConfig, deps: RiskEngineDeps): RiskEngine {
  const base = deps.base;
  const m = deps.math ?? scaledDecimalMath;
  const HUNDRED = m.parse("100");
  let current = initial;
  let compiled = compile(m, initial, base);
  /** venue -> symbol -> the last reference price seen, parsed once while it does not change. */
  const refs = new Map<string, Map<string, { s: string; n: Num }>>();
  function num(venue: string, symbol: string, s: string): Num {
    let bySymbol = refs.get(venue);
    if (bySymbol === undefined) refs.set(venue, (bySymbol = new Map()));
    const c = bySymbol.get(symbol);
    if (c !== undefined && c.s === s) return c.n;
    const n = m.parse(s);
    bySymbol.set(symbol, { s, n });
    return n;
  }
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  const onReject = deps.onReject;

  function refuse(r: Result<OrderSpec, GatewayError>): Result<OrderSpec, GatewayError> {
    if (onReject !== undefined && !r.ok && r.error.kind === "failed_precondition") onReject(r.error.reason ?? "OTHER");
    return r;
  }

  /** The venue's reference price for the order's symbol, or undefined (asked at most once per check: band for priced orders, notional for the others). */
  function referenceOf(spec: OrderSpec): string | undefined {
    const r = deps.referencePrice(spec.venue, spec.symbol);
    return r === "" ? undefined : r;
  }

  function check(spec: OrderSpec): Result<OrderSpec, GatewayError> {
    if (deps.tradingState !== undefined) {
      const t = deps.tradingState(spec);
      if (!t.ok) return refuse(t);
    }
    const acc = compiled.accounts.get(spec.account) ?? compiled.fallback;
    if (acc === undefined) return ok(spec);
    if (acc.allowed !== undefined && !acc.allowed.has(spec.symbol)) {
      return refuse(breach("SYMBOL_NOT_ALLOWED", `risk limit: symbol ${spec.symbol} is not allowed for account ${spec.account}`, { limit: "allowedSymbols", ...whoOf(spec) }));
    }
    const lim = acc.symbols.get(spec.symbol) ?? acc.all;
    const qty = lim.maxQuantity !== undefined || lim.maxNotional !== undefined ? m.parse(spec.quantity) : m.zero;
    if (lim.maxQuantity !== undefined && m.cmp(qty, lim.maxQuantity.n) > 0) {
      const max = lim.maxQuantity.text;
      return refuse(
        breach("MAX_QUANTITY_EXCEEDED", `risk limit: quantity ${spec.quantity} exceeds the maximum ${max} for ${spec.account} ${spec.symbol}`, {
          limit: "maxQuantity",
          max,
          quantity: spec.quantity,
          ...whoOf(spec),
        }),
      );
    }
    const limitPrice = spec.type === OrderType.LIMIT || spec.type === OrderType.STOP_LIMIT ? spec.price : undefined;
    if (lim.priceBandPercent !== undefined && limitPrice !== undefined && limitPrice !== "") {
      const r = referenceOf(spec);
      if (r !== undefined) {
        const refN = num(spec.venue, spec.symbol, r);
        // |price - ref| * 100 <= band * ref, exact in decimals.
        if (m.cmp(m.mul(m.abs(m.sub(m.parse(limitPrice), refN)), HUNDRED), m.mul(lim.priceBandPercent.n, refN)) > 0) {
          // The refusal's message only: decimal.js, whose precision holds the division by 100.
          const band = dec(lim.priceBandPercent.text);
          const refD = dec(r);
          const low = refD.times(new Decimal(100).minus(band)).dividedBy(100);
          const high = refD.times(new Decimal(100).plus(band)).dividedBy(100);
          return refuse(
            breach(
              "PRICE_OUTSIDE_BAND",
              `risk limit: price ${limitPrice} is more than ${band.toFixed()}% from the reference price ${r} of ${spec.symbol} on ${spec.venue} (allowed ${low.toFixed()} to ${high.toFixed()})`,
              { limit: "priceBandPercent", band_percent: band.toFixed(), price: limitPrice, reference_price: r, low: low.toFixed(), high: high.toFixed(), ...whoOf(spec) },
            ),
          );
        }
      }
    }
    if (lim.maxNotional !== undefined) {
      let price: string | undefined;
      const own = limitPrice !== undefined || spec.type === OrderType.STOP;
      if (limitPrice !== undefined) price = limitPrice;
      else if (spec.type === OrderType.STOP) price = spec.stopPrice;
      else price = referenceOf(spec);
      if (price === undefined || price === "") {
        return refuse(
          breach("NOTIONAL_UNKNOWN", `risk limit: no reference price for ${spec.symbol} on ${spec.venue} to check the maximum notional of a MARKET order`, {
            limit: "maxNotional",
            max: lim.maxNotional.text,
            ...whoOf(spec),
          }),
        );
      }
      const notional = m.mul(qty, own ? m.parse(price) : num(spec.venue, spec.symbol, price));
      if (m.cmp(notional, lim.maxNotional.n) > 0) {
        const max = lim.maxNotional.text;
        return refuse(
          breach(
            "MAX_NOTIONAL_EXCEEDED",
            `risk limit: notional ${m.formatWide(notional)} exceeds the maximum ${max} for ${spec.account} ${spec.symbol} (${spec.quantity} x ${price})`,
            { limit: "maxNotional", max, notional: m.formatWide(notional), price, quantity: spec.quantity, ...whoOf(spec) },
          ),
        );
      }
    }
    if (acc.maxOpenOrders !== undefined && deps.openOrderCount !== undefined) {
      const open = deps.openOrderCount(spec.account);
      if (open >= acc.maxOpenOrders) {
        return refuse(
          breach("MAX_OPEN_ORDERS_EXCEEDED", `risk limit: account ${spec.account} has ${open} open orders, the maximum is ${acc.maxOpenOrders}`, {
            limit: "maxOpenOrders",
            max: String(acc.maxOpenOrders),
            open: String(open),
            account: spec.account,
          }),
        );
      }
    }
    if (acc.rate !== undefined && deps.nowMs !== undefined) {
      const now = deps.nowMs();
      let b = buckets.get(spec.account);
      if (b === undefined) {
        if (buckets.size >= MAX_BUCKETS) buckets.clear();
        b = { tokens: acc.rate.burst, atMs: now };
        buckets.set(spec.account, b);
      } else {
        b.tokens = Math.min(acc.rate.burst, b.tokens + Math.max(0, now - b.atMs) * acc.rate.perMs);
        b.atMs = now;
      }
      if (b.tokens < 1) {
        const retryMs = Math.ceil((1 - b.tokens) / acc.rate.perMs);
        return refuse(
          breach(
            "ORDER_RATE_EXCEEDED",
            `risk limit: account ${spec.account} is sending orders faster than ${acc.rate.perSecond} per second (burst ${acc.rate.burst}); retry in ${retryMs} ms`,
            { limit: "maxOrderRate", max_per_second: acc.rate.perSecond, burst: String(acc.rate.burst), retry_after_ms: String(retryMs), account: spec.account },
          ),
        );
      }
      b.tokens -= 1;
    }
    return ok(spec);
  }

  return {
    check,
    replace(limits) {
      compiled = compile(m, limits, base);
      current = limits;
    },
    get limits() {
      return current;
    },
    base,
  };
}

/**
 * The per-order limits alone (no state: no open-order count, order rate or trading state), as
 * before issue 21. Kept for callers that only need them; the gateway uses createRiskEngine.
 */
export function createRiskCheck(limits: RiskLimitsConfig, referencePrice: ReferencePriceLookup): RiskCheck {
  if (Object.keys(limits).length === 0) return ok;
  return createRiskEngine(limits, { referencePrice }).check;
}
