import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Clock, IdSource } from "../../domain/ports.js";
import type { VenueEntryOf, VenueKindSchema } from "../../shared/venue-kind-schema.js";
import type { VenueAdapter } from "../../use-cases/venue-adapter.js";
import type { VenueReconcileSettings } from "../../use-cases/reconcile-venues.js";
import { venueReconcileSettings } from "./reconcile-options.js";
import { alpacaConfig } from "./alpaca/config.js";
import { createAlpacaAdapter } from "./alpaca/index.js";
import { ALPACA } from "./alpaca/describe.js";
import { binanceConfig } from "./binance/config.js";
import { createBinanceAdapter } from "./binance/index.js";
import { BINANCE } from "./binance/describe.js";
import { coinbaseConfig } from "./coinbase/config.js";
import { createCoinbaseAdapter } from "./coinbase/index.js";
import { krakenConfig } from "./kraken/config.js";
import { createKrakenAdapter } from "./kraken/index.js";
import { createKrakenNonceSource } from "./kraken/sign.js";
import type { OutboundLimit } from "./outbound-limiter.js";
import { createOutboundLimiter } from "./outbound-limiter.js";
import { paperConfig } from "./paper/config.js";
import { createPaperVenue } from "./paper/paper-venue.js";
import type { VenueAdapterDeps, VenueRuntimeConfig } from "./rest-venue-adapter.js";
import { restJsonConfig } from "./rest-json/config.js";
import type { RestJsonAuth } from "./rest-json/describe.js";
import { createRestJsonAdapter } from "./rest-json/index.js";
import { compileRestJsonAuth } from "./rest-json/sign.js";
import type { TranslatorRules } from "./translator.js";
import type { VenueMetrics } from "./venue-metrics.js";
import type { StreamRestSend } from "./user-stream/stream-spec.js";
import { createVenueMetrics } from "./venue-metrics.js";

/**
 * Every venue kind the gateway knows, each with the schema of its entry in the venue file.
 * main.ts hands this list to config/venues-file.ts, which validates the file with it (config/
 * imports no venue). A new kind registers here and in createOne below. Order: the order
 * "kind: must be one of ..." lists them.
 */
export const VENUE_KINDS: readonly VenueKindSchema[] = [paperConfig, binanceConfig, krakenConfig, alpacaConfig, coinbaseConfig, restJsonConfig];

/**
 * One venue of the venue file as config/ hands it over: validated by its kind's schema,
 * credentials resolved to values (config/ read the variables and secret files).
 */
export interface VenueSettings extends VenueEntryOf<string> {
  /** Non-secret identity of the main credential: venues sharing it share one outbound budget and nonce sequence. */
  readonly credentialIdentity: string;
}

export interface VenueSettingsFile {
  /** Where the venues came from (for messages). */
  readonly path: string;
  readonly pollIntervalMs: number;
  readonly venues: readonly VenueSettings[];
}

/** The options the kinds' schemas (VENUE_KINDS) validated, typed: only this file reads them. */
interface VenueOptions {
  readonly recvWindowMs?: number;
  readonly rules?: TranslatorRules;
  readonly auth?: RestJsonAuth;
  readonly errors?: { readonly messagePath?: string; readonly codePath?: string };
  readonly weights?: { readonly place: number; readonly cancel: number; readonly query: number };
  readonly paper?: Readonly<Record<string, unknown>>;
  readonly exclusiveKey?: boolean;
}

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
  /** Told each REST venue's one-request path (for its user stream's authentication). */
  readonly onRestSend?: (venue: string, send: StreamRestSend) => void;
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
 * Builds one adapter per venue of the file. Reads nothing: credentials arrive as values
 * (config/venues-file.ts resolved them). Throws VenueConfigError (message names the file,
 * venue and field, never a secret) when a credential's value does not fit its rules (a
 * rest-json HMAC key that is not the base64 its rules say). Venues sharing a credential
 * share one outbound budget (and, for Kraken and rest-json HMAC rules, one nonce sequence).
 */
export function createVenues(file: VenueSettingsFile, deps: VenueRegistryDeps): ReadonlyMap<string, VenueAdapter> {
  const metrics = deps.metrics ?? (deps.registry ? createVenueMetrics(deps.registry) : undefined);
  if (metrics === undefined) throw new VenueConfigError("createVenues needs deps.metrics or deps.registry");
  const limits = new Map<string, OutboundLimit>();
  for (const venue of file.venues) {
    if (venue.kind === "paper") continue;
    const key = venue.credentialIdentity;
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
  const sharedDeps: VenueAdapterDeps = {
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

  function createOne(settings: VenueSettings): VenueAdapter {
    const venue = settings as VenueSettings & VenueOptions;
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
    const c = venue.credentials;
    const adapterDeps: VenueAdapterDeps = deps.onRestSend === undefined ? sharedDeps : { ...sharedDeps, onRestSend: (send) => deps.onRestSend!(venue.name, send) };
    const base: VenueRuntimeConfig = {
      name: venue.name,
      baseUrl: venue.baseUrl!,
      symbols: venue.symbols,
      timeoutMs: venue.timeoutMs,
      limiterKey: venue.credentialIdentity,
      ...(venue.connections !== undefined ? { connections: venue.connections } : {}),
    };
    // Built-in rules with the file's overrides merged in (validated by the venue file).
    const rules = venue.rules !== undefined ? { rules: venue.rules } : {};
    // Binance, Kraken, Alpaca: the venue-wide cancel-all only with a key the gateway alone uses.
    const exclusive = venue.exclusiveKey === true ? { exclusiveKey: true } : {};
    switch (venue.kind) {
      case "binance":
        return createBinanceAdapter(
          {
            ...base,
            ...rules,
            ...exclusive,
            credentials: { apiKey: c["apiKey"]!, apiSecret: c["apiSecret"]! },
            ...(venue.recvWindowMs ? { recvWindowMs: venue.recvWindowMs } : {}),
          },
          adapterDeps,
        );
      case "kraken":
        return createKrakenAdapter(
          { ...base, ...rules, ...exclusive, credentials: { apiKey: c["apiKey"]!, apiSecret: c["apiSecret"]! } },
          { ...adapterDeps, nonce: nonceFor(base.limiterKey) },
        );
      case "alpaca":
        return createAlpacaAdapter({ ...base, ...rules, ...exclusive, credentials: { keyId: c["keyId"]!, secretKey: c["secretKey"]! } }, adapterDeps);
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
      default:
        // The venue file refuses kinds not in VENUE_KINDS; this is a kind registered there but not built here.
        throw new VenueConfigError(`${file.path}: venue ${venue.name}: kind ${venue.kind} is not built by the registry`);
    }
  }
}

/** Each venue's reconciliation settings (venue-file `adoptExternalOrders`, `externalAccount`), by venue name. */
export function reconcileSettingsOf(file: VenueSettingsFile): ReadonlyMap<string, VenueReconcileSettings> {
  return new Map(file.venues.map((v) => [v.name, venueReconcileSettings(v)] as const));
}

/** Closes every adapter (connection pools). */
export async function closeVenues(venues: ReadonlyMap<string, VenueAdapter>): Promise<void> {
  await Promise.allSettled([...venues.values()].map((a) => a.close()));
}
