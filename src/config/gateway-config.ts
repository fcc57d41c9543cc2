import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";
import type { RiskLimitsConfig } from "../use-cases/risk.js";
import type { VenueKindSchema } from "../shared/venue-kind-schema.js";
import type { Config } from "./env.js";
import { parseReferencePrices } from "./paper-prices.js";
import { loadRiskLimitsFile } from "./risk-limits-file.js";
import { readTlsFiles } from "./tls-files.js";
import type { TlsMaterial } from "./tls-files.js";
import { loadVenuesFile, paperOnlyVenuesFile, resolveVenueCredentials } from "./venues-file.js";
import type { ResolvedVenuesFile, VenuesFile } from "./venues-file.js";

/**
 * Everything the gateway is built from, read and validated: the settings (env.ts), and what
 * the files and variables they name hold. createGateway (src/composition-root.ts) builds from
 * this alone and reads nothing.
 */
export interface GatewayConfig {
  readonly settings: Config;
  /** The venues, credentials resolved to values. */
  readonly venues: ResolvedVenuesFile;
  /** RISK_LIMITS_FILE's limits, when set. */
  readonly riskLimits?: RiskLimitsConfig;
  /** TLS_*_FILE's material, when a certificate and key are set. */
  readonly tls?: TlsMaterial;
}

export interface GatewayConfigSources {
  /** Where venue credential variables are read (main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The venue kinds and their schemas (src/adapters/venues/registry.ts VENUE_KINDS, passed by main.ts). */
  readonly venueKinds: readonly VenueKindSchema[];
  /** Text files: venue file, risk limits, secret files. Default node:fs. */
  readonly readFile?: (path: string) => string;
  /** Binary files: TLS material. Default node:fs. */
  readonly readBinaryFile?: (path: string) => Buffer;
}

/**
 * Reads every file and variable the settings name (PAPER_PRICES, RISK_LIMITS_FILE,
 * VENUES_FILE and the venues' credentials, TLS_*_FILE), before anything is built. Errors
 * name the setting (and file, field) and never a secret; main prints each one and exits 2.
 */
export function loadGatewayConfig(settings: Config, sources: GatewayConfigSources): Result<GatewayConfig, string[]> {
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const prices = parseReferencePrices(settings.paperPrices);
  if (!prices.ok) return err([prices.error]);
  let riskLimits: RiskLimitsConfig | undefined;
  if (settings.riskLimitsFile !== undefined) {
    const r = loadRiskLimitsFile(settings.riskLimitsFile, readFile);
    if (!r.ok) return err([r.error]);
    riskLimits = r.value;
  }
  let file: VenuesFile;
  if (settings.venuesFile !== undefined) {
    const r = loadVenuesFile(settings.venuesFile, sources.venueKinds, readFile);
    if (!r.ok) return err([r.error]);
    file = r.value;
  } else {
    file = paperOnlyVenuesFile(sources.venueKinds);
  }
  // PAPER_PRICES is the paper venue's setting: it applies to every paper venue that sets no prices of its own.
  if (prices.value !== undefined) {
    const referencePrices = prices.value;
    file = {
      ...file,
      venues: file.venues.map((ve) => {
        const paper = ve["paper"] as { readonly referencePrices?: unknown } | undefined;
        return ve.kind === "paper" && paper?.referencePrices === undefined ? { ...ve, paper: { ...paper, referencePrices } } : ve;
      }),
    };
  }
  // PAPER_MARKET=walk: every paper venue that sets no walk of its own walks with the PAPER_WALK_* settings.
  if (settings.paperMarket === "walk") {
    const walk = {
      volatility: settings.paperWalkVolatility,
      tickSize: settings.paperWalkTickSize,
      intervalMs: settings.paperWalkIntervalMs,
      seed: settings.paperWalkSeed ?? randomInt(2 ** 31),
      ...(/[1-9]/.test(settings.paperWalkDepth) ? { depthNotional: settings.paperWalkDepth } : {}),
    };
    file = {
      ...file,
      venues: file.venues.map((ve) => {
        const paper = ve["paper"] as { readonly walk?: unknown } | undefined;
        return ve.kind === "paper" && paper?.walk === undefined ? { ...ve, paper: { ...paper, walk } } : ve;
      }),
    };
  }
  const venues = resolveVenueCredentials(file, sources.env, readFile);
  if (!venues.ok) return err([venues.error]);
  const tls = readTlsFiles(settings, sources.readBinaryFile);
  if (!tls.ok) return err(tls.error);
  return ok({
    settings,
    venues: venues.value,
    ...(riskLimits !== undefined ? { riskLimits } : {}),
    ...(tls.value !== undefined ? { tls: tls.value } : {}),
  });
}
