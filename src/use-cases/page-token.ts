import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Opaque page tokens for ListOrders and ListFills: base64url(JSON payload) "." base64url(MAC).
 * The payload holds which RPC it belongs to, a digest of the query's filters and the keyset
 * cursor (the last item of the page). A token from another RPC or query, or a changed one, does
 * not verify and the call answers INVALID_ARGUMENT naming page_token.
 *
 * The MAC key is fixed, not secret: the token guards against mistakes (a token reused with other
 * filters, a truncated copy), not against forgery, which would gain nothing: the account is
 * checked against the caller's key on every call, and a forged cursor only selects another page
 * of what the caller may see anyway. A fixed key keeps tokens valid across gateway restarts.
 */

const KEY = "trading-gateway page token v1";
const MAC_BYTES = 12;

/** A digest of the filters (a canonical JSON of them), bound into the token. */
export function filterDigest(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

function mac(payload: string): Buffer {
  return createHmac("sha256", KEY).update(payload).digest().subarray(0, MAC_BYTES);
}

export function encodePageToken(kind: string, digest: string, cursor: readonly (string | number)[]): string {
  const payload = Buffer.from(JSON.stringify([kind, digest, ...cursor])).toString("base64url");
  return `${payload}.${mac(payload).toString("base64url")}`;
}

/** The cursor values, or undefined when the token is not one of `kind` with these filters, or was altered. */
export function decodePageToken(token: string, kind: string, digest: string): unknown[] | undefined {
  if (token.length > 1024) return undefined;
  const dot = token.indexOf(".");
  if (dot < 0) return undefined;
  const payload = token.slice(0, dot);
  const got = Buffer.from(token.slice(dot + 1), "base64url");
  const want = mac(payload);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v[0] !== kind || v[1] !== digest) return undefined;
  return v.slice(2);
}
