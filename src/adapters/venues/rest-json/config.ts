import * as v from "valibot";
import { didYouMean, oneOf, strictFields } from "../../../shared/strict-fields.js";
import type { VenueEntry, VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { nonEmpty, translatorRulesSchema } from "../translator-schema.js";
import type { TranslatorRules } from "../translator.js";
import type { RestJsonAuth } from "./describe.js";
import { HMAC_ALGORITHMS, HMAC_DIGEST_ENCODINGS, HMAC_SECRET_ENCODINGS, HMAC_TIMESTAMP_UNITS } from "./describe.js";
import { checkHmacAuth } from "./sign.js";
import { streamVenueOptions } from "../user-stream/stream-options.js";
import { restJsonStreamSchema, templateProblems, type RestJsonStreamRules } from "./stream.js";

const positive = v.pipe(v.number(), v.minValue(0.000001));

/** HTTP header names (RFC 9110 token). */
const headerName = v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name"));

const AUTH_TYPES = ["none", "header", "hmac"] as const;
const authSchema = v.variant(
  "type",
  [
    strictFields({ type: v.literal("none") }),
    strictFields({ type: v.literal("header"), header: headerName, credential: nonEmpty, prefix: v.optional(v.string()) }),
    strictFields({
      type: v.literal("hmac"),
      secret: nonEmpty,
      secretEncoding: v.optional(oneOf(HMAC_SECRET_ENCODINGS)),
      algorithm: oneOf(HMAC_ALGORITHMS),
      encoding: oneOf(HMAC_DIGEST_ENCODINGS),
      payload: nonEmpty,
      timestampUnit: v.optional(oneOf(HMAC_TIMESTAMP_UNITS)),
      query: v.optional(v.record(nonEmpty, v.string())),
      headers: v.optional(v.record(headerName, v.string())),
      signatureParam: v.optional(nonEmpty),
    }),
  ],
  (issue) =>
    issue.expected === "Object"
      ? `must be a mapping with a type (${AUTH_TYPES.join(", ")})`
      : issue.received === "undefined"
        ? `is required (one of ${AUTH_TYPES.join(", ")})`
        : `must be one of ${AUTH_TYPES.join(", ")}${didYouMean(issue.input, AUTH_TYPES)}`,
);

/**
 * What a `kind: rest-json` entry of the venue file takes (registered in ../registry.ts): the
 * whole translator, how requests are authenticated, where errors are, request weights.
 * Auth rules are checked against the credential names here; their values (is the key really
 * base64?) once config/ resolved them, when the adapter is built.
 */
export const restJsonConfig: VenueKindSchema = {
  kind: "rest-json",
  needsBaseUrl: true,
  requiredCredentials: [],
  options: {
    rules: { schema: translatorRulesSchema, otherKinds: () => "only kind rest-json takes translator rules (built-in kinds take overrides)" },
    auth: { schema: authSchema, otherKinds: () => "only kind rest-json takes auth rules (built-in kinds sign as their venue documents)" },
    errors: {
      schema: strictFields({ messagePath: v.optional(nonEmpty), codePath: v.optional(nonEmpty) }),
      otherKinds: () => "only kind rest-json takes errors (built-in kinds read errors as their venue documents)",
    },
    weights: {
      schema: strictFields({ place: positive, cancel: positive, query: positive }),
      otherKinds: () => "only kind rest-json takes weights (built-in kinds use their venue's documented weights)",
    },
    stream: { schema: restJsonStreamSchema, otherKinds: () => "only kind rest-json takes stream rules (built-in kinds speak their venue's stream)" },
    ...streamVenueOptions,
  },
  check(entry: VenueEntry) {
    const rules = entry["rules"] as TranslatorRules | undefined;
    if (rules === undefined) return { issue: { field: "rules", message: "required for kind rest-json" } };
    if (rules.query.path.includes("{venueOrderId}")) {
      return { issue: { field: "rules.query.path", message: "must find the order by {clientOrderId}, the venue id is unknown until the venue answers" } };
    }
    const stream = entry["stream"] as RestJsonStreamRules | undefined;
    if (stream !== undefined && typeof entry["streamUrl"] !== "string") return { issue: { field: "streamUrl", message: "required with stream rules (a rules-only venue has no default stream URL)" } };
    if (stream === undefined && typeof entry["streamUrl"] === "string") return { issue: { field: "stream", message: "required with streamUrl (how to authenticate, subscribe and read order events)" } };
    if (stream !== undefined) {
      const frames = [...stream.subscribe.map((f, i) => [`stream.subscribe.${i}`, f] as const), ...(stream.then ?? []).flatMap((t, i) => t.send.map((f, j) => [`stream.then.${i}.send.${j}`, f] as const))];
      for (const [field, f] of frames) {
        const problem = templateProblems(f, Object.keys(entry.credentials));
        if (problem !== undefined) return { issue: { field, message: problem } };
      }
    }
    const auth = (entry["auth"] as RestJsonAuth | undefined) ?? { type: "none" };
    if (auth.type === "header" && entry.credentials[auth.credential] === undefined) {
      return { issue: { field: "auth.credential", message: `no credential named "${auth.credential}" in credentials` } };
    }
    if (auth.type === "hmac") {
      const problem = checkHmacAuth(auth, Object.keys(entry.credentials));
      if (problem !== undefined) return { issue: { field: `auth.${problem.field}`, message: problem.message } };
    }
    return { entry };
  },
  mainCredential(entry: VenueEntry) {
    const auth = entry["auth"] as RestJsonAuth | undefined;
    return auth?.type === "header" ? auth.credential : auth?.type === "hmac" ? auth.secret : undefined;
  },
};
