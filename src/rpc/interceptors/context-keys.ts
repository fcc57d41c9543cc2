import { createContextKey } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ANONYMOUS, type Principal } from "../../domain/principal.js";

export const requestIdKey = createContextKey<string>("", { description: "request id" });
export const principalKey = createContextKey<Principal>(ANONYMOUS, { description: "authenticated principal" });
/** The per-call child logger (carries the request id); handlers log through it. */
export const loggerKey = createContextKey<Logger | undefined>(undefined, { description: "per-call logger" });

/**
 * The caller's network address ("ip:port"), seeded per request by the
 * fastify-connect plugin's `contextValues(req)` in src/server/app.ts, because
 * Connect does not expose the socket to interceptors.
 */
export const peerKey = createContextKey<string>("", { description: "peer address" });
