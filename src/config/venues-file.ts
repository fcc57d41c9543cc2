import { readFileSync } from "node:fs";
import * as v from "valibot";
import type { Result } from "../domain/result.js";
import { err, ok } from "../domain/result.js";
import { closestName, mostSpecificIssue, oneOf, strictFields } from "../shared/strict-fields.js";
import type { CredentialSource, VenueEntry, VenueEntryOf, VenueKindSchema } from "../shared/venue-kind-schema.js";
import { parseYamlExact } from "./parse-yaml-exact.js";

/**
 * The venue file (JSON or YAML; path from env VENUES_FILE): which venues are
 * enabled and everything about them that varies by deployment. Static venue
 * facts live in code (src/adapters/venues/<venue>/describe.ts). Secrets are never in
 * this file: it names environment variables or files that hold them, and
 * resolveVenueCredentials reads them before any venue is built.
 *
 * This file validates the envelope (name, kind, baseUrl, credentials, symbols,
 * timeouts, budgets); each kind's own options are validated by the schema the
 * kind registers (src/adapters/venues/<venue>/config.ts), passed in as `kinds`
 * by main.ts: config/ imports no venue.
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

export type { CredentialSource, VenueKindSchema };

export interface VenueFileEntry extends VenueEntry {
  /**
   * A non-secret identity of the venue's main credential ("binance:env:BK"): venues sharing
   * it share one outbound budget and nonce sequence.
   */
  readonly credentialIdentity: string;
}

export interface VenuesFile {
  /** The path it was read from (for messages). */
  readonly path: string;
  /** How often working and unknown-outcome orders are queried. */
  readonly pollIntervalMs: number;
  readonly venues: readonly VenueFileEntry[];
}

/** A venue whose credentials config/ has read: values by name, never written to a log. */
export interface ResolvedVenue extends VenueEntryOf<string> {
  readonly credentialIdentity: string;
}

export interface ResolvedVenuesFile {
  readonly path: string;
  readonly pollIntervalMs: number;
  readonly venues: readonly ResolvedVenue[];
}

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const positive = v.pipe(v.number(), v.minValue(0.000001));
const nonEmpty = v.pipe(v.string(), v.minLength(1));

// One mapping with either key (not a union of two): a typo such as `enV` then gets "did you mean env?".
const credentialSource = v.pipe(
  strictFields({
    env: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"))),
    file: v.optional(nonEmpty),
  }),
  v.check((s) => (s.env === undefined) !== (s.file === undefined), "must be {env: NAME} or {file: PATH}"),
);

/** The smallest useful file, shown when `venues` is missing. */
const VENUES_EXAMPLE = "venues: [{ name: paper, kind: paper }]";

/** The file's schema for these kinds: the envelope's fields, then every kind's options (all optional). */
function fileSchema(kinds: readonly VenueKindSchema[]) {
  // Listed (in "the fields here are ...") as the README documents them: the options of kinds
  // that talk to a venue over HTTP, then those of in-process kinds (paper), then options
  // several kinds share (overrides).
  const declaredBy = new Map<string, VenueKindSchema[]>();
  for (const kind of kinds) for (const name of Object.keys(kind.options)) declaredBy.set(name, [...(declaredBy.get(name) ?? []), kind]);
  const rank = (name: string): number => {
    const owners = declaredBy.get(name)!;
    return owners.length > 1 ? 2 : owners[0]!.needsBaseUrl ? 0 : 1;
  };
  const names = [...declaredBy.keys()].sort((a, b) => rank(a) - rank(b));
  const options: Record<string, v.GenericSchema> = {};
  for (const name of names) {
    const kind = declaredBy.get(name)![0]!;
    options[name] = v.optional(kind.options[name]!.schema);
  }
  const venueSchema = strictFields({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-'")),
    kind: oneOf(kinds.map((k) => k.kind)),
    baseUrl: v.optional(v.pipe(v.string(), v.url("must be an absolute URL"), v.regex(/^https?:\/\//, "must be http(s)"))),
    credentials: v.optional(v.record(nonEmpty, credentialSource), {}),
    symbols: v.optional(v.record(nonEmpty, nonEmpty), {}),
    timeoutMs: v.optional(v.pipe(positiveInt, v.maxValue(60_000)), 2_000),
    connections: v.optional(v.pipe(positiveInt, v.maxValue(256))),
    rateLimit: v.optional(strictFields({ capacity: positive, refillPerSecond: positive })),
    ...options,
  });
  return strictFields({
    pollIntervalMs: v.optional(v.pipe(positiveInt, v.minValue(50), v.maxValue(600_000)), 1_000),
    venues: v.pipe(v.array(venueSchema), v.minLength(1, "must list at least one venue")),
  });
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
 * Validates already-parsed file content against the envelope and the given venue kinds.
 * Pure. The error message names the file and the first offending field, by venue name where
 * there is one, e.g. `venues.yaml: venues.binance-main.baseURL: unknown field; did you mean baseUrl?`.
 */
export function parseVenuesFile(content: unknown, filePath: string, kinds: readonly VenueKindSchema[]): Result<VenuesFile, string> {
  // An empty file (or only comments) parses to null: say what is missing, not "expected Object".
  if (content === null || content === undefined) {
    return err(`${filePath}: venues: is required (the file is empty): the file lists the venues to enable, e.g. ${VENUES_EXAMPLE}`);
  }
  if (typeof content !== "object" || Array.isArray(content)) {
    return err(`${filePath}: (root): must be a mapping with a venues list, e.g. ${VENUES_EXAMPLE}`);
  }
  const parsed = v.safeParse(fileSchema(kinds), content);
  if (!parsed.success) return err(`${filePath}: ${describeIssue(parsed.issues, content)}`);
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  // Which kinds take each option, for "only kind X takes ..." messages.
  const owners = new Map<string, VenueKindSchema>();
  for (const kind of kinds) for (const name of Object.keys(kind.options)) if (!owners.has(name)) owners.set(name, kind);
  const venues: VenueFileEntry[] = [];
  const seen = new Map<string, number>();
  for (const [i, raw] of (parsed.output.venues as unknown as VenueEntry[]).entries()) {
    let venue = raw;
    const first = seen.get(venue.name);
    if (first !== undefined) return err(`${filePath}: venues[${i}].name: duplicate venue name "${venue.name}" (also venues[${first}])`);
    seen.set(venue.name, i);
    const at = `${filePath}: ${venueLabel(content, i)}`;
    const kind = byKind.get(venue.kind)!;
    if (kind.needsBaseUrl && venue.baseUrl === undefined) return err(`${at}.baseUrl: required for kind ${venue.kind}`);
    for (const cred of kind.requiredCredentials) {
      if (venue.credentials[cred] === undefined) return err(`${at}.credentials.${cred}: required for kind ${venue.kind}`);
    }
    for (const [name, owner] of owners) {
      if (venue[name] !== undefined && kind.options[name] === undefined) return err(`${at}.${name}: ${owner.options[name]!.otherKinds(venue.kind)}`);
    }
    if (kind.check !== undefined) {
      const checked = kind.check(venue);
      if ("issue" in checked) {
        const { field, message, issues } = checked.issue;
        return err(`${at}.${field}: ${issues !== undefined ? describeIssue(issues) : message}`);
      }
      venue = checked.entry;
    }
    venues.push({ ...venue, credentialIdentity: credentialIdentity(venue, kind) });
  }
  return ok({ path: filePath, pollIntervalMs: parsed.output.pollIntervalMs, venues });
}

/** Reads and validates the file at `filePath` (YAML, of which JSON is a subset). */
export function loadVenuesFile(
  filePath: string,
  kinds: readonly VenueKindSchema[],
  readFile: (p: string) => string = (p) => readFileSync(p, "utf8"),
): Result<VenuesFile, string> {
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
  return parseVenuesFile(content, filePath, kinds);
}

/**
 * Resolves one venue's credentials. Errors name the variable or file, never
 * a value. Trailing newlines of secret files are dropped.
 */
export function resolveCredentials(
  venue: VenueEntry,
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

/** Every venue's credentials read (env, secret files), before any venue is built: the registry gets values only. */
export function resolveVenueCredentials(
  file: VenuesFile,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (p: string) => string = (p) => readFileSync(p, "utf8"),
): Result<ResolvedVenuesFile, string> {
  const venues: ResolvedVenue[] = [];
  for (const venue of file.venues) {
    const creds = resolveCredentials(venue, file.path, env, readFile);
    if (!creds.ok) return creds;
    venues.push({ ...venue, credentials: creds.value });
  }
  return ok({ path: file.path, pollIntervalMs: file.pollIntervalMs, venues });
}

/** A non-secret identity of a venue's main credential, used to share outbound limits and nonces. */
function credentialIdentity(venue: VenueEntry, kind: VenueKindSchema): string {
  const main = kind.requiredCredentials[0] ?? kind.mainCredential?.(venue);
  const src = main === undefined ? undefined : venue.credentials[main];
  if (src === undefined) return `venue:${venue.name}`;
  return `${venue.kind}:${"env" in src ? `env:${src.env}` : `file:${src.file}`}`;
}

/** What runs when VENUES_FILE is unset: the paper venue only, named "paper". */
export function paperOnlyVenuesFile(kinds: readonly VenueKindSchema[]): VenuesFile {
  const r = parseVenuesFile({ venues: [{ name: "paper", kind: "paper", timeoutMs: 5_000 }] }, "(built-in: paper venue only)", kinds);
  if (!r.ok) throw new Error(`the built-in paper venue file does not validate: ${r.error}`);
  return { ...r.value, path: "(built-in: paper venue only)" };
}
