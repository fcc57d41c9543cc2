import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import { OrderStatus, OrderType } from "../../../domain/order.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJson, type AmendHook } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { encodeParams, formatDecimal, parseOrderAnswer, translateRequest } from "../translator.js";
import { KRAKEN, krakenRules } from "./describe.js";
import { mapKrakenError } from "./errors.js";

/**
 * Cancel and query name the order by Kraken's txid once it is known (the
 * documented required key of QueryOrders), and by cl_ord_id before that
 * (outcome unknown): never both, as they are alternative identifiers.
 */
export function toKrakenRequest(op: Operation, input: TranslateInput, rules: TranslatorRules = krakenRules): Result<UnsignedRequest, VenueError> {
  if (op !== "place" && input.order.venueOrderId !== "") {
    const path = op === "cancel" ? KRAKEN.cancelOrderPath : KRAKEN.queryOrdersPath;
    return ok({ method: "POST", path, query: [], body: encodeParams([["txid", input.order.venueOrderId]]), contentType: "application/x-www-form-urlencoded" });
  }
  return translateRequest(op, input, rules);
}

/**
 * Kraken answers HTTP 200 with {"error":[...],"result":{...}}.
 * - AddOrder:   {"error":[],"result":{"descr":{"order":"buy 1.45 XBTUSD @ limit 27500.0"},"txid":["OU22CG-KLAF2-FWUDD7"]}}
 * - CancelOrder: {"error":[],"result":{"count":1}}
 * - QueryOrders: {"error":[],"result":{"<txid>":{"status":"open",...}}}
 */
export function fromKrakenResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules = krakenRules,
): Result<VenueOrderUpdate, VenueError> {
  const json = parseJson(res.bodyText);
  if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
  if (!json.ok) return json;
  const body = json.value as { error?: unknown; result?: unknown } | null;
  if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
    return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
  }
  if (res.status < 200 || res.status >= 300) return err({ kind: "protocol", reason: `venue answered HTTP ${res.status}` });
  const result = body.result as Record<string, unknown> | undefined;
  if (result === undefined || result === null || typeof result !== "object") return err({ kind: "protocol", reason: "venue answer lacks result" });
  switch (op) {
    case "place": {
      const txid = Array.isArray(result["txid"]) ? result["txid"][0] : undefined;
      if (typeof txid !== "string" || txid === "") return err({ kind: "protocol", reason: "venue answer lacks txid" });
      // AddOrder acknowledges only; status and fills come from QueryOrders.
      return ok({ status: OrderStatus.NEW, venueOrderId: txid, fills: [] });
    }
    case "cancel": {
      const count = Number(result["count"]);
      if (!Number.isFinite(count)) return err({ kind: "protocol", reason: "venue answer lacks count" });
      if (count === 0) return err({ kind: "not_found", reason: "venue cancelled no order (kraken count 0)" });
      return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
    }
    case "query": {
      const entries = Object.entries(result);
      if (entries.length === 0) return err({ kind: "not_found", reason: "venue has no order with this client order id" });
      const [txid, order] = entries[0]!;
      if (order === null || typeof order !== "object") return err({ kind: "protocol", reason: "venue order entry is not an object" });
      return parseOrderAnswer({ ...(order as object), txid }, rules);
    }
  }
}

/**
 * AmendOrder (docs.kraken.com/api/docs/rest-api/amend-order): in place, txid and cl_ord_id kept,
 * queue priority kept where possible. `order_qty` is the order's new total ("reducing it below
 * the filled quantity cancels the rest", so it counts what filled); `limit_price` for limit
 * types, `trigger_price` for triggered ones. Names the order by txid once known, else cl_ord_id.
 */
export const krakenAmend: AmendHook = {
  weight: 1,
  check: () => undefined,
  request(input, amend) {
    const o = input.order;
    const body: Record<string, string> = o.venueOrderId !== "" ? { txid: o.venueOrderId } : { cl_ord_id: o.venueClientOrderId };
    body["order_qty"] = formatDecimal(amend.quantity);
    if ((o.type === OrderType.LIMIT || o.type === OrderType.STOP_LIMIT) && amend.price !== "") body["limit_price"] = formatDecimal(amend.price);
    if ((o.type === OrderType.STOP || o.type === OrderType.STOP_LIMIT) && amend.stopPrice !== "") body["trigger_price"] = formatDecimal(amend.stopPrice);
    return ok({ method: "POST", path: KRAKEN.amendOrderPath, query: [], body: JSON.stringify(body), contentType: "application/json" });
  },
  parse(res, input) {
    const json = parseJson(res.bodyText);
    if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
    if (!json.ok) return json;
    const body = json.value as { error?: unknown; result?: { amend_id?: unknown } } | null;
    if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
    if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
      return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
    }
    if (typeof body.result?.amend_id !== "string") return err({ kind: "protocol", reason: "venue answer lacks amend_id" });
    // The answer acknowledges only; fills keep coming from QueryOrders on the same txid.
    return ok({ update: { status: OrderStatus.NEW, venueOrderId: input.order.venueOrderId, fills: [] }, newVenueOrder: false });
  },
};
