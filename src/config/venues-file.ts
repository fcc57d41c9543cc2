import { readFileSync } from "node:fs";
import * as v from "valibot";
import type { Result } from "../domain/result.js";
import { err, ok } from "../domain/result.js";
import type { RestJsonAuth } from "../adapters/venues/rest-json/describe.js";
import { HMAC_ALGORITHMS, HMAC_DIGEST_ENCODINGS, HMAC_SECRET_ENCODINGS, HMAC_TIMESTAMP_UNITS } from "../adapters/venues/rest-json/describe.js";
import { checkHmacAuth } from "../adapters/venues/rest-json/sign.js";
import type { TranslatorRules } from "../adapters/venues/translator.js";
import { ORDER_FIELDS, STATUS_NAMES } from "../adapters/venues/translator.js";
import { alpacaRules } from "../adapters/venues/alpaca/describe.js";
import { binanceRules } from "../adapters/venues/binance/describe.js";
import { coinbaseRules } from "../adapters/venues/coinbase/describe.js";
import { krakenRules } from "../adapters/venues/kraken/describe.js";
import { decimalField } from "../shared/decimal-field.js";
import { parseYamlExact } from "./parse-yaml-exact.js";
import { closestName, didYouMean, mostSpecificIssue, oneOf, strictFields } from "../shared/strict-fields.js";

/**
 * The venue file (JSON or YAML; path from env VENUES_FILE): which venues are
 * enabled and everything about them that varies by deployment. Static venue
 * facts live in code (src/adapters/venues/<venue>/describe.ts). Secrets are never in
 * this file: it names environment variables or files that hold them.
 *
 * ```yaml
 * pollIntervalMs: 1000
 * venues:
 *   - name: binance
 *     kind: binance
 *     baseUrl: https://testnet.binance.vision
 *     credentials:
 *       apiKey: { env: BINANCE_API_KEY }
 *       apiSecret: { file: /run/secrets/binance_secret }
 *     symbols: { BTC-USDT: BTCUSDT }
 *     timeoutMs: 2000
 *     rateLimit: { capacity: 1200, refillPerSecond: 20 }
 * ```
 */

export const VENUE_KINDS = ["paper", "binance", "kraken", "alpaca", "coinbase", "rest-json"] as const;
export type VenueKind = (typeof VENUE_KINDS)[number];

/** Where a secret comes from: an environment variable or a file (e.g. a mounted secret). */
export type CredentialSource = { readonly env: string } | { readonly file: string };

export interface VenueFileEntry {
  readonly name: string;
  readonly kind: VenueKind;
  /** Required for every kind but paper. */
  readonly baseUrl?: string;
  readonly credentials: Readonly<Record<string, CredentialSource>>;
  /** Gateway symbol -> venue symbol; empty = pass through. */
  readonly symbols: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly connections?: number;
  /** Outbound budget of this venue's credential; default: the venue's documented limit. */
  readonly rateLimit?: { readonly capacity: number; readonly refillPerSecond: number };
  /** Binance only. */
  readonly recvWindowMs?: number;
  /**
   * rest-json: the whole translator (required). Built-in kinds: their
   * built-in rules with `overrides` applied, when the file gives overrides.
   */
  readonly rules?: TranslatorRules;
  /**
   * Built-in kinds only: a partial translator deep-merged over the built-in
   * rules (objects merge, other values replace, null removes), e.g. a venue
   * status the built-in table lacks, or a constant field such as Binance's
   * selfTradePreventionMode. The merged result is validated like rest-json rules.
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
  readonly auth?: RestJsonAuth;
  readonly errors?: { readonly messagePath?: string; readonly codePath?: string };
  readonly weights?: { readonly place: number; readonly cancel: number; readonly query: number };
  /** Paper venue options (reference prices, liquidity, fee rate, bounds), passed to the paper venue factory. */
  readonly paper?: {
    readonly referencePrices?: Readonly<Record<string, string>>;
    readonly liquidity?: Readonly<Record<string, string>>;
    readonly feeRate?: string;
    readonly maxWorkingOrders?: number;
    readonly maxFinishedOrders?: number;
  };
}

export interface VenuesFile {
  /** The path it was read from (for messages). */
  readonly path: string;
  /** How often working and unknown-outcome orders are queried. */
  readonly pollIntervalMs: number;
  readonly venues: readonly VenueFileEntry[];
}

/** Credential names each built-in kind needs. */
export const REQUIRED_CREDENTIALS: Readonly<Record<VenueKind, readonly string[]>> = {
  paper: [],
  binance: ["apiKey", "apiSecret"],
  kraken: ["apiKey", "apiSecret"],
  alpaca: ["keyId", "secretKey"],
  coinbase: ["keyName", "privateKey"],
  "rest-json": [],
};

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const positive = v.pipe(v.number(), v.minValue(0.000001));
const nonEmpty = v.pipe(v.string(), v.minLength(1));
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

const rulesSchema = strictFields({
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

// One mapping with either key (not a union of two): a typo such as `enV` then gets "did you mean env?".
const credentialSource = v.pipe(
  strictFields({
    env: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"))),
    file: v.optional(nonEmpty),
  }),
  v.check((s) => (s.env === undefined) !== (s.file === undefined), "must be {env: NAME} or {file: PATH}"),
);

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

/** Options of the paper venue (src/adapters/venues/paper/paper-venue.ts); decimals may be written as numbers. */
const paperSchema = strictFields({
  referencePrices: v.optional(v.record(nonEmpty, decimalField({ positive: true }))),
  liquidity: v.optional(v.record(nonEmpty, decimalField())),
  feeRate: v.optional(decimalField()),
  maxWorkingOrders: v.optional(positiveInt),
  maxFinishedOrders: v.optional(positiveInt),
});

const venueSchema = strictFields({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-'")),
  kind: oneOf(VENUE_KINDS),
  baseUrl: v.optional(v.pipe(v.string(), v.url("must be an absolute URL"), v.regex(/^https?:\/\//, "must be http(s)"))),
  credentials: v.optional(v.record(nonEmpty, credentialSource), {}),
  symbols: v.optional(v.record(nonEmpty, nonEmpty), {}),
  timeoutMs: v.optional(v.pipe(positiveInt, v.maxValue(60_000)), 2_000),
  connections: v.optional(v.pipe(positiveInt, v.maxValue(256))),
  rateLimit: v.optional(strictFields({ capacity: positive, refillPerSecond: positive })),
  recvWindowMs: v.optional(v.pipe(positiveInt, v.maxValue(60_000))),
  rules: v.optional(rulesSchema),
  auth: v.optional(authSchema),
  errors: v.optional(strictFields({ messagePath: v.optional(nonEmpty), codePath: v.optional(nonEmpty) })),
  weights: v.optional(strictFields({ place: positive, cancel: positive, query: positive })),
  paper: v.optional(paperSchema),
  overrides: v.optional(v.record(v.string(), v.unknown())),
});

/** The smallest useful file, shown when `venues` is missing. */
const VENUES_EXAMPLE = "venues: [{ name: paper, kind: paper }]";

const fileSchema = strictFields({
  pollIntervalMs: v.optional(v.pipe(positiveInt, v.minValue(50), v.maxValue(600_000)), 1_000),
  venues: v.pipe(v.array(venueSchema), v.minLength(1, "must list at least one venue")),
});

const BUILTIN_RULES: Readonly<Partial<Record<VenueKind, TranslatorRules>>> = {
  binance: binanceRules,
  kraken: krakenRules,
  alpaca: alpacaRules,
  coinbase: coinbaseRules,
};

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
 * How a message names venue `i`: by its name when it has a valid one that no
 * other entry shares (`venues.binance-main`), else by position (`venues[2]`).
 */
function venueLabel(content: unknown, i: number): string {
  const list = typeof content === "object" && content !== null ? (content as { venues?: unknown }).venues : undefined;
  if (!Array.isArray(list)) return `venues[${i}]`;
  const name = (list[i] as { name?: unknown } | undefined)?.name;
  const valid = typeof name === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
  const unique = valid && list.filter((e) => (e as { name?: unknown } | undefined)?.name === name).length === 1;
  return unique ? `venues.${name}` : `venues[${i}]`;
}

/** Turns valibot's path (venues, 2, credentials) into venues.<name of venue 2>.credentials. */
function fieldPath(issue: v.BaseIssue<unknown>, content?: unknown): string {
  const parts = issue.path ?? [];
  let out = "";
  for (const [n, p] of parts.entries()) {
    const key = p.key;
    if (n === 1 && typeof key === "number" && parts[0]?.key === "venues") out = venueLabel(content, key);
    else if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}

/** `path: message` for the first issue, descending into unions to the field that failed. */
function describeIssue(issues: readonly v.BaseIssue<unknown>[], content?: unknown): string {
  const issue = mostSpecificIssue(preferTypo(issues));
  const where = fieldPath(issue, content);
  const example = where === "venues" && issue.received === "undefined" ? `: the file lists the venues to enable, e.g. ${VENUES_EXAMPLE}` : "";
  return `${where}: ${issue.message}${example}`;
}

/**
 * valibot reports a missing required field before an unknown one; when the
 * unknown one is a misspelling of the missing one (`nmae` for `name`), the
 * misspelling is the mistake to report.
 */
function preferTypo(issues: readonly v.BaseIssue<unknown>[]): v.BaseIssue<unknown> {
  const first = issues[0]!;
  if (first.type !== "strict_object" || first.received !== "undefined" || first.path === undefined) return first;
  const missing = String(first.path.at(-1)!.key);
  const parent = first.path.slice(0, -1).map((p) => p.key);
  const typo = issues.find(
    (i) =>
      i.type === "strict_object" &&
      i.expected === "never" &&
      i.path !== undefined &&
      i.path.length === first.path!.length &&
      i.path.slice(0, -1).every((p, n) => p.key === parent[n]) &&
      typeof i.input === "string" &&
      closestName(i.input, [missing]) !== undefined,
  );
  return typo ?? first;
}

/**
 * Validates already-parsed file content. Pure. The error message names the
 * file and the first offending field, by venue name where there is one, e.g.
 * `venues.yaml: venues.binance-main.baseURL: unknown field; did you mean baseUrl?`.
 */
export function parseVenuesFile(content: unknown, filePath: string): Result<VenuesFile, string> {
  // An empty file (or only comments) parses to null: say what is missing, not "expected Object".
  if (content === null || content === undefined) {
    return err(`${filePath}: venues: is required (the file is empty): the file lists the venues to enable, e.g. ${VENUES_EXAMPLE}`);
  }
  if (typeof content !== "object" || Array.isArray(content)) {
    return err(`${filePath}: (root): must be a mapping with a venues list, e.g. ${VENUES_EXAMPLE}`);
  }
  const parsed = v.safeParse(fileSchema, content);
  if (!parsed.success) return err(`${filePath}: ${describeIssue(parsed.issues, content)}`);
  const venues = parsed.output.venues as unknown as VenueFileEntry[];
  const seen = new Map<string, number>();
  for (const [i, venue] of venues.entries()) {
    const first = seen.get(venue.name);
    if (first !== undefined) return err(`${filePath}: venues[${i}].name: duplicate venue name "${venue.name}" (also venues[${first}])`);
    seen.set(venue.name, i);
    const at = `${filePath}: ${venueLabel(content, i)}`;
    if (venue.kind !== "paper" && venue.baseUrl === undefined) return err(`${at}.baseUrl: required for kind ${venue.kind}`);
    for (const cred of REQUIRED_CREDENTIALS[venue.kind]) {
      if (venue.credentials[cred] === undefined) return err(`${at}.credentials.${cred}: required for kind ${venue.kind}`);
    }
    if (venue.kind === "rest-json") {
      if (venue.rules === undefined) return err(`${at}.rules: required for kind rest-json`);
      if (venue.rules.query.path.includes("{venueOrderId}")) {
        return err(`${at}.rules.query.path: must find the order by {clientOrderId}, the venue id is unknown until the venue answers`);
      }
      const auth = venue.auth ?? { type: "none" };
      if (auth.type === "header" && venue.credentials[auth.credential] === undefined) {
        return err(`${at}.auth.credential: no credential named "${auth.credential}" in credentials`);
      }
      if (auth.type === "hmac") {
        const problem = checkHmacAuth(auth, Object.keys(venue.credentials));
        if (problem !== undefined) return err(`${at}.auth.${problem.field}: ${problem.message}`);
      }
    } else if (venue.rules !== undefined) {
      return err(`${at}.rules: only kind rest-json takes translator rules (built-in kinds take overrides)`);
    } else if (venue.auth !== undefined) {
      return err(`${at}.auth: only kind rest-json takes auth rules (built-in kinds sign as their venue documents)`);
    } else if (venue.overrides !== undefined) {
      const base = BUILTIN_RULES[venue.kind];
      if (base === undefined) return err(`${at}.overrides: kind ${venue.kind} has no translator rules`);
      const merged = v.safeParse(rulesSchema, mergeRules(base, venue.overrides));
      if (!merged.success) return err(`${at}.overrides: ${describeIssue(merged.issues)}`);
      venues[i] = { ...venue, rules: merged.output as unknown as TranslatorRules };
    }
    if (venue.recvWindowMs !== undefined && venue.kind !== "binance") return err(`${at}.recvWindowMs: only kind binance takes recvWindowMs`);
    if (venue.paper !== undefined && venue.kind !== "paper") return err(`${at}.paper: only kind paper takes paper options`);
  }
  return ok({ path: filePath, pollIntervalMs: parsed.output.pollIntervalMs, venues });
}

/** Reads and validates the file at `filePath` (YAML, of which JSON is a subset). */
export function loadVenuesFile(filePath: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): Result<VenuesFile, string> {
  let text: string;
  try {
    text = readFile(filePath);
  } catch (e: unknown) {
    return err(`${filePath}: cannot read venue file (${(e as { code?: string }).code ?? "error"})`);
  }
  let content: unknown;
  try {
    content = parseYamlExact(text);
  } catch (e: unknown) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : "syntax error";
    return err(`${filePath}: not valid YAML/JSON: ${msg}`);
  }
  return parseVenuesFile(content, filePath);
}

/**
 * Resolves one venue's credentials. Errors name the variable or file, never
 * a value. Trailing newlines of secret files are dropped.
 */
export function resolveCredentials(
  venue: VenueFileEntry,
  filePath: string,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (p: string) => string = (p) => readFileSync(p, "utf8"),
): Result<Record<string, string>, string> {
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(venue.credentials)) {
    const where = `${filePath}: venue ${venue.name}: credentials.${name}`;
    if ("env" in source) {
      const value = env[source.env];
      if (value === undefined || value === "") return err(`${where}: environment variable ${source.env} is not set`);
      out[name] = value;
    } else {
      try {
        out[name] = readFile(source.file).replace(/\r?\n$/, "");
      } catch (e: unknown) {
        return err(`${where}: cannot read file ${source.file} (${(e as { code?: string }).code ?? "error"})`);
      }
      if (out[name] === "") return err(`${where}: file ${source.file} is empty`);
    }
  }
  return ok(out);
}

/** A non-secret identity of a venue's main credential, used to share outbound limits and nonces. */
export function credentialIdentity(venue: VenueFileEntry): string {
  const auth = venue.auth;
  const main = REQUIRED_CREDENTIALS[venue.kind][0] ?? (auth?.type === "header" ? auth.credential : auth?.type === "hmac" ? auth.secret : undefined);
  const src = main === undefined ? undefined : venue.credentials[main];
  if (src === undefined) return `venue:${venue.name}`;
  return `${venue.kind}:${"env" in src ? `env:${src.env}` : `file:${src.file}`}`;
}

/** What runs when VENUES_FILE is unset: the paper venue only, named "paper". */
export function paperOnlyVenuesFile(): VenuesFile {
  return {
    path: "(no VENUES_FILE: paper venue only)",
    pollIntervalMs: 1_000,
    venues: [{ name: "paper", kind: "paper", credentials: {}, symbols: {}, timeoutMs: 2_000 }],
  };
}
