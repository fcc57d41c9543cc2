import type { OpenOrderPaths } from "../open-orders.js";
import type { TranslatorRules } from "../translator.js";

/** Static facts of the Alpaca Trading API v2 (alpaca-docs orders.yaml, order-v2.yaml). */
export const ALPACA = {
  baseUrl: "https://api.alpaca.markets",
  paperBaseUrl: "https://paper-api.alpaca.markets",
  /** Get the account: cash, buying_power, currency, ... (strings). */
  accountPath: "/v2/account",
  /** 200 requests per minute per API key. */
  defaultLimit: { capacity: 200, refillPerSecond: 200 / 60 },
  weights: { place: 1, cancel: 1, query: 1 },
  defaultBackoffMs: { 429: 1_000, 418: 60_000 },
  /** GET /v2/orders?status=open: `limit` defaults to 50, at most 500; `direction` asc|desc; `until` exclusive. */
  ordersPath: "/v2/orders",
  openOrdersPageSize: 500,
} as const;

/**
 * An order object of GET /v2/orders (the same object as every order answer):
 * {"id":"61e69015-...","client_order_id":"eb9e2aaa-...","created_at":"2021-03-16T18:38:01.942282Z","symbol":"AAPL",
 *  "qty":"1","filled_qty":"0","filled_avg_price":null,"type":"limit","side":"buy","time_in_force":"day",
 *  "limit_price":"100","stop_price":null,"status":"new",...}
 */
export const alpacaOpenOrderPaths: OpenOrderPaths = {
  venueOrderId: "id",
  clientOrderId: "client_order_id",
  symbol: "symbol",
  side: "side",
  type: "type",
  timeInForce: "time_in_force",
  quantity: "qty",
  price: "limit_price",
  stopPrice: "stop_price",
  status: "status",
  filledQuantity: "filled_qty",
  averagePrice: "filled_avg_price",
  createdAt: "created_at",
  createdAtUnit: "iso",
};

export const alpacaRules: TranslatorRules = {
  place: {
    method: "POST",
    path: "/v2/orders",
    encoding: "json",
    fields: {
      symbol: "symbol",
      qty: "quantity",
      side: "side",
      type: "type",
      time_in_force: "timeInForce",
      limit_price: { from: "price", when: { type: ["LIMIT", "STOP_LIMIT"] } },
      stop_price: { from: "stopPrice", when: { type: ["STOP", "STOP_LIMIT"] } },
      client_order_id: "clientOrderId",
    },
  },
  // 204 No Content when the cancel request is accepted.
  cancel: { method: "DELETE", path: "/v2/orders/{venueOrderId}", encoding: "query", fields: {} },
  query: { method: "GET", path: "/v2/orders:by_client_order_id", encoding: "query", fields: { client_order_id: "clientOrderId" } },
  enums: {
    side: { BUY: "buy", SELL: "sell" },
    type: { MARKET: "market", LIMIT: "limit", STOP: "stop", STOP_LIMIT: "stop_limit" },
    timeInForce: { DAY: "day", GTC: "gtc", IOC: "ioc", FOK: "fok" },
    status: {
      new: "NEW",
      // Received by Alpaca, not yet routed: the venue holds it.
      accepted: "NEW",
      pending_new: "NEW",
      accepted_for_bidding: "NEW",
      // Working states where the order stays open.
      done_for_day: "NEW",
      stopped: "NEW",
      suspended: "NEW",
      calculated: "NEW",
      pending_replace: "NEW",
      partially_filled: "PARTIALLY_FILLED",
      filled: "FILLED",
      pending_cancel: "PENDING_CANCEL",
      canceled: "CANCELED",
      // The old order of a PATCH replace: gone; the gateway follows the replacement (ReplaceOrder).
      replaced: "CANCELED",
      expired: "EXPIRED",
      rejected: "REJECTED",
    },
  },
  // {"id":"61e69015-...","client_order_id":"eb9e2aaa-...","status":"accepted","filled_qty":"0","filled_avg_price":null,...}
  answer: { venueOrderId: "id", status: "status", filledQuantity: "filled_qty", averagePrice: "filled_avg_price" },
  // partially_filled exists, but calculated/done_for_day may carry fills.
  partialWhenFilled: true,
};
