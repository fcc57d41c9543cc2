import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { VenueFileEntry, VenuesFile } from "../../config/venues-file.js";
import { credentialIdentity, resolveCredentials } from "../../config/venues-file.js";
import type { Clock, IdSource } from "../../domain/ports.js";
import type { VenueAdapter } from "../../use-cases/venue-adapter.js";
import { createAlpacaAdapter } from "./alpaca/index.js";
import { ALPACA } from "./alpaca/describe.js";
import { createBinanceAdapter } from "./binance/index.js";
import { BINANCE } from "./binance/describe.js";
import { createCoinbaseAdapter } from "./coinbase/index.js";
import { createKrakenAdapter } from "./kraken/index.js";
import { createKrakenNonceSource } from "./kraken/sign.js";
import type { OutboundLimit } from "./outbound-limiter.js";
import { createOutboundLimiter } from "./outbound-limiter.js";
import { createPaperVenue } from "./paper/paper-venue.js";
import type { VenueAdapterDeps, VenueRuntimeConfig } from "./rest-venue-adapter.js";
import { createRestJsonAdapter } from "./rest-json/index.js";
import { compileRestJsonAuth } from "./rest-json/sign.js";
import type { VenueMetrics } from "./venue-metrics.js";
import { createVenueMetrics } from "./venue-metrics.js";

/** A mistake in the venue configuration found while building the adapters: stops the process. */
export class VenueConfigError extends Error {
  override readonly name = "VenueConfigError";
}

export interface VenueRegistryDeps {
  readonly clock: Clock;
  /** Ids for the paper venue (venue order ids, trade ids). */
  readonly ids: IdSource;
  /** Either ready-made venue metrics (shared with the poller) or a registry to create them in. */
  readonly metrics?: VenueMetrics;
  readonly registry?: Registry;
  /** Per-venue health (A's grpc.health.v1 registry: service name = venue name). */
  readonly onHealth?: (venue: string, serving: boolean) => void;
  readonly logger?: Logger;
  /** Where credential env vars are read from (main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** Documented default outbound budgets per kind, used when the file gives none. */
const DEFAULT_LIMITS: Readonly<Record<string, OutboundLimit>> = {
  binance: BINANCE.defaultLimit,
  alpaca: ALPACA.defaultLimit,
  // Kraken: counter max 15-20 with decay ~0.33-0.5/s for the lower tiers.
  kraken: { capacity: 15, refillPerSecond: 0.33 },
  // Coinbase Advanced Trade private endpoints: 30 requests per second.
  coinbase: { capacity: 30, refillPerSecond: 30 },
};

/**
 * Builds one adapter per venue of the file. Throws VenueConfigError (message
 * names the file, venue and field, never a secret) when a credential cannot
 * be resolved. Venues sharing a credential share one outbound budget (and,
 * for Kraken and rest-json HMAC rules, one nonce sequence).
 */
export function createVenues(file: VenuesFile, deps: VenueRegistryDeps): ReadonlyMap<string, VenueAdapter> {
  const metrics = deps.metrics ?? (deps.registry ? createVenueMetrics(deps.registry) : undefined);
  if (metrics === undefined) throw new VenueConfigError("createVenues needs deps.metrics or deps.registry");
  const limits = new Map<string, OutboundLimit>();
  for (const venue of file.venues) {
    if (venue.kind === "paper") continue;
    const key = credentialIdentity(venue);
    const limit = venue.rateLimit ?? DEFAULT_LIMITS[venue.kind];
    if (limit !== undefined && !limits.has(key)) limits.set(key, limit);
  }
  const limiter = createOutboundLimiter({ now: () => deps.clock.nowMs(), limits });
  // One nonce sequence per key (Kraken, rest-json HMAC rules with {nonce}): the venue refuses a nonce not above the last.
  const nonces = new Map<string, (nowMs: number) => string>();
  const nonceFor = (key: string): ((nowMs: number) => string) => {
    let nonce = nonces.get(key);
    if (nonce === undefined) {
      nonce = createKrakenNonceSource();
      nonces.set(key, nonce);
    }
    return nonce;
  };
  const adapterDeps: VenueAdapterDeps = {
    clock: deps.clock,
    metrics,
    limiter,
    onHealth: deps.onHealth,
    logger: deps.logger,
  };
  const out = new Map<string, VenueAdapter>();
  for (const venue of file.venues) {
    out.set(venue.name, createOne(venue));
  }
  return out;

  function createOne(venue: VenueFileEntry): VenueAdapter {
    if (venue.kind === "paper") {
      const p = venue.paper ?? {};
      deps.onHealth?.(venue.name, true);
      return createPaperVenue({
        ...(p as object),
        name: venue.name,
        clock: deps.clock,
        ids: deps.ids,
      });
    }
    const creds = resolveCredentials(venue, file.path, deps.env, deps.readFile ?? ((p) => readFileSync(p, "utf8")));
    if (!creds.ok) throw new VenueConfigError(creds.error);
    const c = creds.value;
    const base: VenueRuntimeConfig = {
      name: venue.name,
      baseUrl: venue.baseUrl!,
      symbols: venue.symbols,
      timeoutMs: venue.timeoutMs,
      limiterKey: credentialIdentity(venue),
      ...(venue.connections !== undefined ? { connections: venue.connections } : {}),
    };
    // Built-in rules with the file's overrides merged in (validated by the venue file).
    const rules = venue.rules !== undefined ? { rules: venue.rules } : {};
    switch (venue.kind) {
      case "binance":
        return createBinanceAdapter(
          {
            ...base,
            ...rules,
            credentials: { apiKey: c["apiKey"]!, apiSecret: c["apiSecret"]! },
            ...(venue.recvWindowMs ? { recvWindowMs: venue.recvWindowMs } : {}),
          },
          adapterDeps,
        );
      case "kraken":
        return createKrakenAdapter(
          { ...base, ...rules, credentials: { apiKey: c["apiKey"]!, apiSecret: c["apiSecret"]! } },
          { ...adapterDeps, nonce: nonceFor(base.limiterKey) },
        );
      case "alpaca":
        return createAlpacaAdapter({ ...base, ...rules, credentials: { keyId: c["keyId"]!, secretKey: c["secretKey"]! } }, adapterDeps);
      case "coinbase":
        return createCoinbaseAdapter({ ...base, ...rules, credentials: { keyName: c["keyName"]!, privateKeyPem: c["privateKey"]! } }, adapterDeps);
      case "rest-json": {
        const auth = venue.auth ?? { type: "none" };
        // Rules were checked against credential names at load; now the values (is the key really base64?).
        const compiled = compileRestJsonAuth(auth, c);
        if (!compiled.ok) throw new VenueConfigError(`${file.path}: venue ${venue.name}: ${compiled.error}`);
        return createRestJsonAdapter(
          {
            ...base,
            rules: venue.rules!,
            auth,
            credentials: c,
            ...(venue.errors ? { errors: venue.errors } : {}),
            ...(venue.weights ? { weights: venue.weights } : {}),
          },
          { ...adapterDeps, nonce: nonceFor(base.limiterKey) },
        );
      }
    }
  }
}

/** Closes every adapter (connection pools). */
export async function closeVenues(venues: ReadonlyMap<string, VenueAdapter>): Promise<void> {
  await Promise.allSettled([...venues.values()].map((a) => a.close()));
}
