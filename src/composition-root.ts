/**
 * The composition root: the one place that knows every part. main.ts reads and validates the
 * configuration (src/config/), then createGateway builds the gateway from it: audit log (and
 * recovery from it), fill hub, venues, poller, the order pipeline and the TradingGateway
 * service. It reads no file and no variable; everything arrives in the GatewayConfig.
 * The layers and their rules: docs/architecture.md.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { AuditLogCorruptError } from "./adapters/audit/audit-reader.js";
import { createAuditSink } from "./adapters/audit/create-audit-sink.js";
import type { AuditLog } from "./adapters/audit/create-audit-sink.js";
import type { AuditFileIo } from "./adapters/audit/jsonl-sink.js";
import { createAuditFillArchive } from "./adapters/audit/audit-fill-archive.js";
import { createAuditMetrics, createBusinessMetrics } from "./adapters/metrics/metrics.js";
import type { BusinessMetrics } from "./adapters/metrics/metrics.js";
import { createMemoryIdempotencyStore } from "./adapters/stores/memory-store.js";
import { createOrderTupleJson } from "./domain/order-tuple.js";
import { createVenuePoller } from "./adapters/venues/reconciler.js";
import type { VenuePoller } from "./adapters/venues/reconciler.js";
import { closeVenues, createVenues, reconcileSettingsOf } from "./adapters/venues/registry.js";
import { createReconciler } from "./use-cases/reconcile-venues.js";
import type { Reconciler } from "./use-cases/reconcile-venues.js";
import type { OrderObserver } from "./use-cases/order-observer.js";
import { createVenueMetrics } from "./adapters/venues/venue-metrics.js";
import { redactPgUrl } from "./config/env.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import { createIdSource, systemClock } from "./domain/ports.js";
import type { Clock, IdSource } from "./domain/ports.js";
import { createStreamFillsHandler } from "./rpc/stream-fills.js";
import { createTradingService } from "./rpc/trading-service.js";
import type { StreamFillsHandler } from "./rpc/trading-service.js";
import type { HealthRegistry } from "./server/health.js";
import { ServingStatus } from "./server/health.js";
import type { AuditSink } from "./use-cases/audit-sink.js";
import { createAuditGuard } from "./use-cases/audit-guard.js";
import type { AuditFailureListener, AuditGuard } from "./use-cases/audit-guard.js";
import { createCancelOrder } from "./use-cases/cancel-order.js";
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
import { createRiskCheck } from "./use-cases/risk.js";
import type { RiskLimitsConfig } from "./use-cases/risk.js";
import { createOrderValidator } from "./use-cases/validate.js";
import type { VenueAdapter } from "./use-cases/venue-adapter.js";

/**
 * Most terminal orders kept in memory (recovery and the order manager agree on it).
 * They are packed in record rings outside the JS heap (order-manager.ts): 384 + 160
 * bytes each, 54 MB taken at start, whatever the load.
 */
const MAX_TERMINAL_ORDERS = 100_000;

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
}

export interface Gateway {
  readonly trading: ServiceImpl<typeof TradingGateway>;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly fills: FillHub;
  /** Business metrics (the replace and event-stream parts call countReplace / eventSubscribers). */
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
      else logger.fatal({ err: cause, audit: auditWhere }, `${message}; health NOT_SERVING, restart the gateway once the audit log is writable`);
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
  let recovered: Awaited<ReturnType<typeof recoverState>>;
  try {
    recovered = await recoverState(audit.read(), {
      nowMs: clock.nowMs(),
      idempotencyTtlMs: config.idempotencyTtlMs,
      idempotencyMaxEntries: config.idempotencyMaxEntries,
      orderRetentionMs: config.orderRetentionMs,
      maxTerminalOrders: MAX_TERMINAL_ORDERS,
    });
  } catch (e) {
    await audit.close().catch(() => {});
    const hint = e instanceof AuditLogCorruptError ? " (AUDIT_ON_CORRUPT=fail; with skip the damaged line is logged and left out)" : "";
    throw new StartupConfigError(`${auditWhere}: cannot recover state from the audit log: ${(e as Error).message}${hint}`);
  }
  if (recovered.events > 0) logger.info({ events: recovered.events, orders: recovered.orders.size }, "state recovered from the audit log");

  const fills = createFillHub({
    retain: config.fillRetain,
    subscriberBuffer: config.fillSubscriberBuffer,
    startAfterSequence: recovered.lastFillSequence,
    readArchive: createAuditFillArchive((o) => audit.read(o)),
    logger,
  });
  const venueMetrics = createVenueMetrics(deps.registry);
  let venues: ReadonlyMap<string, VenueAdapter>;
  try {
    venues = createVenues(venuesFile, {
      clock,
      ids: createIdSource("pv-"),
      metrics: venueMetrics,
      onHealth: (venue, serving) => health.set(venue, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING),
      logger,
    });
  } catch (e) {
    await audit.close();
    throw new StartupConfigError((e as Error).message);
  }

  const businessMetrics = createBusinessMetrics(deps.registry, [...venues.keys()]);
  // Cancels venue calls still running once the server has drained (close()).
  const venueAbort = new AbortController();
  const pipeline = createOrderPipeline({
    observer: businessMetrics.orders,
    venues,
    audit,
    fills,
    streamFills: createStreamFillsHandler({ hub: fills, shutdownSignal: deps.shutdownSignal }),
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
  });
  const poller: VenuePoller = createVenuePoller({
    adapters: venues,
    sink: pipeline.orders,
    intervalMs: venuesFile.pollIntervalMs,
    clock,
    logger,
    metrics: venueMetrics,
  });
  poller.start();
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
    venues,
    fills,
    metrics: businessMetrics,
    reconciler,
    abortVenueCalls: () => venueAbort.abort(),
    close: () =>
      (closed ??= (async () => {
        venueAbort.abort();
        await reconciler?.stop();
        await poller.stop();
        fills.close();
        await closeVenues(venues);
        // Last: every accepted order's events are on disk before the process exits.
        await audit.close();
      })()),
  };
}

export interface OrderPipelineOptions {
  /** Configured venues by name (the paper venue included if wanted). */
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly audit: AuditSink;
  /** The fill hub (src/use-cases/fill-hub.ts): sequences, publish after durability, subscriptions. */
  readonly fills: FillHub;
  /** The StreamFills handler; default createStreamFillsHandler({ hub: fills }). */
  readonly streamFills?: StreamFillsHandler;
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
  /** Business metrics of order state changes and refusals (createBusinessMetrics().orders). */
  readonly observer?: OrderObserver;
}

export interface OrderPipeline {
  readonly service: ServiceImpl<typeof TradingGateway>;
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  /** Also the OrderUpdateSink for venue pollers / reconcilers. */
  readonly orders: OrderManager;
  readonly idempotency: IdempotencyStore;
  /** `healthy` is false once an audit append failed. */
  readonly auditGuard: AuditGuard;
}

/**
 * The order pipeline (validate -> idempotency -> risk -> route -> execute, cancel, get) and
 * the TradingGateway service over it, from plain settings. createGateway uses it; tests that
 * need a pipeline without the audit log, venues file or poller build one with it.
 */
export function createOrderPipeline(options: OrderPipelineOptions): OrderPipeline {
  const clock = options.clock ?? systemClock;
  const { venues, audit, signal } = options;
  const orderIds = options.orderIds ?? createIdSource("o-");
  const fillIds = options.fillIds ?? createIdSource("f-");
  // One memo for both: a filled order is packed by the order manager's retired ring and then by the
  // idempotency store, and the second pack is then the first one's string (about 1 us per order).
  const orderTupleJson = createOrderTupleJson();
  const idempotency = createMemoryIdempotencyStore({
    orderTupleJson,
    ...(options.idempotencyTtlMs !== undefined ? { ttlMs: options.idempotencyTtlMs } : {}),
    ...(options.idempotencyMaxEntries !== undefined ? { maxEntries: options.idempotencyMaxEntries } : {}),
    prefault: options.prefaultRetention === true,
  });
  const onError = options.onError ?? (() => {});
  const auditGuard = options.auditGuard ?? createAuditGuard(options.onAuditFailure);
  // Fill ids come from their own source; the manager's `ids` names fills, createPending names orders.
  const orders = createOrderManager({
    orderTupleJson,
    clock,
    ids: fillIds,
    orderIds,
    audit,
    fills: options.fills,
    onError,
    auditGuard,
    ...(options.orderRetentionMs !== undefined ? { retentionMs: options.orderRetentionMs } : {}),
    ...(options.maxTerminalOrders !== undefined ? { maxTerminalOrders: options.maxTerminalOrders } : {}),
    prefault: options.prefaultRetention === true,
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
  });
  if (options.recovered !== undefined) applyRecoveredState(options.recovered, { orders, idempotency }, clock.nowMs());
  const risk = createRiskCheck(options.riskLimits ?? {}, (venue, symbol) => venues.get(venue)?.referencePrice?.(symbol));
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk,
    venues,
    idempotency,
    orders,
    audit,
    signal,
    onError,
    auditGuard,
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
  });
  const cancelOrder = createCancelOrder({ clock, orders, venues, signal, onError, auditGuard });
  const streamFills = options.streamFills ?? createStreamFillsHandler({ hub: options.fills });
  const service = createTradingService({ placeOrder, cancelOrder, orders, streamFills });
  return { service, placeOrder, cancelOrder, orders, idempotency, auditGuard };
}
