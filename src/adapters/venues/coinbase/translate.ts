import { OrderStatus, OrderType, TimeInForce } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueBalance, VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import type { BalancesPage } from "../rest-venue-adapter.js";
import { parseJsonAnswer, venueDecimal, type MassCancelRequest, type AmendHook } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { formatDecimal, parseOrderAnswer, translateRequest } from "../translator.js";
import { COINBASE, coinbaseRules, coinbaseOpenOrderPaths } from "./describe.js";
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
      return cancelResult(r, input.order.venueOrderId);
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

/** GET /api/v3/brokerage/accounts, the largest page, from `cursor` when given. */
export function toCoinbaseBalancesRequest(cursor: string | undefined): UnsignedRequest {
  const query: Array<[string, string]> = [["limit", String(COINBASE.accountsPageLimit)]];
  if (cursor !== undefined) query.push(["cursor", cursor]);
  return { method: "GET", path: COINBASE.accountsPath, query, body: "" };
}

/**
 * {"accounts":[{"uuid":"...","currency":"BTC","available_balance":{"value":"1.2","currency":"BTC"},
 *  "hold":{"value":"0.1","currency":"BTC"},...}],"has_next":true,"cursor":"789100","size":1}
 * free = available_balance.value, locked = hold.value.
 */
export function fromCoinbaseBalances(res: HttpResponse): Result<BalancesPage, VenueError> {
  const json = parseJsonAnswer(res, mapCoinbaseHttpError);
  if (!json.ok) return json;
  const body = json.value as { accounts?: unknown; has_next?: unknown; cursor?: unknown } | null;
  if (!Array.isArray(body?.accounts)) return err({ kind: "protocol", reason: "venue answer lacks accounts" });
  const balances: VenueBalance[] = [];
  for (const a of body.accounts) {
    const e = a as { currency?: unknown; available_balance?: { value?: unknown }; hold?: { value?: unknown } } | null;
    const free = venueDecimal(e?.available_balance?.value);
    const locked = e?.hold === undefined ? "0" : venueDecimal(e.hold?.value);
    if (typeof e?.currency !== "string" || e.currency === "" || free === undefined || locked === undefined) {
      return err({ kind: "protocol", reason: "venue account entry lacks currency, available_balance or hold" });
    }
    balances.push({ asset: e.currency, free, locked });
  }
  if (body.has_next === true) {
    if (typeof body.cursor !== "string" || body.cursor === "") return err({ kind: "protocol", reason: "venue answer has_next without a cursor" });
    return ok({ balances, next: body.cursor });
  }
  return ok({ balances });
}

/** One entry of batch_cancel's `results`. */
function cancelResult(r: Record<string, unknown>, venueOrderId: string): Result<VenueOrderUpdate, VenueError> {
  if (r["success"] === true) return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId, fills: [] });
  const why = typeof r["failure_reason"] === "string" ? r["failure_reason"] : "UNKNOWN_CANCEL_FAILURE_REASON";
  if (why === "UNKNOWN_CANCEL_ORDER") return err({ kind: "not_found", reason: `venue does not know the order (coinbase ${why})` });
  return err({ kind: "rejected", reason: `cancel refused (coinbase ${why})`, code: why });
}

/**
 * batch_cancel names orders by id, so it fits any scope: batches of COINBASE.batchCancelMax.
 * An order whose Coinbase id is not known yet cannot be named: one by one then (the single
 * cancel looks the id up first).
 */
export function planCoinbaseMassCancel(orders: readonly TranslateInput[]): MassCancelRequest[] | undefined {
  if (orders.length === 0 || orders.some((o) => o.order.venueOrderId === "")) return undefined;
  const out: MassCancelRequest[] = [];
  for (let i = 0; i < orders.length; i += COINBASE.batchCancelMax) {
    const covers = orders.slice(i, i + COINBASE.batchCancelMax);
    out.push({
      request: {
        method: "POST",
        path: COINBASE.cancelPath,
        query: [],
        body: JSON.stringify({ order_ids: covers.map((c) => c.order.venueOrderId) }),
        contentType: "application/json",
      },
      covers,
    });
  }
  return out;
}

/** {"results":[{"success":true,"failure_reason":"UNKNOWN_CANCEL_FAILURE_REASON","order_id":"..."}, ...]}, matched by order_id. */
export function fromCoinbaseMassCancel(res: HttpResponse, covers: readonly TranslateInput[]): Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError> {
  const json = parseJsonAnswer(res, mapCoinbaseHttpError);
  if (!json.ok) return json;
  const body = json.value as Record<string, unknown> | null;
  const results = body !== null && typeof body === "object" && Array.isArray(body["results"]) ? (body["results"] as unknown[]) : undefined;
  if (results === undefined) return err({ kind: "protocol", reason: "venue answer lacks results" });
  const out = new Map<string, Result<VenueOrderUpdate, VenueError>>();
  for (const r of results) {
    if (r === null || typeof r !== "object") continue;
    const e = r as Record<string, unknown>;
    const c = covers.find((x) => x.order.venueOrderId === e["order_id"]);
    if (c !== undefined) out.set(c.order.orderId, cancelResult(e, c.order.venueOrderId));
  }
  return ok(out);
}
/**
 * Edit Order, `POST /api/v3/brokerage/orders/edit` {order_id, price, size} (venue-apis.md 8.4):
 * price and size of a GTC limit order, in place (same order id). Other shapes, and orders with
 * something filled (whether `size` counts the filled part is not documented: guessing wrong
 * would over-execute), go cancel-then-new. The answer is {"success":true|false,"errors":[...]}.
 */
export const coinbaseAmend: AmendHook = {
  weight: 1,
  needsVenueOrderId: true,
  check(order, amend) {
    if (order.type !== OrderType.LIMIT || order.timeInForce !== TimeInForce.GTC) return "Coinbase edits GTC limit orders only";
    if (amend.stopPrice !== order.stopPrice) return "no stop price on a limit order";
    return order.filledQuantity === "" || order.filledQuantity === "0" ? undefined : "partly filled: the edit size's meaning is not documented";
  },
  request(input, amend) {
    return ok({
      method: "POST",
      path: COINBASE.editPath,
      query: [],
      body: JSON.stringify({ order_id: input.order.venueOrderId, price: formatDecimal(amend.price), size: formatDecimal(amend.quantity) }),
      contentType: "application/json",
    });
  },
  parse(res, input) {
    const json = parseJsonAnswer(res, mapCoinbaseHttpError);
    if (!json.ok) return json;
    const b = json.value as { success?: unknown; errors?: Array<{ edit_failure_reason?: unknown; preview_failure_reason?: unknown }> } | null;
    if (b?.success !== true) {
      const e = b?.errors?.[0];
      const code = typeof e?.edit_failure_reason === "string" ? e.edit_failure_reason : typeof e?.preview_failure_reason === "string" ? e.preview_failure_reason : "UNKNOWN_EDIT_ORDER_FAILURE_REASON";
      return err({ kind: "rejected", reason: `edit refused (coinbase ${code})`, code });
    }
    return ok({ update: { status: OrderStatus.NEW, venueOrderId: input.order.venueOrderId, fills: [] }, newVenueOrder: false });
  },
};
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
