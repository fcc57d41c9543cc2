import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";
import type { Config } from "./env.js";

/** The built dashboard, read into memory (src/server/dashboard-route.ts serves it). */
export interface DashboardFiles {
  readonly index: Buffer;
  readonly assets: ReadonlyMap<string, Buffer>;
}

export interface LoadedDashboard {
  /** Undefined when DASHBOARD=off, or when it was never built (then `warning` says so). */
  readonly files?: DashboardFiles;
  readonly warning?: string;
}

/**
 * Where `npm run build` puts the dashboard, seen from this file: dist/src/config/ when compiled
 * (npm start), src/config/ under tsx (npm run dev, tests).
 */
const BUILT_DIRS = [new URL("../../dashboard/", import.meta.url), new URL("../../dist/dashboard/", import.meta.url)].map((u) => fileURLToPath(u));

/**
 * Reads the dashboard when DASHBOARD is on: DASHBOARD_DIR if set (an error when it holds no
 * build), else the build next to the gateway; a gateway started from sources that were never
 * built runs without a dashboard, with a warning, rather than not at all.
 */
export function loadDashboardFiles(settings: Pick<Config, "dashboard" | "dashboardDir">, builtDirs: readonly string[] = BUILT_DIRS): Result<LoadedDashboard, string> {
  if (!settings.dashboard) return ok({});
  if (settings.dashboardDir !== undefined) {
    const files = readDir(settings.dashboardDir);
    return files === undefined
      ? err(`DASHBOARD_DIR=${settings.dashboardDir} holds no built dashboard (no index.html): run npm run build, or set DASHBOARD=off`)
      : ok({ files });
  }
  for (const dir of builtDirs) {
    const files = readDir(dir);
    if (files !== undefined) return ok({ files });
  }
  return ok({ warning: `the dashboard is not built (no ${builtDirs.at(-1)}index.html): run npm run build to serve it at /, or set DASHBOARD=off` });
}

function readDir(dir: string): DashboardFiles | undefined {
  const index = statSync(join(dir, "index.html"), { throwIfNoEntry: false });
  if (index === undefined || !index.isFile()) return undefined;
  const assets = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    if (name !== "index.html" && statSync(join(dir, name)).isFile()) assets.set(name, readFileSync(join(dir, name)));
  }
  return { index: readFileSync(join(dir, "index.html")), assets };
}
