import { ok } from "../../../domain/result.js";
import type { VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import type { TranslatorRules } from "../translator.js";
import { KRAKEN, krakenRules } from "./describe.js";
import type { KrakenCredentials } from "./sign.js";
import { createKrakenNonceSource, signKrakenRequest } from "./sign.js";
import { fromKrakenBalances, fromKrakenResponse, toKrakenBalancesRequest, toKrakenRequest, fromKrakenMassCancel, planKrakenMassCancel, fromKrakenDeadManResponse, toKrakenDeadManRequest, krakenAmend, fromKrakenOpenOrders, toKrakenOpenOrdersRequest } from "./translate.js";

export interface KrakenAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: KrakenCredentials;
  /** The built-in rules with the venue file's overrides applied; default krakenRules. */
  readonly rules?: TranslatorRules;
  /** Only the gateway uses the key: CancelAll may be used (see translator-schema.ts exclusiveKeyOption). */
  readonly exclusiveKey?: boolean;
}

export interface KrakenAdapterDeps extends VenueAdapterDeps {
  /** Share one source between adapters that use the same API key. */
  readonly nonce?: (nowMs: number) => string;
}

export function createKrakenDialect(config: KrakenAdapterConfig, nonce: (nowMs: number) => string): VenueDialect {
  const rules = config.rules ?? krakenRules;
  return rulesDialect("kraken", KRAKEN, rules, {
    // Cancel and query by txid once known: see toKrakenRequest.
    translate: (op, input) => toKrakenRequest(op, input, rules),
    sign: (req, baseUrl, nowMs) => ok(signKrakenRequest(req, config.credentials, nonce(nowMs), baseUrl)),
    parse: (op, res, input) => fromKrakenResponse(op, res, input, rules),
    cumulativeFillsOnly: true,
    // The nonce must increase in the order Kraken receives requests (EAPI:Invalid nonce otherwise,
    // seen when a stream's GetWebSocketsToken overtook an AddOrder): one connection keeps that order.
    defaultConnections: 1,
    balances: { weight: KRAKEN.weights.query, request: toKrakenBalancesRequest, parse: fromKrakenBalances },
    massCancel: {
      weight: KRAKEN.weights.cancel,
      plan: (orders, others) => planKrakenMassCancel(orders, others, config.exclusiveKey === true),
      parse: fromKrakenMassCancel,
    },
    deadMan: { weight: 1, request: toKrakenDeadManRequest, parse: fromKrakenDeadManResponse },
    amend: krakenAmend,
    openOrders: { weight: 1, request: toKrakenOpenOrdersRequest, parse: (res) => fromKrakenOpenOrders(res, rules) },
  });
}

/** Kraken Spot REST adapter: API-Key / API-Sign (HMAC-SHA512), strictly increasing nonce, cl_ord_id. */
export function createKrakenAdapter(config: KrakenAdapterConfig, deps: KrakenAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createKrakenDialect(config, deps.nonce ?? createKrakenNonceSource()), config, deps);
}
