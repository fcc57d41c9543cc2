import type { VenueAdapter } from "../adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter } from "../rest-venue-adapter.js";
import { ok } from "../../domain/result.js";
import { checkShapeAgainstEnums } from "../translator.js";
import { BINANCE, binanceRules } from "./describe.js";
import type { BinanceCredentials } from "./sign.js";
import { signBinanceRequest } from "./sign.js";
import { fromBinanceResponse, toBinanceRequest } from "./translate.js";

export interface BinanceAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: BinanceCredentials;
  /** Default 5000 ms, at most 60000. */
  readonly recvWindowMs?: number;
}

export function createBinanceDialect(config: BinanceAdapterConfig): VenueDialect {
  return {
    kind: "binance",
    weights: BINANCE.weights,
    defaultBackoffMs: BINANCE.defaultBackoffMs,
    checkOrderShape: (type, tif) => checkShapeAgainstEnums(binanceRules.enums, type, tif),
    translate: toBinanceRequest,
    sign: (req, baseUrl, nowMs) => ok(signBinanceRequest(req, config.credentials, nowMs, baseUrl, config.recvWindowMs ?? BINANCE.recvWindowMs)),
    parse: (op, res) => fromBinanceResponse(op, res),
    // The order query answer has totals only; the new-order FULL answer has real trades.
    cumulativeFillsOnly: true,
  };
}

/** Binance Spot REST adapter: HMAC-SHA256 signed query strings, newClientOrderId = derived client order id. */
export function createBinanceAdapter(config: BinanceAdapterConfig, deps: VenueAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createBinanceDialect(config), config, deps);
}
