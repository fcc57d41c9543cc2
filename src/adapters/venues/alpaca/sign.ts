import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { encodeParams } from "../translator.js";

export interface AlpacaCredentials {
  readonly keyId: string;
  readonly secretKey: string;
}

/** Alpaca has no request signing: key id and secret travel as headers (over TLS). */
export function signAlpacaRequest(request: UnsignedRequest, credentials: AlpacaCredentials, baseUrl: string): HttpRequest {
  const headers: Record<string, string> = {
    "APCA-API-KEY-ID": credentials.keyId,
    "APCA-API-SECRET-KEY": credentials.secretKey,
  };
  if (request.body !== "") headers["Content-Type"] = request.contentType ?? "application/json";
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, encodeParams(request.query)),
    headers,
    ...(request.body !== "" ? { body: request.body } : {}),
  };
}
