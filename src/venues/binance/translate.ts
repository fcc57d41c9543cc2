import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJson } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseOrderAnswer, translateRequest } from "../translator.js";
import { binanceRules } from "./describe.js";
import { mapBinanceError } from "./errors.js";

export function toBinanceRequest(op: Operation, input: TranslateInput, rules: TranslatorRules = binanceRules): Result<UnsignedRequest, VenueError> {
  return translateRequest(op, input, rules);
}

/** Order answers of new order (FULL), cancel and query share one layout. */
export function fromBinanceResponse(_op: Operation, res: HttpResponse, rules: TranslatorRules = binanceRules): Result<VenueOrderUpdate, VenueError> {
  const json = parseJson(res.bodyText);
  if (res.status < 200 || res.status >= 300) return err(mapBinanceError(res.status, json.ok ? json.value : null, res.headers));
  if (!json.ok) return json;
  const parsed = parseOrderAnswer(json.value, rules);
  if (!parsed.ok) return parsed;
  // Fills carry no time of their own; they happened at transactTime.
  const t = (json.value as { transactTime?: unknown }).transactTime;
  if (typeof t === "number" && parsed.value.fills.length > 0) {
    return ok({ ...parsed.value, fills: parsed.value.fills.map((f) => (f.timeMs === 0 ? { ...f, timeMs: t } : f)) });
  }
  return parsed;
}
