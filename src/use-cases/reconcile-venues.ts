import type { Logger } from "pino";
import { compare } from "../domain/decimal.js";
import { OrderStatus, type Order } from "../domain/order.js";
import { isTerminal, statusName } from "../domain/order-state.js";
import type { Clock } from "../domain/ports.js";
import type { ReconcileKind } from "./audit-sink.js";
import { looksLikeGatewayVenueClientOrderId } from "./client-order-id.js";
import { externalClientOrderId, type OrderManager } from "./order-manager.js";
import type { VenueAdapter, VenueError, VenueOpenOrder } from "./venue-adapter.js";

/** Per venue, from the venue file (`adoptExternalOrders`, `externalAccount`). */
export interface VenueReconcileSettings {
  /** Adopt orders open at the venue that the gateway did not place. Default true. */
  readonly adoptExternalOrders: boolean;
  /** The account adopted orders belong to. Default "external". */
  readonly externalAccount: string;
}

export const DEFAULT_RECONCILE_SETTINGS: VenueReconcileSettings = { adoptExternalOrders: true, externalAccount: "external" };

/** What a pass found, for metrics and health. Calls must not throw. */
export interface ReconcileObserver {
  /** One correction applied (or one external order adopted). */
  corrected(venue: string, kind: ReconcileKind): void;
  /** A pass over `venue` ended; `ok` false when the venue could not be listed (retried next pass). */
  passEnded(venue: string, ok: boolean, atMs: number): void;
}

export interface ReconcilerDeps {
  readonly adapters: ReadonlyMap<string, VenueAdapter>;
  readonly orders: Pick<OrderManager, "openOrders" | "applyReconciliation" | "adoptExternal" | "getByClientOrderId">;
  readonly clock: Clock;
  /** Between the end of one pass and the start of the next; 0 or less: no timer (passes only by reconcileOnce). */
  readonly intervalMs: number;
  /** Per venue; absent = DEFAULT_RECONCILE_SETTINGS. */
  readonly settings?: ReadonlyMap<string, VenueReconcileSettings>;
  readonly observer?: ReconcileObserver;
  readonly logger?: Logger | undefined;
  /** Bound of one venue call. Default 10 s. */
  readonly callTimeoutMs?: number;
  /** Individual order queries per venue and pass (outbound budget). Default 100. */
  readonly maxQueriesPerPass?: number;
}

export interface Reconciler {
  /** One pass now, then one every intervalMs. */
  start(): void;
  /** Stops the timer, aborts venue calls and waits for a pass in progress. */
  stop(): Promise<void>;
  /** One pass over every venue that can list its open orders (tests, start-up). */
  reconcileOnce(): Promise<void>;
  /** When the last pass over `venue` listed it successfully (epoch ms), or undefined. */
  lastSuccessMs(venue: string): number | undefined;
}

/** Same status for reconciliation's purposes: a cancel or replace in flight is the gateway's own business. */
function sameStatus(gateway: OrderStatus, venue: OrderStatus): boolean {
  if (gateway === venue) return true;
  if (gateway === OrderStatus.PENDING_CANCEL || gateway === OrderStatus.PENDING_REPLACE) {
    return venue === OrderStatus.NEW || venue === OrderStatus.PARTIALLY_FILLED || venue === OrderStatus.PENDING_CANCEL;
  }
  return false;
}

/** Errors after which asking this venue again in the same pass only makes things worse. */
function stopsPass(e: VenueError): boolean {
  return e.kind === "rate_limited" || e.kind === "unavailable" || e.kind === "auth";
}

/**
 * The venue-wide reconciliation pass (at start-up and every RECONCILE_INTERVAL_MS). For each
 * venue that can list its open orders (VenueAdapter.listOpenOrders) it compares that list with
 * the gateway's open orders of the venue:
 *
 * - an order the gateway thinks open that the venue no longer lists is queried individually and
 *   the venue's final word (canceled, filled, expired) is applied;
 * - a listed order whose status or filled quantity differs is queried individually too (the
 *   query carries the executions, de-duplicated by venue trade id as always) and applied;
 * - an order listed at the venue that the gateway did not place (its venue client order id is
 *   not of the gateway's shape, client-order-id.ts) is adopted as external, once: it is keyed by
 *   venue order id among the open orders, which recovery rebuilds from the audit log.
 *
 * Every correction goes through the transition table (OrderManager.applyReconciliation) and is
 * audited as an `order_reconciled` event. A venue that cannot be listed changes nothing; the
 * next pass tries again. It never places or cancels anything. The per-order poller
 * (adapters/venues/reconciler.ts) keeps resolving unknown outcomes between passes.
 */
export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const controller = new AbortController();
  const timeoutMs = deps.callTimeoutMs ?? 10_000;
  const maxQueries = deps.maxQueriesPerPass ?? 100;
  const lastSuccess = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const ctx = () => ({ signal: controller.signal, deadlineMs: deps.clock.nowMs() + timeoutMs });

  async function reconcileVenue(name: string, adapter: VenueAdapter): Promise<void> {
    if (adapter.listOpenOrders === undefined) return;
    const settings = deps.settings?.get(name) ?? DEFAULT_RECONCILE_SETTINGS;
    // Taken before the list: an order placed while the list is in flight is not judged by it.
    const ours = [...deps.orders.openOrders(name)];
    const listed = await adapter.listOpenOrders(ctx());
    if (!listed.ok) {
      deps.observer?.passEnded(name, false, deps.clock.nowMs());
      deps.logger?.warn({ venue: name, error: listed.error }, "reconciliation: cannot list the venue's open orders; retrying next pass");
      return;
    }
    const byVenueId = new Map<string, VenueOpenOrder>();
    const byClientId = new Map<string, VenueOpenOrder>();
    for (const vo of listed.value) {
      byVenueId.set(vo.venueOrderId, vo);
      if (vo.venueClientOrderId !== "") byClientId.set(vo.venueClientOrderId, vo);
    }
    // First match every open order of ours (all of them, so that no listed order of ours, an
    // already adopted one included, can look unknown below), then ask about the differences.
    const matched = new Set<string>();
    const toCorrect: Array<{ order: Order; kind: ReconcileKind; why: string }> = [];
    for (const order of ours) {
      const vo = (order.venueOrderId !== "" ? byVenueId.get(order.venueOrderId) : undefined) ?? (order.venueClientOrderId !== "" ? byClientId.get(order.venueClientOrderId) : undefined);
      if (vo !== undefined) {
        matched.add(vo.venueOrderId);
        const known = order.filledQuantity === "" ? "0" : order.filledQuantity;
        if (vo.filledQuantity !== "" && compare(vo.filledQuantity, known) > 0) {
          toCorrect.push({ order, kind: "missed_fill", why: `venue reports ${vo.filledQuantity} filled, gateway had ${known}` });
        } else if (!sameStatus(order.status, vo.status)) {
          toCorrect.push({ order, kind: "status", why: `venue reports ${statusName(vo.status)}, gateway had ${statusName(order.status)}` });
        }
      } else if (order.status !== OrderStatus.PENDING_NEW) {
        // An unknown-outcome order the venue does not list is the poller's (it gives up after a while).
        toCorrect.push({ order, kind: "venue_closed", why: `venue no longer lists the order (gateway had ${statusName(order.status)})` });
      }
    }
    let queries = 0;
    for (const { order, kind, why } of toCorrect) {
      if (controller.signal.aborted) return;
      if (queries++ >= maxQueries) {
        deps.logger?.info({ venue: name, limit: maxQueries }, "reconciliation: query budget of this pass used; the rest waits for the next pass");
        break;
      }
      if (!(await correct(name, adapter, order, kind, why))) break;
    }
    if (settings.adoptExternalOrders) {
      for (const vo of listed.value) {
        if (matched.has(vo.venueOrderId) || controller.signal.aborted) continue;
        if (vo.venueClientOrderId !== "" && looksLikeGatewayVenueClientOrderId(adapter.kind, vo.venueClientOrderId)) {
          // Ours by its shape, but not open in this gateway: another gateway instance on the same
          // account, or an order this one closed by mistake. Never adopted; an operator looks.
          deps.logger?.warn({ venue: name, venueOrderId: vo.venueOrderId, venueClientOrderId: vo.venueClientOrderId }, "reconciliation: venue lists an order with a gateway client order id that is not open here");
          continue;
        }
        // Adopted before and closed since (canceled through the gateway, say) while the venue's
        // listing still shows it: found by its deterministic client order id, never adopted again.
        if (deps.orders.getByClientOrderId(settings.externalAccount, externalClientOrderId(name, vo.venueOrderId)) !== undefined) continue;
        try {
          const adopted = await deps.orders.adoptExternal({ venue: name, account: settings.externalAccount, open: vo });
          deps.observer?.corrected(name, "external_adopted");
          deps.logger?.info({ venue: name, orderId: adopted.orderId, venueOrderId: vo.venueOrderId, account: adopted.account }, "reconciliation: external order adopted");
        } catch (e: unknown) {
          deps.logger?.error({ venue: name, venueOrderId: vo.venueOrderId, err: e }, "reconciliation: adopting an external order failed");
        }
      }
    }
    const now = deps.clock.nowMs();
    lastSuccess.set(name, now);
    deps.observer?.passEnded(name, true, now);
  }

  /** Asks the venue for the order and applies its answer. false = stop this venue's pass. */
  async function correct(name: string, adapter: VenueAdapter, order: Order, kind: ReconcileKind, why: string): Promise<boolean> {
    const res = await adapter.queryOrder(order, ctx());
    if (!res.ok) {
      if (res.error.kind === "not_found") {
        // Never guessed: an acknowledged order the venue has no record of is left for an operator.
        deps.logger?.warn({ venue: name, orderId: order.orderId, status: statusName(order.status) }, "reconciliation: venue has no record of an order the gateway thinks open");
        return true;
      }
      deps.logger?.info({ venue: name, orderId: order.orderId, error: res.error }, "reconciliation: order query failed");
      return !stopsPass(res.error);
    }
    const u = res.value;
    // The venue still has it working as the gateway thinks (the list lagged): nothing to correct.
    if (kind === "venue_closed" && !isTerminal(u.status) && sameStatus(order.status, u.status) && (u.filledQuantity === undefined || u.filledQuantity === order.filledQuantity)) return true;
    const detail = `${why}; venue order ${u.venueOrderId || order.venueOrderId} is ${statusName(u.status)}${u.filledQuantity !== undefined ? `, filled ${u.filledQuantity}` : ""}`;
    try {
      const after = await deps.orders.applyReconciliation(order.orderId, u, kind, detail);
      if (after !== undefined) {
        deps.observer?.corrected(name, kind);
        deps.logger?.info({ venue: name, orderId: order.orderId, kind, status: statusName(after.status) }, "reconciliation: order corrected");
      }
    } catch (e: unknown) {
      deps.logger?.error({ venue: name, orderId: order.orderId, err: e }, "reconciliation: applying a correction failed");
    }
    return true;
  }

  /** Passes never overlap (two at once could adopt one external order twice): each waits for the one before. */
  let tail: Promise<void> = Promise.resolve();
  function reconcileOnce(): Promise<void> {
    const next = tail.then(pass);
    tail = next;
    return next;
  }

  async function pass(): Promise<void> {
    if (controller.signal.aborted) return;
    const work: Promise<void>[] = [];
    for (const [name, adapter] of deps.adapters) {
      work.push(
        reconcileVenue(name, adapter).catch((e: unknown) => {
          deps.observer?.passEnded(name, false, deps.clock.nowMs());
          deps.logger?.error({ venue: name, err: e }, "reconciliation pass failed");
        }),
      );
    }
    await Promise.all(work);
  }

  function run(): void {
    running = reconcileOnce().finally(() => {
      running = undefined;
      schedule();
    });
  }

  function schedule(): void {
    if (stopped || deps.intervalMs <= 0) return;
    timer = setTimeout(run, deps.intervalMs);
    // Reconciliation must never keep the process alive on its own.
    timer.unref();
  }

  return {
    start() {
      if (stopped || running !== undefined || timer !== undefined) return;
      run();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      controller.abort();
      await running;
      await tail;
    },
    reconcileOnce,
    lastSuccessMs: (venue) => lastSuccess.get(venue),
  };
}
