import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueBalance, VenueError, VenueFill, VenueOrderUpdate, VenueAmend } from "../../../use-cases/venue-adapter.js";
import type { MassCancelRequest, BalancesPage } from "../rest-venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer, venueDecimal, type AmendHook } from "../rest-venue-adapter.js";
import type { Order } from "../../../domain/order.js";
import { compare, sub } from "../../../domain/decimal.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { formatDecimal, parseFills, parseOrderAnswer, translateRequest } from "../translator.js";
import { BINANCE, binanceRules, binanceTradeFields, binanceOpenOrderPaths } from "./describe.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
import { mapBinanceError } from "./errors.js";

// Requests are built from binanceRules alone (rulesDialect in index.ts); only answers need code.

/** Order answers of new order (FULL), cancel and query share one layout. */
export function fromBinanceResponse(_op: Operation, res: HttpResponse, rules: TranslatorRules = binanceRules): Result<VenueOrderUpdate, VenueError> {
  const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
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

/** GET /api/v3/myTrades for one order: its executions with trade ids and commissions. */
export function toBinanceTradesRequest(input: TranslateInput, update: VenueOrderUpdate): UnsignedRequest {
  return {
    method: "GET",
    path: BINANCE.myTradesPath,
    query: [
      ["symbol", input.venueSymbol],
      ["orderId", update.venueOrderId],
    ],
    body: "",
  };
}

/** The myTrades answer, oldest trade first (sorted by id: the venue's order, stated rather than assumed). */
export function fromBinanceTrades(res: HttpResponse): Result<VenueFill[], VenueError> {
  const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return err({ kind: "protocol", reason: "venue trade list is not a list" });
  const fills = parseFills(json.value, binanceTradeFields);
  if (!fills.ok) return fills;
  const byId = (a: VenueFill, b: VenueFill): number => {
    const x = BigInt(a.venueTradeId);
    const y = BigInt(b.venueTradeId);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  if (!fills.value.every((f) => /^[0-9]+$/.test(f.venueTradeId))) return err({ kind: "protocol", reason: "venue trade id is not a number" });
  return ok(fills.value.sort(byId));
}

/** GET /api/v3/account with omitZeroBalances (one page: Binance does not paginate it). */
export function toBinanceBalancesRequest(): UnsignedRequest {
  return { method: "GET", path: BINANCE.accountPath, query: [["omitZeroBalances", "true"]], body: "" };
}

/** {"balances":[{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"}, ...], "updateTime":..., ...} */
export function fromBinanceBalances(res: HttpResponse): Result<BalancesPage, VenueError> {
  const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
  if (!json.ok) return json;
  const list = (json.value as { balances?: unknown } | null)?.balances;
  if (!Array.isArray(list)) return err({ kind: "protocol", reason: "venue account answer lacks balances" });
  const balances: VenueBalance[] = [];
  for (const b of list) {
    const e = b as { asset?: unknown; free?: unknown; locked?: unknown } | null;
    const free = venueDecimal(e?.free);
    const locked = venueDecimal(e?.locked);
    if (typeof e?.asset !== "string" || e.asset === "" || free === undefined || locked === undefined) {
      return err({ kind: "protocol", reason: "venue balance entry lacks asset, free or locked" });
    }
    balances.push({ asset: e.asset, free, locked });
  }
  return ok({ balances });
}

/**
 * DELETE /api/v3/openOrders cancels every open order of the symbol for the API key: it fits only
 * when the key is the gateway's alone (exclusiveKey) and no other open gateway order is on that
 * symbol. One request per symbol.
 */
export function planBinanceMassCancel(orders: readonly TranslateInput[], others: readonly TranslateInput[], exclusiveKey: boolean): MassCancelRequest[] | undefined {
  if (!exclusiveKey || orders.length === 0) return undefined;
  const bySymbol = new Map<string, TranslateInput[]>();
  for (const o of orders) bySymbol.set(o.venueSymbol, [...(bySymbol.get(o.venueSymbol) ?? []), o]);
  if (others.some((o) => bySymbol.has(o.venueSymbol))) return undefined;
  return [...bySymbol].map(([symbol, covers]) => ({
    request: { method: "DELETE", path: BINANCE.openOrdersPath, query: [["symbol", symbol]], body: "" },
    covers,
  }));
}

/**
 * The answer is an array of the canceled orders, each in the cancel layout:
 * [{"symbol":"BTCUSDT","origClientOrderId":"E6APeyTJvkMvLMYMqu1KQ4","orderId":11,"orderListId":-1,
 *   "clientOrderId":"pXLV6Hz6mprAcVYpVMTGgx","transactTime":1684804350068,"price":"0.089853","origQty":"0.178622",
 *   "executedQty":"0.000000","cummulativeQuoteQty":"0.000000","status":"CANCELED",...}, ...]
 * (order-list entries carry "orders" instead and are skipped: the gateway places none). A covered
 * order missing from it was not open any more: not_found, and the caller queries it.
 */
export function fromBinanceMassCancel(res: HttpResponse, covers: readonly TranslateInput[], rules: TranslatorRules = binanceRules): Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError> {
  const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return err({ kind: "protocol", reason: "venue mass-cancel answer is not a list" });
  const out = new Map<string, Result<VenueOrderUpdate, VenueError>>();
  for (const entry of json.value as unknown[]) {
    if (entry === null || typeof entry !== "object") continue;
    const e = entry as Record<string, unknown>;
    const orig = e["origClientOrderId"];
    const c = covers.find((x) => x.order.venueClientOrderId === orig || (x.order.venueOrderId !== "" && x.order.venueOrderId === String(e["orderId"])));
    if (c !== undefined) out.set(c.order.orderId, parseOrderAnswer(entry, rules));
  }
  for (const c of covers) if (!out.has(c.order.orderId)) out.set(c.order.orderId, err({ kind: "not_found", reason: "not among the orders the venue canceled" }));
  return ok(out);
}

/**
 * Binance's two native replaces (rest-api.md, venue-apis.md 8.1):
 * - a quantity decrease alone: `PUT /api/v3/order/amend/keepPriority` (`newQty`, 0 < newQty <
 *   the order's quantity; same order, same client id, queue priority kept; weight 4);
 * - anything else: `POST /api/v3/order/cancelReplace` with `cancelReplaceMode=STOP_ON_FAILURE`
 *   (the new order is placed only if the cancel succeeded, atomically at the venue), the new
 *   order carrying the remainder (new total - filled) under the derived venue client id.
 * A cancelReplace whose cancel failed (the order filled) or whose new order failed after the
 * cancel (HTTP 409) is an error -2021 -> rejected; the gateway then queries the old order and
 * answers with what it finds (FILLED, or CANCELED with nothing live).
 */
export function binanceAmend(rules: TranslatorRules = binanceRules): AmendHook {
  const keepPriority = (order: Order, amend: VenueAmend): boolean =>
    amend.price === order.price && amend.stopPrice === order.stopPrice && compare(amend.quantity, order.quantity) < 0;
  return {
    weight: BINANCE.amendWeight,
    check: () => undefined,
    request(input, amend) {
      const o = input.order;
      if (keepPriority(o, amend)) {
        return ok({
          method: "PUT",
          path: BINANCE.amendKeepPriorityPath,
          query: [
            ["symbol", input.venueSymbol],
            ["origClientOrderId", o.venueClientOrderId],
            ["newQty", formatDecimal(amend.quantity)],
          ],
          body: "",
        });
      }
      const remainder = sub(amend.quantity, o.filledQuantity === "" ? "0" : o.filledQuantity).toFixed();
      const leg: Order = { ...o, quantity: remainder, price: amend.price, stopPrice: amend.stopPrice, venueClientOrderId: amend.venueClientOrderId, venueOrderId: "" };
      const place = translateRequest("place", { order: leg, venueSymbol: input.venueSymbol }, rules);
      if (!place.ok) return place;
      return ok({
        ...place.value,
        method: "POST",
        path: BINANCE.cancelReplacePath,
        query: [...place.value.query, ["cancelReplaceMode", "STOP_ON_FAILURE"], ["cancelOrigClientOrderId", o.venueClientOrderId]],
      });
    },
    parse(res, input, amend) {
      const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
      if (!json.ok) return json;
      const body = json.value as { amendedOrder?: unknown; newOrderResponse?: unknown; newOrderResult?: unknown } | null;
      if (keepPriority(input.order, amend)) {
        const u = parseOrderAnswer(body?.amendedOrder, rules);
        return u.ok ? ok({ update: u.value, newVenueOrder: false }) : u;
      }
      if (body?.newOrderResult !== "SUCCESS") return err({ kind: "protocol", reason: "cancelReplace answer without a successful new order" });
      const u = parseOrderAnswer(body.newOrderResponse, rules);
      return u.ok ? ok({ update: u.value, newVenueOrder: true }) : u;
    },
  };
}

/** GET /api/v3/openOrders without symbol: every symbol's open orders in one answer (no paging). */
export function toBinanceOpenOrdersRequest(): UnsignedRequest {
  return { method: "GET", path: BINANCE.openOrdersPath, query: [], body: "" };
}

export function fromBinanceOpenOrders(res: HttpResponse, rules: TranslatorRules = binanceRules): Result<{ orders: VenueOpenOrder[] }, VenueError> {
  const json = parseJsonAnswer(res, (status, body) => mapBinanceError(status, body, res.headers));
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return err({ kind: "protocol", reason: "venue open-order list is not a list" });
  const orders = parseOpenOrderList(json.value, binanceOpenOrderPaths, rules);
  return orders.ok ? ok({ orders: orders.value }) : orders;
}
