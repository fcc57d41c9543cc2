import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError, VenueFill, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJsonAnswer } from "../rest-venue-adapter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { parseFills, parseOrderAnswer } from "../translator.js";
import { parseOpenOrderList } from "../open-orders.js";
import type { VenueOpenOrder } from "../../../use-cases/venue-adapter.js";
import { BINANCE, binanceOpenOrderPaths, binanceRules, binanceTradeFields } from "./describe.js";
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
