/**
 * The process: read and validate the configuration (src/config/: settings, then every file
 * and variable they name), compose the gateway (src/composition-root.ts), buildApp, listen,
 * shut down gracefully on SIGTERM/SIGINT, and reload the risk limits on SIGHUP. Only this file touches process.env,
 * process.argv, signals and the exit code.
 *
 * Everything but node: built-ins is imported dynamically, after the Node
 * version check, so an old Node gets a clear message instead of a syntax or
 * module error from a dependency.
 */
import type { AddressInfo } from "node:net";

const MIN_NODE_MAJOR = 24;

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const major = Number(process.versions.node.split(".")[0]);
  if (!(major >= MIN_NODE_MAJOR)) {
    process.stderr.write(
      `trading-gateway needs Node.js >= ${MIN_NODE_MAJOR}, this is ${process.version}. ` +
        "Run it through npm (npm start / npm run dev), which puts the Node from the lockfile first on PATH.\n",
    );
    return 1;
  }
  const { formatHelp, loadConfig, parseCli } = await import("./config/env.js");
  const cli = parseCli(argv);
  if (!cli.ok) {
    process.stderr.write(`${cli.error}\n`);
    return 2;
  }
  if (cli.value.help) {
    process.stdout.write(formatHelp());
    return 0;
  }
  const loaded = loadConfig(env, cli.value.overrides);
  if (!loaded.ok) {
    for (const issue of loaded.error) process.stderr.write(`config: ${issue.message}\n`);
    process.stderr.write("Run with --help to see every setting.\n");
    return 2;
  }
  const config = loaded.value;

  // Every file and variable the settings name, read before anything is built. The venue
  // kinds come from the registry: config/ validates each venue with its kind's schema.
  const { VENUE_KINDS } = await import("./adapters/venues/registry.js");
  const { loadGatewayConfig } = await import("./config/gateway-config.js");
  const gatewayConfig = loadGatewayConfig(config, { env, venueKinds: VENUE_KINDS });
  if (!gatewayConfig.ok) {
    for (const message of gatewayConfig.error) process.stderr.write(`config: ${message}\n`);
    return 2;
  }
  const tls = gatewayConfig.value.tls;
  const { loadDashboardFiles } = await import("./config/dashboard-files.js");
  const dashboard = loadDashboardFiles(config);
  if (!dashboard.ok) {
    process.stderr.write(`config: ${dashboard.error}\n`);
    return 2;
  }

  const { createLogger, flushLogger } = await import("./shared/logger.js");
  const { createRpcMetrics } = await import("./adapters/metrics/metrics.js");
  const { createHealthRegistry, ServingStatus } = await import("./server/health.js");
  const { createMetricsServer } = await import("./server/metrics-server.js");
  const { buildApp } = await import("./server/app.js");
  const { TradingGateway } = await import("../gen/trading/v1/trading_gateway_pb.js");
  const { StartupConfigError, createGateway } = await import("./composition-root.js");
  const { listenErrorMessage } = await import("./server/listen-error.js");

  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const metrics = createRpcMetrics({ defaultMetrics: true });
  const health = createHealthRegistry({ "": ServingStatus.SERVING, [TradingGateway.typeName]: ServingStatus.SERVING });
  // Aborted when shutdown starts: long-lived streams (StreamFills) end cleanly on it.
  const shutdown = new AbortController();

  // High availability (docs/high-availability.md): with PostgreSQL the gateway joins its table's
  // group and serves TradingGateway only while it leads (src/replica.ts); the gateway is built then.
  const replica =
    config.ha === "auto" && config.auditBackend === "postgres" && config.auditMode !== "off"
      ? (await import("./replica.js")).createReplica({ config: gatewayConfig.value, logger, health, registry: metrics.registry, shutdownSignal: shutdown.signal, prefaultRetention: true })
      : undefined;
  let single: Awaited<ReturnType<typeof createGateway>> | undefined;
  try {
    if (replica === undefined) single = await createGateway({ config: gatewayConfig.value, logger, health, registry: metrics.registry, shutdownSignal: shutdown.signal, prefaultRetention: true });
  } catch (e) {
    if (e instanceof StartupConfigError) {
      process.stderr.write(`config: ${e.message}\n`);
      await flushLogger(logger);
      return 2;
    }
    throw e;
  }
  const gateway = {
    current: () => replica?.current() ?? single,
    abortVenueCalls: () => (replica?.current() ?? single)?.abortVenueCalls(),
    close: () => (replica !== undefined ? replica.close() : single!.close()),
    tradingStates: () => (replica !== undefined ? replica.tradingStates() : single!.tradingStates()),
    // An HA member: the streams of the gateway it runs now (none while standing by).
    userStreams: () => (replica !== undefined ? (replica.current()?.userStreams() ?? []) : single!.userStreams()),
  };

  if (dashboard.value.warning !== undefined) logger.warn(dashboard.value.warning);
  const dashboardFiles = dashboard.value.files;
  // Traces: a single gateway's tracer. An HA member builds a new gateway at each takeover, and the
  // RPC span's tracer is fixed when the app is built: HA members run untraced for now (README).
  const tracer = replica === undefined ? single!.tracer : undefined;
  const app = await buildApp({ config, logger, trading: replica?.trading ?? single!.trading, ...(tracer !== undefined ? { tracer } : {}), health, metrics, onGraceEnd: () => gateway.abortVenueCalls(), ...(tls !== undefined ? { tls } : {}), ...(dashboardFiles !== undefined ? { dashboard: dashboardFiles } : {}) });
  // A member of an HA group listens once it leads (and serves) or follows the leader: a client or
  // a probe that connects early is refused rather than answered by a member still deciding.
  await replica?.start();
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    process.stderr.write(`${listenErrorMessage(e, { host: config.host, port: config.port, hostSetting: "HOST", portSetting: "PORT (or --port)" })}\n`);
    await gateway.close();
    await flushLogger(logger);
    return 1;
  }
  const metricsServer = createMetricsServer({
    registry: metrics.registry,
    health,
    details: () => ({
      tradingStates: gateway.tradingStates().map((t) => ({ account: t.account, venue: t.venue, state: t.state, reason: t.reason, setBy: t.setBy, setAt: new Date(t.setAtMs).toISOString() })),
      // Per venue: "connected" (push, polling slowed) or degraded on polling fallback.
      venueStreams: Object.fromEntries(gateway.userStreams().map((u) => [u.venue, { state: u.state, degraded: u.degraded, since: new Date(u.sinceMs).toISOString(), reconnects: u.reconnects, lastEventAt: u.lastEventAtMs > 0 ? new Date(u.lastEventAtMs).toISOString() : null }])),
    }),
  });
  if (config.metricsPort !== undefined) {
    try {
      const a = await metricsServer.listen(config.metricsHost, config.metricsPort);
      logger.info({ host: a.address, port: a.port }, "metrics listening on /metrics, health probes on /healthz and /readyz");
    } catch (e) {
      const target = { host: config.metricsHost, port: config.metricsPort, hostSetting: "METRICS_HOST", portSetting: "METRICS_PORT" };
      process.stderr.write(`${listenErrorMessage(e, { ...target, alternative: "or set METRICS_PORT=off to run without the metrics listener" })}\n`);
      await app.close();
      await gateway.close();
      await flushLogger(logger);
      return 1;
    }
  }
  const addr = app.server.address() as AddressInfo;
  logger.info(
    { host: addr.address, port: addr.port, tls: tls !== undefined, mtls: tls?.ca !== undefined, auth: config.apiKeys.length > 0 },
    "trading-gateway listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)",
  );
  if (dashboardFiles !== undefined) {
    // The address a browser can open: a wildcard listen address is reachable on this machine as localhost.
    const host = addr.address === "0.0.0.0" || addr.address === "::" ? "localhost" : addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    const url = `${tls !== undefined ? "https" : "http"}://${host}:${addr.port}/`;
    logger.info({ url }, `dashboard: open ${url} in a browser (DASHBOARD=off turns it off)`);
  }

  // Risk limits reload without a restart: SIGHUP, and a change of RISK_LIMITS_FILE (watched,
  // debounced). A bad file keeps the old limits (logged); a change is audited.
  const { loadRiskLimitsFile } = await import("./config/risk-limits-file.js");
  const { watchFile } = await import("./config/watch-file.js");
  const limitsFile = config.riskLimitsFile;
  let reloading = Promise.resolve();
  const reloadLimits = (why: string) => {
    reloading = reloading.then(async () => {
      if (limitsFile === undefined) {
        logger.warn({ trigger: why }, "risk limits reload asked, but RISK_LIMITS_FILE is not set: the built-in defaults stay in force");
        return;
      }
      logger.info({ trigger: why, riskLimitsFile: limitsFile }, "reloading risk limits");
      const g = gateway.current();
      if (g === undefined) {
        logger.warn({ trigger: why }, "risk limits reload asked on a standby: it applies the file's limits as read at start when it takes over (reload again then)");
        return;
      }
      await g.reloadRiskLimits(loadRiskLimitsFile(limitsFile), limitsFile);
    });
  };
  process.on("SIGHUP", () => reloadLimits("SIGHUP"));
  const watcher =
    limitsFile !== undefined && config.riskLimitsWatchMs > 0
      ? watchFile(limitsFile, config.riskLimitsWatchMs, () => reloadLimits("file change"), (e) => logger.warn({ err: e, riskLimitsFile: limitsFile }, "cannot watch RISK_LIMITS_FILE; reload with SIGHUP"))
      : undefined;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: the operator wants out now.
        logger.warn({ signal }, "second signal, exiting immediately");
        void flushLogger(logger).then(() => resolve(1));
        return;
      }
      stopping = true;
      watcher?.close();
      logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down: health NOT_SERVING, refusing new calls, draining");
      health.shutdown();
      shutdown.abort();
      // The server drains first (in-flight calls finish, their audit events are
      // written); only then the pipeline closes (venues, then the audit log).
      const drained = app.close().then(() => gateway.close());
      void Promise.allSettled([drained, metricsServer.close()]).then(async (results) => {
        const failed = results.find((r) => r.status === "rejected");
        if (failed !== undefined) logger.error({ err: (failed as PromiseRejectedResult).reason }, "error during shutdown");
        logger.info("shutdown complete");
        await flushLogger(logger);
        resolve(failed === undefined ? 0 : 1);
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the loop (a stuck venue socket) must not keep a stopped gateway alive.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (e: unknown) => {
    process.stderr.write(`fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
