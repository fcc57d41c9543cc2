import { OrderStatus } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
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
