import type { Logger } from "pino";
import type { Fill } from "../domain/order.js";
import type { Clock, FillPublisher } from "../domain/ports.js";
import type { VenueAdapter, VenueBalance } from "./venue-adapter.js";

/** What GetBalances reports for one venue. */
export interface VenueBalanceSnapshot {
  readonly venue: string;
  /** The last figures the venue reported ([] before the first success). */
  readonly balances: readonly VenueBalance[];
  /** When the venue reported `balances` (epoch ms); undefined before the first success. */
  readonly asOfMs: number | undefined;
  /** Why the last refresh failed, or why the venue has no balances; undefined after a success. */
  readonly error: string | undefined;
}

export interface BalanceCacheOptions {
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly clock: Clock;
  /**
   * BALANCE_REFRESH_MS: every venue is refreshed on this interval and soon after its fills.
   * 0 = only on demand: a GetBalances call fetches (at most once per `onDemandMinAgeMs`).
   */
  readonly refreshMs: number;
  /** Delay after a fill before the venue is refreshed; fills within it share one refresh. Default 500 ms. */
  readonly afterFillDelayMs?: number;
  /** With refreshMs 0: figures younger than this are served without asking the venue again. Default 1000 ms. */
  readonly onDemandMinAgeMs?: number;
  /** Most venues asked at once. Default 4. */
  readonly concurrency?: number;
  readonly logger?: Logger;
}

export interface BalanceCache {
  /**
   * The balances of `venues` (names of configured venues, in that order). Waits for a venue's
   * first fetch (and, with refreshMs 0, for a fetch when the figures are older than
   * onDemandMinAgeMs); otherwise answers from the cache at once. With `deadlineMs` (epoch ms,
   * the RPC deadline) it stops waiting a little before it and answers what it has: a venue still
   * on its first request then has no balances and an error saying so.
   */
  get(venues: readonly string[], deadlineMs?: number): Promise<VenueBalanceSnapshot[]>;
  /** A fill happened at `venue`: schedule a refresh (debounced). Cheap; never fetches inline. */
  noteFill(venue: string): void;
  /** Starts the interval refresh (and a first refresh of every venue); no-op with refreshMs 0. */
  start(): void;
  /** Stops timers and aborts fetches in flight; idempotent. */
  close(): void;
}

/** How long before the caller's deadline get() stops waiting for venues and answers. */
const DEADLINE_MARGIN_MS = 50;

interface VenueState {
  balances: readonly VenueBalance[];
  asOfMs: number | undefined;
  error: string | undefined;
  /** When the last fetch ended (success or not); undefined = never fetched. */
  attemptedMs: number | undefined;
  inflight: Promise<void> | undefined;
  fillTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The balance cache behind GetBalances. Decisions (see README "GetBalances"):
 * - A failed refresh keeps the last good figures with their true age AND sets `error` to why the
 *   refresh failed: a trader sees what was last known, how old it is and that it is not current.
 *   Before any success there are no balances, only the error; an empty list is never passed off
 *   as real figures.
 * - Fetches are single-flight per venue and bounded overall (`concurrency`); each goes through
 *   the venue adapter, so its outbound limiter, back-off and timeout apply (a refused budget is
 *   reported as the error, not retried in a loop).
 * - Fills only schedule a refresh (one timer per venue, debounced), so the order path does no
 *   venue I/O and no decimal work for balances.
 */
export function createBalanceCache(options: BalanceCacheOptions): BalanceCache {
  const { venues, clock, refreshMs, logger } = options;
  const afterFillDelayMs = options.afterFillDelayMs ?? 500;
  const onDemandMinAgeMs = options.onDemandMinAgeMs ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const abort = new AbortController();
  const states = new Map<string, VenueState>();
  for (const [name, adapter] of venues) {
    if (adapter.fetchBalances === undefined) continue;
    states.set(name, { balances: [], asOfMs: undefined, error: undefined, attemptedMs: undefined, inflight: undefined, fillTimer: undefined });
  }
  let interval: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  // A counting semaphore: at most `concurrency` venue fetches at once.
  let running = 0;
  const waiting: Array<() => void> = [];
  async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  }

  function refresh(name: string): Promise<void> {
    const st = states.get(name);
    if (st === undefined || closed) return Promise.resolve();
    st.inflight ??= withSlot(async () => {
      if (closed) return;
      const adapter = venues.get(name)!;
      let outcome: Awaited<ReturnType<NonNullable<VenueAdapter["fetchBalances"]>>>;
      try {
        outcome = await adapter.fetchBalances!({ signal: abort.signal });
      } catch (e) {
        // An adapter must not throw; if one does, it is reported like a failed venue call.
        outcome = { ok: false, error: { kind: "protocol", reason: `balances call failed: ${(e as Error).message}` } };
      }
      const now = clock.nowMs();
      st.attemptedMs = now;
      if (outcome.ok) {
        st.balances = outcome.value;
        st.asOfMs = now;
        st.error = undefined;
      } else {
        st.error = `${outcome.error.kind}: ${outcome.error.reason}`;
        logger?.info({ venue: name, error: outcome.error }, "balance refresh failed; keeping the last good figures");
      }
    }).finally(() => {
      st.inflight = undefined;
    });
    return st.inflight;
  }

  function refreshAll(): void {
    for (const name of states.keys()) void refresh(name);
  }

  function snapshot(name: string): VenueBalanceSnapshot {
    const st = states.get(name);
    if (st === undefined) {
      return { venue: name, balances: [], asOfMs: undefined, error: `venue ${name} does not report balances` };
    }
    if (st.attemptedMs === undefined) {
      return { venue: name, balances: [], asOfMs: undefined, error: `venue ${name} has not answered the first balance request yet` };
    }
    return { venue: name, balances: st.balances, asOfMs: st.asOfMs, error: st.error };
  }

  return {
    async get(names, deadlineMs) {
      const waits: Promise<void>[] = [];
      const now = clock.nowMs();
      for (const name of names) {
        const st = states.get(name);
        if (st === undefined) continue;
        const stale = refreshMs === 0 && (st.attemptedMs === undefined || now - st.attemptedMs >= onDemandMinAgeMs);
        if (st.attemptedMs === undefined || stale) waits.push(refresh(name));
        else if (st.inflight !== undefined && st.asOfMs === undefined) waits.push(st.inflight);
      }
      if (waits.length > 0) {
        const all = Promise.all(waits);
        if (deadlineMs === undefined) await all;
        else {
          // Answer before the caller's deadline rather than let the RPC fail: the fetch goes on.
          let timer: ReturnType<typeof setTimeout> | undefined;
          const margin = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadlineMs - now - DEADLINE_MARGIN_MS))));
          await Promise.race([all, margin]);
          clearTimeout(timer);
        }
      }
      return names.map(snapshot);
    },
    noteFill(venue) {
      if (refreshMs === 0 || closed) return;
      const st = states.get(venue);
      if (st === undefined || st.fillTimer !== undefined) return;
      st.fillTimer = setTimeout(() => {
        st.fillTimer = undefined;
        void refresh(venue);
      }, afterFillDelayMs);
      st.fillTimer.unref?.();
    },
    start() {
      if (refreshMs === 0 || closed || interval !== undefined || states.size === 0) return;
      refreshAll();
      interval = setInterval(refreshAll, refreshMs);
      interval.unref?.();
    },
    close() {
      if (closed) return;
      closed = true;
      if (interval !== undefined) clearInterval(interval);
      for (const st of states.values()) if (st.fillTimer !== undefined) clearTimeout(st.fillTimer);
      abort.abort();
      // Fetches waiting for a slot return at once (closed) instead of waiting for running ones.
      for (const w of waiting.splice(0)) w();
    },
  };
}

/** A FillPublisher that also tells `onFill` (after the real publish), for the balance cache's refresh-after-fill. */
export function withFillListener(publisher: FillPublisher, onFill: (fill: Fill) => void): FillPublisher {
  return {
    nextSequence: () => publisher.nextSequence(),
    publish(fill) {
      publisher.publish(fill);
      onFill(fill);
    },
  };
}
