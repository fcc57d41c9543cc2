import type { VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import { ok } from "../../../domain/result.js";
import type { TranslatorRules } from "../translator.js";
import { BINANCE, binanceRules } from "./describe.js";
import type { BinanceCredentials } from "./sign.js";
import { signBinanceRequest } from "./sign.js";
import { fromBinanceBalances, fromBinanceResponse, fromBinanceTrades, toBinanceBalancesRequest, toBinanceTradesRequest, fromBinanceMassCancel, planBinanceMassCancel, binanceAmend, fromBinanceOpenOrders, toBinanceOpenOrdersRequest } from "./translate.js";

export interface BinanceAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: BinanceCredentials;
  /** Default 5000 ms, at most 60000. */
  readonly recvWindowMs?: number;
  /** The built-in rules with the venue file's overrides applied; default binanceRules. */
  readonly rules?: TranslatorRules;
  /** Only the gateway uses the key: DELETE openOrders may be used (see translator-schema.ts exclusiveKeyOption). */
  readonly exclusiveKey?: boolean;
}

export function createBinanceDialect(config: BinanceAdapterConfig): VenueDialect {
  const rules = config.rules ?? binanceRules;
  return rulesDialect("binance", BINANCE, rules, {
    sign: (req, baseUrl, nowMs) => ok(signBinanceRequest(req, config.credentials, nowMs, baseUrl, config.recvWindowMs ?? BINANCE.recvWindowMs)),
    parse: (op, res) => fromBinanceResponse(op, res, rules),
    usedWeight: (headers) => {
      const v = headers["x-mbx-used-weight-1m"];
      return v === undefined ? undefined : Number(v);
    },
    // The order query and cancel answers have totals only (the new-order FULL answer has real
    // trades); increases are fetched from myTrades so fills keep their trade ids and commissions.
    cumulativeFillsOnly: true,
    trades: { weight: BINANCE.myTradesWeight, request: toBinanceTradesRequest, parse: fromBinanceTrades },
    balances: { weight: BINANCE.accountWeight, request: toBinanceBalancesRequest, parse: fromBinanceBalances },
    massCancel: {
      weight: BINANCE.massCancelWeight,
      plan: (orders, others) => planBinanceMassCancel(orders, others, config.exclusiveKey === true),
      parse: (res, covers) => fromBinanceMassCancel(res, covers, rules),
    },
    amend: binanceAmend(rules),
    openOrders: { weight: BINANCE.openOrdersWeight, request: toBinanceOpenOrdersRequest, parse: (res) => fromBinanceOpenOrders(res, rules) },
  });
}

/** Binance Spot REST adapter: HMAC-SHA256 signed query strings, newClientOrderId = derived client order id. */
export function createBinanceAdapter(config: BinanceAdapterConfig, deps: VenueAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createBinanceDialect(config), config, deps);
}
