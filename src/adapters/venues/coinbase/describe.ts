import type { OpenOrderPaths } from "../open-orders.js";
import type { TranslatorRules } from "../translator.js";

/**
 * Static facts of Coinbase Advanced Trade (docs.cdp.coinbase.com create-order,
 * get-order; official SDK coinbase-advanced-py orders.py / jwt_generator.py).
 */
export const COINBASE = {
  baseUrl: "https://api.coinbase.com",
  ordersPath: "/api/v3/brokerage/orders",
  cancelPath: "/api/v3/brokerage/orders/batch_cancel",
  /**
   * Ids per batch_cancel request. The API reference states no maximum (UNVERIFIED, docs/venues.md);
   * 100 keeps a request small and matches the list endpoints' page size.
   */
  batchCancelMax: 100,
  getPathPrefix: "/api/v3/brokerage/orders/historical/",
  listPath: "/api/v3/brokerage/orders/historical/batch",
  /** List Accounts: limit (default 49, max 250), cursor; answers has_next and cursor. */
  accountsPath: "/api/v3/brokerage/accounts",
  accountsPageLimit: 250,
  /** Edit Order: price and size of a GTC limit order, in place. */
  editPath: "/api/v3/brokerage/orders/edit",
  /** List Orders page size for the open-order listing (order_status=OPEN, cursor paging). */
  openOrdersPageSize: 250,
  /** "Your JWT expires after 2 minutes". */
  jwtLifetimeSeconds: 120,
  weights: { place: 1, cancel: 1, query: 1 },
  defaultBackoffMs: { 429: 1_000, 418: 60_000 },
} as const;

const LIMIT_GTC = { type: ["LIMIT" as const], timeInForce: ["GTC" as const] };
const LIMIT_IOC = { type: ["LIMIT" as const], timeInForce: ["IOC" as const] };
const LIMIT_FOK = { type: ["LIMIT" as const], timeInForce: ["FOK" as const] };
const STOP_LIMIT_GTC = { type: ["STOP_LIMIT" as const], timeInForce: ["GTC" as const] };

/**
 * The order configuration object's key encodes type and time in force
 * (`limit_limit_gtc`, `market_market_ioc`, ...); the rules express it with
 * `when` conditions on nested (dotted) fields.
 */
export const coinbaseRules: TranslatorRules = {
  place: {
    method: "POST",
    path: COINBASE.ordersPath,
    encoding: "json",
    fields: {
      client_order_id: "clientOrderId",
      product_id: "symbol",
      side: "side",
      "order_configuration.market_market_ioc.base_size": { from: "quantity", when: { type: ["MARKET"] } },
      "order_configuration.limit_limit_gtc.base_size": { from: "quantity", when: LIMIT_GTC },
      "order_configuration.limit_limit_gtc.limit_price": { from: "price", when: LIMIT_GTC },
      "order_configuration.limit_limit_gtc.post_only": { value: false, when: LIMIT_GTC },
      "order_configuration.sor_limit_ioc.base_size": { from: "quantity", when: LIMIT_IOC },
      "order_configuration.sor_limit_ioc.limit_price": { from: "price", when: LIMIT_IOC },
      "order_configuration.limit_limit_fok.base_size": { from: "quantity", when: LIMIT_FOK },
      "order_configuration.limit_limit_fok.limit_price": { from: "price", when: LIMIT_FOK },
      "order_configuration.stop_limit_stop_limit_gtc.base_size": { from: "quantity", when: STOP_LIMIT_GTC },
      "order_configuration.stop_limit_stop_limit_gtc.limit_price": { from: "price", when: STOP_LIMIT_GTC },
      "order_configuration.stop_limit_stop_limit_gtc.stop_price": { from: "stopPrice", when: STOP_LIMIT_GTC },
      // A buy stop triggers on the way up, a sell stop on the way down.
      "order_configuration.stop_limit_stop_limit_gtc.stop_direction#buy": {
        value: "STOP_DIRECTION_STOP_UP",
        when: { ...STOP_LIMIT_GTC, side: ["BUY"] },
      },
      "order_configuration.stop_limit_stop_limit_gtc.stop_direction#sell": {
        value: "STOP_DIRECTION_STOP_DOWN",
        when: { ...STOP_LIMIT_GTC, side: ["SELL"] },
      },
    },
  },
  // The body {"order_ids":[...]} is an array: built in translate.ts.
  cancel: { method: "POST", path: COINBASE.cancelPath, encoding: "json", fields: {} },
  query: { method: "GET", path: `${COINBASE.getPathPrefix}{venueOrderId}`, encoding: "query", fields: {} },
  enums: {
    side: { BUY: "BUY", SELL: "SELL" },
    type: { MARKET: "MARKET", LIMIT: "LIMIT", STOP_LIMIT: "STOP_LIMIT" },
    timeInForce: { GTC: "GOOD_UNTIL_CANCELLED", IOC: "IMMEDIATE_OR_CANCEL", FOK: "FILL_OR_KILL" },
    // UNVERIFIED against the official OpenAPI (see venue-apis.md 4.1); values
    // from third-party schemas and test data. Anything else is a protocol error.
    status: {
      PENDING: "NEW",
      QUEUED: "NEW",
      OPEN: "NEW",
      EDIT_QUEUED: "NEW",
      CANCEL_QUEUED: "PENDING_CANCEL",
      FILLED: "FILLED",
      CANCELLED: "CANCELED",
      EXPIRED: "EXPIRED",
      FAILED: "REJECTED",
    },
  },
  // GET .../historical/{id}: {"order":{"order_id":"...","client_order_id":"...","status":"OPEN","filled_size":"0","average_filled_price":"0",...}}
  answer: {
    root: "order",
    venueOrderId: "order_id",
    status: "status",
    filledQuantity: "filled_size",
    averagePrice: "average_filled_price",
    // The order's running fee total in the quote currency: each synthesized fill carries its increase.
    cumulativeFee: "total_fees",
    rejectReason: "reject_reason",
  },
  partialWhenFilled: true,
};

/** Type / time-in-force pairs that have an order configuration. */
export const COINBASE_SHAPES: ReadonlySet<string> = new Set(["MARKET", "LIMIT/GTC", "LIMIT/IOC", "LIMIT/FOK", "STOP_LIMIT/GTC"]);

/**
 * One entry of List Orders (`orders[]`), as documented: {"order_id":"...","product_id":"BTC-USD",
 * "order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"45000.00","post_only":false}},
 * "side":"BUY","client_order_id":"...","status":"OPEN","time_in_force":"GOOD_UNTIL_CANCELLED",
 * "created_time":"2024-01-15T10:00:00Z","filled_size":"0","average_filled_price":"0","order_type":"LIMIT",...}.
 * The parser lifts the one configuration object to `_config` (its key names the shape).
 */
export const coinbaseOpenOrderPaths: OpenOrderPaths = {
  venueOrderId: "order_id",
  clientOrderId: "client_order_id",
  symbol: "product_id",
  side: "side",
  type: "order_type",
  timeInForce: "time_in_force",
  quantity: "_config.base_size",
  price: "_config.limit_price",
  stopPrice: "_config.stop_price",
  status: "status",
  filledQuantity: "filled_size",
  averagePrice: "average_filled_price",
  createdAt: "created_time",
  createdAtUnit: "iso",
};
