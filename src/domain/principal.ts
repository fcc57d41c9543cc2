/**
 * Who is calling and which accounts they may use: the account policy the use-cases
 * apply (PlaceOrder, CancelOrder, GetOrderStatus, StreamFills). It lives in the domain
 * because it is a business rule; the rpc layer only carries the Principal in the call
 * context (src/rpc/interceptors/context-keys.ts) and builds it from an API key (auth.ts).
 */
export interface Principal {
  /** Stable, non-secret id of the API key (a prefix of its hash), or "anonymous". */
  readonly keyId: string;
  /** Accounts this caller may trade and see, or "any". */
  readonly accounts: ReadonlySet<string> | "any";
}

/** With authentication off, the principal may trade any account. */
export const ANONYMOUS: Principal = { keyId: "anonymous", accounts: "any" };

export function mayUseAccount(p: Principal, account: string): boolean {
  return p.accounts === "any" || p.accounts.has(account);
}

/** One configured API key (API_KEYS): its hash and the accounts it grants. */
export interface ApiKeyEntry {
  /** Lower-case hex SHA-256 of the raw key; the raw key is never configured. */
  readonly sha256: string;
  /** Accounts the key may trade and see, or "any" when configured as `*`. */
  readonly accounts: ReadonlySet<string> | "any";
}
