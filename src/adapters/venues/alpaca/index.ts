import { ok } from "../../../domain/result.js";
import type { VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import type { TranslatorRules } from "../translator.js";
import { ALPACA, alpacaRules } from "./describe.js";
import type { AlpacaCredentials } from "./sign.js";
import { signAlpacaRequest } from "./sign.js";
import { fromAlpacaBalances, fromAlpacaResponse, toAlpacaBalancesRequest, fromAlpacaMassCancel, planAlpacaMassCancel, alpacaAmend, fromAlpacaOpenOrders, toAlpacaOpenOrdersRequest } from "./translate.js";

export interface AlpacaAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: AlpacaCredentials;
  /** The built-in rules with the venue file's overrides applied; default alpacaRules. */
  readonly rules?: TranslatorRules;
  /** Only the gateway uses the key: DELETE /v2/orders may be used (see translator-schema.ts exclusiveKeyOption). */
  readonly exclusiveKey?: boolean;
}

export function createAlpacaDialect(config: AlpacaAdapterConfig): VenueDialect {
  const rules = config.rules ?? alpacaRules;
  return rulesDialect("alpaca", ALPACA, rules, {
    sign: (req, baseUrl) => ok(signAlpacaRequest(req, config.credentials, baseUrl)),
    parse: (op, res, input) => fromAlpacaResponse(op, res, input, rules),
    // DELETE /v2/orders/{order_id} takes Alpaca's id only.
    needsVenueOrderId: new Set(["cancel"]),
    cumulativeFillsOnly: true,
    balances: { weight: 1, request: toAlpacaBalancesRequest, parse: fromAlpacaBalances },
    massCancel: {
      weight: ALPACA.weights.cancel,
      plan: (orders, others) => planAlpacaMassCancel(orders, others, config.exclusiveKey === true),
      parse: (res, covers) => fromAlpacaMassCancel(res, covers, rules),
    },
    amend: alpacaAmend(rules),
    openOrders: { weight: 1, request: toAlpacaOpenOrdersRequest, parse: (res) => fromAlpacaOpenOrders(res, rules) },
  });
}

/** Alpaca Trading API v2 adapter: key/secret headers, client_order_id, get by client order id. */
export function createAlpacaAdapter(config: AlpacaAdapterConfig, deps: VenueAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createAlpacaDialect(config), config, deps);
}
