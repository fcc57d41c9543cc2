import { OrderStatus } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import { ALPACA, alpacaOpenOrderPaths, alpacaRules } from "./describe.js";
import { err } from "../../../domain/result.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
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
 * GET /v2/orders?status=open, oldest first, 500 a page. The next page starts after the last
 * order's created_at (`after` is exclusive); the cursor is that timestamp.
 */
export function toAlpacaOpenOrdersRequest(cursor: string | undefined): UnsignedRequest {
  const query: Array<readonly [string, string]> = [
    ["status", "open"],
    ["limit", String(ALPACA.openOrdersPageSize)],
    ["direction", "asc"],
    ["nested", "false"],
  ];
  if (cursor !== undefined) query.push(["after", cursor]);
  return { method: "GET", path: ALPACA.ordersPath, query, body: "" };
}

export function fromAlpacaOpenOrders(res: HttpResponse, rules: TranslatorRules = alpacaRules): Result<{ orders: VenueOpenOrder[]; next?: string }, VenueError> {
  const json = parseJsonAnswer(res, mapAlpacaError);
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return err({ kind: "protocol", reason: "venue open-order list is not a list" });
  const orders = parseOpenOrderList(json.value, alpacaOpenOrderPaths, rules);
  if (!orders.ok) return orders;
  // A full page may have more after it; created_at of its last order is where the next one starts.
  const last = json.value.at(-1) as { created_at?: unknown } | undefined;
  const full = json.value.length >= ALPACA.openOrdersPageSize && typeof last?.created_at === "string";
  return ok(full ? { orders: orders.value, next: last.created_at as string } : { orders: orders.value });
}
