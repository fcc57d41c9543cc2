import { Decimal, dec, mul } from "../domain/decimal.js";
import type { GatewayError } from "../domain/errors.js";
import { OrderType, type OrderSpec } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";

/** Limits for one symbol (or for every symbol of an account). Decimal strings. */
export interface SymbolLimits {
  readonly maxQuantity?: string;
  /** quantity x price, in the symbol's quote currency. */
  readonly maxNotional?: string;
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
  /** Largest sum over the account's positions of their worst-case notional, open orders included (position-risk.ts). */
  readonly maxGrossExposure?: string;
  /** The account becomes reduce-only for the rest of the UTC day once its realized P&L that day is below minus this. */
  readonly dailyLossLimit?: string;
}

/** account (or "*") -> limits. An account with its own entry does not also get "*". */
export type RiskLimitsConfig = Readonly<Record<string, AccountLimits>>;

/** Where MARKET orders get a price to value their notional. */
export type ReferencePriceLookup = (venue: string, symbol: string) => string | undefined;

interface CompiledLimits {
  readonly maxQuantity: Decimal | undefined;
  readonly maxNotional: Decimal | undefined;
}
interface CompiledAccount {
  readonly allowed: ReadonlySet<string> | undefined;
  readonly all: CompiledLimits;
  readonly symbols: ReadonlyMap<string, CompiledLimits>;
}

export type RiskCheck = (spec: OrderSpec) => Result<OrderSpec, GatewayError>;

function compileLimits(l: SymbolLimits, where: string): CompiledLimits {
  const parse = (s: string | undefined, name: string): Decimal | undefined => {
    if (s === undefined) return undefined;
    let d: Decimal | undefined;
    try {
      d = dec(s);
    } catch {
      d = undefined;
    }
    if (d === undefined || !d.isFinite() || d.isNegative()) throw new Error(`risk limits: ${where}.${name} must be a non-negative decimal, got "${s}"`);
    return d;
  };
  return { maxQuantity: parse(l.maxQuantity, "maxQuantity"), maxNotional: parse(l.maxNotional, "maxNotional") };
}

function breach(reason: string, message: string): Result<OrderSpec, GatewayError> {
  return err({ kind: "failed_precondition", reason, message });
}

/**
 * Pre-trade risk: allowed symbols, max quantity, max notional per account and
 * symbol. A breach is `failed_precondition` with a machine-readable reason
 * (ErrorInfo) and a message naming the limit. Limits are parsed once here
 * (a bad config throws at start-up, not on the first order). Accounts with no
 * limits cost one Map lookup.
 *
 * Notional: LIMIT and STOP_LIMIT use `price`, STOP uses `stop_price`, MARKET
 * uses the venue's reference price. If a max notional applies and a MARKET
 * order cannot be valued, the order is refused (fail closed): a limit that is
 * skipped when data is missing is not a limit.
 */
export function createRiskCheck(limits: RiskLimitsConfig, referencePrice: ReferencePriceLookup): RiskCheck {
  const accounts = new Map<string, CompiledAccount>();
  for (const [account, l] of Object.entries(limits)) {
    const symbols = new Map<string, CompiledLimits>();
    for (const [symbol, sl] of Object.entries(l.symbols ?? {})) {
      const merged: SymbolLimits = {
        ...(l.maxQuantity !== undefined ? { maxQuantity: l.maxQuantity } : {}),
        ...(l.maxNotional !== undefined ? { maxNotional: l.maxNotional } : {}),
        ...sl,
      };
      symbols.set(symbol, compileLimits(merged, `${account}.symbols.${symbol}`));
    }
    accounts.set(account, {
      allowed: l.allowedSymbols === undefined ? undefined : new Set(l.allowedSymbols),
      all: compileLimits(l, account),
      symbols,
    });
  }
  const wildcard = accounts.get("*");
  if (accounts.size === 0) return ok;

  return function checkRisk(spec: OrderSpec): Result<OrderSpec, GatewayError> {
    const acc = accounts.get(spec.account) ?? wildcard;
    if (acc === undefined) return ok(spec);
    if (acc.allowed !== undefined && !acc.allowed.has(spec.symbol)) {
      return breach("SYMBOL_NOT_ALLOWED", `risk limit: symbol ${spec.symbol} is not allowed for account ${spec.account}`);
    }
    const lim = acc.symbols.get(spec.symbol) ?? acc.all;
    if (lim.maxQuantity !== undefined && dec(spec.quantity).greaterThan(lim.maxQuantity)) {
      return breach(
        "MAX_QUANTITY_EXCEEDED",
        `risk limit: quantity ${spec.quantity} exceeds the maximum ${lim.maxQuantity.toFixed()} for ${spec.account} ${spec.symbol}`,
      );
    }
    if (lim.maxNotional !== undefined) {
      let price: string | undefined;
      if (spec.type === OrderType.LIMIT || spec.type === OrderType.STOP_LIMIT) price = spec.price;
      else if (spec.type === OrderType.STOP) price = spec.stopPrice;
      else price = referencePrice(spec.venue, spec.symbol);
      if (price === undefined || price === "") {
        return breach(
          "NOTIONAL_UNKNOWN",
          `risk limit: no reference price for ${spec.symbol} on ${spec.venue} to check the maximum notional of a MARKET order`,
        );
      }
      const notional = mul(spec.quantity, price);
      if (notional.greaterThan(lim.maxNotional)) {
        return breach(
          "MAX_NOTIONAL_EXCEEDED",
          `risk limit: notional ${notional.toFixed()} exceeds the maximum ${lim.maxNotional.toFixed()} for ${spec.account} ${spec.symbol}`,
        );
      }
    }
    return ok(spec);
  };
}
