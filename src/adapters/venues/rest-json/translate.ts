import type { Result } from "../../../domain/result.js";
import { ok } from "../../../domain/result.js";
import { OrderStatus } from "../../../domain/order.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import type { RestJsonErrorRules } from "./errors.js";
import { mapRestJsonError } from "./errors.js";

export function fromRestJsonResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules,
  errorRules: RestJsonErrorRules,
): Result<VenueOrderUpdate, VenueError> {
  // A cancel acknowledged without a body.
  if (op === "cancel" && res.status >= 200 && res.status < 300 && res.bodyText.trim() === "") {
    return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
  }
  const json = parseJsonAnswer(res, (status, body) => mapRestJsonError(status, body, errorRules));
  if (!json.ok) return json;
  return parseOrderAnswer(json.value, rules, op === "cancel" ? (rules.cancelAnswer ?? rules.answer) : rules.answer);
}
