import type { Logger } from "pino";
import type { VenueAdapter } from "./venue-adapter.js";

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
  /**
   * The venues' own dead-man switches (Kraken CancelAllOrdersAfter), a second line of defence if
   * the gateway itself dies: armed while a session covering the venue lives (open or in its grace
   * period), refreshed every `refreshMs`, disarmed (0) when no session covers it any more.
   * Caveat: the venue's switch covers its whole API key, not one account.
   */
  readonly deadMan?: {
    readonly venues: ReadonlyMap<string, VenueAdapter>;
    /** Default 60 (Kraken's recommendation: 60 s, refreshed every 15-30 s). */
    readonly timeoutSeconds?: number;
    /** Default 20,000. */
    readonly refreshMs?: number;
    readonly signal?: AbortSignal;
  };
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
  /** The venue each live session (open or in grace) is scoped to ("" = every venue). */
  const scopeOf = new Map<string, string>();

  // ---- the venues' dead-man switches
  const dm = deps.deadMan;
  const switches = new Map<string, VenueAdapter>();
  if (dm !== undefined) for (const [name, a] of dm.venues) if (a.deadManSwitch !== undefined) switches.set(name, a);
  const armSeconds = dm?.timeoutSeconds ?? 60;
  const refreshMs = dm?.refreshMs ?? 20_000;
  const armed = new Set<string>();
  let refresh: unknown;
  function callSwitch(venue: string, seconds: number): void {
    const a = switches.get(venue)!;
    a.deadManSwitch!(seconds, { signal: dm?.signal ?? new AbortController().signal, deadlineMs: undefined })
      .then((r) => {
        if (!r.ok) logger?.warn({ venue, timeoutSeconds: seconds, error: r.error }, "venue dead-man switch call failed");
      })
      .catch((e: unknown) => logger?.error({ err: e, venue }, "venue dead-man switch call threw"));
  }
  function syncSwitches(): void {
    if (switches.size === 0) return;
    const needed = new Set<string>();
    for (const [key, venue] of scopeOf) {
      if ((open.get(key) ?? 0) === 0 && !pending.has(key)) continue;
      if (venue === "") for (const v of switches.keys()) needed.add(v);
      else if (switches.has(venue)) needed.add(venue);
    }
    for (const v of needed) if (!armed.has(v)) (armed.add(v), callSwitch(v, armSeconds));
    for (const v of [...armed]) if (!needed.has(v)) (armed.delete(v), callSwitch(v, 0));
    if (armed.size > 0 && refresh === undefined) refresh = timers.set(refreshAll, refreshMs);
    if (armed.size === 0 && refresh !== undefined) (timers.clear(refresh), (refresh = undefined));
  }
  function refreshAll(): void {
    refresh = undefined;
    if (closed) return;
    for (const v of armed) callSwitch(v, armSeconds);
    if (armed.size > 0) refresh = timers.set(refreshAll, refreshMs);
  }
  function forget(key: string): void {
    if ((open.get(key) ?? 0) === 0 && !pending.has(key)) scopeOf.delete(key);
  }

  function fire(key: string, s: GuardedSession): void {
    pending.delete(key);
    if (closed || (open.get(key) ?? 0) > 0) return;
    // The gateway cancels now: the venue's switch is no longer needed for this session.
    forget(key);
    syncSwitches();
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
      scopeOf.set(key, s.venue ?? "");
      syncSwitches();
      let ended = false;
      return {
        end(clean) {
          if (ended) return;
          ended = true;
          const left = (open.get(key) ?? 1) - 1;
          if (left > 0) open.set(key, left);
          else open.delete(key);
          if (clean || closed || left > 0) {
            forget(key);
            syncSwitches();
            return;
          }
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
      // Armed switches stay armed: the gateway going away is what they guard against.
      if (refresh !== undefined) timers.clear(refresh);
      refresh = undefined;
    },
  };
}
