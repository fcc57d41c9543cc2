import { createHmac } from "node:crypto";
import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { encodeParams } from "../translator.js";

export interface BinanceCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** HMAC-SHA256, hex. The payload is the query string concatenated WITHOUT separator to the body. */
export function binanceSignature(payload: string, secret: string): string {
  return createHmac("sha256", secret).update(payload, "utf8").digest("hex");
}

/**
 * Adds recvWindow and timestamp, signs the percent-encoded query string
 * (+ body, if any) and appends `signature` as the last query parameter.
 * Pure: the clock is an argument. Percent-encoding happens before signing,
 * as Binance requires since 2026-01-15 (non-ASCII symbols).
 */
export function signBinanceRequest(
  request: UnsignedRequest,
  credentials: BinanceCredentials,
  nowMs: number,
  baseUrl: string,
  recvWindowMs = 5000,
): HttpRequest {
  const query = encodeParams([...request.query, ["recvWindow", String(recvWindowMs)], ["timestamp", String(nowMs)]]);
  const signature = binanceSignature(query + request.body, credentials.apiSecret);
  const headers: Record<string, string> = { "X-MBX-APIKEY": credentials.apiKey };
  if (request.body !== "") headers["Content-Type"] = request.contentType ?? "application/x-www-form-urlencoded";
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, `${query}&signature=${signature}`),
    headers,
    ...(request.body !== "" ? { body: request.body } : {}),
  };
}
