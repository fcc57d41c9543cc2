import { ok } from "../../../domain/result.js";
import type { VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import type { Operation, TranslatorRules } from "../translator.js";
import type { RestJsonAuth } from "./describe.js";
import { REST_JSON } from "./describe.js";
import type { RestJsonErrorRules } from "./errors.js";
// Kraken's nonce sequence is the generic one: strictly increasing, µs-scale, per key.
import { createKrakenNonceSource } from "../kraken/sign.js";
import { compileRestJsonAuth, signRestJsonRequest } from "./sign.js";
import { fromRestJsonResponse } from "./translate.js";

export interface RestJsonAdapterConfig extends VenueRuntimeConfig {
  readonly rules: TranslatorRules;
  readonly auth: RestJsonAuth;
  readonly credentials: Readonly<Record<string, string>>;
  readonly errors?: RestJsonErrorRules;
  readonly weights?: Readonly<Record<Operation, number>>;
  /** True when the venue's order answer has no fills list (cumulative totals only). Default: !rules.answer.fills. */
  readonly cumulativeFillsOnly?: boolean;
}

export interface RestJsonAdapterDeps extends VenueAdapterDeps {
  /** Source of {nonce} (HMAC rules that use one); share it between adapters that use the same key. */
  readonly nonce?: (nowMs: number) => string;
}

/**
 * Throws when the auth rules do not fit the credentials (an unknown name, a
 * key that is not the declared base64/hex): the registry checks first with
 * compileRestJsonAuth and reports the venue file's path.
 */
export function createRestJsonDialect(config: RestJsonAdapterConfig, nonceSource?: (nowMs: number) => string): VenueDialect {
  const rules = config.rules;
  const compiled = compileRestJsonAuth(config.auth, config.credentials);
  if (!compiled.ok) throw new Error(`venue ${config.name}: ${compiled.error}`);
  const auth = compiled.value;
  // Drawn only when a template uses {nonce}: the sequence is shared per key, so gaps are harmless but pointless.
  const nonce = auth.usesNonce ? (nonceSource ?? createKrakenNonceSource()) : () => "";
  return rulesDialect("rest-json", { weights: config.weights ?? REST_JSON.weights, defaultBackoffMs: REST_JSON.defaultBackoffMs }, rules, {
    sign: (req, baseUrl, nowMs) => ok(signRestJsonRequest(req, auth, baseUrl, nowMs, nonce(nowMs))),
    parse: (op, res, input) => fromRestJsonResponse(op, res, input, rules, config.errors ?? {}),
    // Paths that name {venueOrderId} cannot be called before the venue id is known.
    needsVenueOrderId: new Set((["cancel"] as const).filter((op) => rules[op].path.includes("{venueOrderId}"))),
    cumulativeFillsOnly: config.cumulativeFillsOnly ?? rules.answer.fills === undefined,
  });
}

/** A venue described by configuration alone: translator rules + auth rules (a header, or HMAC signing). */
export function createRestJsonAdapter(config: RestJsonAdapterConfig, deps: RestJsonAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createRestJsonDialect(config, deps.nonce), config, deps);
}
