/**
 * The composition root: the one place that knows every part. main.ts reads and validates the
 * configuration (src/config/), then createGateway builds the gateway from it: audit log (and
 * recovery from it), fill hub, venues, poller, the order pipeline and the TradingGateway
 * service. It reads no file and no variable; everything arrives in the GatewayConfig.
 * The layers and their rules: docs/architecture.md.
 */
import { dirname } from "node:path";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { AuditLogCorruptError } from "./adapters/audit/audit-reader.js";
import { createAuditSink } from "./adapters/audit/create-audit-sink.js";
import type { AuditLog } from "./adapters/audit/create-audit-sink.js";
import type { AuditFileIo } from "./adapters/audit/jsonl-sink.js";
import { createAuditFillArchive } from "./adapters/audit/audit-fill-archive.js";
import { createAuditMetrics, createCancelMetrics, createRiskMetrics, createReplaceMetrics } from "./adapters/metrics/metrics.js";
import { createMemoryOrderHistory } from "./adapters/audit/memory-order-history.js";
import { createPostgresOrderHistory } from "./adapters/audit/postgres-order-history.js";
import { createListFillsHandler, createListOrdersHandler } from "./rpc/list-orders.js";
import { createListFills, createListOrders } from "./use-cases/list-orders.js";
import { feedingHistory, recordingAudit } from "./use-cases/order-history.js";
import type { OrderHistory } from "./use-cases/order-history.js";
import type { OrderTupleJson } from "./domain/order-tuple.js";
import { createBusinessMetrics } from "./adapters/metrics/metrics.js";
import type { BusinessMetrics } from "./adapters/metrics/metrics.js";
import { createMemoryIdempotencyStore } from "./adapters/stores/memory-store.js";
import { createOrderTupleJson } from "./domain/order-tuple.js";
import { createVenuePoller } from "./adapters/venues/reconciler.js";
import { asPaperVenue } from "./adapters/venues/paper/paper-venue.js";
import { createOpsMetrics } from "./adapters/metrics/ops-metrics.js";
import type { Tracer } from "./use-cases/tracing.js";
import type { VenuePoller } from "./adapters/venues/reconciler.js";
import { closeVenues, createVenues, reconcileSettingsOf } from "./adapters/venues/registry.js";
import { createReconciler } from "./use-cases/reconcile-venues.js";
import type { Reconciler } from "./use-cases/reconcile-venues.js";
import type { OrderObserver } from "./use-cases/order-observer.js";
import { createVenueMetrics } from "./adapters/venues/venue-metrics.js";
import { createUserStreams } from "./adapters/venues/user-stream/create-user-streams.js";
import type { UserStreams } from "./adapters/venues/user-stream/create-user-streams.js";
import { createFillGuardSink } from "./adapters/venues/user-stream/stream-update.js";
import { createUserStreamMetrics } from "./adapters/venues/user-stream/stream-metrics.js";
import type { StreamRestSend } from "./adapters/venues/user-stream/stream-spec.js";
import type { UserStreamSettings, UserStreamStatus } from "./adapters/venues/user-stream/user-stream.js";
import { redactPgUrl } from "./config/env.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import { createIdSource, systemClock } from "./domain/ports.js";
import { ANONYMOUS } from "./domain/principal.js";
import type { Clock, IdSource } from "./domain/ports.js";
import { createStreamFillsHandler } from "./rpc/stream-fills.js";
import { createStreamOrderEventsHandler } from "./rpc/stream-order-events.js";
import { createCancelOnDisconnect } from "./use-cases/cancel-on-disconnect.js";
import type { CancelOnDisconnect, CancelOpenOrders as CancelOnDisconnectScope, DisconnectTimers } from "./use-cases/cancel-on-disconnect.js";
import { createOrderEventArchive, createOrderEventHub, createOrderEventLog } from "./use-cases/order-events.js";
import { livePositionEvents, replayPositionEvents } from "./use-cases/position-events.js";
import type { OrderEventHub } from "./use-cases/order-events.js";
import { createTradingService } from "./rpc/trading-service.js";
import { grpcCodeName } from "./rpc/to-connect-error.js";
import { createGetBalancesHandler } from "./rpc/get-balances.js";
import { createBalanceCache, withFillListener } from "./use-cases/balance-cache.js";
import type { BalanceCache } from "./use-cases/balance-cache.js";
import { createGetBalances } from "./use-cases/get-balances.js";
import type { StreamFillsHandler } from "./rpc/trading-service.js";
import type { HealthRegistry } from "./server/health.js";
import { ServingStatus } from "./server/health.js";
import type { AuditSink, RiskLimitsRecord } from "./use-cases/audit-sink.js";
import { createAuditGuard } from "./use-cases/audit-guard.js";
import type { AuditFailureListener, AuditGuard } from "./use-cases/audit-guard.js";
import { createCancelOrder } from "./use-cases/cancel-order.js";
import { createCancelAllOrders, type CancelAllOrders, type CancelOutcome, type CancelVia } from "./use-cases/cancel-all-orders.js";
import { createReplaceOrder, type ReplaceOrder } from "./use-cases/replace-order.js";
import type { CancelOrder } from "./use-cases/cancel-order.js";
import { createFillHub } from "./use-cases/fill-hub.js";
import type { FillHub } from "./use-cases/fill-hub.js";
import type { IdempotencyStore } from "./use-cases/idempotency-store.js";
import { createOrderManager } from "./use-cases/order-manager.js";
import type { OrderManager } from "./use-cases/order-manager.js";
import { createPlaceOrder } from "./use-cases/place-order.js";
import type { PlaceOrder } from "./use-cases/place-order.js";
import { applyRecoveredState, recoverState } from "./use-cases/recover.js";
import type { RecoveredState } from "./use-cases/recover.js";
import { BUILT_IN_RISK_LIMITS, createRiskEngine, describeRiskLimits } from "./use-cases/risk.js";
import type { AccountLimits, RiskEngine, RiskLimitsConfig } from "./use-cases/risk.js";
import { createTradingStateStore } from "./use-cases/trading-state-store.js";
import type { TradingStateStore } from "./use-cases/trading-state-store.js";
import { createTradingStateCheck } from "./use-cases/check-trading-state.js";
import type { CheckTradingState, PositionOf } from "./use-cases/check-trading-state.js";
import { createSetTradingState } from "./use-cases/set-trading-state.js";
import type { CancelOpenOrders, CancelResult } from "./use-cases/set-trading-state.js";
import type { TradingStateSetting } from "./domain/trading-state.js";
import { err, ok, type Result } from "./domain/result.js";
import type { Fill } from "./domain/order.js";
import { createOrderValidator } from "./use-cases/validate.js";
import { createPositionBook } from "./use-cases/position-book.js";
import type { DecimalMath } from "./domain/decimal-math.js";
import { decimalMathNamed } from "./domain/decimal-math-named.js";
import { scaledDecimalMath } from "./domain/scaled-decimal-math.js";
import type { PositionBook } from "./use-cases/position-book.js";
import { createOpenOrderExposure } from "./use-cases/open-order-exposure.js";
import type { OpenOrderExposure } from "./use-cases/open-order-exposure.js";
import { createPositionRisk } from "./use-cases/position-risk.js";
import type { PositionRisk } from "./use-cases/position-risk.js";
import { createDailyLossRecorder, createReduceOnlyFlags } from "./use-cases/daily-loss.js";
import type { ReduceOnlyFlags } from "./use-cases/daily-loss.js";
import { createPositionRiskMetrics } from "./adapters/metrics/metrics.js";
import type { VenueAdapter } from "./use-cases/venue-adapter.js";
import { leaderGatedVenues } from "./use-cases/leader-gated-venues.js";

/**
 * Most terminal orders kept in memory (recovery and the order manager agree on it).
 * They are packed in record rings outside the JS heap (order-manager.ts): 384 + 160
 * bytes each, 54 MB taken at start, whatever the load.
 */
export const MAX_TERMINAL_ORDERS = 100_000;

/** A setting whose value (a file it names) is wrong: main prints it and exits 2. */
export class StartupConfigError extends Error {
  override readonly name = "StartupConfigError";
}

export interface GatewayDeps {
  /** Read and validated by src/config/gateway-config.ts. */
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  /** The app's prom-client registry (venue metrics go there too). */
  readonly registry: Registry;
  /**
   * Aborted when shutdown starts: fill streams end cleanly. Venue calls are
   * NOT cancelled by it (in-flight orders get the grace period); close() does that.
   */
  readonly shutdownSignal: AbortSignal;
  readonly clock?: Clock;
  /** JSONL audit log file system seam, for tests that inject write failures; default node:fs. */
  readonly auditFileIo?: AuditFileIo;
  /** Take the memory of retained records at start (record-ring.ts); main does, tests need not. */
  readonly prefaultRetention?: boolean;
  /** Venue user stream back-off, queue and timer settings (tests shorten them). */
  readonly userStreamSettings?: Partial<UserStreamSettings>;
  /** A standby taking over (src/replica.ts): state already followed, the term that fences its writes. */
  readonly takeover?: Takeover;
}

/** What a warm standby hands the gateway it becomes (docs/high-availability.md). */
export interface Takeover {
  /** The state as of the last committed event (the standby's followed recovery). */
  readonly recovered: RecoveredState;
  /** Positions from every fill followed. */
  readonly positions: PositionBook;
  /** The leader row and this term: every audit INSERT is refused once another term exists. */
  readonly fence: { readonly leaderTable: string; readonly term: bigint; readonly onDeposed?: (why: string) => void };
  /** False once the lease is not certainly ours: venue calls that change something are refused. */
  readonly leads: () => boolean;
  /** `leads`, or one lease renewal now to decide (postgres-leadership.ts confirm). */
  readonly confirm: () => Promise<boolean>;
  /**
   * The audit guard tripped for good (events may be lost): a lone gateway waits for a restart; a
   * member of a group steps down instead, so that a member rebuilt from the table leads (src/replica.ts).
   */
  readonly onAuditFailed?: (why: string) => void;
}

export interface Gateway {
  readonly trading: ServiceImpl<typeof TradingGateway>;
  /** OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set (buildApp takes it for the RPC spans); undefined = off. */
  readonly tracer: Tracer | undefined;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly fills: FillHub;
  /** The order-event hub behind StreamOrderEvents. */
  readonly orderEvents: OrderEventHub;
  /** Business metrics (replaces and event-stream subscribers are counted through the pipeline's hooks). */
  readonly metrics: BusinessMetrics;
  /** The venue-wide reconciliation pass; undefined when RECONCILE_INTERVAL_MS is 0. */
  readonly reconciler: Reconciler | undefined;
  /**
   * Cancels venue calls still running (the end of the shutdown grace period): each settles as an
   * unknown outcome, so its order stays PENDING_NEW, is recorded and answered as such.
   */
  abortVenueCalls(): void;
  /** After the server has closed: stop polling, end streams, close venues, flush and close the audit log. */
  close(): Promise<void>;
  /** The trading-state settings in force (health details: /readyz). */
  tradingStates(): readonly TradingStateSetting[];
  /** Each streaming venue's user stream state (health details: /readyz `venueStreams`). */
  userStreams(): readonly UserStreamStatus[];
  /** One venue poll now: every open order, PENDING_NEW included, queried by its venue client order id (a takeover). */
  reconcileNow(): Promise<void>;
  /**
   * Applies risk limits read again from `source` (SIGHUP, file change; read by main through
   * src/config/risk-limits-file.ts). A read or validation error, or a bad value, keeps the old
   * limits and is logged; a change is recorded in the audit log (`risk_limits_reloaded`).
   */
  reloadRiskLimits(read: Result<RiskLimitsConfig, string>, source: string): Promise<Result<RiskLimitsRecord | "unchanged", string>>;
}

/**
 * Builds the gateway from its configuration: audit log (and recovery from it), fill hub,
 * venues, poller, order pipeline, TradingGateway service. Throws StartupConfigError when a
 * part cannot start (an audit log that cannot be opened or recovered, a credential value
 * its venue refuses); main prints it and exits 2.
 */
export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const { logger, health } = deps;
  const config = deps.config.settings;
  const venuesFile = deps.config.venues;
  const riskLimits = deps.config.riskLimits;
  const clock = deps.clock ?? systemClock;

  const auditMetrics = createAuditMetrics(deps.registry);
  const opsMetrics = createOpsMetrics(deps.registry);
  const auditWhere =
    config.auditBackend === "postgres"
      ? `AUDIT_PG_URL ${redactPgUrl(config.auditPgUrl ?? "")} table ${config.auditPgTable}`
      : `AUDIT_FILE ${config.auditFile}`;
  // The pipeline refuses orders and cancels from now on (fail closed); load balancers and
  // clients watching health move to another gateway, and an operator must restart this one
  // (or, for a lost database connection, the sink reconnects and the gateway serves again).
  // Made before the sink: in buffered mode a lost batch is seen only by the sink (no caller
  // waits for it), and it must trip the same guard the pipeline consults.
  const auditGuard = createAuditGuard(
    (message, cause, transient) => {
      health.set("", ServingStatus.NOT_SERVING);
      health.set(TradingGateway.typeName, ServingStatus.NOT_SERVING);
      if (transient) logger.error({ err: cause, audit: auditWhere }, `${message}; health NOT_SERVING until the audit database is back (reconnecting)`);
      else if (deps.takeover?.onAuditFailed !== undefined) {
        logger.fatal({ err: cause, audit: auditWhere }, `${message}; health NOT_SERVING, stepping down: a member rebuilt from the audit table takes over`);
        deps.takeover.onAuditFailed(message);
      } else logger.fatal({ err: cause, audit: auditWhere }, `${message}; health NOT_SERVING, restart the gateway once the audit log is writable`);
    },
    () => {
      health.set("", ServingStatus.SERVING);
      health.set(TradingGateway.typeName, ServingStatus.SERVING);
      logger.info({ audit: auditWhere }, "audit log available again; health SERVING");
    },
  );
  let audit: AuditLog;
  try {
    audit = await createAuditSink(
      {
        mode: config.auditMode,
        backend: config.auditBackend,
        file: config.auditFile,
        ...(config.auditPgUrl !== undefined ? { pgUrl: config.auditPgUrl } : {}),
        pgTable: config.auditPgTable,
        pgReconnectMinMs: config.auditPgReconnectMinMs,
        pgReconnectMaxMs: config.auditPgReconnectMaxMs,
        onCorrupt: config.auditOnCorrupt,
        batchMaxLines: config.auditBatchLines,
        batchMaxMs: config.auditBatchMs,
        rotateBytes: config.auditRotateBytes,
      },
      {
        logger,
        observer: auditMetrics,
        availability: auditGuard,
        ...(deps.takeover !== undefined ? { fence: deps.takeover.fence } : {}),
        onBackgroundError: (cause, lines) =>
          auditGuard.failed(`a background write of ${lines} audit event(s) failed (AUDIT_MODE=buffered); those events are lost`, cause),
        ...(deps.auditFileIo !== undefined ? { io: deps.auditFileIo } : {}),
      },
    );
  } catch (e) {
    // A path that cannot be created or written, a log locked by another gateway, a database
    // that cannot be reached: name the setting.
    throw new StartupConfigError(`${auditWhere} (AUDIT_MODE=${config.auditMode}): ${(e as Error).message}`);
  }
  // ListOrders/ListFills: the JSONL log (or none) is indexed in memory, built by the recovery's
  // read below; PostgreSQL is queried (use-cases/order-history.ts).
  const orderTupleJson = createOrderTupleJson();
  let history: OrderHistory;
  try {
    history =
      config.auditBackend === "postgres" && config.auditMode !== "off"
        ? await createPostgresOrderHistory({ connectionString: config.auditPgUrl ?? "", table: config.auditPgTable, logger })
        : createMemoryOrderHistory({
            orderTupleJson,
            // Finished orders and older index rows go to a file beside the log: memory keeps a bounded
            // part, whatever the count of orders (docs/order-history.md). With the audit log off, nothing is on disk.
            ...(config.auditMode !== "off" ? { spillDir: dirname(config.auditFile) } : {}),
            onSpillError: (e) => logger.warn({ err: e }, "order history: its spill file failed (a write: what follows stays in memory; a read of a late event: kept as an override)"),
          });
  } catch (e) {
    await audit.close().catch(() => {});
    throw new StartupConfigError(`${auditWhere}: cannot open the order history: ${(e as Error).message}`);
  }
  // Positions are rebuilt from every fill in the log (not only those of retained orders).
  const decimalMath = decimalMathNamed(config.decimalMath);
  const positions = deps.takeover?.positions ?? createPositionBook({ math: decimalMath });
  let recovered: Awaited<ReturnType<typeof recoverState>>;
  try {
    recovered = deps.takeover?.recovered ?? await recoverState(feedingHistory(audit.read(), history), {
      nowMs: clock.nowMs(),
      idempotencyTtlMs: config.idempotencyTtlMs,
      idempotencyMaxEntries: config.idempotencyMaxEntries,
      orderRetentionMs: config.orderRetentionMs,
      maxTerminalOrders: MAX_TERMINAL_ORDERS,
      onFill: (f) => positions.applyFill(f),
    });
  } catch (e) {
    await audit.close().catch(() => {});
    await history.close().catch(() => {});
    const hint = e instanceof AuditLogCorruptError ? " (AUDIT_ON_CORRUPT=fail; with skip the damaged line is logged and left out)" : "";
    throw new StartupConfigError(`${auditWhere}: cannot recover state from the audit log: ${(e as Error).message}${hint}`);
  }
  if (recovered.events > 0) logger.info({ events: recovered.events, orders: recovered.orders.size, positions: positions.size }, "state recovered from the audit log");

  const fills = createFillHub({
    retain: config.fillRetain,
    subscriberBuffer: config.fillSubscriberBuffer,
    startAfterSequence: recovered.lastFillSequence,
    readArchive: createAuditFillArchive((o) => audit.read(o)),
    logger,
    onSubscriberDropped: () => opsMetrics.subscriberDropped("fills"),
  });
  const orderEvents = createOrderEventHub({
    retain: config.orderEventRetain,
    subscriberBuffer: config.orderEventSubscriberBuffer,
    startAfterSequence: recovered.lastEventSequence,
    readArchive: createOrderEventArchive((o) => audit.read(o), replayPositionEvents),
    logger,
    onSubscriberDropped: () => opsMetrics.subscriberDropped("order_events"),
  });
  const venueMetrics = createVenueMetrics(deps.registry);
  let venues: ReadonlyMap<string, VenueAdapter>;
  const restSends = new Map<string, StreamRestSend>();
  try {
    venues = createVenues(venuesFile, {
      clock,
      ids: createIdSource("pv-"),
      metrics: venueMetrics,
      onHealth: (venue, serving) => {
        health.set(venue, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
        opsMetrics.venueUp(venue, serving);
      },
      logger,
      onRestSend: (venue, send) => restSends.set(venue, send),
    });
  } catch (e) {
    await audit.close();
    throw new StartupConfigError((e as Error).message);
  }
  if (deps.takeover !== undefined) venues = leaderGatedVenues(venues, deps.takeover.leads, deps.takeover.confirm);

  const tracer: Tracer | undefined =
    config.otelEndpoint !== undefined
      ? // Loaded only when on: an untraced gateway does not even load the OpenTelemetry SDK.
        (await import("./adapters/tracing/otel-tracer.js")).createOtelTracer({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName, exportDelayMs: config.otelExportDelayMs })
      : undefined;
  if (tracer !== undefined) logger.info({ otlpEndpoint: config.otelEndpoint, serviceName: config.otelServiceName }, "OpenTelemetry tracing on");
  const businessMetrics = createBusinessMetrics(deps.registry, [...venues.keys()]);
  // Cancels venue calls still running once the server has drained (close()).
  const venueAbort = new AbortController();
  const balances = createBalanceCache({ venues, clock, refreshMs: config.balanceRefreshMs, logger });
  const riskMetrics = createRiskMetrics(deps.registry, [...venues.keys()]);
  const pipeline = createOrderPipeline({
    balances,
    riskDefaults: BUILT_IN_RISK_LIMITS,
    onRiskReject: (reason) => riskMetrics.rejected(reason),
    onTradingStateChange: (settings) => riskMetrics.tradingStates(settings),
    observer: businessMetrics.orders,
    venues,
    audit,
    fills,
    streamFills: createStreamFillsHandler({ hub: fills, shutdownSignal: deps.shutdownSignal }),
    orderEvents,
    shutdownSignal: deps.shutdownSignal,
    logger,
    signal: venueAbort.signal,
    clock,
    idempotencyTtlMs: config.idempotencyTtlMs,
    idempotencyMaxEntries: config.idempotencyMaxEntries,
    orderRetentionMs: config.orderRetentionMs,
    maxTerminalOrders: MAX_TERMINAL_ORDERS,
    prefaultRetention: deps.prefaultRetention === true,
    ...(riskLimits !== undefined ? { riskLimits } : {}),
    recovered,
    onError: (message, detail) => logger.error({ err: detail }, message),
    auditGuard,
    onCancelResult: createCancelMetrics(deps.registry),
    history,
    orderTupleJson,
    positions,
    positionRiskMetrics: createPositionRiskMetrics(deps.registry),
    onReplaceOutcome: (() => {
      const replaces = createReplaceMetrics(deps.registry);
      return (method: string, outcome: string, venue?: string) => {
        replaces.observe(method, outcome);
        if (outcome === "replaced" && venue !== undefined) businessMetrics.countReplace(venue);
      };
    })(),
    ...(tracer !== undefined ? { tracer } : {}),
    onEventSubscribers: (delta: 1 | -1) => (delta > 0 ? businessMetrics.eventSubscribers.inc() : businessMetrics.eventSubscribers.dec()),
  });
  // Polls and streams meet in the one state machine; the guard re-derives a totals-only answer's
  // fill against the order as it is when applied (user-stream/stream-update.ts).
  const updateSink = createFillGuardSink(pipeline.orders);
  let userStreams: UserStreams | undefined;
  const poller: VenuePoller = createVenuePoller({
    adapters: venues,
    sink: updateSink,
    intervalMs: venuesFile.pollIntervalMs,
    clock,
    logger,
    metrics: venueMetrics,
    streams: { isLive: (venue) => userStreams?.streams.get(venue)?.isLive() === true, get slowIntervalMs() { return userStreams?.slowPollMs ?? new Map<string, number>(); } },
  });
  // A paper venue with a walk fills resting orders on its own: its fills enter the one state machine as a venue stream would.
  for (const v of venues.values()) {
    asPaperVenue(v)?.onOrderUpdate((orderId, update) => {
      pipeline.orders.applyVenueUpdate(orderId, update, "stream").catch((e: unknown) => logger.error({ venue: v.name, orderId, err: e }, "applying a paper venue fill failed"));
    });
  }
  poller.start();
  // Venue user push streams: REST catch-up (the poller's sweep of the venue) on every connect,
  // polling as the fallback while a stream is down.
  userStreams = createUserStreams(venuesFile, {
    venues,
    rest: restSends,
    sink: updateSink,
    catchUp: (venue, signal) => poller.pollVenue(venue, signal),
    clock,
    logger,
    metrics: createUserStreamMetrics(deps.registry, () => new Map([...(userStreams?.streams ?? new Map())].map(([v, s]) => [v, s.status().lastEventAtMs] as const))),
    settings: deps.userStreamSettings,
  });
  userStreams.start();
  balances.start();
  riskMetrics.tradingStates(pipeline.tradingStates.list());
  for (const t of pipeline.tradingStates.list()) logger.warn({ tradingState: t }, `trading state ${t.state} recovered from the audit log`);
  let limitsDigest = describeRiskLimits(pipeline.risk.limits, pipeline.risk.base).digest;
  logger.info({ riskLimits: { source: config.riskLimitsFile ?? "built-in defaults", ...describeRiskLimits(pipeline.risk.limits, pipeline.risk.base) } }, "risk limits in force");
  businessMetrics.setOpenOrdersSource((venue) => pipeline.orders.openCount(venue));
  // At start-up (now) and every RECONCILE_INTERVAL_MS: the venue-wide comparison (reconcile-venues.ts).
  const reconciler: Reconciler | undefined =
    config.reconcileIntervalMs > 0
      ? createReconciler({
          adapters: venues,
          orders: pipeline.orders,
          clock,
          intervalMs: config.reconcileIntervalMs,
          settings: reconcileSettingsOf(venuesFile),
          observer: businessMetrics.reconcile,
          logger,
        })
      : undefined;
  reconciler?.start();
  logger.info(
    {
      venues: [...venues.keys()],
      auditMode: config.auditMode,
      ...(config.auditMode === "off" ? {} : { auditBackend: config.auditBackend, audit: auditWhere }),
    },
    "order pipeline ready",
  );

  let closed: Promise<void> | undefined;
  return {
    trading: pipeline.service,
    tracer,
    venues,
    fills,
    orderEvents,
    metrics: businessMetrics,
    reconciler,
    abortVenueCalls: () => venueAbort.abort(),
    tradingStates: () => pipeline.tradingStates.list(),
    userStreams: () => [...(userStreams?.streams.values() ?? [])].map((s) => s.status()),
    reconcileNow: () => poller.pollOnce(),
    async reloadRiskLimits(read, source) {
      const refused = (why: string) => {
        riskMetrics.reloaded(false);
        logger.error({ riskLimitsFile: source }, `risk limits reload refused, the old limits stay in force: ${why}`);
        return err(why);
      };
      if (!read.ok) return refused(read.error);
      try {
        pipeline.risk.replace(read.value);
      } catch (e) {
        return refused(`${source}: ${(e as Error).message}`);
      }
      riskMetrics.reloaded(true);
      const d = describeRiskLimits(read.value, pipeline.risk.base);
      if (d.digest === limitsDigest) {
        logger.info({ riskLimitsFile: source, digest: d.digest }, "risk limits reloaded: unchanged");
        return ok("unchanged");
      }
      limitsDigest = d.digest;
      const record: RiskLimitsRecord = { source, ...d };
      logger.warn({ riskLimits: record }, "risk limits reloaded: new limits in force");
      try {
        const p = pipeline.audit.append([{ ts: clock.nowMs(), type: "risk_limits_reloaded", requestId: "risk-limits-reload", riskLimits: record }]);
        if (p !== null) await p;
      } catch (e) {
        // The limits apply anyway (they are the operator's intent); the guard refuses orders until the log is back.
        auditGuard.failed("a risk limits change was not recorded", e);
      }
      return ok(record);
    },
    close: () =>
      (closed ??= (async () => {
        venueAbort.abort();
        balances.close();
        await reconciler?.stop();
        await userStreams?.stop();
        await poller.stop();
        fills.close();
        pipeline.cancelOnDisconnect?.close();
        orderEvents.close();
        await closeVenues(venues);
        // Last: every accepted order's events are on disk before the process exits.
        await audit.close();
        await history.close();
        // After everything else: the spans of the last calls are exported.
        await tracer?.close();
      })()),
  };
}

export interface OrderPipelineOptions {
  /**
   * The arithmetic of positions, exposure and limits (DECIMAL_MATH): that of `positions` when
   * given (the two must agree), else this, else scaledDecimalMath.
   */
  readonly decimalMath?: DecimalMath;
  /** Configured venues by name (the paper venue included if wanted). */
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  /**
   * The balance cache behind GetBalances (the caller starts and closes it); its refresh is
   * scheduled after each fill. Default: one that fetches on demand only, never closed by
   * anyone (it has no timers then).
   */
  readonly balances?: BalanceCache;
  readonly audit: AuditSink;
  /** The fill hub (src/use-cases/fill-hub.ts): sequences, publish after durability, subscriptions. */
  readonly fills: FillHub;
  /** The StreamFills handler; default createStreamFillsHandler({ hub: fills }). */
  readonly streamFills?: StreamFillsHandler;
  /**
   * The order-event hub (StreamOrderEvents): when given, every audit append goes through the
   * order-event log (numbered, then published once durable: use-cases/order-events.ts) and
   * StreamOrderEvents (with cancel-on-disconnect) is served. Absent: UNIMPLEMENTED.
   */
  readonly orderEvents?: OrderEventHub;
  /** Aborted when shutdown starts: event streams end (UNAVAILABLE), no cancel-on-disconnect fires. */
  readonly shutdownSignal?: AbortSignal;
  /** Cancel-on-disconnect's grace timers; default setTimeout (tests fire them by hand). */
  readonly disconnectTimers?: DisconnectTimers;
  /** Cancel-on-disconnect's mass cancel; default CancelAllOrders over the session's scope. */
  readonly cancelOnDisconnectScope?: CancelOnDisconnectScope;
  readonly logger?: Logger;
  /** Aborted on shutdown; passed to venue calls. */
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  /** Order ids; default: random boot tag + counter. Fill ids use a second source. */
  readonly orderIds?: IdSource;
  readonly fillIds?: IdSource;
  /** IDEMPOTENCY_TTL_MS; default 24 h. */
  readonly idempotencyTtlMs?: number;
  /** IDEMPOTENCY_MAX_ENTRIES; default 100,000. */
  readonly idempotencyMaxEntries?: number;
  /** Take the memory of the idempotency and terminal-order rings at creation (record-ring.ts); default false. */
  readonly prefaultRetention?: boolean;
  /** ORDER_RETENTION_MS; default 10 min. */
  readonly orderRetentionMs?: number;
  /** Most terminal orders kept in memory; default 100,000. */
  readonly maxTerminalOrders?: number;
  /** Pre-trade risk limits; default none. */
  readonly riskLimits?: RiskLimitsConfig;
  /** The limits under every account (createGateway: BUILT_IN_RISK_LIMITS); default none. */
  readonly riskDefaults?: AccountLimits;
  /** Told the reason of every risk refusal (the risk_rejects_total metric). */
  readonly onRiskReject?: (reason: string) => void;
  /** Told the trading-state settings after every change (metrics, log). */
  readonly onTradingStateChange?: (settings: readonly TradingStateSetting[]) => void;
  /**
   * The signed position of (account, venue, symbol) for REDUCE_ONLY. Default: "0" everywhere
   * (flat: REDUCE_ONLY refuses every order) until the positions part is merged and wired here.
   */
  readonly positionOf?: PositionOf;
  /** Cancels a scope's open orders for SetTradingState cancel_open_orders; default: CancelAllOrders per account. */
  readonly cancelOpenOrders?: CancelOpenOrders;
  /** State rebuilt from the audit log at start-up (src/use-cases/recover.ts). */
  readonly recovered?: RecoveredState;
  /** Venue answers that could not be applied, audit failures of background updates. */
  readonly onError?: (message: string, detail: unknown) => void;
  /**
   * Called once, on the first failed audit append: from then on PlaceOrder
   * and CancelOrder answer UNAVAILABLE "audit log unavailable" until restart
   * (or, `transient`, until the sink is back: see audit-guard.ts).
   * The server flips health to NOT_SERVING here.
   */
  readonly onAuditFailure?: AuditFailureListener;
  /**
   * A guard made by the caller (createAuditGuard(listener)), for failures only
   * the sink sees, e.g. a buffered-mode write error reported by its error hook.
   * When given, `onAuditFailure` is not used.
   */
  readonly auditGuard?: AuditGuard;
  /** Told each CancelAllOrders result (the cancels counter). */
  readonly onCancelResult?: (venue: string, outcome: CancelOutcome, via: CancelVia) => void;
  /** ListOrders/ListFills' order history; default: an index in memory fed by this pipeline's appends. */
  readonly history?: OrderHistory;
  /** The order packer to share with the history (order-tuple.ts); default: a new one. */
  readonly orderTupleJson?: OrderTupleJson;
  /** The position book, already holding the recovered fills; default a new, empty one. */
  readonly positions?: PositionBook;
  /** Counts daily loss limit breaches and shows reduce-only accounts (metrics.ts); default none. */
  readonly positionRiskMetrics?: { breached(): void; reduceOnly(count: () => number): void };
  /** Told once per ReplaceOrder decision (metrics); bounded values. */
  readonly onReplaceOutcome?: (method: string, outcome: string, venue?: string) => void;
  /** Told +1 / -1 as StreamOrderEvents streams start and end (the subscribers gauge). */
  readonly onEventSubscribers?: (delta: 1 | -1) => void;
  /** Business metrics of order state changes and refusals (createBusinessMetrics().orders). */
  readonly observer?: OrderObserver;
  /** Spans for PlaceOrder's steps, venue call and audit commit; absent = tracing off. */
  readonly tracer?: Tracer;
}

export interface OrderPipeline {
  readonly service: ServiceImpl<typeof TradingGateway>;
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  /** Also called by cancel-on-disconnect and the kill switch (with a reason). */
  readonly cancelAllOrders: CancelAllOrders;
  readonly replaceOrder: ReplaceOrder;
  /** Also the OrderUpdateSink for venue pollers / reconcilers. */
  readonly orders: OrderManager;
  readonly idempotency: IdempotencyStore;
  /** `healthy` is false once an audit append failed. */
  readonly auditGuard: AuditGuard;
  readonly history: OrderHistory;
  /** Present with `orderEvents`: the sessions StreamOrderEvents guards. */
  readonly cancelOnDisconnect?: CancelOnDisconnect;
  /**
   * The sink every producer must append through: with `orderEvents`, the order-event log (it
   * numbers and streams what is appended); otherwise `options.audit`.
   */
  readonly audit: AuditSink;
  /** The kill switch's settings. */
  readonly tradingStates: TradingStateStore;
  /** The kill switch's check of one new order (ReplaceOrder calls it with the replaced order). */
  readonly checkTradingState: CheckTradingState;
  /** The risk limits in force; `replace` swaps them (reload). */
  readonly risk: RiskEngine;
  /** Positions per (account, venue, symbol); `onPositionChanged` for the order event stream. */
  readonly positions: PositionBook;
  /** The limits that need positions; `setLimits` on a reload. */
  readonly positionRisk: PositionRisk;
  /** Accounts made reduce-only by their daily loss (until the kill switch takes this over). */
  readonly reduceOnly: ReduceOnlyFlags;
  /** Open quantity per (account, venue, symbol, side): `reducesPosition`'s openSameSide for REDUCE_ONLY. */
  readonly openOrders: OpenOrderExposure;
}

/**
 * The order pipeline (validate -> idempotency -> risk -> route -> execute, cancel, get) and
 * the TradingGateway service over it, from plain settings. createGateway uses it; tests that
 * need a pipeline without the audit log, venues file or poller build one with it.
 */
export function createOrderPipeline(options: OrderPipelineOptions): OrderPipeline {
  const clock = options.clock ?? systemClock;
  const { venues, signal } = options;
  // Every producer appends through the order-event log when events are streamed: one numbering point.
  const positions = options.positions ?? createPositionBook({ math: options.decimalMath ?? scaledDecimalMath });
  if (options.decimalMath !== undefined && options.decimalMath !== positions.math) throw new Error(`decimalMath ${options.decimalMath.name} differs from the given position book's ${positions.math.name}`);
  // POSITION_UPDATED follows each fill line on the stream (use-cases/position-events.ts).
  const numbered =
    options.orderEvents !== undefined
      ? createOrderEventLog({ inner: options.audit, hub: options.orderEvents, derive: livePositionEvents(positions), ...(options.logger !== undefined ? { logger: options.logger } : {}) })
      : options.audit;
  const orderIds = options.orderIds ?? createIdSource("o-");
  // The last fill price per venue and symbol: the price band's reference where the venue has none.
  const lastFillPrice = new Map<string, string>();
  const hub = options.fills;
  const fills = { ...hub, publish(f: Fill): void {
    lastFillPrice.set(`${f.venue}\n${f.symbol}`, f.price);
    hub.publish(f);
  } };
  const fillIds = options.fillIds ?? createIdSource("f-");
  // One memo for both: a filled order is packed by the order manager's retired ring and then by the
  // idempotency store, and the second pack is then the first one's string (about 1 us per order).
  const orderTupleJson = options.orderTupleJson ?? createOrderTupleJson();
  const history = options.history ?? createMemoryOrderHistory({ orderTupleJson });
  // Every appended event also goes to the history's index (when it keeps one).
  const audit = recordingAudit(numbered, history);
  const idempotency = createMemoryIdempotencyStore({
    orderTupleJson,
    ...(options.idempotencyTtlMs !== undefined ? { ttlMs: options.idempotencyTtlMs } : {}),
    ...(options.idempotencyMaxEntries !== undefined ? { maxEntries: options.idempotencyMaxEntries } : {}),
    prefault: options.prefaultRetention === true,
  });
  const onError = options.onError ?? (() => {});
  const auditGuard = options.auditGuard ?? createAuditGuard(options.onAuditFailure);
  // Open order quantities per (account, venue, symbol), for the position limits; bound late to the check.
  let positionRisk: PositionRisk | undefined;
  const openOrders = createOpenOrderExposure((a, v, s) => positionRisk?.touched(a, v, s), positions.math);
  // Fill ids come from their own source; the manager's `ids` names fills, createPending names orders.
  const balances = options.balances ?? createBalanceCache({ venues, clock, refreshMs: 0 });
  const orders = createOrderManager({
    orderTupleJson,
    clock,
    ids: fillIds,
    orderIds,
    audit,
    // A fill schedules a refresh of its venue's balances (a timer, no I/O on this path).
    fills: withFillListener(fills, (f) => balances.noteFill(f.venue)),
    onError,
    auditGuard,
    ...(options.orderRetentionMs !== undefined ? { retentionMs: options.orderRetentionMs } : {}),
    ...(options.maxTerminalOrders !== undefined ? { maxTerminalOrders: options.maxTerminalOrders } : {}),
    prefault: options.prefaultRetention === true,
    onFillRecorded: (f) => positions.applyFill(f),
    onOrderChange: openOrders.orderChanged,
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
  });
  if (options.recovered !== undefined) {
    // A replace in flight at the stop gets its venue client id back from the venue's kind.
    applyRecoveredState(options.recovered, { orders, idempotency, venueKind: (v) => venues.get(v)?.kind ?? "" }, clock.nowMs());
  }
  const tradingStates = createTradingStateStore({
    audit,
    initial: options.recovered?.tradingStates ?? [],
    auditGuard,
    ...(options.onTradingStateChange !== undefined ? { onChange: options.onTradingStateChange } : {}),
  });
  const checkTradingState = createTradingStateCheck({
    store: tradingStates,
    // REDUCE_ONLY asks the position book and the open quantity on the order's side.
    positionOf: options.positionOf ?? ((account, venue, symbol) => positions.math.format(positions.quantity(account, venue, symbol))),
    openQuantityOf: (account, venue, symbol, side) => openOrders.math.format(openOrders.open(account, venue, symbol, side)),
  });
  const risk = createRiskEngine(options.riskLimits ?? {}, {
    referencePrice: (venue, symbol) => venues.get(venue)?.referencePrice?.(symbol) ?? lastFillPrice.get(`${venue}\n${symbol}`),
    openOrderCount: (account) => orders.openCountOf(account),
    nowMs: () => clock.nowMs(),
    tradingState: checkTradingState,
    ...(options.onRiskReject !== undefined ? { onReject: options.onRiskReject } : {}),
    ...(options.riskDefaults !== undefined ? { base: options.riskDefaults } : {}),
    math: positions.math,
  });
  const referencePrice = (venue: string, symbol: string): string | undefined => venues.get(venue)?.referencePrice?.(symbol) ?? lastFillPrice.get(`${venue}\n${symbol}`);
  const reduceOnly = createReduceOnlyFlags();
  const metrics = options.positionRiskMetrics;
  metrics?.reduceOnly(() => reduceOnly.count(clock.nowMs()));
  positionRisk = createPositionRisk({
    book: positions,
    openOrders,
    limits: options.riskLimits ?? {},
    referencePrice,
    clock,
    reduceOnly: reduceOnly.get,
    // The kill switch (SetTradingState) takes this port over: REDUCE_ONLY for the account.
    onDailyLossBreached: createDailyLossRecorder({ audit, flags: reduceOnly, onError, ...(metrics !== undefined ? { onBreach: () => metrics.breached() } : {}) }),
  });
  const positionCheck = positionRisk.check;
  const onRiskReject = options.onRiskReject;
  // Trading state and per-order and flow limits first, then the ones that need positions.
  const checkOrder = (spec: Parameters<typeof risk.check>[0]): ReturnType<typeof risk.check> => {
    const r = risk.check(spec);
    if (!r.ok) return r;
    const p = positionCheck(spec);
    if (!p.ok && onRiskReject !== undefined && p.error.kind === "failed_precondition" && p.error.reason !== undefined) onRiskReject(p.error.reason);
    return p;
  };
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: checkOrder,
    venues,
    idempotency,
    orders,
    audit,
    signal,
    onError,
    auditGuard,
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
    ...(options.tracer !== undefined ? { tracer: options.tracer } : {}),
  });
  const cancelOrder = createCancelOrder({ clock, orders, venues, signal, onError, auditGuard, ...(options.tracer !== undefined ? { tracer: options.tracer } : {}) });
  const streamFills = options.streamFills ?? createStreamFillsHandler({ hub: options.fills });
  const getBalances = createGetBalancesHandler({ getBalances: createGetBalances({ cache: balances, venueNames: [...venues.keys()] }), clock });
  const cancelAllOrders = createCancelAllOrders({
    clock,
    orders,
    venues,
    signal,
    onError,
    auditGuard,
    ...(options.onCancelResult !== undefined ? { onResult: options.onCancelResult } : {}),
  });
  let cancelOnDisconnect: CancelOnDisconnect | undefined;
  let streamOrderEvents: ReturnType<typeof createStreamOrderEventsHandler> | undefined;
  if (options.orderEvents !== undefined) {
    // The session's scope through CancelAllOrders (native mass cancel where it fits), with the reason on every event.
    const cancelOnDisconnectScope: CancelOnDisconnectScope =
      options.cancelOnDisconnectScope ??
      (async (scope, reason) => {
        const r = await cancelAllOrders(
          { account: scope.account, ...(scope.venue !== undefined ? { venue: scope.venue } : {}), ...(scope.symbol !== undefined ? { symbol: scope.symbol } : {}) },
          { requestId: `cancel-on-disconnect-${scope.account}`, principal: ANONYMOUS, reason },
          reason,
        );
        if (!r.ok) onError(`${reason}: cancel-all failed: ${r.error.message}`, r.error);
        else for (const x of r.value) if (x.outcome === "failed") onError(`${reason}: order ${x.order.orderId} not canceled: ${x.error?.message ?? ""}`, x.error);
      });
    cancelOnDisconnect = createCancelOnDisconnect({
      cancelOpenOrders: cancelOnDisconnectScope,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.disconnectTimers !== undefined ? { timers: options.disconnectTimers } : {}),
      deadMan: { venues, signal },
    });
    streamOrderEvents = createStreamOrderEventsHandler({
      hub: options.orderEvents,
      cancelOnDisconnect,
      ...(options.shutdownSignal !== undefined ? { shutdownSignal: options.shutdownSignal } : {}),
      ...(options.onEventSubscribers !== undefined ? { onSubscribers: options.onEventSubscribers } : {}),
    });
  }
  // The kill switch's cancel_open_orders: CancelAllOrders per account in scope (every account with an
  // open order there when the scope names none).
  const cancelOpenOrders = options.cancelOpenOrders ?? createCancelOpenOrdersViaCancelAll(orders, cancelAllOrders, venues);
  const setTradingState = createSetTradingState({ store: tradingStates, clock, venues: new Set(venues.keys()), cancelOpenOrders });
  const replaceOrder = createReplaceOrder({
    clock,
    orders,
    venues,
    idempotency,
    // The replaced order passes the same pre-trade checks as a new one: trading state, limits, positions.
    risk: checkOrder,
    audit,
    signal,
    onError,
    auditGuard,
    ...(options.onReplaceOutcome !== undefined ? { onOutcome: options.onReplaceOutcome } : {}),
  });
  const listDeps = { history, live: (orderId: string) => orders.get(orderId) };
  const service = createTradingService({
    placeOrder,
    cancelOrder,
    orders,
    streamFills,
    getBalances,
    cancelAllOrders,
    positions,
    replaceOrder,
    listOrders: createListOrdersHandler(createListOrders(listDeps)),
    listFills: createListFillsHandler(createListFills(listDeps)),
    ...(streamOrderEvents !== undefined ? { streamOrderEvents } : {}),
    tradingState: { set: setTradingState, store: tradingStates },
  });
  return { service, placeOrder, cancelOrder, cancelAllOrders, replaceOrder, orders, idempotency, auditGuard, history, audit, tradingStates, checkTradingState, risk, positions, positionRisk, reduceOnly, openOrders, ...(cancelOnDisconnect !== undefined ? { cancelOnDisconnect } : {}) };
}

/**
 * SetTradingState's cancel_open_orders through CancelAllOrders: one call per account of the scope
 * (every account with an open order on the scope's venues when it names none).
 */
function createCancelOpenOrdersViaCancelAll(orders: OrderManager, cancelAll: CancelAllOrders, venues: ReadonlyMap<string, VenueAdapter>): CancelOpenOrders {
  const gateway = { keyId: "gateway", accounts: "any" as const };
  let n = 0;
  return async (scope, reason) => {
    const accounts = new Set<string>();
    if (scope.account !== undefined) accounts.add(scope.account);
    else for (const venue of scope.venue !== undefined ? [scope.venue] : [...venues.keys()]) for (const o of orders.openOrders(venue)) accounts.add(o.account);
    const out: CancelResult[] = [];
    for (const account of accounts) {
      const r = await cancelAll({ account, ...(scope.venue !== undefined ? { venue: scope.venue } : {}) }, { requestId: `halt-${++n}`, principal: gateway, reason }, reason);
      if (!r.ok) continue;
      for (const x of r.value) {
        out.push(x.error === undefined ? { order: x.order, outcome: x.outcome } : { order: x.order, outcome: x.outcome, code: grpcCodeName(x.error.kind), message: x.error.message });
      }
    }
    return out;
  };
}
