import type { GatewayError } from "../domain/errors.js";
import type { AuditSink } from "./audit-sink.js";
import { utcDay } from "./position-book.js";

/** What the daily realized-loss check saw when an account went past its limit. */
export interface DailyLossBreach {
  readonly account: string;
  /** The UTC day, YYYY-MM-DD. */
  readonly day: string;
  /** The account's realized P&L that day (signed decimal string, below -limit). */
  readonly realizedPnl: string;
  /** The configured dailyLossLimit (positive decimal string). */
  readonly limit: string;
  /** The fill that took it past the limit (absent when found at start-up). */
  readonly symbol?: string;
  readonly fillSequence?: bigint;
  /** When it was seen (the fill's time, or start-up). */
  readonly timeMs: number;
  /** Found while recovering at start-up: the breach was already recorded before the restart. */
  readonly recovered: boolean;
}

/**
 * The port the position risk check calls, once per account and UTC day, when the account's
 * realized P&L for the day goes below minus its dailyLossLimit. `venue` is the venue of the fill
 * that did it (undefined when found at start-up). In this branch it is createDailyLossRecorder
 * (audit event, metric, in-memory reduce-only flag); the trading-state kill switch routes it to
 * SetTradingState(account, REDUCE_ONLY) instead. Must not throw.
 */
export type DailyLossBreachPort = (account: string, venue: string | undefined, detail: DailyLossBreach) => void;

/** Accounts made reduce-only by their daily loss, for the rest of that UTC day. */
export interface ReduceOnlyFlags {
  set(detail: DailyLossBreach): void;
  /** The breach that makes `account` reduce-only now, or undefined. */
  get(account: string, nowMs: number): DailyLossBreach | undefined;
  /** Accounts flagged for the day of `nowMs`. */
  count(nowMs: number): number;
}

export function createReduceOnlyFlags(): ReduceOnlyFlags {
  const flags = new Map<string, { day: number; detail: DailyLossBreach }>();
  return {
    set(detail: DailyLossBreach): void {
      flags.set(detail.account, { day: utcDay(detail.timeMs), detail });
    },
    get(account: string, nowMs: number): DailyLossBreach | undefined {
      if (flags.size === 0) return undefined;
      const f = flags.get(account);
      return f !== undefined && f.day === utcDay(nowMs) ? f.detail : undefined;
    },
    count(nowMs: number): number {
      const today = utcDay(nowMs);
      let n = 0;
      for (const f of flags.values()) if (f.day === today) n++;
      return n;
    },
  };
}

/** The error a breach is recorded with (the audit event's `error`). */
export function dailyLossError(venue: string | undefined, d: DailyLossBreach): GatewayError {
  return {
    kind: "failed_precondition",
    reason: "DAILY_LOSS_LIMIT",
    message: `risk limit: realized P&L ${d.realizedPnl} of account ${d.account} on ${d.day} (UTC) is below the daily loss limit -${d.limit}; the account is reduce-only for the rest of the day`,
    metadata: {
      limit: "dailyLossLimit",
      account: d.account,
      day: d.day,
      realized_pnl: d.realizedPnl,
      daily_loss_limit: d.limit,
      ...(venue !== undefined ? { venue } : {}),
      ...(d.symbol !== undefined ? { symbol: d.symbol } : {}),
      ...(d.fillSequence !== undefined ? { fill_sequence: d.fillSequence.toString() } : {}),
    },
  };
}

export interface DailyLossRecorderDeps {
  readonly audit: AuditSink;
  readonly flags: ReduceOnlyFlags;
  /** Counts breaches (a metric); called for new breaches, not recovered ones. */
  readonly onBreach?: () => void;
  readonly onError?: (message: string, detail: unknown) => void;
}

/**
 * This branch's DailyLossBreachPort: flags the account reduce-only at once, counts it, and
 * appends a `daily_loss_limit_breached` audit event (not for a breach recovered at start-up,
 * which the log already holds). The append is queued behind the current synchronous step: the
 * port is called while the fill that caused it is being committed, and the log should show that
 * fill first.
 */
export function createDailyLossRecorder(deps: DailyLossRecorderDeps): DailyLossBreachPort {
  const onError = deps.onError ?? (() => {});
  return (account, venue, detail) => {
    deps.flags.set(detail);
    if (detail.recovered) return;
    deps.onBreach?.();
    queueMicrotask(() => {
      try {
        const p = deps.audit.append([{ ts: detail.timeMs, type: "daily_loss_limit_breached", requestId: "risk-daily-loss", error: dailyLossError(venue, detail) }]);
        p?.catch((e: unknown) => onError(`daily loss limit breach of account ${account} not recorded in the audit log`, e));
      } catch (e) {
        onError(`daily loss limit breach of account ${account} not recorded in the audit log`, e);
      }
    });
  };
}
