/**
 * A stand-in for src/main.ts for benchmarking while main.ts still serves a
 * placeholder TradingGateway: the same config (environment, src/config/env.ts),
 * buildApp with the real interceptor chain and fast-path setting, and the real
 * order pipeline (createTradingCore) on the paper venue with the JSONL audit
 * log in AUDIT_MODE. No recovery from the audit log, no venue config file.
 *
 *   PORT=50152 AUDIT_MODE=buffered AUDIT_FILE=/tmp/a.jsonl node --import tsx bench/bench-gateway.ts
 *
 * Once main.ts wires the pipeline, prefer `npm start` (bench/run.ts does).
 */
import { loadConfig } from "../src/config/env.js";
import { createLogger, flushLogger } from "../src/shared/logger.js";
import { createRpcMetrics } from "../src/metrics/metrics.js";
import { createHealthRegistry, ServingStatus } from "../src/server/health.js";
import { buildApp } from "../src/app.js";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { createTradingCore } from "../src/rpc/trading-service.js";
import { createPaperVenue } from "../src/venues/paper/paper-venue.js";
import { createAuditSink } from "../src/audit/create-audit-sink.js";
import { createFillHub } from "../src/fills/fill-hub.js";
import { createStreamFillsHandler } from "../src/fills/stream-fills.js";
import { createIdSource, systemClock } from "../src/pipeline/types.js";

const loaded = loadConfig(process.env, {});
if (!loaded.ok) {
  for (const i of loaded.error) process.stderr.write(`config: ${i.message}\n`);
  process.exit(2);
}
const config = loaded.value;
const logger = createLogger({ level: config.logLevel, format: config.logFormat });
const audit = await createAuditSink({ mode: config.auditMode, file: config.auditFile }, { logger });
const hub = createFillHub({ retain: 10_000, subscriberBuffer: 1024, logger });
const shutdown = new AbortController();
const core = createTradingCore({
  venues: new Map([["paper", createPaperVenue({ clock: systemClock, ids: createIdSource("pv-") })]]),
  audit,
  fills: hub,
  streamFills: createStreamFillsHandler({ hub }),
  signal: shutdown.signal,
});
const health = createHealthRegistry({ "": ServingStatus.SERVING, [TradingGateway.typeName]: ServingStatus.SERVING });
const app = await buildApp({ config, logger, trading: core.service, health, metrics: createRpcMetrics({ defaultMetrics: true }) });
await app.listen({ host: config.host, port: config.port });
logger.info({ port: config.port, fastPath: config.fastPath, audit: config.auditMode }, "bench gateway listening");

const stop = async () => {
  shutdown.abort();
  await app.close();
  await audit.close();
  await flushLogger(logger);
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
