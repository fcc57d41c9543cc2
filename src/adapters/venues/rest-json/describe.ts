/**
 * The `rest-json` kind has no built-in facts: everything comes from the
 * venue file's translator rules. These are only the defaults of what the
 * file may leave out.
 */
export const REST_JSON = {
  weights: { place: 1, cancel: 1, query: 1 },
  defaultBackoffMs: { 429: 1_000, 418: 60_000 },
  /** Where a non-2xx JSON answer keeps its message and code. */
  errorMessagePath: "message",
  errorCodePath: "code",
} as const;

/** How a rest-json venue authenticates. Values are credential names, never secrets. */
export type RestJsonAuth =
  | { readonly type: "none" }
  /** A static header carrying a credential, e.g. X-API-KEY: <apiKey>, or Authorization: Bearer <token>. */
  | { readonly type: "header"; readonly header: string; readonly credential: string; readonly prefix?: string }
  | RestJsonHmacAuth;

/**
 * An HMAC-signed venue described by rules (see sign.ts for the templates):
 * which credential is the key, what is signed, how the digest is written and
 * where signature, key and timestamp travel. Covers the common schemes, e.g.
 * Binance (hex over query+body, as a query parameter), Coinbase Exchange and
 * OKX (base64 over timestamp+method+path+body, in headers), Bybit.
 */
export interface RestJsonHmacAuth {
  readonly type: "hmac";
  /** Name of the credential holding the HMAC key. */
  readonly secret: string;
  /** How the credential's text becomes key bytes: as is (utf8, default), base64-decoded (Coinbase Exchange) or hex-decoded. */
  readonly secretEncoding?: HmacSecretEncoding;
  readonly algorithm: HmacAlgorithm;
  /** How the digest is written. */
  readonly encoding: HmacDigestEncoding;
  /** Template of the signed string, e.g. "{timestamp}{method}{pathAndQuery}{body}". */
  readonly payload: string;
  /** How {timestamp} is written: Unix milliseconds (default), seconds, microseconds (ms x 1000) or ISO 8601 with ms. */
  readonly timestampUnit?: HmacTimestampUnit;
  /** Query parameters appended (in this order) before signing, name -> template, e.g. timestamp: "{timestamp}". */
  readonly query?: Readonly<Record<string, string>>;
  /** Request headers, name -> template; {signature} is the encoded digest, e.g. X-SIGNATURE: "{signature}". */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameter that carries the signature, appended last (Binance: signature). */
  readonly signatureParam?: string;
}

export const HMAC_ALGORITHMS = ["sha256", "sha384", "sha512"] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export const HMAC_DIGEST_ENCODINGS = ["hex", "base64"] as const;
export type HmacDigestEncoding = (typeof HMAC_DIGEST_ENCODINGS)[number];
export const HMAC_SECRET_ENCODINGS = ["utf8", "base64", "hex"] as const;
export type HmacSecretEncoding = (typeof HMAC_SECRET_ENCODINGS)[number];
export const HMAC_TIMESTAMP_UNITS = ["ms", "s", "us", "iso"] as const;
export type HmacTimestampUnit = (typeof HMAC_TIMESTAMP_UNITS)[number];
