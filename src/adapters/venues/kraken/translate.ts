import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import { OrderStatus } from "../../../domain/order.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJson } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { encodeParams, parseOrderAnswer, translateRequest } from "../translator.js";
import { KRAKEN, krakenOpenOrderPaths, krakenRules } from "./describe.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
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

/** POST /0/private/OpenOrders: the signer adds the nonce; no filter (every open order of the key). */
export function toKrakenOpenOrdersRequest(): UnsignedRequest {
  return { method: "POST", path: KRAKEN.openOrdersPath, query: [], body: "", contentType: "application/x-www-form-urlencoded" };
}

/** {"error":[],"result":{"open":{"<txid>":{...}}}} */
export function fromKrakenOpenOrders(res: HttpResponse, rules: TranslatorRules = krakenRules): Result<{ orders: VenueOpenOrder[] }, VenueError> {
  if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
  const json = parseJson(res.bodyText);
  if (!json.ok) return json;
  const body = json.value as { error?: unknown; result?: unknown } | null;
  if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
    return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
  }
  if (res.status < 200 || res.status >= 300) return err({ kind: "protocol", reason: `venue answered HTTP ${res.status}` });
  const open = (body.result as { open?: unknown } | undefined)?.open;
  if (open === null || typeof open !== "object") return err({ kind: "protocol", reason: "venue answer lacks result.open" });
  const entries = Object.entries(open as Record<string, unknown>).map(([txid, o]) => (o !== null && typeof o === "object" ? { ...(o as object), txid } : o));
  const orders = parseOpenOrderList(entries, krakenOpenOrderPaths, rules);
  return orders.ok ? ok({ orders: orders.value }) : orders;
}
