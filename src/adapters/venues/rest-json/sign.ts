import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { closestName } from "../../../shared/strict-fields.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { encodeParams, encodeRfc3986 } from "../translator.js";
import type { HmacAlgorithm, HmacDigestEncoding, HmacTimestampUnit, RestJsonAuth, RestJsonHmacAuth } from "./describe.js";

/**
 * Signing templates of a rest-json venue. A template is text with variables
 * in braces; everything else is copied as is (a `{` always starts a variable):
 *
 * | variable | value |
 * |---|---|
 * | {method} | HTTP method, upper case |
 * | {path} | URL path as sent: the base URL's path + the request path, percent-encoded |
 * | {query} | query string as sent, without "?" and without the signature parameter ("" when none) |
 * | {pathAndQuery} | {path}, plus "?" and {query} when there is a query |
 * | {body} | request body as sent ("" when none) |
 * | {timestamp} | the request time in `timestampUnit` |
 * | {nonce} | a strictly increasing integer per credential (ms x 1000 + a counter) |
 * | {credential.NAME} | the value of credential NAME (an API key, a passphrase) |
 * | {signature} | the encoded digest (headers only) |
 *
 * The payload may use all but {signature}; added query parameters only
 * {method}, {path}, {timestamp}, {nonce} and credentials (the query is what
 * they build).
 */
export const TEMPLATE_VARIABLES = ["method", "path", "query", "pathAndQuery", "body", "timestamp", "nonce", "signature"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "variable"; readonly name: TemplateVariable }
  | { readonly kind: "credential"; readonly name: string };

/** Splits a template into text and variables; the error names the bad variable. */
export function parseTemplate(template: string): Result<TemplatePart[], string> {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf("{", at);
    const stray = template.indexOf("}", at);
    if (stray >= 0 && (open < 0 || stray < open)) return err(`"}" without "{" at character ${stray + 1}`);
    if (open < 0) {
      parts.push({ kind: "text", text: template.slice(at) });
      break;
    }
    if (open > at) parts.push({ kind: "text", text: template.slice(at, open) });
    const close = template.indexOf("}", open);
    if (close < 0) return err(`"{" without "}" at character ${open + 1}`);
    const name = template.slice(open + 1, close);
    if (name.startsWith("credential.") && name.length > "credential.".length) {
      parts.push({ kind: "credential", name: name.slice("credential.".length) });
    } else if ((TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      parts.push({ kind: "variable", name: name as TemplateVariable });
    } else {
      const names = [...TEMPLATE_VARIABLES, "credential.NAME"];
      const near = closestName(name, TEMPLATE_VARIABLES);
      return err(`unknown variable {${name}}${near === undefined ? `; the variables are ${names.map((n) => `{${n}}`).join(", ")}` : `; did you mean {${near}}?`}`);
    }
    at = close + 1;
  }
  return ok(parts);
}

/** Variables an added query parameter may use: not the ones the query itself makes up. */
const QUERY_PARAM_VARIABLES: ReadonlySet<TemplateVariable> = new Set(["method", "path", "timestamp", "nonce"]);

/** A mistake in HMAC rules: the field under `auth` and what is wrong. */
export interface AuthRuleError {
  readonly field: string;
  readonly message: string;
}

/**
 * Checks HMAC rules against the names of the venue's credentials (never their
 * values). Shared by the venue file's validation and compileRestJsonAuth.
 */
export function checkHmacAuth(auth: RestJsonHmacAuth, credentialNames: readonly string[]): AuthRuleError | undefined {
  if (!credentialNames.includes(auth.secret)) {
    // The value is not repeated: a secret pasted here by mistake must not reach the logs.
    return { field: "secret", message: `must name one of the venue's credentials (${credentialNames.join(", ") || "none given"}); the secret itself never goes in this file` };
  }
  const templates: Array<[string, string, (v: TemplateVariable) => boolean]> = [
    ["payload", auth.payload, (v) => v !== "signature"],
    ...Object.entries(auth.query ?? {}).map(([k, t]): [string, string, (v: TemplateVariable) => boolean] => [`query.${k}`, t, (v) => QUERY_PARAM_VARIABLES.has(v)]),
    ...Object.entries(auth.headers ?? {}).map(([k, t]): [string, string, (v: TemplateVariable) => boolean] => [`headers.${k}`, t, () => true]),
  ];
  let signaturePlaced = auth.signatureParam !== undefined;
  for (const [field, template, allowed] of templates) {
    const parsed = parseTemplate(template);
    if (!parsed.ok) return { field, message: parsed.error };
    for (const part of parsed.value) {
      if (part.kind === "credential" && !credentialNames.includes(part.name)) {
        return { field, message: `{credential.${part.name}}: no credential named "${part.name}" (the venue's credentials: ${credentialNames.join(", ")})` };
      }
      if (part.kind === "variable" && !allowed(part.name)) {
        return { field, message: `{${part.name}} cannot be used here${part.name === "signature" ? " (only in headers; or set signatureParam)" : ""}` };
      }
      if (part.kind === "variable" && part.name === "signature") signaturePlaced = true;
    }
  }
  if (!signaturePlaced) return { field: "signatureParam", message: "the signature goes nowhere: set signatureParam or use {signature} in a header" };
  if (auth.signatureParam !== undefined && auth.query !== undefined && Object.hasOwn(auth.query, auth.signatureParam)) {
    return { field: "signatureParam", message: `"${auth.signatureParam}" is also an added query parameter` };
  }
  return undefined;
}

/** Auth rules with credentials filled in and the HMAC key imported: built once per venue. */
export interface CompiledRestJsonAuth {
  /** Header name -> template (credentials already substituted). */
  readonly headers: ReadonlyArray<readonly [string, readonly TemplatePart[]]>;
  readonly hmac?: {
    /** A KeyObject: the key bytes are not a string that a log line could print. */
    readonly key: KeyObject;
    readonly algorithm: HmacAlgorithm;
    readonly encoding: HmacDigestEncoding;
    readonly payload: readonly TemplatePart[];
    readonly query: ReadonlyArray<readonly [string, readonly TemplatePart[]]>;
    readonly signatureParam?: string;
    readonly timestampUnit: HmacTimestampUnit;
  };
  /** Whether any template uses {nonce} (only then is a nonce drawn: it is a shared sequence). */
  readonly usesNonce: boolean;
}

function keyBytes(text: string, encoding: RestJsonHmacAuth["secretEncoding"]): Buffer | undefined {
  switch (encoding ?? "utf8") {
    case "utf8":
      return Buffer.from(text, "utf8");
    case "base64": {
      // Buffer.from(.., "base64") skips what it cannot read; a mangled secret must fail here, not as 401s later.
      const clean = text.trim();
      if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
      return Buffer.from(clean, "base64");
    }
    case "hex":
      return /^(?:[0-9a-fA-F]{2})+$/.test(text.trim()) ? Buffer.from(text.trim(), "hex") : undefined;
  }
}

/**
 * Compiles a venue's auth rules with its resolved credentials. The error
 * names the field or credential, never a value.
 */
export function compileRestJsonAuth(auth: RestJsonAuth, credentials: Readonly<Record<string, string>>): Result<CompiledRestJsonAuth, string> {
  if (auth.type === "none") return ok({ headers: [], usesNonce: false });
  if (auth.type === "header") {
    return ok({ headers: [[auth.header, [{ kind: "text", text: `${auth.prefix ?? ""}${credentials[auth.credential] ?? ""}` }]]], usesNonce: false });
  }
  const problem = checkHmacAuth(auth, Object.keys(credentials));
  if (problem !== undefined) return err(`auth.${problem.field}: ${problem.message}`);
  const bytes = keyBytes(credentials[auth.secret]!, auth.secretEncoding);
  if (bytes === undefined || bytes.length === 0) {
    return err(`credentials.${auth.secret}: is not valid ${auth.secretEncoding} (auth.secretEncoding says how the HMAC key is written)`);
  }
  let usesNonce = false;
  const compile = (template: string): TemplatePart[] => {
    const out: TemplatePart[] = [];
    // checkHmacAuth parsed every template already.
    for (const part of (parseTemplate(template) as { ok: true; value: TemplatePart[] }).value) {
      const p: TemplatePart = part.kind === "credential" ? { kind: "text", text: credentials[part.name]! } : part;
      if (p.kind === "variable" && p.name === "nonce") usesNonce = true;
      const last = out.at(-1);
      if (p.kind === "text" && last?.kind === "text") out[out.length - 1] = { kind: "text", text: last.text + p.text };
      else out.push(p);
    }
    return out;
  };
  const hmac = {
    key: createSecretKey(bytes),
    algorithm: auth.algorithm,
    encoding: auth.encoding,
    payload: compile(auth.payload),
    query: Object.entries(auth.query ?? {}).map(([k, t]) => [k, compile(t)] as const),
    ...(auth.signatureParam !== undefined ? { signatureParam: auth.signatureParam } : {}),
    timestampUnit: auth.timestampUnit ?? "ms",
  };
  const headers = Object.entries(auth.headers ?? {}).map(([k, t]) => [k, compile(t)] as const);
  return ok({ headers, hmac, usesNonce });
}

type Variables = Readonly<Record<TemplateVariable, string>>;

function render(parts: readonly TemplatePart[], vars: Variables): string {
  let out = "";
  for (const p of parts) out += p.kind === "variable" ? vars[p.name] : p.kind === "text" ? p.text : "";
  return out;
}

/** {timestamp} in the venue's unit. nowMs is whole milliseconds, so "us" is ms x 1000. */
export function formatTimestamp(nowMs: number, unit: HmacTimestampUnit): string {
  const ms = Math.floor(nowMs);
  switch (unit) {
    case "ms":
      return String(ms);
    case "s":
      return String(Math.floor(ms / 1000));
    case "us":
      return String(ms * 1000);
    case "iso":
      return new Date(ms).toISOString();
  }
}

/** The path a base URL puts before every request path (https://x.test/api -> /api). */
function basePath(baseUrl: string): string {
  return baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, "").replace(/\/+$/, "");
}

/**
 * Builds the wire request: URL, Content-Type, auth headers and, for HMAC
 * rules, the added query parameters and the signature. Pure: the time and
 * the nonce are arguments ("" when the rules use no nonce).
 */
export function signRestJsonRequest(request: UnsignedRequest, auth: CompiledRestJsonAuth, baseUrl: string, nowMs: number, nonce = ""): HttpRequest {
  const headers: Record<string, string> = {};
  if (request.body !== "") headers["Content-Type"] = request.contentType ?? "application/json";
  const hmac = auth.hmac;
  const path = basePath(baseUrl) + request.path;
  const vars: { -readonly [K in TemplateVariable]: string } = {
    method: request.method,
    path,
    query: "",
    pathAndQuery: path,
    body: request.body,
    timestamp: hmac === undefined ? "" : formatTimestamp(nowMs, hmac.timestampUnit),
    nonce,
    signature: "",
  };
  let params = request.query;
  if (hmac !== undefined && hmac.query.length > 0) params = [...params, ...hmac.query.map(([k, t]) => [k, render(t, vars)] as const)];
  const query = encodeParams(params);
  vars.query = query;
  vars.pathAndQuery = query === "" ? path : `${path}?${query}`;
  let urlQuery = query;
  if (hmac !== undefined) {
    vars.signature = createHmac(hmac.algorithm, hmac.key).update(render(hmac.payload, vars), "utf8").digest(hmac.encoding);
    if (hmac.signatureParam !== undefined) {
      const param = `${encodeRfc3986(hmac.signatureParam)}=${encodeRfc3986(vars.signature)}`;
      urlQuery = query === "" ? param : `${query}&${param}`;
    }
  }
  for (const [name, template] of auth.headers) headers[name] = render(template, vars);
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, urlQuery),
    headers,
    ...(request.body !== "" ? { body: request.body } : {}),
  };
}
