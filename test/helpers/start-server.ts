import type { AddressInfo } from "node:net";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { buildApp } from "../../src/server/app.js";
import type { App, AppDeps } from "../../src/server/app.js";
import { defaultConfig } from "../../src/config/env.js";
import type { Config } from "../../src/config/env.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import type { RpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createHealthRegistry, ServingStatus } from "../../src/server/health.js";
import type { HealthRegistry } from "../../src/server/health.js";
import { addStreamHook } from "../../src/server/dual-protocol-server.js";
import type { StreamHook } from "../../src/server/dual-protocol-server.js";
import { TradingGateway as TradingGatewayDesc } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createFakeTradingService } from "./fake-trading-service.js";
import type { FakeTrading } from "./fake-trading-service.js";
import { createLogCapture } from "./log-capture.js";
import type { LogCapture } from "./log-capture.js";

export interface StartServerOptions {
  /** Config overrides on top of the defaults (host/port are always 127.0.0.1:0). */
  readonly config?: Partial<Config>;
  /** The TradingGateway implementation; default: the fake from fake-trading-service.ts. */
  readonly trading?: Partial<ServiceImpl<typeof TradingGateway>>;
  readonly health?: HealthRegistry;
  readonly metrics?: RpcMetrics;
  /** A logger; default: an in-memory capture (see `logs`). */
  readonly logger?: Logger;
  /** A stream hook added to the server (addStreamHook), after the fast path's when that is on. */
  readonly onStream?: StreamHook;
  readonly tls?: AppDeps["tls"];
  /** Any other buildApp dependency (applied last, e.g. `now`). */
  readonly deps?: Partial<AppDeps>;
}

export interface StartedServer {
  readonly app: App;
  /** e.g. http://127.0.0.1:43121 (https:// with TLS) */
  readonly baseUrl: string;
  readonly port: number;
  readonly health: HealthRegistry;
  readonly metrics: RpcMetrics;
  /** Captured log lines (only when no logger was given). */
  readonly logs: LogCapture;
  /** The fake trading service (when no `trading` was given). */
  readonly fake: FakeTrading;
  /** Graceful close, in main.ts's order: health NOT_SERVING, streams end, app.close() (idempotent). */
  close(): Promise<void>;
}

/**
 * Starts the real app (buildApp + listen) on 127.0.0.1, port 0. Reusable by
 * every area's end-to-end tests: pass `trading` to serve a real service.
 * Always call close() (e.g. in t.after) so `node --test` can exit.
 */
export async function startServer(opts: StartServerOptions = {}): Promise<StartedServer> {
  const logs = createLogCapture();
  // Like main.ts: aborted when shutdown starts, so long-lived streams end cleanly.
  const shutdown = new AbortController();
  const fake = createFakeTradingService({ shutdownSignal: shutdown.signal });
  const health = opts.health ?? createHealthRegistry({ "": ServingStatus.SERVING, [TradingGatewayDesc.typeName]: ServingStatus.SERVING });
  const metrics = opts.metrics ?? createRpcMetrics();
  const config: Config = {
    ...defaultConfig(),
    // Tests must not wait long for grace timers or be shed by a busy CI machine.
    shutdownGraceMs: 2000,
    underPressureMaxEventLoopDelayMs: 0,
    // `npm test` runs the end-to-end suites a second time with FAST_PATH=off, so both paths serve every case.
    fastPath: process.env["FAST_PATH"] !== "off",
    ...opts.config,
    host: "127.0.0.1",
    port: 0,
  };
  const app = await buildApp({
    config,
    logger: opts.logger ?? logs.logger,
    trading: opts.trading ?? fake.service,
    health,
    metrics,
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    ...opts.deps,
  });
  if (opts.onStream !== undefined) addStreamHook(app.server, opts.onStream);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    app,
    baseUrl: `${opts.tls !== undefined ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    health,
    metrics,
    logs,
    fake,
    close: () =>
      (closed ??= (() => {
        // The order main.ts uses: NOT_SERVING, streams told to end, then drain and close.
        health.shutdown();
        shutdown.abort();
        return app.close();
      })()),
  };
}
