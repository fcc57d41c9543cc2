import { Decimal } from "./decimal.js";
import { Side } from "./order.js";

/**
 * Trading states, the kill switch (issue 21). Pure: the store that keeps the settings and
 * records them is src/use-cases/trading-state-store.ts.
 *
 * A setting applies to a scope: everything (account and venue ""), one venue, one account, or one
 * account on one venue. The state that applies to an order (or is reported for a scope) is the
 * strictest of the settings that contain it: HALTED > REDUCE_ONLY > ACTIVE. Setting ACTIVE on a
 * scope clears that scope's own setting only: a broader HALTED still applies.
 */
export type TradingStateName = "ACTIVE" | "REDUCE_ONLY" | "HALTED";

/** Higher is stricter. */
export const STRICTNESS: Readonly<Record<TradingStateName, number>> = { ACTIVE: 0, REDUCE_ONLY: 1, HALTED: 2 };

export interface TradingStateSetting {
  /** "" = every account. */
  readonly account: string;
  /** "" = every venue. */
  readonly venue: string;
  readonly state: TradingStateName;
  readonly reason: string;
  /** The API key id, "anonymous" (authentication off) or "gateway". */
  readonly setBy: string;
  readonly setAtMs: number;
}

export interface TradingScope {
  readonly account: string;
  readonly venue: string;
}

/** The four kinds of scope, a bounded metric label. */
export type ScopeKind = "global" | "venue" | "account" | "account_venue";

export function scopeKind(s: TradingScope): ScopeKind {
  if (s.account === "") return s.venue === "" ? "global" : "venue";
  return s.venue === "" ? "account" : "account_venue";
}

/** One key per scope (account and venue names never contain "\n"). */
export function scopeKey(s: TradingScope): string {
  return `${s.account}\n${s.venue}`;
}

/** A human name for a scope, for messages and ErrorInfo metadata. */
export function describeScope(s: TradingScope): string {
  switch (scopeKind(s)) {
    case "global":
      return "all trading";
    case "venue":
      return `venue ${s.venue}`;
    case "account":
      return `account ${s.account}`;
    case "account_venue":
      return `account ${s.account} on venue ${s.venue}`;
  }
}

/** True when `setting`'s scope contains `scope` (an empty field of the setting matches anything). */
export function contains(setting: TradingScope, scope: TradingScope): boolean {
  return (setting.account === "" || setting.account === scope.account) && (setting.venue === "" || setting.venue === scope.venue);
}

/**
 * The settings that contain `scope`, strictest first (ties: the broader scope first, then the
 * older), and the effective state (ACTIVE when none).
 */
export function effectiveState(
  settings: Iterable<TradingStateSetting>,
  scope: TradingScope,
): { readonly effective: TradingStateName; readonly settings: readonly TradingStateSetting[] } {
  const out: TradingStateSetting[] = [];
  for (const s of settings) if (s.state !== "ACTIVE" && contains(s, scope)) out.push(s);
  const breadth = (s: TradingScope) => (s.account === "" ? 0 : 2) + (s.venue === "" ? 0 : 1);
  out.sort((a, b) => STRICTNESS[b.state] - STRICTNESS[a.state] || breadth(a) - breadth(b) || a.setAtMs - b.setAtMs);
  return { effective: out[0]?.state ?? "ACTIVE", settings: out };
}

/**
 * Whether an order of `side` and `quantity` reduces the absolute position `position` (signed
 * decimal string: > 0 long, < 0 short), counting `pending` (the unfilled quantity of the account's
 * open orders on the same side, which would reduce it first). It reduces only if it trades against
 * the position and, with what is already working, does not go through zero: an order that would flip
 * a short into a long opens a new position, which REDUCE_ONLY exists to prevent (the venues'
 * reduce-only flags behave the same way). A flat position reduces nothing.
 *
 * The positions part (src/use-cases/positions*) exports the same test as `reducesPosition`; the two
 * are unified at merge.
 */
export function reducesAbsolutePosition(position: string, side: Side, quantity: string, pending = "0"): boolean {
  const p = new Decimal(position);
  if (p.isZero()) return false;
  if (side === Side.BUY ? !p.isNegative() : p.isNegative()) return false;
  return new Decimal(quantity).plus(pending).lessThanOrEqualTo(p.abs());
}
