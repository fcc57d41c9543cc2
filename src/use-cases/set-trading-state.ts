import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import type { Order } from "../domain/order.js";
import type { Clock } from "../domain/ports.js";
import { mayAdminister } from "../domain/principal.js";
import { err, ok, type Result } from "../domain/result.js";
import { describeScope, type TradingStateName, type TradingStateSetting } from "../domain/trading-state.js";
import type { CallInfo } from "./place-order.js";
import type { TradingStateStore } from "./trading-state-store.js";

/** One order's cancel attempt (mirrors the proto CancelResult; CancelAllOrders makes the same). */
export interface CancelResult {
  readonly order: Order;
  readonly outcome: "canceled" | "already_terminal" | "pending" | "failed";
  /** For failed: the gRPC code name CancelOrder would have answered. */
  readonly code?: string;
  readonly message?: string;
}

/**
 * Cancels the open orders of a scope: one account (optionally on one venue), or, with no account,
 * every account's orders (on one venue, or everywhere). Built by CancelAllOrders.
 */
export type CancelOpenOrders = (scope: { readonly account?: string; readonly venue?: string }, reason: string) => Promise<CancelResult[]>;

export interface SetTradingStateInput {
  readonly account: string;
  readonly venue: string;
  /** undefined: not set (TRADING_STATE_UNSPECIFIED). */
  readonly state: TradingStateName | undefined;
  readonly reason: string;
  readonly cancelOpenOrders: boolean;
}

export interface SetTradingStateResult {
  readonly setting: TradingStateSetting;
  readonly canceled: readonly CancelResult[];
}

export type SetTradingState = (input: SetTradingStateInput, call: CallInfo) => Promise<Result<SetTradingStateResult, GatewayError>>;

export interface SetTradingStateDeps {
  readonly store: TradingStateStore;
  readonly clock: Clock;
  /** Configured venue names: a scope's venue must be one. */
  readonly venues: ReadonlySet<string>;
  readonly cancelOpenOrders: CancelOpenOrders;
  /** Told about every change (the log line an operator looks for). */
  readonly onSet?: (setting: TradingStateSetting, canceled: number) => void;
}

const ACCOUNT_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_REASON = 256;

/**
 * SetTradingState: validate, check the admin role, record (audit) and apply, then for
 * cancel_open_orders cancel the scope's open orders. The state applies before the cancels start,
 * so no new order slips in between; a cancel that fails is reported in its result, and the
 * state stays set.
 */
export function createSetTradingState(deps: SetTradingStateDeps): SetTradingState {
  return async function setTradingState(input, call) {
    const violations: FieldViolation[] = [];
    if (input.account !== "" && !ACCOUNT_RE.test(input.account)) violations.push({ field: "account", description: `must match ${ACCOUNT_RE.source}` });
    if (input.venue !== "" && !deps.venues.has(input.venue)) {
      violations.push({ field: "venue", description: `unknown venue "${input.venue.slice(0, 64)}"; configured: ${[...deps.venues].join(", ")}` });
    }
    if (input.state === undefined) violations.push({ field: "state", description: "required: ACTIVE, REDUCE_ONLY or HALTED" });
    const reason = input.reason.trim();
    if (reason === "") violations.push({ field: "reason", description: "required: why, for the record (1-256 characters)" });
    else if (input.reason.length > MAX_REASON) violations.push({ field: "reason", description: `at most ${MAX_REASON} characters, got ${input.reason.length}` });
    if (input.cancelOpenOrders && input.state !== "HALTED") violations.push({ field: "cancel_open_orders", description: "only with state HALTED" });
    if (violations.length > 0) return err(invalidArgument(violations));
    if (!mayAdminister(call.principal)) {
      return err({ kind: "permission_denied", message: "setting a trading state needs an API key with the admin role (API_KEYS: <sha256>=admin)" });
    }
    const setting: TradingStateSetting = {
      account: input.account,
      venue: input.venue,
      state: input.state!,
      reason,
      setBy: call.principal.keyId,
      setAtMs: deps.clock.nowMs(),
    };
    const recorded = await deps.store.set(setting, call.requestId);
    if (!recorded.ok) return recorded;
    let canceled: CancelResult[] = [];
    if (input.cancelOpenOrders) {
      const scope = { ...(setting.account !== "" ? { account: setting.account } : {}), ...(setting.venue !== "" ? { venue: setting.venue } : {}) };
      canceled = await deps.cancelOpenOrders(scope, `trading halted for ${describeScope(setting)}: ${reason}`);
    }
    deps.onSet?.(setting, canceled.length);
    return ok({ setting: recorded.value, canceled });
  };
}
