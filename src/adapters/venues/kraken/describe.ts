import type { OpenOrderPaths } from "../open-orders.js";
import type { TranslatorRules } from "../translator.js";

/** Static facts of Kraken Spot REST (docs.kraken.com spot-rest-auth, add-order, API error messages). */
export const KRAKEN = {
  baseUrl: "https://api.kraken.com",
  addOrderPath: "/0/private/AddOrder",
  cancelOrderPath: "/0/private/CancelOrder",
  queryOrdersPath: "/0/private/QueryOrders",
  /**
   * Get Extended Balance: per asset balance, credit, credit_used and hold_trade, so the held part
   * is known (Balance has the total only). Available = balance + credit - credit_used - hold_trade.
   */
  balanceExPath: "/0/private/BalanceEx",
  /** Cancels every open order of the API key (untriggered ones too); no parameters but the nonce; result {"count": n}. */
  cancelAllPath: "/0/private/CancelAll",
  /** Dead-man switch: docs.kraken.com/api-reference/trading/cancel-all-orders-after (docs/venues.md). */
  cancelAllOrdersAfterPath: "/0/private/CancelAllOrdersAfter",
  /** AmendOrder: JSON body (docs.kraken.com/api/docs/rest-api/amend-order); keeps txid and cl_ord_id. */
  amendOrderPath: "/0/private/AmendOrder",
  /** Open orders: result.open keyed by txid; no paging. */
  openOrdersPath: "/0/private/OpenOrders",
  /** "all requests must specify a User-Agent". */
  userAgent: "trading-gateway/0.1",
  /** Kraken counts calls per key with a decaying counter; one unit per call is the documented base cost. */
  weights: { place: 1, cancel: 1, query: 1 },
  defaultBackoffMs: { 429: 5_000, 418: 120_000 },
} as const;

/**
 * All private endpoints take a form body; the signer puts `nonce` first.
 * `price` is the limit price of a limit order but the trigger price of stop
 * orders, whose limit goes in `price2` (hence the `#` aliases).
 */
export const krakenRules: TranslatorRules = {
  place: {
    method: "POST",
    path: KRAKEN.addOrderPath,
    encoding: "form",
    fields: {
      ordertype: "type",
      pair: "symbol",
      "price#limit": { from: "price", when: { type: ["LIMIT"] } },
      "price#stop": { from: "stopPrice", when: { type: ["STOP", "STOP_LIMIT"] } },
      price2: { from: "price", when: { type: ["STOP_LIMIT"] } },
      type: "side",
      volume: "quantity",
      // GTC is Kraken's default: sent only when it is not GTC, which keeps the
      // body identical to the documented example for the common case.
      timeinforce: { from: "timeInForce", when: { type: ["LIMIT", "STOP_LIMIT"], timeInForce: ["IOC"] } },
      cl_ord_id: "clientOrderId",
    },
  },
  cancel: { method: "POST", path: KRAKEN.cancelOrderPath, encoding: "form", fields: { cl_ord_id: "clientOrderId" } },
  query: { method: "POST", path: KRAKEN.queryOrdersPath, encoding: "form", fields: { cl_ord_id: "clientOrderId" } },
  enums: {
    side: { BUY: "buy", SELL: "sell" },
    type: { MARKET: "market", LIMIT: "limit", STOP: "stop-loss", STOP_LIMIT: "stop-loss-limit" },
    // GTD needs an expiry the gateway does not carry; FOK and DAY do not exist on Kraken Spot REST.
    timeInForce: { GTC: "GTC", IOC: "IOC" },
    status: {
      pending: "NEW",
      open: "NEW",
      closed: "FILLED",
      canceled: "CANCELED",
      expired: "EXPIRED",
    },
  },
  // QueryOrders: {"error":[],"result":{"OUF4EM-FRGI2-MQMWZD":{"status":"open","vol":"1.25","vol_exec":"0.5","cost":"...","price":"37500.0","reason":null,...}}}
  // The parser lifts the single entry and adds its key as `txid`.
  // `fee` is the order's running fee total in the quote currency: each synthesized fill carries its increase.
  answer: { venueOrderId: "txid", status: "status", filledQuantity: "vol_exec", averagePrice: "price", cumulativeQuote: "cost", cumulativeFee: "fee", rejectReason: "reason" },
  // Kraken reports "open" for partly filled orders.
  partialWhenFilled: true,
};

/**
 * One entry of OpenOrders `result.open` (keyed by txid; the parser adds the key as `txid`), docs
 * "Get Open Orders" example: {"refid":"None","userref":0,"status":"open","opentm":1688666559.8974,
 * "descr":{"pair":"XBTUSD","type":"buy","ordertype":"limit","price":"30010.0","price2":"0",...},
 * "vol":"1.25000000","vol_exec":"0.37500000","cost":"11253.7","fee":"0.00000","price":"30010.0",
 * "stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq"}. `cl_ord_id` is read when
 * present (the request takes it as a filter and the WebSocket openOrders entries carry it;
 * its presence in the REST entry is UNVERIFIED, see docs/venues.md). `price` there is the average
 * fill price; the limit price is `descr.price`.
 */
export const krakenOpenOrderPaths: OpenOrderPaths = {
  venueOrderId: "txid",
  clientOrderId: "cl_ord_id",
  symbol: "descr.pair",
  side: "descr.type",
  type: "descr.ordertype",
  quantity: "vol",
  price: "descr.price",
  status: "status",
  filledQuantity: "vol_exec",
  averagePrice: "price",
  cumulativeQuote: "cost",
  createdAt: "opentm",
  createdAtUnit: "s",
};
