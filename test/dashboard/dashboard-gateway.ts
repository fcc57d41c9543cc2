import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { Config } from "../../src/config/env.js";
import { createGateway } from "../../src/composition-root.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { loadDashboardFiles } from "../../src/config/dashboard-files.js";
import { createHealthRegistry, ServingStatus } from "../../src/server/health.js";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { buildDashboard } from "../../src/dashboard/build/build-dashboard.js";
import { gatewayConfig } from "../helpers/gateway-config.js";
import { createLogCapture } from "../helpers/log-capture.js";
import { startServer, type StartedServer } from "../helpers/start-server.js";

/** Debian's chromium (.ci/run installs it); CHROMIUM overrides. */
export const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";

let built: Promise<string> | undefined;

/** The dashboard built once per test process, into a temporary directory (the checkout's dist/ is left alone). */
export function builtDashboard(): Promise<string> {
  return (built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-dashboard-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    await buildDashboard({ outDir: dir, force: true });
    return dir;
  })());
}

/**
 * The real composition (embedded paper venue, audit log in a temporary directory) behind the real
 * server, with the dashboard as main.ts loads it from `settings`.
 */
export async function startDashboardGateway(settings: Partial<Config> = {}): Promise<StartedServer & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "gw-dash-audit-"));
  const config = gatewayConfig({ auditFile: join(dir, "audit.jsonl"), auditMode: "fsync", rateLimitRps: 0, dashboardDir: await builtDashboard(), ...settings });
  const loaded = loadDashboardFiles(config.settings);
  if (!loaded.ok) throw new Error(loaded.error);
  const metrics = createRpcMetrics();
  const health = createHealthRegistry({ "": ServingStatus.SERVING, [TradingGateway.typeName]: ServingStatus.SERVING });
  const core = await createGateway({ config, logger: createLogCapture().logger, health, registry: metrics.registry, shutdownSignal: new AbortController().signal });
  const srv = await startServer({
    trading: core.trading,
    metrics,
    health,
    config: { rateLimitRps: 0, apiKeys: config.settings.apiKeys },
    ...(loaded.value.files !== undefined ? { deps: { dashboard: loaded.value.files } } : {}),
  });
  return {
    ...srv,
    async stop() {
      await srv.close();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (.ci/run does), or set CHROMIUM`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}
