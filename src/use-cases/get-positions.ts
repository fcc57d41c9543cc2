import type { FieldViolation, GatewayError } from "../domain/errors.js";
import { invalidArgument } from "../domain/errors.js";
import type { Position } from "../domain/position.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import { err, ok, type Result } from "../domain/result.js";
import type { PositionBook } from "./position-book.js";
import { ACCOUNT_PATTERN, SYMBOL_PATTERN } from "./validate.js";

export interface GetPositionsInput {
  readonly account: string;
  /** "" = every venue. */
  readonly venue: string;
  /** "" = every symbol. */
  readonly symbol: string;
}

const VENUE_MAX = 64;

/**
 * GetPositions: an account's positions (optionally one venue and/or symbol), by venue then
 * symbol. The account is required and must be one the caller may use (PERMISSION_DENIED
 * otherwise: the caller named it, nothing is revealed). Reads memory only.
 */
export function getPositions(book: PositionBook, input: GetPositionsInput, principal: Principal): Result<Position[], GatewayError> {
  const violations: FieldViolation[] = [];
  if (input.account === "") violations.push({ field: "account", description: "is required" });
  else if (!ACCOUNT_PATTERN.test(input.account)) violations.push({ field: "account", description: "must be 1..64 characters of [A-Za-z0-9._:@-]" });
  if (input.venue.length > VENUE_MAX) violations.push({ field: "venue", description: `must be at most ${VENUE_MAX} characters` });
  if (input.symbol !== "" && !SYMBOL_PATTERN.test(input.symbol)) violations.push({ field: "symbol", description: "must be 1..64 characters of [A-Za-z0-9._:/-]" });
  if (violations.length > 0) return err(invalidArgument(violations));
  if (!mayUseAccount(principal, input.account)) return err({ kind: "permission_denied", message: `this API key may not see account ${input.account}` });
  return ok(book.list(input.account, { venue: input.venue, symbol: input.symbol }));
}
