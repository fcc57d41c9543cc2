import { OrderStatus, OrderType } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer, type AmendHook } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules } from "../translator.js";
import { formatDecimal, parseOrderAnswer } from "../translator.js";
import { alpacaRules } from "./describe.js";
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

/**
 * `PATCH /v2/orders/{order_id}` (docs.alpaca.markets/reference/replaceorderforaccount): each given
 * parameter overrides the order's; Alpaca answers with a NEW order (new id, our derived
 * client_order_id) and the old one becomes `replaced`. Used only for orders with nothing filled:
 * whether `qty` of a partly filled order's replacement counts the old fills is not documented,
 * and guessing wrong would over-execute; those go cancel-then-new.
 */
export const alpacaAmend = (rules: TranslatorRules = alpacaRules): AmendHook => ({
  weight: 1,
  needsVenueOrderId: true,
  check(order) {
    return order.filledQuantity === "" || order.filledQuantity === "0" ? undefined : "partly filled: the replacement quantity's meaning is not documented";
  },
  request(input, amend) {
    const o = input.order;
    const body: Record<string, string> = { qty: formatDecimal(amend.quantity), client_order_id: amend.venueClientOrderId };
    if ((o.type === OrderType.LIMIT || o.type === OrderType.STOP_LIMIT) && amend.price !== "") body["limit_price"] = formatDecimal(amend.price);
    if ((o.type === OrderType.STOP || o.type === OrderType.STOP_LIMIT) && amend.stopPrice !== "") body["stop_price"] = formatDecimal(amend.stopPrice);
    return ok({ method: "PATCH", path: `/v2/orders/${encodeURIComponent(o.venueOrderId)}`, query: [], body: JSON.stringify(body), contentType: "application/json" });
  },
  parse(res) {
    const json = parseJsonAnswer(res, mapAlpacaError);
    if (!json.ok) return json;
    const u = parseOrderAnswer(json.value, rules);
    return u.ok ? ok({ update: u.value, newVenueOrder: true }) : u;
  },
});
