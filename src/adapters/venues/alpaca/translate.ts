import { OrderStatus } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import type { BalancesPage } from "../rest-venue-adapter.js";
import { parseJsonAnswer, venueDecimal } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import { ALPACA, alpacaRules } from "./describe.js";
import { mapAlpacaError } from "./errors.js";

// Requests are built from alpacaRules alone (rulesDialect in index.ts); only answers need code.

export function fromAlpacaResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules = alpacaRules,
): Result<VenueOrderUpdate, VenueError> {
  if (op === "cancel" && res.status === 204) {
    return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
  }
  const json = parseJsonAnswer(res, mapAlpacaError);
  if (!json.ok) return json;
  return parseOrderAnswer(json.value, rules);
}

/** GET /v2/account. */
export function toAlpacaBalancesRequest(): UnsignedRequest {
  return { method: "GET", path: ALPACA.accountPath, query: [], body: "" };
}

/**
 * The account's cash as one balance in the account currency ({"currency":"USD","cash":"-23140.2",
 * "buying_power":"262113.632",...}). Alpaca reports no held amount, so locked is "0" and free is
 * `cash` as reported (negative in a margin account that borrowed). buying_power is not a balance
 * (it counts margin credit and depends on the account's multiplier) and is not reported as one.
 * Positions (shares, crypto) are in /v2/positions, not here.
 */
export function fromAlpacaBalances(res: HttpResponse): Result<BalancesPage, VenueError> {
  const json = parseJsonAnswer(res, mapAlpacaError);
  if (!json.ok) return json;
  const a = json.value as { cash?: unknown; currency?: unknown } | null;
  const cash = venueDecimal(a?.cash);
  if (cash === undefined) return err({ kind: "protocol", reason: "venue account answer lacks cash" });
  const asset = typeof a?.currency === "string" && a.currency !== "" ? a.currency : "USD";
  return ok({ balances: [{ asset, free: cash, locked: "0" }] });
}
