import { createContextKey } from "@connectrpc/connect";
import type { Logger } from "pino";

/** Who is calling. With authentication off, the principal may trade any account. */
export interface Principal {
  /** Stable, non-secret id of the API key (a prefix of its hash), or "anonymous". */
  readonly keyId: string;
  /** Accounts this caller may trade and see, or "any". */
  readonly accounts: ReadonlySet<string> | "any";
}

export const ANONYMOUS: Principal = { keyId: "anonymous", accounts: "any" };

export const requestIdKey = createContextKey<string>("", { description: "request id" });
export const principalKey = createContextKey<Principal>(ANONYMOUS, { description: "authenticated principal" });
/** The per-call child logger (carries the request id); handlers log through it. */
export const loggerKey = createContextKey<Logger | undefined>(undefined, { description: "per-call logger" });

export function mayUseAccount(p: Principal, account: string): boolean {
  return p.accounts === "any" || p.accounts.has(account);
}

/**
 * The caller's network address ("ip:port"), seeded per request by the
 * fastify-connect plugin's `contextValues(req)` in src/server/app.ts, because
 * Connect does not expose the socket to interceptors.
 */
export const peerKey = createContextKey<string>("", { description: "peer address" });
