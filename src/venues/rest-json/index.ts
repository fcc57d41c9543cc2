import { ok } from "../../domain/result.js";
import type { VenueAdapter } from "../adapter.js";
import type { VenueAdapterDeps, VenueDialect, VenueRuntimeConfig } from "../rest-venue-adapter.js";
import { createRestVenueAdapter, rulesDialect } from "../rest-venue-adapter.js";
import type { Operation, TranslatorRules } from "../translator.js";
import type { RestJsonAuth } from "./describe.js";
import { REST_JSON } from "./describe.js";
import type { RestJsonErrorRules } from "./errors.js";
import { signRestJsonRequest } from "./sign.js";
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

export function createRestJsonDialect(config: RestJsonAdapterConfig): VenueDialect {
  const rules = config.rules;
  return rulesDialect("rest-json", { weights: config.weights ?? REST_JSON.weights, defaultBackoffMs: REST_JSON.defaultBackoffMs }, rules, {
    sign: (req, baseUrl) => ok(signRestJsonRequest(req, config.auth, config.credentials, baseUrl)),
    parse: (op, res, input) => fromRestJsonResponse(op, res, input, rules, config.errors ?? {}),
    // Paths that name {venueOrderId} cannot be called before the venue id is known.
    needsVenueOrderId: new Set((["cancel"] as const).filter((op) => rules[op].path.includes("{venueOrderId}"))),
    cumulativeFillsOnly: config.cumulativeFillsOnly ?? rules.answer.fills === undefined,
  });
}

/** A venue described by configuration alone: translator rules + auth header. */
export function createRestJsonAdapter(config: RestJsonAdapterConfig, deps: VenueAdapterDeps): VenueAdapter {
  return createRestVenueAdapter(createRestJsonDialect(config), config, deps);
}
