import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { effectiveState, scopeKind, STRICTNESS, type TradingStateSetting } from "../../domain/trading-state.js";
import { createCallHistogram, type CallHistogram } from "./call-histogram.js";
import { OrderStatus } from "../../domain/order.js";
import { RECONCILE_KINDS } from "../../use-cases/audit-sink.js";
import { REJECT_REASONS, type OrderObserver, type RejectReason } from "../../use-cases/order-observer.js";
import type { ReconcileObserver } from "../../use-cases/reconcile-venues.js";

/**
 * Every prom-client metric of the gateway is defined here, on a registry made
 * per app (never prom-client's global one), so two apps in one test process
 * do not share counters. Label values are bounded: service and method come
 * from the registered services only, codes from the fixed gRPC code list.
 */
export interface RpcMetrics {
  readonly registry: Registry;
  readonly started: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly handled: Counter<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code">;
  readonly msgReceived: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly msgSent: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  /** Not prom-client's Histogram class, for speed; same series and text (see call-histogram.ts). */
  readonly handlingSeconds: CallHistogram<"grpc_type" | "grpc_service" | "grpc_method">;
  /**
   * The hot-path handle for one method: plain-number tallies folded into the
   * counters above whenever they are read (scrape, `get()`), because a
   * prom-client `inc(labels)` hashes its labels into a string and looks it up
   * on every call. Cached: one handle per (type, service, method).
   */
  forMethod(type: string, service: string, method: string): MethodMetrics;
}

/** Per-method tallies; see RpcMetrics.forMethod. */
export interface MethodMetrics {
  started: number;
  received: number;
  sent: number;
  /** Calls handled, by grpc_code label value (OK, InvalidArgument, ...). */
  readonly handled: Map<string, number>;
  /** Observes one call's duration in seconds (directly on a cached histogram child). */
  observe(seconds: number): void;
}

export interface MetricsOptions {
  /** Add prom-client's default process and Node.js metrics (off in most unit tests). */
  readonly defaultMetrics?: boolean;
  /** Registry to use; a new one by default. */
  readonly registry?: Registry;
}

/** Names as go-grpc-prometheus exports them, so existing dashboards work. */
export function createRpcMetrics(opts: MetricsOptions = {}): RpcMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  // Handles whose tallies are folded into the counters on every read (collect).
  const handles = new Map<string, MethodMetrics & { readonly labels: Record<(typeof labelNames)[number], string> }>();
  function flush(): void {
    for (const h of handles.values()) {
      if (h.started > 0) started.inc(h.labels, h.started);
      if (h.received > 0) msgReceived.inc(h.labels, h.received);
      if (h.sent > 0) msgSent.inc(h.labels, h.sent);
      h.started = h.received = h.sent = 0;
      for (const [code, n] of h.handled) {
        if (n > 0) handled.inc({ ...h.labels, grpc_code: code }, n);
        h.handled.set(code, 0);
      }
    }
  }
  // prom-client runs `collect` before every get() (and so every scrape): counts are never stale when read.
  const collect = () => flush();
  const started = new Counter({ name: "grpc_server_started_total", help: "Total number of RPCs started on the server.", labelNames, registers: [registry], collect });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"] as const,
    registers: [registry],
    collect,
  });
  const msgReceived = new Counter({ name: "grpc_server_msg_received_total", help: "Total number of RPC stream messages received on the server.", labelNames, registers: [registry], collect });
  const msgSent = new Counter({ name: "grpc_server_msg_sent_total", help: "Total number of gRPC stream messages sent by the server.", labelNames, registers: [registry], collect });
  const handlingSeconds = createCallHistogram({
    name: "grpc_server_handling_seconds",
    help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    labelNames,
    // Sub-millisecond buckets: the gateway's own latency is what operators watch.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    started,
    handled,
    msgReceived,
    msgSent,
    forMethod(type, service, method) {
      // Label values are bounded (registered services only), so this map is too.
      const key = `${type}\n${service}\n${method}`;
      let h = handles.get(key);
      if (h === undefined) {
        const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
        const child = handlingSeconds.labels(labels);
        h = { labels, started: 0, received: 0, sent: 0, handled: new Map(), observe: child.observe };
        handles.set(key, h);
      }
      return h;
    },
    handlingSeconds,
  };
}

/**
 * The audit log's commits (src/adapters/audit/group-commit.ts calls `committed`/`failed` once per batch).
 * No labels: one audit log per process, and its back-end is a setting, not a dimension.
 */
export interface AuditMetrics {
  readonly events: Counter;
  readonly batches: Counter;
  readonly batchLines: Histogram;
  readonly commitSeconds: Histogram;
  readonly errors: Counter;
  /** The observer to give createAuditSink (structurally src/adapters/audit/group-commit.ts AuditObserver). */
  committed(lines: number, seconds: number): void;
  failed(lines: number): void;
}

export function createAuditMetrics(registry: Registry): AuditMetrics {
  // A core rebuilt on the same registry (a restart in one process) keeps counting on the same series.
  const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const events = reuse("audit_events_total", () => new Counter({ name: "audit_events_total", help: "Audit events committed (written, and fsync'd in fsync mode).", registers: [registry] }));
  const batches = reuse("audit_batches_total", () => new Counter({ name: "audit_batches_total", help: "Audit batches committed: one write+fsync (JSONL) or one INSERT (PostgreSQL) each.", registers: [registry] }));
  const batchLines = reuse(
    "audit_batch_lines",
    () =>
      new Histogram({
        name: "audit_batch_lines",
        help: "Events per committed audit batch (1 at low load; grows under load as lines wait for the commit in flight).",
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
        registers: [registry],
      }),
  );
  const commitSeconds = reuse(
    "audit_commit_seconds",
    () =>
      new Histogram({
        name: "audit_commit_seconds",
        help: "Time to commit one audit batch: write+fsync (JSONL) or the INSERT (PostgreSQL). Callers in fsync mode wait at least this long.",
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  );
  const errors = reuse(
    "audit_errors_total",
    () => new Counter({ name: "audit_errors_total", help: "Audit batch commits that failed (their callers got an error; see the log).", registers: [registry] }),
  );
  return {
    events,
    batches,
    batchLines,
    commitSeconds,
    errors,
    committed(lines, seconds) {
      events.inc(lines);
      batches.inc();
      batchLines.observe(lines);
      commitSeconds.observe(seconds);
    },
    failed() {
      errors.inc();
    },
  };
}

/** Counts CancelAllOrders results (gateway_cancels_total); labels are bounded: configured venues, 4 outcomes, 2 ways. */
export type CancelResultCounter = (venue: string, outcome: "canceled" | "already_terminal" | "pending" | "failed", via: "native" | "single") => void;

export function createCancelMetrics(registry: Registry): CancelResultCounter {
  const name = "gateway_cancels_total";
  const counter =
    (registry.getSingleMetric(name) as Counter<"venue" | "outcome" | "via"> | undefined) ??
    new Counter({
      name,
      help: "Orders CancelAllOrders tried to cancel, by venue, outcome and whether the venue's native mass cancel was used",
      labelNames: ["venue", "outcome", "via"] as const,
      registers: [registry],
    });
  return (venue, outcome, via) => counter.inc({ venue, outcome, via });
}

/**
 * Risk metrics (issue 21). Labels stay bounded: reasons come from the fixed ErrorInfo catalog,
 * venues from the configured ones, scope kinds and states from fixed lists; accounts are never a
 * label (an account's settings are counted, not named: GetTradingState names them).
 */
export interface RiskMetrics {
  /** One risk refusal, by its ErrorInfo reason. */
  rejected(reason: string): void;
  /** The trading-state settings changed. */
  tradingStates(settings: readonly TradingStateSetting[]): void;
  /** A risk-limits reload, applied or refused. */
  reloaded(ok: boolean): void;
}

export function createRiskMetrics(registry: Registry, venues: readonly string[]): RiskMetrics {
  const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const rejects = reuse(
    "risk_rejects_total",
    () => new Counter({ name: "risk_rejects_total", help: "Orders refused by pre-trade risk (trading state and limits), by ErrorInfo reason.", labelNames: ["reason"] as const, registers: [registry] }),
  );
  const effective = reuse(
    "trading_state",
    () =>
      new Gauge({
        name: "trading_state",
        help: "Effective trading state of everything (venue=\"\") and of each venue, for orders of accounts without a setting of their own: 0 ACTIVE, 1 REDUCE_ONLY, 2 HALTED.",
        labelNames: ["venue"] as const,
        registers: [registry],
      }),
  );
  const settingsGauge = reuse(
    "trading_state_settings",
    () =>
      new Gauge({
        name: "trading_state_settings",
        help: "Trading-state settings in force (not ACTIVE), by scope kind (global, venue, account, account_venue) and state.",
        labelNames: ["scope", "state"] as const,
        registers: [registry],
      }),
  );
  const reloads = reuse(
    "risk_limits_reloads_total",
    () => new Counter({ name: "risk_limits_reloads_total", help: "Risk-limits reloads (SIGHUP, file change), by outcome (applied, refused: the old limits stay).", labelNames: ["outcome"] as const, registers: [registry] }),
  );
  const m: RiskMetrics = {
    rejected(reason) {
      rejects.inc({ reason });
    },
    tradingStates(settings) {
      effective.set({ venue: "" }, STRICTNESS[effectiveState(settings, { account: "", venue: "" }).effective]);
      for (const venue of venues) effective.set({ venue }, STRICTNESS[effectiveState(settings, { account: "", venue }).effective]);
      settingsGauge.reset();
      for (const scope of ["global", "venue", "account", "account_venue"] as const) {
        for (const state of ["REDUCE_ONLY", "HALTED"] as const) settingsGauge.set({ scope, state }, settings.filter((s) => s.state === state && scopeKind(s) === scope).length);
      }
    },
    reloaded(ok) {
      reloads.inc({ outcome: ok ? "applied" : "refused" });
    },
  };
  return m;

}

/** The position limits' metrics: daily loss breaches, and accounts reduce-only because of one. */
export interface PositionRiskMetrics {
  breached(): void;
  /** Registers how to read the number of reduce-only accounts at scrape time. */
  reduceOnly(count: () => number): void;
}

export function createPositionRiskMetrics(registry: Registry): PositionRiskMetrics {
  const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const breaches = reuse(
    "risk_daily_loss_breaches_total",
    () => new Counter({ name: "risk_daily_loss_breaches_total", help: "Accounts whose realized P&L for the UTC day went below their dailyLossLimit (each became reduce-only).", registers: [registry] }),
  );
  // The reader hangs on the gauge itself: a core rebuilt on the same registry re-points it.
  type Readable = Gauge & { readCount?: () => number };
  const gauge = reuse<Readable>(
    "risk_reduce_only_accounts",
    () =>
      new Gauge({
        name: "risk_reduce_only_accounts",
        help: "Accounts reduce-only today because of their daily loss limit.",
        registers: [registry],
        collect() {
          this.set((this as Readable).readCount?.() ?? 0);
        },
      }),
  );
  return {
    breached: () => breaches.inc(),
    reduceOnly(count) {
      gauge.readCount = count;
    },
  };
}

/** ReplaceOrder outcomes: `method` amend|cancel_then_new|unspecified, `outcome` replaced|rejected|pending|failed (bounded). */
export function createReplaceMetrics(registry: Registry): { observe(method: string, outcome: string): void } {
  const name = "gateway_replaces_total";
  const counter =
    (registry.getSingleMetric(name) as Counter<"method" | "outcome"> | undefined) ??
    new Counter({
      name,
      help: "ReplaceOrder requests that reached a decision, by how the venue was asked and how it ended (pending = venue outcome unknown).",
      labelNames: ["method", "outcome"],
      registers: [registry],
    });
  return {
    observe(method, outcome) {
      counter.inc({ method, outcome });
    },
  };
}

/**
 * Business metrics of the order pipeline, all with bounded labels: order status (the fixed enum),
 * venue (the configured venues, fixed at start; anything else counts as "other"), reject reason
 * (order-observer.ts REJECT_REASONS) and reconciliation kind (audit-sink.ts RECONCILE_KINDS).
 *
 * The hot path (OrderObserver, called by the order manager on every state change) only bumps
 * plain numbers in arrays and pre-built per-venue records; they are folded into the prom-client
 * counters whenever the registry is read (scrape), as RpcMetrics.forMethod does.
 */
export interface BusinessMetrics {
  /** For the order manager (OrderManagerOptions.observer). */
  readonly orders: OrderObserver;
  /** For the reconciler (ReconcilerDeps.observer). */
  readonly reconcile: ReconcileObserver;
  /** ReplaceOrder calls this once per replace the venue confirmed (counter `gateway_order_replaces_total`). */
  countReplace(venue: string): void;
  /** StreamOrderEvents subscribers now: the events stream calls inc() when one attaches, dec() when it ends. */
  readonly eventSubscribers: { inc(): void; dec(): void; set(n: number): void };
  /** Where the open-orders gauge reads each venue's count at scrape time (OrderManager.openCount). */
  setOpenOrdersSource(count: (venue: string) => number): void;
}

interface VenueTally {
  readonly labels: { readonly venue: string };
  fills: number;
  cancels: number;
  replaces: number;
}

const STATUS_LABELS: readonly string[] = (() => {
  const out: string[] = [];
  for (const [name, value] of Object.entries(OrderStatus)) if (typeof value === "number") out[value] = name;
  return out;
})();

/**
 * Unregisters these metrics if present. A gateway's metrics are made by its composition root, and
 * a member of a high-availability group builds a gateway each time it takes over: the one it
 * replaces is closed, and its metrics give way (prom-client refuses a name registered twice).
 */
export function dropMetrics(registry: Registry, names: readonly string[]): void {
  for (const name of names) if (registry.getSingleMetric(name) !== undefined) registry.removeSingleMetric(name);
}

export function createBusinessMetrics(registry: Registry, venues: readonly string[]): BusinessMetrics {
  // A gateway rebuilt on the same registry (a restart in one process) replaces the metrics: their
  // tallies belong to the instance that folds them.
  dropMetrics(registry, [
    "gateway_orders_total",
    "gateway_open_orders",
    "gateway_fills_total",
    "gateway_order_cancels_total",
    "gateway_order_replaces_total",
    "gateway_order_rejects_total",
    "gateway_order_event_subscribers",
    "gateway_reconcile_corrections_total",
    "gateway_reconcile_passes_total",
    "gateway_reconcile_last_success_timestamp_seconds",
  ]);
  const byStatus: number[] = STATUS_LABELS.map(() => 0);
  const rejects = new Map<RejectReason, number>(REJECT_REASONS.map((r) => [r, 0]));
  const tallies = new Map<string, VenueTally>();
  for (const venue of [...venues, "other"]) tallies.set(venue, { labels: { venue }, fills: 0, cancels: 0, replaces: 0 });
  const other = tallies.get("other")!;
  const tallyOf = (venue: string): VenueTally => tallies.get(venue) ?? other;
  let openSource: ((venue: string) => number) | undefined;

  function flush(): void {
    for (let s = 0; s < byStatus.length; s++) {
      const n = byStatus[s]!;
      if (n > 0 && STATUS_LABELS[s] !== undefined) ordersTotal.inc({ status: STATUS_LABELS[s]! }, n);
      byStatus[s] = 0;
    }
    for (const t of tallies.values()) {
      if (t.fills > 0) fills.inc(t.labels, t.fills);
      if (t.cancels > 0) cancels.inc(t.labels, t.cancels);
      if (t.replaces > 0) replaces.inc(t.labels, t.replaces);
      t.fills = t.cancels = t.replaces = 0;
    }
    for (const [reason, n] of rejects) {
      if (n > 0) rejectsTotal.inc({ reason }, n);
      rejects.set(reason, 0);
    }
  }
  const collect = () => flush();
  const ordersTotal = new Counter({ name: "gateway_orders_total", help: "Order state changes by the status reached (an order created counts as PENDING_NEW).", labelNames: ["status"] as const, registers: [registry], collect });
  const fills = new Counter({ name: "gateway_fills_total", help: "Fills recorded, by venue.", labelNames: ["venue"] as const, registers: [registry], collect });
  const cancels = new Counter({ name: "gateway_order_cancels_total", help: "Orders that became CANCELED, by venue (client cancels, venue-side cancels, IOC remainders).", labelNames: ["venue"] as const, registers: [registry], collect });
  const replaces = new Counter({ name: "gateway_order_replaces_total", help: "Orders replaced (ReplaceOrder confirmed by the venue), by venue.", labelNames: ["venue"] as const, registers: [registry], collect });
  const rejectsTotal = new Counter({
    name: "gateway_order_rejects_total",
    help: "Orders and requests refused, by reason: venue (the venue refused), unavailable (venue or audit log unreachable), risk (a pre-trade limit), validation (malformed request).",
    labelNames: ["reason"] as const,
    registers: [registry],
    collect,
  });
  // Read at scrape time from the order manager's per-venue open sets: nothing on the hot path.
  new Gauge({
    name: "gateway_open_orders",
    help: "Orders not yet terminal (pending, working, cancel or replace pending), by venue.",
    labelNames: ["venue"] as const,
    registers: [registry],
    collect() {
      if (openSource === undefined) return;
      for (const t of tallies.values()) if (t !== other) this.set(t.labels, openSource(t.labels.venue));
    },
  });
  const subscribers = new Gauge({ name: "gateway_order_event_subscribers", help: "StreamOrderEvents subscribers connected now.", registers: [registry] });
  const corrections = new Counter({
    name: "gateway_reconcile_corrections_total",
    help: "Reconciliation corrections by venue and kind: venue_closed, status, missed_fill, external_adopted.",
    labelNames: ["venue", "kind"] as const,
    registers: [registry],
  });
  const passes = new Counter({ name: "gateway_reconcile_passes_total", help: "Reconciliation passes by venue and outcome (ok, failed: the venue could not be listed; retried next pass).", labelNames: ["venue", "outcome"] as const, registers: [registry] });
  const lastSuccess = new Gauge({ name: "gateway_reconcile_last_success_timestamp_seconds", help: "When the last successful reconciliation pass over the venue ended (Unix seconds); its age is time() minus this.", labelNames: ["venue"] as const, registers: [registry] });
  // Series present from the start, so dashboards and alerts see zeros rather than nothing.
  for (const t of tallies.values()) {
    fills.inc(t.labels, 0);
    cancels.inc(t.labels, 0);
    replaces.inc(t.labels, 0);
  }
  for (const reason of REJECT_REASONS) rejectsTotal.inc({ reason }, 0);
  for (const venue of venues) for (const kind of RECONCILE_KINDS) corrections.inc({ venue, kind }, 0);
  const venueLabel = (venue: string): string => (tallies.has(venue) ? venue : "other");

  return {
    orders: {
      statusChanged(order, _from) {
        byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
        if (order.status === OrderStatus.CANCELED) tallyOf(order.venue).cancels++;
      },
      filled(order, count) {
        tallyOf(order.venue).fills += count;
      },
      rejected(reason) {
        rejects.set(reason, (rejects.get(reason) ?? 0) + 1);
      },
    },
    reconcile: {
      corrected(venue, kind) {
        corrections.inc({ venue: venueLabel(venue), kind });
      },
      passEnded(venue, okPass, atMs) {
        passes.inc({ venue: venueLabel(venue), outcome: okPass ? "ok" : "failed" });
        if (okPass) lastSuccess.set({ venue: venueLabel(venue) }, atMs / 1000);
      },
    },
    countReplace(venue) {
      tallyOf(venue).replaces++;
    },
    eventSubscribers: {
      inc: () => subscribers.inc(),
      dec: () => subscribers.dec(),
      set: (n) => subscribers.set(n),
    },
    setOpenOrdersSource(count) {
      openSource = count;
    },
  };
}
