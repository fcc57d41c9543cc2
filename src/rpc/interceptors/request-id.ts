import { randomBytes } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { requestIdKey } from "./context-keys.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** Accepted client ids: bounded and log-safe (no spaces, quotes or control characters). */
const SAFE_ID = /^[A-Za-z0-9._:\/+=-]{1,128}$/;

/**
 * Ids made here: UUID-shaped (RFC 9562 version 8, "custom"), so tools that
 * expect a UUID keep working, but not drawn from the CSPRNG per call like
 * randomUUID(): a random per-source prefix (74 bits, so two processes never
 * share one) and a 48-bit counter. Unique, unguessable enough for logs (they
 * are not secrets), and far cheaper.
 */
export function createRequestIdSource(): () => string {
  const r = randomBytes(10).toString("hex");
  const variant = "89ab"[parseInt(r[15]!, 16) & 3]!;
  const prefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-8${r.slice(12, 15)}-${variant}${r.slice(16, 19)}-`;
  let n = 0;
  return () => prefix + (++n % 0x1000000000000).toString(16).padStart(12, "0");
}

export interface RequestIdDeps {
  /** Source of new ids; tests pass a fixed one. */
  readonly newId?: () => string;
}

/**
 * Outermost interceptor: takes the caller's `x-request-id` when it is safe to
 * put in logs, or makes one, then echoes it on the response (headers, and the
 * error metadata so it also reaches clients on failure).
 */
export function createRequestIdInterceptor(deps: RequestIdDeps = {}): Interceptor {
  const newId = deps.newId ?? createRequestIdSource();
  return (next) => async (req) => {
    const given = req.header.get(REQUEST_ID_HEADER);
    const id = given !== null && SAFE_ID.test(given) ? given : newId();
    req.contextValues.set(requestIdKey, id);
    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, id);
      return res;
    } catch (e) {
      const ce = ConnectError.from(e);
      ce.metadata.set(REQUEST_ID_HEADER, id);
      throw ce;
    }
  };
}
