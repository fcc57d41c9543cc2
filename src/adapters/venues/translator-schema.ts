import * as v from "valibot";
import { didYouMean, oneOf, strictFields } from "../../shared/strict-fields.js";
import type { VenueEntry, VenueKindSchema, VenueOption } from "../../shared/venue-kind-schema.js";
import { ORDER_FIELDS, STATUS_NAMES } from "./translator.js";
import type { TranslatorRules } from "./translator.js";
import { reconcileVenueOptions } from "./reconcile-options.js";
import { streamVenueOptions } from "./user-stream/stream-options.js";

/**
 * The venue file's schema for translator rules (rest-json's `rules`, a built-in kind's
 * `overrides`), and the one built-in kinds share: they own their rules (describe.ts) and
 * take overrides merged over them. Messages are the venue file's (src/config/venues-file.ts
 * prefixes the file and the venue).
 */

export const nonEmpty = v.pipe(v.string(), v.minLength(1));
const typeName = oneOf(["MARKET", "LIMIT", "STOP", "STOP_LIMIT"]);
const tifName = oneOf(["GTC", "IOC", "FOK", "DAY"]);
const sideName = oneOf(["BUY", "SELL"]);
const path = v.pipe(v.string(), v.startsWith("/", "must start with /"));

const fieldRule = v.union(
  [
    oneOf(ORDER_FIELDS),
    strictFields({
      from: v.optional(oneOf(ORDER_FIELDS)),
      value: v.optional(v.union([v.string(), v.number(), v.boolean()])),
      when: v.optional(
        strictFields({
          type: v.optional(v.array(typeName)),
          timeInForce: v.optional(v.array(tifName)),
          side: v.optional(v.array(sideName)),
        }),
      ),
      decimals: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(18))),
    }),
  ],
  (issue) => `must be one of ${ORDER_FIELDS.join(", ")} or a mapping {from|value, when, decimals}${didYouMean(issue.input, ORDER_FIELDS)}`,
);

const requestRule = strictFields({
  method: oneOf(["GET", "POST", "PUT", "PATCH", "DELETE"]),
  path,
  encoding: oneOf(["json", "form", "query"]),
  fields: v.record(nonEmpty, fieldRule),
});

const answerRule = strictFields({
  root: v.optional(v.string()),
  venueOrderId: nonEmpty,
  status: nonEmpty,
  filledQuantity: v.optional(nonEmpty),
  averagePrice: v.optional(nonEmpty),
  cumulativeQuote: v.optional(nonEmpty),
  rejectReason: v.optional(nonEmpty),
  fills: v.optional(
    strictFields({
      path: nonEmpty,
      tradeId: nonEmpty,
      price: nonEmpty,
      quantity: nonEmpty,
      fee: v.optional(nonEmpty),
      feeCurrency: v.optional(nonEmpty),
      timeMs: v.optional(nonEmpty),
    }),
  ),
});

/** A whole translator (src/adapters/venues/translator.ts) as a venue file writes it: rest-json rules, or a built-in kind's rules with overrides merged in. */
export const translatorRulesSchema = strictFields({
  place: requestRule,
  cancel: requestRule,
  query: requestRule,
  enums: strictFields({
    side: strictFields({ BUY: nonEmpty, SELL: nonEmpty }),
    type: strictFields({ MARKET: v.optional(nonEmpty), LIMIT: v.optional(nonEmpty), STOP: v.optional(nonEmpty), STOP_LIMIT: v.optional(nonEmpty) }),
    timeInForce: strictFields({ GTC: v.optional(nonEmpty), IOC: v.optional(nonEmpty), FOK: v.optional(nonEmpty), DAY: v.optional(nonEmpty) }),
    status: v.pipe(v.record(nonEmpty, oneOf(STATUS_NAMES)), v.check((r) => Object.keys(r).length > 0, "must map at least one venue status")),
  }),
  answer: answerRule,
  cancelAnswer: v.optional(answerRule),
  partialWhenFilled: v.optional(v.boolean()),
});

/** Deep merge for rule overrides: plain objects merge, arrays and scalars replace, null deletes. */
export function mergeRules(base: unknown, override: unknown): unknown {
  if (override === null) return undefined;
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObj(base) || !isObj(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, val] of Object.entries(override)) {
    const m = mergeRules(base[k], val);
    if (m === undefined) delete out[k];
    else out[k] = m;
  }
  return out;
}


/**
 * `exclusiveKey: true`: nothing but this gateway uses the venue credential, so a venue-wide (or
 * per-symbol) cancel-all reaches only gateway orders. Without it CancelAllOrders never uses such
 * a call (Binance DELETE openOrders, Kraken CancelAll, Alpaca DELETE /v2/orders): it would cancel
 * orders a person or another program placed with the same key. Default false.
 */
export const exclusiveKeyOption: VenueOption = {
  schema: v.boolean(),
  otherKinds: (kind) => `kind ${kind} takes no exclusiveKey (only binance, kraken and alpaca have a venue-wide cancel-all)`,
};

/** The `overrides` option of a built-in kind: merged over its rules, the result validated like rest-json rules. */
const overridesOption: VenueOption = {
  schema: v.record(v.string(), v.unknown()),
  otherKinds: (kind) => `kind ${kind} has no built-in translator rules to override`,
};

/**
 * A built-in kind (binance, kraken, alpaca, coinbase): a base URL, the credentials it needs,
 * its own rules with the file's `overrides` merged in, and any further options of its own.
 */
export function builtInVenueKind(
  kind: string,
  requiredCredentials: readonly string[],
  rules: TranslatorRules,
  options: Readonly<Record<string, VenueOption>> = {},
): VenueKindSchema {
  return {
    kind,
    needsBaseUrl: true,
    requiredCredentials,
    // Every built-in kind lists its open orders, so every one takes the reconciliation options.
    options: { ...options, ...reconcileVenueOptions, ...streamVenueOptions, overrides: overridesOption },
    check(entry: VenueEntry) {
      if (entry["overrides"] === undefined) return { entry };
      const merged = v.safeParse(translatorRulesSchema, mergeRules(rules, entry["overrides"]));
      if (!merged.success) return { issue: { field: "overrides", issues: merged.issues } };
      return { entry: { ...entry, rules: merged.output } };
    },
  };
}
