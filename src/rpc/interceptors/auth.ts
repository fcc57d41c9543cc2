import { createHash } from "node:crypto";
import type { Interceptor, StreamRequest } from "@connectrpc/connect";
import type { ApiKeyEntry } from "../../domain/principal.js";
import { toConnectError } from "../to-connect-error.js";
import { createCheckInterceptor, type AnyRequest, type Next } from "./check-interceptor.js";
import { principalKey } from "./context-keys.js";
import { ANONYMOUS, mayUseAccount } from "../../domain/principal.js";
import type { Principal } from "../../domain/principal.js";

export interface AuthDeps {
  /** Configured keys (hashes only). Empty: authentication is off and every caller is ANONYMOUS. */
  readonly apiKeys: readonly ApiKeyEntry[];
  /**
   * Services callable without a key (health checks from load balancers,
   * reflection for tooling). Their messages carry no account.
   */
  readonly publicServices?: ReadonlySet<string>;
}

/** Methods whose `account` an admin key may set to any account (its role, not its account list, allows them). */
const ADMIN_ANY_ACCOUNT_METHODS: ReadonlySet<string> = new Set(["SetTradingState", "GetTradingState"]);

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * Authenticates `authorization: Bearer <key>` by the SHA-256 of the key, so
 * only hashes are ever configured or held in memory (the raw key is hashed
 * on every call and never kept: about 1 µs, cheaper than a key sitting in a
 * heap dump), then checks the `account` field of every request message against the accounts the key may
 * trade. Sets principalKey for handlers (which must still filter results by
 * it, e.g. StreamFills with an empty account).
 */
export function createAuthInterceptor(deps: AuthDeps): Interceptor {
  const byHash = new Map<string, Principal>(
    deps.apiKeys.map((k) => [k.sha256, { keyId: `key-${k.sha256.slice(0, 12)}`, accounts: k.accounts, ...(k.admin === true ? { admin: true } : {}) }]),
  );
  const enabled = byHash.size > 0;
  const publicServices = deps.publicServices ?? new Set<string>();
  return createCheckInterceptor(authenticate);

  function authenticate(next: Next, req: AnyRequest): ReturnType<Next> {
    if (!enabled || publicServices.has(req.service.typeName)) {
      req.contextValues.set(principalKey, ANONYMOUS);
      return next(req);
    }
    const m = BEARER.exec(req.header.get("authorization") ?? "");
    if (m === null) {
      throw toConnectError({ kind: "unauthenticated", message: "missing API key: send authorization: Bearer <key>" });
    }
    // Lookup by hash: the map is keyed by digests, so timing reveals nothing about a valid key.
    const found = byHash.get(createHash("sha256").update(m[1]!).digest("hex"));
    if (found === undefined) {
      throw toConnectError({ kind: "unauthenticated", message: "unknown API key" });
    }
    const principal: Principal = found;
    req.contextValues.set(principalKey, principal);
    if (!req.stream) {
      // An admin key names any account in the trading-state calls (halting an account it does not trade).
      if (principal.admin !== true || !ADMIN_ANY_ACCOUNT_METHODS.has(req.method.name)) checkAccount(principal, req.message);
      return next(req);
    }
    const source = req.message;
    async function* checked() {
      for await (const m of source) {
        checkAccount(principal, m);
        yield m;
      }
    }
    return next({ ...req, message: checked() } as StreamRequest);
  }
}

function checkAccount(p: Principal, message: unknown): void {
  if (p.accounts === "any") return;
  const account = (message as { account?: unknown }).account;
  if (typeof account === "string" && account !== "" && !mayUseAccount(p, account)) {
    throw toConnectError({ kind: "permission_denied", message: `this API key may not use account "${account.slice(0, 64)}"` });
  }
}
