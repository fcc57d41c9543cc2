import type { Logger } from "pino";
import { OrderStatus } from "../../domain/order.js";
import type { Order } from "../../domain/order.js";
import type { Clock } from "../../domain/ports.js";
import type { OrderUpdateSink, VenueAdapter } from "../../use-cases/venue-adapter.js";
import type { VenueMetrics } from "./venue-metrics.js";

export interface VenuePollerDeps {
  readonly adapters: ReadonlyMap<string, VenueAdapter>;
  readonly sink: OrderUpdateSink;
  /** Pause between the end of one sweep and the start of the next. */
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly metrics?: VenueMetrics | undefined;
  /**
   * A PENDING_NEW order the venue still does not know this long after it was
   * created is settled as REJECTED: the request never got through. Default
   * 120 s, far beyond any venue's recvWindow / deadline, after which a late
   * arrival is impossible.
   */
  readonly giveUpAfterMs?: number;
  /** Per venue and sweep, so polling stays inside the outbound budget. Default 50. */
  readonly maxOrdersPerSweep?: number;
  /** Venue kinds answered in-process that need no polling. Default ["paper"]. */
  readonly skipKinds?: readonly string[];
  /** Bound of one query. Default: intervalMs, at least 1 s. */
  readonly queryTimeoutMs?: number;
  /**
   * Venues whose user push stream is live (connected and caught up) are swept only every
   * slowIntervalMs of theirs instead of every intervalMs: polling stays for reconciliation.
   */
  readonly streams?: { isLive(venue: string): boolean; readonly slowIntervalMs: ReadonlyMap<string, number> } | undefined;
}

export interface VenuePoller {
  start(): void;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
  /** One sweep over every venue now (tests, and after an unknown outcome). */
  pollOnce(): Promise<void>;
  /**
   * One sweep of one venue's open orders, all of them (no per-sweep cap): a user stream's REST
   * catch-up. false when the venue stopped answering during it (rate limited, unavailable).
   */
  pollVenue(venue: string, signal?: AbortSignal): Promise<boolean>;
}

/**
 * Learns the truth about orders whose outcome is unknown (PENDING_NEW after a
 * timeout, reset or 5xx) and picks up new fills of working orders, by asking
 * each venue for the order by its client order id. Never re-sends an order:
 * only queries. What it learns goes through the one state machine
 * (sink.applyVenueUpdate), which also de-duplicates fills by venue trade id.
 */
export function createVenuePoller(deps: VenuePollerDeps): VenuePoller {
  const giveUpAfterMs = deps.giveUpAfterMs ?? 120_000;
  const maxPerSweep = deps.maxOrdersPerSweep ?? 50;
  const skip = new Set(deps.skipKinds ?? ["paper"]);
  const queryTimeoutMs = deps.queryTimeoutMs ?? Math.max(1_000, deps.intervalMs);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const lastSwept = new Map<string, number>();

  async function pollVenue(name: string, adapter: VenueAdapter, limit = maxPerSweep, signal?: AbortSignal): Promise<boolean> {
    lastSwept.set(name, performance.now());
    const orders: Order[] = [];
    for (const o of deps.sink.openOrders(name)) {
      // A replaced chain's later venue order is queried as the venue knows it (its own totals).
      orders.push(deps.sink.venueView?.(o.orderId) ?? o);
      if (orders.length >= limit) break;
    }
    for (const order of orders) {
      if (controller.signal.aborted || signal?.aborted === true) return false;
      try {
        if (!(await pollOrder(name, adapter, order))) return false;
      } catch (e: unknown) {
        // One order's failure (e.g. its audit append) must not starve the others.
        deps.metrics?.countReconciliation(name, "error");
        deps.logger?.error({ venue: name, orderId: order.orderId, err: e }, "applying a venue update failed");
      }
    }
    return true;
  }

  /** Queries one order and applies what it learns. false = stop this venue's sweep. */
  async function pollOrder(name: string, adapter: VenueAdapter, order: Order): Promise<boolean> {
    const now = deps.clock.nowMs();
    if (order.status === OrderStatus.PENDING_REPLACE) return pollReplace(name, adapter, order, now);
    const unknown = order.status === OrderStatus.PENDING_NEW;
    const res = await adapter.queryOrder(order, { signal: controller.signal, deadlineMs: now + queryTimeoutMs });
    if (res.ok) {
      deps.metrics?.countReconciliation(name, unknown ? (res.value.status === OrderStatus.PENDING_NEW ? "pending" : "resolved") : "polled");
      await deps.sink.applyVenueUpdate(order.orderId, res.value, unknown ? "reconcile" : "poll");
      return true;
    }
    const e = res.error;
    if (e.kind === "not_found") {
      if (unknown && now - order.createdAtMs >= giveUpAfterMs) {
        deps.metrics?.countReconciliation(name, "gave_up");
        deps.logger?.warn({ venue: name, orderId: order.orderId }, "venue has no record of an unknown-outcome order; settling it as rejected");
        await deps.sink.applyVenueUpdate(
          order.orderId,
          {
            status: OrderStatus.REJECTED,
            venueOrderId: "",
            rejectReason: `venue has no record of the order ${Math.round((now - order.createdAtMs) / 1000)} s after submission`,
            fills: [],
          },
          "reconcile",
        );
      } else {
        deps.metrics?.countReconciliation(name, "not_found");
      }
      return true;
    }
    deps.metrics?.countReconciliation(name, "error");
    deps.logger?.info({ venue: name, orderId: order.orderId, error: e }, "order query failed");
    // Rate limited or down: asking again for the next order would only make it worse.
    return !(e.kind === "rate_limited" || e.kind === "unavailable" || e.kind === "auth");
  }

  /**
   * A replace whose venue answer was lost. If the venue has the chain's new venue order (by its
   * derived client id), the replace took effect. Otherwise the old venue order tells: a fill or a
   * working status goes through the table (PENDING_REPLACE keeps waiting for the retry that
   * re-sends the absolute amend); CANCELED is expected half-way through cancel-then-new (the
   * client's retry places the new leg), so it is applied only after giveUpAfterMs.
   */
  async function pollReplace(name: string, adapter: VenueAdapter, order: Order, now: number): Promise<boolean> {
    const ctx = { signal: controller.signal, deadlineMs: now + queryTimeoutMs };
    const probe = deps.sink.replaceProbe?.(order.orderId);
    if (probe !== undefined && deps.sink.settleReplace !== undefined && probe.venueClientOrderId !== order.venueClientOrderId) {
      const found = await adapter.queryOrder(probe, ctx);
      if (found.ok) {
        deps.metrics?.countReconciliation(name, "resolved");
        await deps.sink.settleReplace(order.orderId, found.value, "reconcile");
        return true;
      }
      if (found.error.kind !== "not_found") {
        deps.metrics?.countReconciliation(name, "error");
        return !(found.error.kind === "rate_limited" || found.error.kind === "unavailable" || found.error.kind === "auth");
      }
    }
    const old = await adapter.queryOrder(order, ctx);
    if (!old.ok) {
      deps.metrics?.countReconciliation(name, old.error.kind === "not_found" ? "not_found" : "error");
      return !(old.error.kind === "rate_limited" || old.error.kind === "unavailable" || old.error.kind === "auth");
    }
    if (old.value.status === OrderStatus.CANCELED && now - order.updatedAtMs < giveUpAfterMs) {
      deps.metrics?.countReconciliation(name, "pending");
      return true;
    }
    deps.metrics?.countReconciliation(name, "polled");
    await deps.sink.applyVenueUpdate(order.orderId, old.value, "reconcile");
    return true;
  }

  async function pollOnce(): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [name, adapter] of deps.adapters) {
      if (skip.has(adapter.kind)) continue;
      const slow = deps.streams?.isLive(name) === true ? deps.streams.slowIntervalMs.get(name) : undefined;
      // A live stream brings the news; this venue's sweep waits for its long interval.
      if (slow !== undefined && performance.now() - (lastSwept.get(name) ?? -Infinity) < slow) continue;
      work.push(
        pollVenue(name, adapter).then(() => undefined, (e: unknown) => {
          deps.logger?.error({ venue: name, err: e }, "venue poll failed");
        }),
      );
    }
    await Promise.all(work);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pollOnce().finally(() => {
        running = undefined;
        schedule();
      });
    }, deps.intervalMs);
    // The poller must never keep the process alive on its own.
    timer.unref();
  }

  return {
    start() {
      if (timer !== undefined || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      controller.abort();
      await running;
    },
    pollOnce,
    async pollVenue(venue: string, signal?: AbortSignal): Promise<boolean> {
      const adapter = deps.adapters.get(venue);
      if (adapter === undefined || stopped) return false;
      return pollVenue(venue, adapter, Number.MAX_SAFE_INTEGER, signal);
    },
  };
}
