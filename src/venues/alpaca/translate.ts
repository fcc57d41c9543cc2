import { OrderStatus } from "../../domain/order.js";
import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJson } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseOrderAnswer, translateRequest } from "../translator.js";
import { alpacaRules } from "./describe.js";
import { mapAlpacaError } from "./errors.js";

export function toAlpacaRequest(op: Operation, input: TranslateInput, rules: TranslatorRules = alpacaRules): Result<UnsignedRequest, VenueError> {
  return translateRequest(op, input, rules);
}

export function fromAlpacaResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules = alpacaRules,
): Result<VenueOrderUpdate, VenueError> {
  if (op === "cancel" && res.status === 204) {
    return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
  }
  const json = parseJson(res.bodyText);
  if (res.status < 200 || res.status >= 300) return err(mapAlpacaError(res.status, json.ok ? json.value : null));
  if (!json.ok) return json;
  return parseOrderAnswer(json.value, rules);
}
