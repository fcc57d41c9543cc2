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
  /**
   * The admin role: may set trading states (the kill switch) on any scope and read any scope's
   * state. It adds no trading right: an admin key trades only the accounts it lists (none for a
   * plain `admin` entry), so the key that can halt trading is not also a key that can trade.
   */
  readonly admin?: boolean;
}

/**
 * With authentication off, the principal may trade any account and is an admin: whoever can
 * reach the port can already do anything, and an operator must be able to halt trading.
 */
export const ANONYMOUS: Principal = { keyId: "anonymous", accounts: "any", admin: true };

/** May this caller change trading states (SetTradingState)? */
export function mayAdminister(p: Principal): boolean {
  return p.admin === true;
}

export function mayUseAccount(p: Principal, account: string): boolean {
  return p.accounts === "any" || p.accounts.has(account);
}

/** One configured API key (API_KEYS): its hash, the accounts it grants and its roles. */
export interface ApiKeyEntry {
  /** Lower-case hex SHA-256 of the raw key; the raw key is never configured. */
  readonly sha256: string;
  /** Accounts the key may trade and see, or "any" when configured as `*`. */
  readonly accounts: ReadonlySet<string> | "any";
  /** The admin role (see Principal.admin); absent: a trader key. */
  readonly admin?: boolean;
}
