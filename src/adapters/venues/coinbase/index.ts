import { createPrivateKey, randomBytes } from "node:crypto";
import { OrderType, TimeInForce } from "../../../domain/order.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import type { TranslatorRules } from "../translator.js";
import { COINBASE, COINBASE_SHAPES, coinbaseRules } from "./describe.js";
import type { CoinbaseCredentials } from "./sign.js";
import { signCoinbaseRequest } from "./sign.js";
import { fromCoinbaseBalances, fromCoinbaseResponse, toCoinbaseBalancesRequest, toCoinbaseRequest, fromCoinbaseMassCancel, planCoinbaseMassCancel, coinbaseAmend, fromCoinbaseOpenOrders, toCoinbaseOpenOrdersRequest } from "./translate.js";

export interface CoinbaseAdapterConfig extends VenueRuntimeConfig {
  readonly credentials: CoinbaseCredentials;
  /** The built-in rules with the venue file's overrides applied (e.g. more statuses); default coinbaseRules. */
  readonly rules?: TranslatorRules;
}

export interface CoinbaseAdapterDeps extends VenueAdapterDeps {
  /** JWT nonce source; random hex by default (tests freeze it). */
  readonly nonce?: () => string;
}

export function createCoinbaseDialect(config: CoinbaseAdapterConfig, nonce: () => string): VenueDialect {
  const rules = config.rules ?? coinbaseRules;
  let key: ReturnType<typeof createPrivateKey> | undefined;
  let keyError: string | undefined;
  try {
    key = createPrivateKey(config.credentials.privateKeyPem);
  } catch {
    // Never echo the PEM: name the problem only.
    keyError = `venue ${config.name}: the Coinbase private key is not a valid PEM key`;
  }
  return rulesDialect("coinbase", COINBASE, rules, {
    // Coinbase's configurations are type x time-in-force pairs, not two independent enums.
    checkOrderShape(type, tif) {
      const t = OrderType[type];
      const shape = t === "MARKET" ? t : `${t}/${TimeInForce[tif]}`;
      return COINBASE_SHAPES.has(shape) ? undefined : `order type ${t} with time in force ${TimeInForce[tif]} is not supported by this venue`;
    },
    translate: (op, input) => toCoinbaseRequest(op, input, rules),
    sign(req, baseUrl, nowMs) {
      if (key === undefined) return err({ kind: "auth", reason: keyError ?? "no key" });
      return ok(signCoinbaseRequest(req, { keyName: config.credentials.keyName, key }, nowMs, nonce(), baseUrl));
    },
    parse: (op, res, input) => fromCoinbaseResponse(op, res, input, rules),
    needsVenueOrderId: new Set(["cancel"]),
    cumulativeFillsOnly: true,
    balances: { weight: 1, request: toCoinbaseBalancesRequest, parse: fromCoinbaseBalances },
    massCancel: { weight: COINBASE.weights.cancel, plan: planCoinbaseMassCancel, parse: fromCoinbaseMassCancel },
    amend: coinbaseAmend,
    openOrders: { weight: 1, request: toCoinbaseOpenOrdersRequest, parse: (res) => fromCoinbaseOpenOrders(res, rules) },
  });
}

/** Coinbase Advanced Trade adapter: ES256 JWT per request; create, cancel (batch_cancel), get. */
export function createCoinbaseAdapter(config: CoinbaseAdapterConfig, deps: CoinbaseAdapterDeps): VenueAdapter {
  const nonce = deps.nonce ?? (() => randomBytes(16).toString("hex"));
  return createRestVenueAdapter(createCoinbaseDialect(config, nonce), config, deps);
}
