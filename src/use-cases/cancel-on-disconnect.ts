import type { Logger } from "pino";

/** Which open orders a cancel-on-disconnect session guards (and a mass cancel cancels). */
export interface CancelScope {
  readonly account: string;
  readonly venue?: string;
  readonly symbol?: string;
}

/**
 * Cancels the open orders in scope, recording `reason` on every event. Built by CancelAllOrders
 * (use-cases/cancel-all-orders.ts) at merge; until then composition-root.ts loops over cancelOrder.
 */
export type CancelOpenOrders = (scope: CancelScope, reason: string) => Promise<void>;

export interface DisconnectTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface CancelOnDisconnectDeps {
  readonly cancelOpenOrders: CancelOpenOrders;
  readonly logger?: Logger;
  /** Default setTimeout/clearTimeout; tests pass manual timers to fire the grace period at will. */
  readonly timers?: DisconnectTimers;
}

export interface GuardedSession extends CancelScope {
  readonly sessionId: string;
  /** Already defaulted (0 -> 5000) and bounded by the caller. */
  readonly graceMs: number;
}

export interface SessionLease {
  /**
   * The stream ended. `clean`: the client closed it on purpose (or the server ended it: shutdown,
   * slow consumer): nothing is canceled. Otherwise the grace period starts, unless another stream
   * of the same session is still open. Idempotent.
   */
  end(clean: boolean): void;
}

export interface CancelOnDisconnect {
  /** A stream with cancel_on_disconnect began: it also resumes the session (stops its grace timer). */
  open(session: GuardedSession): SessionLease;
  /** Sessions whose grace period is running (metrics, tests). */
  pendingCount(): number;
  /** Shutdown: drops the grace timers without canceling (the gateway is going away, not the client). */
  close(): void;
}

export const DEFAULT_GRACE_MS = 5000;
export const MAX_GRACE_MS = 300_000;

const realTimers: DisconnectTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Cancel-on-disconnect (StreamOrderEvents.cancel_on_disconnect): sessions are keyed by (account,
 * session_id). When the last open stream of a session ends uncleanly, a timer of the stream's
 * grace_ms starts; a stream of the same session that opens before it fires stops it. When it
 * fires, the account's open orders in the ended stream's scope are canceled with the reason
 * "cancel-on-disconnect session <id>" (audited on every cancel event, so also on the stream).
 */
export function createCancelOnDisconnect(deps: CancelOnDisconnectDeps): CancelOnDisconnect {
  const timers = deps.timers ?? realTimers;
  const { logger } = deps;
  /** Open streams per session key. */
  const open = new Map<string, number>();
  /** Grace timers per session key. */
  const pending = new Map<string, unknown>();
  let closed = false;
  const keyOf = (s: { account: string; sessionId: string }): string => `${s.account}\u0000${s.sessionId}`;

  function fire(key: string, s: GuardedSession): void {
    pending.delete(key);
    if (closed || (open.get(key) ?? 0) > 0) return;
    const reason = `cancel-on-disconnect session ${s.sessionId}`;
    const scope: CancelScope = { account: s.account, ...(s.venue ? { venue: s.venue } : {}), ...(s.symbol ? { symbol: s.symbol } : {}) };
    logger?.warn({ session: s.sessionId, ...scope }, "cancel-on-disconnect: the session was not resumed within its grace period; canceling its open orders");
    deps.cancelOpenOrders(scope, reason).catch((e: unknown) => logger?.error({ err: e, session: s.sessionId }, "cancel-on-disconnect: canceling open orders failed"));
  }

  return {
    open(s) {
      const key = keyOf(s);
      const t = pending.get(key);
      if (t !== undefined) {
        timers.clear(t);
        pending.delete(key);
        logger?.info({ session: s.sessionId, account: s.account }, "cancel-on-disconnect: session resumed within its grace period");
      }
      open.set(key, (open.get(key) ?? 0) + 1);
      let ended = false;
      return {
        end(clean) {
          if (ended) return;
          ended = true;
          const left = (open.get(key) ?? 1) - 1;
          if (left > 0) open.set(key, left);
          else open.delete(key);
          if (clean || closed || left > 0) return;
          logger?.info({ session: s.sessionId, account: s.account, graceMs: s.graceMs }, "cancel-on-disconnect: stream lost; waiting for the session to resume");
          const prev = pending.get(key);
          if (prev !== undefined) timers.clear(prev);
          pending.set(key, timers.set(() => fire(key, s), s.graceMs));
        },
      };
    },
    pendingCount: () => pending.size,
    close() {
      closed = true;
      for (const t of pending.values()) timers.clear(t);
      pending.clear();
    },
  };
}
