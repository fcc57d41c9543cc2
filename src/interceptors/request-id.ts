import { randomUUID } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { requestIdKey } from "./context-keys.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** Accepted client ids: bounded and log-safe (no spaces, quotes or control characters). */
const SAFE_ID = /^[A-Za-z0-9._:\/+=-]{1,128}$/;

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
  const newId = deps.newId ?? randomUUID;
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
