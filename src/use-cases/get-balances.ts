import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import { err, ok, type Result } from "../domain/result.js";
import type { BalanceCache, VenueBalanceSnapshot } from "./balance-cache.js";
import { ACCOUNT_PATTERN } from "./validate.js";

export interface GetBalancesInput {
  readonly account: string;
  readonly venue: string;
}

/** `deadlineMs`: the RPC deadline (epoch ms); the answer comes before it with what is known by then. */
export type GetBalances = (input: GetBalancesInput, principal: Principal, deadlineMs?: number) => Promise<Result<VenueBalanceSnapshot[], GatewayError>>;

/**
 * GetBalances: the account is required and must be one the caller may use; an optional venue must
 * be configured. The balances are the venue's for the gateway's credentials there (venues do not
 * split them by the gateway's accounts), one entry per venue, in configuration order.
 */
export function createGetBalances(deps: { readonly cache: BalanceCache; readonly venueNames: readonly string[] }): GetBalances {
  const known = new Set(deps.venueNames);
  return async (input, principal, deadlineMs) => {
    const violations: FieldViolation[] = [];
    if (input.account === "") violations.push({ field: "account", description: "is required" });
    else if (!ACCOUNT_PATTERN.test(input.account)) violations.push({ field: "account", description: "must be 1..64 characters of [A-Za-z0-9._:@-]" });
    if (input.venue !== "" && !known.has(input.venue)) {
      const name = input.venue.length > 64 ? `${input.venue.slice(0, 64)}...` : input.venue;
      violations.push({ field: "venue", description: `unknown venue ${JSON.stringify(name)}; configured: ${deps.venueNames.join(", ")}` });
    }
    if (violations.length > 0) return err(invalidArgument(violations));
    if (!mayUseAccount(principal, input.account)) {
      return err({ kind: "permission_denied", message: `this API key may not see account ${input.account}` });
    }
    return ok(await deps.cache.get(input.venue === "" ? deps.venueNames : [input.venue], deadlineMs));
  };
}
