import { readFileSync } from "node:fs";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import * as v from "valibot";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { AuditLogCorruptError } from "./adapters/audit/audit-reader.js";
import { createAuditSink } from "./adapters/audit/create-audit-sink.js";
import type { AuditLog } from "./adapters/audit/create-audit-sink.js";
import type { AuditFileIo } from "./adapters/audit/jsonl-sink.js";
import { decimalField } from "./shared/decimal-field.js";
import { redactPgUrl } from "./config/env.js";
import { parseYamlExact } from "./config/parse-yaml-exact.js";
import { strictFields } from "./shared/strict-fields.js";
import type { Config } from "./config/env.js";
import { loadVenuesFile } from "./config/venues-file.js";
import type { VenuesFile } from "./config/venues-file.js";
import { err, ok } from "./domain/result.js";
import type { Result } from "./domain/result.js";
import { createAuditFillArchive } from "./adapters/audit/audit-fill-archive.js";
import { createFillHub } from "./use-cases/fill-hub.js";
import type { FillHub } from "./use-cases/fill-hub.js";
import { createStreamFillsHandler } from "./rpc/stream-fills.js";
import { createAuditMetrics } from "./adapters/metrics/metrics.js";
import { recoverState } from "./use-cases/recover.js";
import { createAuditGuard } from "./use-cases/audit-guard.js";
import type { RiskLimitsConfig } from "./use-cases/risk.js";
import { createIdSource, systemClock } from "./domain/ports.js";
import type { Clock } from "./domain/ports.js";
import { createTradingCore } from "./rpc/trading-service.js";
import type { VenueAdapter } from "./use-cases/venue-adapter.js";
import { parseReferencePrices } from "./adapters/venues/paper/paper-venue.js";
import { createVenuePoller } from "./adapters/venues/reconciler.js";
import type { VenuePoller } from "./adapters/venues/reconciler.js";
import { closeVenues, createVenues } from "./adapters/venues/registry.js";
import { createVenueMetrics } from "./adapters/venues/venue-metrics.js";
import type { HealthRegistry } from "./server/health.js";
import { ServingStatus } from "./server/health.js";

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

export interface GatewayCoreDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  /** The app's prom-client registry (venue metrics go there too). */
  readonly registry: Registry;
  /** Where venue credential variables are read (main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted when shutdown starts: fill streams end cleanly. Venue calls are
   * NOT cancelled by it (in-flight orders get the grace period); close() does that.
   */
  readonly shutdownSignal: AbortSignal;
  readonly clock?: Clock;
  readonly readFile?: (path: string) => string;
  /** JSONL audit log file system seam, for tests that inject write failures; default node:fs. */
  readonly auditFileIo?: AuditFileIo;
  /** Take the memory of retained records at start (record-ring.ts); main does, tests need not. */
  readonly prefaultRetention?: boolean;
}

export interface GatewayCore {
  readonly trading: ServiceImpl<typeof TradingGateway>;
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly fills: FillHub;
  /**
   * Cancels venue calls still running (the end of the shutdown grace period): each settles as an
   * unknown outcome, so its order stays PENDING_NEW, is recorded and answered as such.
   */
  abortVenueCalls(): void;
  /** After the server has closed: stop polling, end streams, close venues, flush and close the audit log. */
  close(): Promise<void>;
}

/** The venue file used without VENUES_FILE: one paper venue named "paper". */
export function builtInVenues(): VenuesFile {
  return {
    path: "(built-in: paper venue only)",
    pollIntervalMs: 1000,
    venues: [{ name: "paper", kind: "paper", credentials: {}, symbols: {}, timeoutMs: 5000 }],
  };
}

// Limits may be written as YAML numbers too (maxNotional: 1e6); they become exact decimal strings.
const decimal = decimalField();
const symbolLimits = strictFields({ maxQuantity: v.optional(decimal), maxNotional: v.optional(decimal) });
const riskLimitsSchema = v.record(
  v.pipe(v.string(), v.minLength(1)),
  strictFields({
    maxQuantity: v.optional(decimal),
    maxNotional: v.optional(decimal),
    allowedSymbols: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    symbols: v.optional(v.record(v.pipe(v.string(), v.minLength(1)), symbolLimits)),
  }),
);

/**
 * RISK_LIMITS_FILE (YAML or JSON): account (or "*") -> { maxQuantity, maxNotional,
 * allowedSymbols, symbols: { SYMBOL: { maxQuantity, maxNotional } } }.
 * Errors name the file and the path of the bad field.
 */
export function parseRiskLimits(text: string, path: string): Result<RiskLimitsConfig, string> {
  let doc: unknown;
  try {
    doc = parseYamlExact(text);
  } catch (e) {
    return err(`RISK_LIMITS_FILE ${path}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(riskLimitsSchema, doc ?? {});
  if (!r.success) {
    const i = r.issues[0]!;
    const at = v.getDotPath(i) ?? "(top level)";
    return err(`RISK_LIMITS_FILE ${path}: ${at}: ${i.message}`);
  }
  return ok(r.output as RiskLimitsConfig);
}

/**
 * Composes the order pipeline from the settings: audit log (and recovery
 * from it), fill hub, venues, poller, TradingGateway service. Throws
 * StartupConfigError for a bad file named by a setting.
 */
export async function createGatewayCore(deps: GatewayCoreDeps): Promise<GatewayCore> {
  const { config, logger, health } = deps;
  const clock = deps.clock ?? systemClock;
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, "utf8"));

  const prices = parseReferencePrices(config.paperPrices);
  if (!prices.ok) throw new StartupConfigError(prices.error);
  let riskLimits: RiskLimitsConfig | undefined;
  if (config.riskLimitsFile !== undefined) {
    let text: string;
    try {
      text = readFile(config.riskLimitsFile);
    } catch (e) {
      throw new StartupConfigError(`RISK_LIMITS_FILE ${config.riskLimitsFile} cannot be read: ${(e as Error).message}`);
    }
    const r = parseRiskLimits(text, config.riskLimitsFile);
    if (!r.ok) throw new StartupConfigError(r.error);
    riskLimits = r.value;
  }
  let venuesFile = builtInVenues();
  if (config.venuesFile !== undefined) {
    const r = loadVenuesFile(config.venuesFile, readFile);
    if (!r.ok) throw new StartupConfigError(r.error);
    venuesFile = r.value;
  }
  // PAPER_PRICES applies to every paper venue that does not set its own prices.
  if (prices.value !== undefined) {
    const referencePrices = prices.value;
    venuesFile = {
      ...venuesFile,
      venues: venuesFile.venues.map((ve) =>
        ve.kind === "paper" && (ve.paper?.["referencePrices"] === undefined) ? { ...ve, paper: { ...ve.paper, referencePrices } } : ve,
      ),
    };
  }

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
      env: deps.env,
      readFile,
    });
  } catch (e) {
    await audit.close();
    throw new StartupConfigError((e as Error).message);
  }

  // Cancels venue calls still running once the server has drained (close()).
  const venueAbort = new AbortController();
  const core = createTradingCore({
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
    sink: core.orders,
    intervalMs: venuesFile.pollIntervalMs,
    clock,
    logger,
    metrics: venueMetrics,
  });
  poller.start();
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
    trading: core.service,
    venues,
    fills,
    abortVenueCalls: () => venueAbort.abort(),
    close: () =>
      (closed ??= (async () => {
        venueAbort.abort();
        await poller.stop();
        fills.close();
        await closeVenues(venues);
        // Last: every accepted order's events are on disk before the process exits.
        await audit.close();
      })()),
  };
}
