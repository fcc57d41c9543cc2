import { createHash, createHmac } from "node:crypto";
import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { KRAKEN } from "./describe.js";

export interface KrakenCredentials {
  readonly apiKey: string;
  /** Base64, as Kraken hands it out. */
  readonly apiSecret: string;
}

/**
 * API-Sign = base64(HMAC-SHA512(key = base64decode(secret),
 *                   msg = path || SHA256_raw(nonce + postdata))).
 * The SHA-256 digest is appended as 32 raw bytes, not hex.
 */
export function krakenSignature(path: string, nonce: string, postData: string, secretBase64: string): string {
  const inner = createHash("sha256").update(nonce + postData, "utf8").digest();
  return createHmac("sha512", Buffer.from(secretBase64, "base64"))
    .update(Buffer.concat([Buffer.from(path, "utf8"), inner]))
    .digest("base64");
}

/** Puts `nonce` first in the form body and signs it. Pure: the nonce is an argument. */
export function signKrakenRequest(request: UnsignedRequest, credentials: KrakenCredentials, nonce: string, baseUrl: string): HttpRequest {
  // JSON endpoints (AmendOrder) carry the nonce as the body's first member, signed the same way.
  const json = request.contentType === "application/json";
  const body = json
    ? request.body === "" || request.body === "{}"
      ? `{"nonce":${nonce}}`
      : `{"nonce":${nonce},${request.body.slice(1)}`
    : request.body === ""
      ? `nonce=${nonce}`
      : `nonce=${nonce}&${request.body}`;
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, ""),
    headers: {
      "API-Key": credentials.apiKey,
      "API-Sign": krakenSignature(request.path, nonce, body, credentials.apiSecret),
      "Content-Type": json ? "application/json" : "application/x-www-form-urlencoded",
      "User-Agent": KRAKEN.userAgent,
    },
    body,
  };
}

/**
 * Kraken rejects a nonce not greater than the last one it saw for the key.
 * Microsecond-scale (ms x 1000) plus a counter: strictly increasing within the
 * process even for bursts and clock steps back, and a restarted process
 * (starting from the clock again) stays above the previous one's nonces unless
 * it issued more than 1000 per millisecond. One source per API key: share it
 * between adapters using the same key.
 */
export function createKrakenNonceSource(): (nowMs: number) => string {
  let last = 0;
  return (nowMs) => {
    last = Math.max(Math.floor(nowMs) * 1000, last + 1);
    return String(last);
  };
}
