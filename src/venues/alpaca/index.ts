import { ok } from "../../domain/result.js";
import type { VenueAdapter } from "../adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter } from "../rest-venue-adapter.js";
import { checkShapeAgainstEnums } from "../translator.js";
import { ALPACA, alpacaRules } from "./describe.js";
import type { AlpacaCredentials } from "./sign.js";
import { signAlpacaRequest } from "./sign.js";
import { fromAlpacaResponse, toAlpacaRequest } from "./translate.js";

export interface AlpacaAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: AlpacaCredentials;
}

export function createAlpacaDialect(config: AlpacaAdapterConfig): VenueDialect {
  return {
    kind: "alpaca",
    weights: ALPACA.weights,
    defaultBackoffMs: ALPACA.defaultBackoffMs,
    checkOrderShape: (type, tif) => checkShapeAgainstEnums(alpacaRules.enums, type, tif),
    translate: toAlpacaRequest,
    sign: (req, baseUrl) => ok(signAlpacaRequest(req, config.credentials, baseUrl)),
    parse: fromAlpacaResponse,
    // DELETE /v2/orders/{order_id} takes Alpaca's id only.
    needsVenueOrderId: new Set(["cancel"]),
    cumulativeFillsOnly: true,
  };
}

/** Alpaca Trading API v2 adapter: key/secret headers, client_order_id, get by client order id. */
export function createAlpacaAdapter(config: AlpacaAdapterConfig, deps: VenueAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createAlpacaDialect(config), config, deps);
}
