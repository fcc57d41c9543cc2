import { ok } from "../../domain/result.js";
import type { VenueAdapter } from "../adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter } from "../rest-venue-adapter.js";
import { checkShapeAgainstEnums } from "../translator.js";
import { KRAKEN, krakenRules } from "./describe.js";
import type { KrakenCredentials } from "./sign.js";
import { createKrakenNonceSource, signKrakenRequest } from "./sign.js";
import { fromKrakenResponse, toKrakenRequest } from "./translate.js";

export interface KrakenAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: KrakenCredentials;
}

export interface KrakenAdapterDeps extends VenueAdapterDeps {
  /** Share one source between adapters that use the same API key. */
  readonly nonce?: (nowMs: number) => string;
}

export function createKrakenDialect(config: KrakenAdapterConfig, nonce: (nowMs: number) => string): VenueDialect {
  return {
    kind: "kraken",
    weights: KRAKEN.weights,
    defaultBackoffMs: KRAKEN.defaultBackoffMs,
    checkOrderShape: (type, tif) => checkShapeAgainstEnums(krakenRules.enums, type, tif),
    translate: toKrakenRequest,
    sign: (req, baseUrl, nowMs) => ok(signKrakenRequest(req, config.credentials, nonce(nowMs), baseUrl)),
    parse: fromKrakenResponse,
    cumulativeFillsOnly: true,
  };
}

/** Kraken Spot REST adapter: API-Key / API-Sign (HMAC-SHA512), strictly increasing nonce, cl_ord_id. */
export function createKrakenAdapter(config: KrakenAdapterConfig, deps: KrakenAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createKrakenDialect(config, deps.nonce ?? createKrakenNonceSource()), config, deps);
}
