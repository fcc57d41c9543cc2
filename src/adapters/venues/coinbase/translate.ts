import { OrderStatus } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseOrderAnswer, translateRequest } from "../translator.js";
import { COINBASE, coinbaseOpenOrderPaths, coinbaseRules } from "./describe.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
import { mapCoinbaseCreateFailure, mapCoinbaseHttpError } from "./errors.js";

/** How many recent orders of the product are searched for the client order id when the venue id is unknown. */
const LIST_LIMIT = 100;

export function toCoinbaseRequest(op: Operation, input: TranslateInput, rules: TranslatorRules = coinbaseRules): Result<UnsignedRequest, VenueError> {
  if (op === "cancel") {
    return ok({
      method: "POST",
      path: COINBASE.cancelPath,
      query: [],
      body: JSON.stringify({ order_ids: [input.order.venueOrderId] }),
      contentType: "application/json",
    });
  }
  if (op === "query" && input.order.venueOrderId === "") {
    // Get Order needs Coinbase's id; before we know it (outcome unknown),
    // list the product's recent orders and find ours by client_order_id.
    return ok({
      method: "GET",
      path: COINBASE.listPath,
      query: [["product_ids", input.venueSymbol], ["limit", String(LIST_LIMIT)]],
      body: "",
    });
  }
  return translateRequest(op, input, rules);
}

export function fromCoinbaseResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules = coinbaseRules,
): Result<VenueOrderUpdate, VenueError> {
  const json = parseJsonAnswer(res, mapCoinbaseHttpError);
  if (!json.ok) return json;
  const body = json.value as Record<string, unknown> | null;
  if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  switch (op) {
    case "place": {
      // {"success":true,"success_response":{"order_id":"...","product_id":"BTC-USD","side":"BUY","client_order_id":"..."}}
      if (body["success"] !== true) return err(mapCoinbaseCreateFailure(body));
      const sr = body["success_response"] as Record<string, unknown> | undefined;
      const id = typeof sr?.["order_id"] === "string" ? sr["order_id"] : typeof body["order_id"] === "string" ? body["order_id"] : "";
      if (id === "") return err({ kind: "protocol", reason: "venue answer lacks success_response.order_id" });
      return ok({ status: OrderStatus.NEW, venueOrderId: id, fills: [] });
    }
    case "cancel": {
      // {"results":[{"success":true,"failure_reason":"UNKNOWN_CANCEL_FAILURE_REASON","order_id":"..."}]}
      const r = Array.isArray(body["results"]) ? (body["results"][0] as Record<string, unknown> | undefined) : undefined;
      if (r === undefined) return err({ kind: "protocol", reason: "venue answer lacks results" });
      if (r["success"] === true) return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
      const why = typeof r["failure_reason"] === "string" ? r["failure_reason"] : "UNKNOWN_CANCEL_FAILURE_REASON";
      if (why === "UNKNOWN_CANCEL_ORDER") return err({ kind: "not_found", reason: `venue does not know the order (coinbase ${why})` });
      return err({ kind: "rejected", reason: `cancel refused (coinbase ${why})`, code: why });
    }
    case "query": {
      if (Array.isArray(body["orders"])) {
        const mine = body["orders"].find(
          (o) => o !== null && typeof o === "object" && (o as Record<string, unknown>)["client_order_id"] === input.order.venueClientOrderId,
        );
        if (mine === undefined) return err({ kind: "not_found", reason: "venue has no recent order with this client order id" });
        return parseOrderAnswer({ order: mine }, rules);
      }
      return parseOrderAnswer(body, rules);
    }
  }
}

/** GET List Orders with order_status=OPEN, paged by the answer's `cursor` while `has_next`. */
export function toCoinbaseOpenOrdersRequest(cursor: string | undefined): UnsignedRequest {
  const query: Array<readonly [string, string]> = [
    ["order_status", "OPEN"],
    ["limit", String(COINBASE.openOrdersPageSize)],
  ];
  if (cursor !== undefined) query.push(["cursor", cursor]);
  return { method: "GET", path: COINBASE.listPath, query, body: "" };
}

/** {"orders":[...],"has_next":false,"cursor":""} */
export function fromCoinbaseOpenOrders(res: HttpResponse, rules: TranslatorRules = coinbaseRules): Result<{ orders: VenueOpenOrder[]; next?: string }, VenueError> {
  const json = parseJsonAnswer(res, mapCoinbaseHttpError);
  if (!json.ok) return json;
  const body = json.value as { orders?: unknown; has_next?: unknown; cursor?: unknown } | null;
  if (body === null || typeof body !== "object" || !Array.isArray(body.orders)) return err({ kind: "protocol", reason: "venue answer lacks orders" });
  const entries = body.orders.map((o: unknown) => {
    if (o === null || typeof o !== "object") return o;
    const cfg = (o as { order_configuration?: unknown }).order_configuration;
    const first = cfg !== null && typeof cfg === "object" ? Object.values(cfg as Record<string, unknown>)[0] : undefined;
    return { ...(o as object), _config: first ?? {} };
  });
  const orders = parseOpenOrderList(entries, coinbaseOpenOrderPaths, rules);
  if (!orders.ok) return orders;
  const next = body.has_next === true && typeof body.cursor === "string" && body.cursor !== "" ? body.cursor : undefined;
  return ok(next === undefined ? { orders: orders.value } : { orders: orders.value, next });
}
