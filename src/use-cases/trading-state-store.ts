import type { GatewayError } from "../domain/errors.js";
import { err, ok, type Result } from "../domain/result.js";
import {
  effectiveState,
  scopeKey,
  STRICTNESS,
  type TradingScope,
  type TradingStateName,
  type TradingStateSetting,
} from "../domain/trading-state.js";
import type { AuditGuard } from "./audit-guard.js";
import type { AuditSink } from "./audit-sink.js";

/**
 * The trading states in force (the kill switch), recorded in the audit log before they apply.
 * One setting per scope; ACTIVE removes the scope's setting. Few settings exist at any time, so
 * the hot path (`applying`) is a loop over a handful, and nothing when all is ACTIVE.
 */
export interface TradingStateStore {
  /**
   * Records `setting` (audit event `trading_state_set`, awaited) and then applies it. An append
   * that fails changes nothing and answers UNAVAILABLE.
   */
  set(setting: TradingStateSetting, requestId: string): Promise<Result<TradingStateSetting, GatewayError>>;
  /** The effective state of a scope and the settings that contain it, strictest first. */
  get(scope: TradingScope): { readonly effective: TradingStateName; readonly settings: readonly TradingStateSetting[] };
  /** The strictest setting that applies to an order on (account, venue); undefined when ACTIVE. */
  applying(account: string, venue: string): TradingStateSetting | undefined;
  /** Every setting in force (none ACTIVE). */
  list(): readonly TradingStateSetting[];
}

export interface TradingStateStoreDeps {
  readonly audit: AuditSink;
  /** Settings recovered from the audit log (recover.ts). */
  readonly initial?: readonly TradingStateSetting[];
  /** Shared with the pipeline: a failed append trips it, as any other. */
  readonly auditGuard?: AuditGuard;
  /** Told after every change (metrics). */
  readonly onChange?: (settings: readonly TradingStateSetting[]) => void;
}

export function createTradingStateStore(deps: TradingStateStoreDeps): TradingStateStore {
  const settings = new Map<string, TradingStateSetting>();
  for (const s of deps.initial ?? []) if (s.state !== "ACTIVE") settings.set(scopeKey(s), s);
  // Serialized: two operators setting one scope at once are recorded and applied in one order.
  let tail: Promise<unknown> = Promise.resolve();

  async function record(setting: TradingStateSetting, requestId: string): Promise<Result<TradingStateSetting, GatewayError>> {
    const refused = deps.auditGuard?.refusal();
    if (refused !== undefined) return err({ kind: "unavailable", message: `${refused.message}; the trading state did not change` });
    try {
      const p = deps.audit.append([{ ts: setting.setAtMs, type: "trading_state_set", requestId, tradingState: setting }]);
      if (p !== null) await p;
    } catch (e) {
      deps.auditGuard?.failed("a trading state was not recorded", e);
      return err({ kind: "unavailable", message: "the audit log cannot be written: the trading state did not change" });
    }
    if (setting.state === "ACTIVE") settings.delete(scopeKey(setting));
    else settings.set(scopeKey(setting), setting);
    deps.onChange?.([...settings.values()]);
    return ok(setting);
  }

  return {
    set(setting, requestId) {
      const p = tail.then(() => record(setting, requestId));
      tail = p.catch(() => {});
      return p;
    },
    get(scope) {
      return effectiveState(settings.values(), scope);
    },
    applying(account, venue) {
      if (settings.size === 0) return undefined;
      let best: TradingStateSetting | undefined;
      for (const s of settings.values()) {
        if ((s.account !== "" && s.account !== account) || (s.venue !== "" && s.venue !== venue)) continue;
        if (best === undefined || STRICTNESS[s.state] > STRICTNESS[best.state]) best = s;
      }
      return best;
    },
    list() {
      return [...settings.values()];
    },
  };
}
