import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { encodeParams } from "../translator.js";
import { COINBASE } from "./describe.js";

export interface CoinbaseCredentials {
  /** CDP key name: organizations/{org_id}/apiKeys/{key_id}. */
  readonly keyName: string;
  /** PEM, -----BEGIN EC PRIVATE KEY----- (P-256). */
  readonly privateKeyPem: string;
}

export interface CoinbaseJwtParts {
  readonly header: { alg: "ES256"; kid: string; nonce: string; typ: "JWT" };
  readonly claims: { sub: string; iss: "cdp"; nbf: number; exp: number; uri: string };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** The JWT `uri` claim: METHOD host path, no scheme, no query string. */
export function coinbaseJwtUri(method: string, baseUrl: string, path: string): string {
  return `${method.toUpperCase()} ${new URL(baseUrl).host}${path}`;
}

export function coinbaseJwtParts(keyName: string, uri: string, nowMs: number, nonce: string): CoinbaseJwtParts {
  const nbf = Math.floor(nowMs / 1000);
  return {
    header: { alg: "ES256", kid: keyName, nonce, typ: "JWT" },
    claims: { sub: keyName, iss: "cdp", nbf, exp: nbf + COINBASE.jwtLifetimeSeconds, uri },
  };
}

/**
 * ES256 JWT, one per request. The JWS signature is the 64-byte raw r||s
 * (IEEE P1363), not DER, hence dsaEncoding. Deterministic given
 * (nowMs, nonce) except for the ECDSA signature itself, which is randomized.
 */
export function coinbaseJwt(credentials: CoinbaseCredentials | { keyName: string; key: KeyObject }, uri: string, nowMs: number, nonce: string): string {
  const key = "key" in credentials ? credentials.key : createPrivateKey(credentials.privateKeyPem);
  const { header, claims } = coinbaseJwtParts(credentials.keyName, uri, nowMs, nonce);
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = cryptoSign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${b64url(signature)}`;
}

/**
 * The JWT for one WebSocket message (the `user` and `heartbeats` subscribes): the REST JWT
 * without the `uri` claim ("WebSocket JWTs (vs those for REST API) are not built with a request
 * method or request path", websocket-authentication page). It also expires after 2 minutes, so
 * every subscribe carries a fresh one (a new nonce each time).
 */
export function coinbaseWsJwt(credentials: { keyName: string; key: KeyObject }, nowMs: number, nonce: string): string {
  const { header, claims } = coinbaseJwtParts(credentials.keyName, "", nowMs, nonce);
  const wsClaims = { sub: claims.sub, iss: claims.iss, nbf: claims.nbf, exp: claims.exp };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(wsClaims))}`;
  const signature = cryptoSign("sha256", Buffer.from(signingInput), { key: credentials.key, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${b64url(signature)}`;
}

export function signCoinbaseRequest(
  request: UnsignedRequest,
  credentials: { keyName: string; key: KeyObject },
  nowMs: number,
  nonce: string,
  baseUrl: string,
): HttpRequest {
  const jwt = coinbaseJwt(credentials, coinbaseJwtUri(request.method, baseUrl, request.path), nowMs, nonce);
  const headers: Record<string, string> = { Authorization: `Bearer ${jwt}` };
  if (request.body !== "") headers["Content-Type"] = "application/json";
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, encodeParams(request.query)),
    headers,
    ...(request.body !== "" ? { body: request.body } : {}),
  };
}
