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

/**
 * How the call's HTTP/2 stream ended, once it has: "client_cancel" when the client reset just this
 * stream (RST_STREAM, its connection still open: a deliberate cancel), "connection_lost" when the
 * connection went away with it. Seeded by src/server/app.ts for HTTP/2 calls; undefined for
 * HTTP/1.1, where a client's cancel and a lost connection look the same (the socket closes).
 */
export type StreamEnd = "client_cancel" | "connection_lost";
export const streamEndKey = createContextKey<(() => Promise<StreamEnd>) | undefined>(undefined, { description: "how the HTTP/2 stream ended" });
