import type { OpenOrderPaths } from "../open-orders.js";
import type { FillsRule, TranslatorRules } from "../translator.js";

/**
 * Static facts of Binance Spot REST (binance-spot-api-docs rest-api.md,
 * enums.md, errors.md). Deployment facts (base URL, keys, symbols) come from
 * the venue file.
 */
export const BINANCE = {
  baseUrl: "https://api.binance.com",
  testnetBaseUrl: "https://testnet.binance.vision",
  orderPath: "/api/v3/order",
  /**
   * Open orders: GET lists them (`symbol` optional; weight 6 with a symbol, 80 without); DELETE
   * cancels all on a symbol (symbol required, weight 1; answers an array of canceled orders).
   */
  openOrdersPath: "/api/v3/openOrders",
  massCancelWeight: 1,
  /** Account trade list: GET, symbol + orderId, weight 20 with orderId. */
  myTradesPath: "/api/v3/myTrades",
  myTradesWeight: 20,
  /** Account information (USER_DATA): GET, weight 20; omitZeroBalances=true lists non-zero balances only. */
  accountPath: "/api/v3/account",
  accountWeight: 20,
  /** Amend keeping priority (quantity decrease only), weight 4 (venue-apis.md 8.1). */
  amendKeepPriorityPath: "/api/v3/order/amend/keepPriority",
  /** Cancel an order and place a new one, atomically with STOP_ON_FAILURE; weight 1. */
  cancelReplacePath: "/api/v3/order/cancelReplace",
  /** One outbound weight for either amend request: the larger (keepPriority's 4). */
  amendWeight: 4,
  /** GET openOrders without a symbol (all symbols, one request). */
  openOrdersWeight: 80,
  /** Documented default; at most 60000. */
  recvWindowMs: 5000,
  /** Request weights: new order 1, cancel 1, query order 4. */
  weights: { place: 1, cancel: 1, query: 4 },
  /** exchangeInfo example: REQUEST_WEIGHT 6000 per minute. */
  defaultLimit: { capacity: 6000, refillPerSecond: 100 },
  /** 418 bans scale from 2 minutes to 3 days; without Retry-After assume the shortest. */
  defaultBackoffMs: { 429: 1_000, 418: 120_000 },
} as const;

/**
 * One entry of the myTrades answer (an array):
 * {"symbol":"BNBBTC","id":28457,"orderId":100234,"orderListId":-1,"price":"4.00000100","qty":"12.00000000",
 *  "quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB","time":1499865549590,
 *  "isBuyer":true,"isMaker":false,"isBestMatch":true}
 * `id` is the same trade id FULL order answers call `tradeId`, so both de-duplicate together.
 */
export const binanceTradeFields: FillsRule = {
  path: "",
  tradeId: "id",
  price: "price",
  quantity: "qty",
  fee: "commission",
  feeCurrency: "commissionAsset",
  timeMs: "time",
};

/**
 * Every parameter goes in the query string (the current documented wire
 * form, also for POST/DELETE), which keeps one signing path for all calls.
 */
export const binanceRules: TranslatorRules = {
  place: {
    method: "POST",
    path: BINANCE.orderPath,
    encoding: "query",
    fields: {
      symbol: "symbol",
      side: "side",
      type: "type",
      timeInForce: { from: "timeInForce", when: { type: ["LIMIT", "STOP_LIMIT"] } },
      quantity: "quantity",
      price: { from: "price", when: { type: ["LIMIT", "STOP_LIMIT"] } },
      stopPrice: { from: "stopPrice", when: { type: ["STOP", "STOP_LIMIT"] } },
      newClientOrderId: "clientOrderId",
      // FULL carries status, executedQty and the fills of an immediate match.
      newOrderRespType: { value: "FULL" },
    },
  },
  cancel: {
    method: "DELETE",
    path: BINANCE.orderPath,
    encoding: "query",
    fields: { symbol: "symbol", origClientOrderId: "clientOrderId" },
  },
  query: {
    method: "GET",
    path: BINANCE.orderPath,
    encoding: "query",
    fields: { symbol: "symbol", origClientOrderId: "clientOrderId" },
  },
  enums: {
    side: { BUY: "BUY", SELL: "SELL" },
    type: { MARKET: "MARKET", LIMIT: "LIMIT", STOP: "STOP_LOSS", STOP_LIMIT: "STOP_LOSS_LIMIT" },
    timeInForce: { GTC: "GTC", IOC: "IOC", FOK: "FOK" },
    status: {
      NEW: "NEW",
      // Binance uses PENDING_NEW for orders of a list not yet on the book: the venue has them.
      PENDING_NEW: "NEW",
      PARTIALLY_FILLED: "PARTIALLY_FILLED",
      FILLED: "FILLED",
      CANCELED: "CANCELED",
      PENDING_CANCEL: "PENDING_CANCEL",
      REJECTED: "REJECTED",
      EXPIRED: "EXPIRED",
      EXPIRED_IN_MATCH: "EXPIRED",
    },
  },
  // {"symbol":"BTCUSDT","orderId":28,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,
  //  "executedQty":"10.00000000","cummulativeQuoteQty":"10.00000000","status":"FILLED",...,"fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56}]}
  answer: {
    venueOrderId: "orderId",
    status: "status",
    filledQuantity: "executedQty",
    cumulativeQuote: "cummulativeQuoteQty",
    fills: { path: "fills", tradeId: "tradeId", price: "price", quantity: "qty", fee: "commission", feeCurrency: "commissionAsset" },
  },
};

/**
 * One entry of the openOrders answer (an array), rest-api.md "Current open orders":
 * {"symbol":"LTCBTC","orderId":1,"orderListId":-1,"clientOrderId":"myOrder1","price":"0.1","origQty":"1.0",
 *  "executedQty":"0.0","cummulativeQuoteQty":"0.0","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY",
 *  "stopPrice":"0.0","icebergQty":"0.0","time":1499827319559,"updateTime":1499827319559,"isWorking":true,...}
 */
export const binanceOpenOrderPaths: OpenOrderPaths = {
  venueOrderId: "orderId",
  clientOrderId: "clientOrderId",
  symbol: "symbol",
  side: "side",
  type: "type",
  timeInForce: "timeInForce",
  quantity: "origQty",
  price: "price",
  stopPrice: "stopPrice",
  status: "status",
  filledQuantity: "executedQty",
  cumulativeQuote: "cummulativeQuoteQty",
  createdAt: "time",
  createdAtUnit: "ms",
};
