import type { GatewayError } from "../domain/errors.js";
import type { OrderSpec, Side } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";
import { describeScope, reducesAbsolutePosition, scopeKind } from "../domain/trading-state.js";
import type { TradingStateStore } from "./trading-state-store.js";

/**
 * The signed position (decimal string: > 0 long, < 0 short, "0" flat) of an account on a venue
 * and symbol. Implemented by the positions part; until it is merged the gateway wires "0".
 */
export type PositionOf = (account: string, venue: string, symbol: string) => string;

/**
 * The unfilled quantity (decimal string) of the account's open orders on (venue, symbol, side):
 * under REDUCE_ONLY they would reduce the position first, so a new order may only take what is left.
 */
export type OpenQuantityOf = (account: string, venue: string, symbol: string, side: Side) => string;

/** The kill switch's check for one new order (PlaceOrder) or replacement (ReplaceOrder). */
export type CheckTradingState = (spec: OrderSpec) => Result<void, GatewayError>;

export interface TradingStateCheckDeps {
  readonly store: TradingStateStore;
  readonly positionOf: PositionOf;
  readonly openQuantityOf?: OpenQuantityOf;
}

const OK: Result<void, GatewayError> = ok(undefined);

/**
 * HALTED refuses the order (FAILED_PRECONDITION, ErrorInfo TRADING_HALTED); REDUCE_ONLY lets it
 * through only if it reduces the absolute position (see reducesAbsolutePosition), else ErrorInfo
 * REDUCE_ONLY. The metadata names the scope whose setting refused, its state, reason and author.
 * Cancels never come here: they always pass.
 *
 * ReplaceOrder calls the same function with the order as it would be after the replace.
 */
export function createTradingStateCheck(deps: TradingStateCheckDeps): CheckTradingState {
  const { store, positionOf } = deps;
  return function checkTradingState(spec: OrderSpec): Result<void, GatewayError> {
    const s = store.applying(spec.account, spec.venue);
    if (s === undefined) return OK;
    const scope = describeScope(s);
    const metadata = {
      state: s.state,
      scope: scopeKind(s),
      scope_account: s.account,
      scope_venue: s.venue,
      set_reason: s.reason,
      set_by: s.setBy,
      set_at: new Date(s.setAtMs).toISOString(),
    };
    if (s.state === "HALTED") {
      return err({
        kind: "failed_precondition",
        reason: "TRADING_HALTED",
        message: `trading is halted for ${scope} (${s.reason}); cancels still pass`,
        metadata,
      });
    }
    const position = positionOf(spec.account, spec.venue, spec.symbol);
    const pending = deps.openQuantityOf?.(spec.account, spec.venue, spec.symbol, spec.side) ?? "0";
    if (reducesAbsolutePosition(position, spec.side, spec.quantity, pending)) return OK;
    return err({
      kind: "failed_precondition",
      reason: "REDUCE_ONLY",
      message: `${scope} is reduce-only (${s.reason}): this order does not reduce the position ${position} of ${spec.account} in ${spec.symbol} on ${spec.venue}${pending !== "0" ? ` (open orders on the same side already cover ${pending})` : ""}`,
      metadata: { ...metadata, position, quantity: spec.quantity, open_same_side: pending },
    });
  };
}
