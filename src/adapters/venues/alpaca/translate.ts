import { OrderStatus, OrderType } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import type { BalancesPage } from "../rest-venue-adapter.js";
import { parseJsonAnswer, venueDecimal, type MassCancelRequest, type AmendHook } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseOrderAnswer, formatDecimal } from "../translator.js";
import { ALPACA, alpacaRules, alpacaOpenOrderPaths } from "./describe.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
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

/**
 * DELETE /v2/orders cancels every open order of the API key: it fits only when the key is the
 * gateway's alone (exclusiveKey) and the scope holds every open gateway order on this venue.
 */
export function planAlpacaMassCancel(orders: readonly TranslateInput[], others: readonly TranslateInput[], exclusiveKey: boolean): MassCancelRequest[] | undefined {
  if (!exclusiveKey || orders.length === 0 || others.length > 0) return undefined;
  return [{ request: { method: "DELETE", path: "/v2/orders", query: [], body: "" }, covers: orders }];
}

/**
 * HTTP 207 Multi-Status, one entry per order it tried: [{"id":"<order id>","status":200,"body":{<order>}}, ...].
 * 200 = cancel accepted (the order object, when present, says more); any other status (500 "no
 * longer cancelable") = refused, and the caller queries the order. A covered order missing from
 * the list was not open any more: not_found.
 */
export function fromAlpacaMassCancel(res: HttpResponse, covers: readonly TranslateInput[], rules: TranslatorRules = alpacaRules): Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError> {
  const json = parseJsonAnswer(res, mapAlpacaError);
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return err({ kind: "protocol", reason: "venue mass-cancel answer is not a list" });
  const out = new Map<string, Result<VenueOrderUpdate, VenueError>>();
  for (const entry of json.value as unknown[]) {
    if (entry === null || typeof entry !== "object") continue;
    const e = entry as Record<string, unknown>;
    const c = covers.find((x) => x.order.venueOrderId !== "" && x.order.venueOrderId === e["id"]);
    if (c === undefined) continue;
    const status = Number(e["status"]);
    if (status >= 200 && status < 300) {
      const body = e["body"];
      const parsed = body !== null && typeof body === "object" && "status" in body ? parseOrderAnswer(body, rules) : undefined;
      out.set(c.order.orderId, parsed !== undefined && parsed.ok ? parsed : ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: c.order.venueOrderId, fills: [] }));
    } else {
      out.set(c.order.orderId, err({ kind: "rejected", reason: `cancel refused (alpaca HTTP ${status} for this order)`, code: String(status) }));
    }
  }
  for (const c of covers) if (!out.has(c.order.orderId)) out.set(c.order.orderId, err({ kind: "not_found", reason: "not among the orders the venue tried to cancel" }));
  return ok(out);
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
