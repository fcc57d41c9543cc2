import { createHmac, timingSafeEqual } from "node:crypto";
import { Decimal } from "decimal.js";
import type { Behaviour, FakeAnswer, FakeDialect, FakeEngine, FakeOrder, FakeRequest, Operation } from "./fake-venue-server.js";
import { averagePrice, openOrdersOf } from "./fake-venue-server.js";

const STATUS: Record<FakeOrder["state"], string> = { new: "NEW", partial: "PARTIALLY_FILLED", filled: "FILLED", canceled: "CANCELED" };

/** The fake charges 0.1 % of the traded quote value, in USDT, so tests can tell real commissions from "0". */
export function fakeCommission(qty: string, price: string): string {
  return new Decimal(qty).times(price).times("0.001").toFixed(8);
}

/**
 * Binance Spot as documented in rest-api.md: HMAC-SHA256 over the query
 * string concatenated with the body (signature parameter excluded),
 * X-MBX-APIKEY, timestamp within recvWindow; error bodies {"code","msg"}.
 */
export function binanceDialect(apiKey: string, apiSecret: string, opts: { usedWeight?: () => number } = {}): FakeDialect {
  const weightHeader = (): Record<string, string> => (opts.usedWeight ? { "x-mbx-used-weight-1m": String(opts.usedWeight()) } : {});
  function err(status: number, code: number, msg: string): FakeAnswer {
    return { status, body: { code, msg } };
  }
  function render(o: FakeOrder, behaviour: Behaviour | undefined, withFills: boolean, respType = "RESULT"): Record<string, unknown> {
    const ack = { symbol: o.symbol, orderId: venueOrderNumber(o), orderListId: -1, clientOrderId: o.clientOrderId, transactTime: o.createdMs };
    if (respType === "ACK") return ack;
    return {
      symbol: o.symbol,
      orderId: venueOrderNumber(o),
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      transactTime: o.createdMs,
      price: o.price === "" ? "0.00000000" : o.price,
      origQty: o.quantity,
      executedQty: o.filled,
      cummulativeQuoteQty: o.quote,
      status: behaviour === "unknown-status" ? "HALF_BAKED" : STATUS[o.state],
      timeInForce: "GTC",
      type: o.type,
      side: o.side,
      ...(withFills && respType === "FULL"
        ? { fills: o.fills.map((f) => ({ price: f.price, qty: f.qty, commission: fakeCommission(f.qty, f.price), commissionAsset: "USDT", tradeId: f.tradeId })) }
        : {}),
    };
  }
  /** GET /api/v3/myTrades entries, as documented. */
  function trades(o: FakeOrder): Array<Record<string, unknown>> {
    return o.fills.map((f) => ({
      symbol: o.symbol,
      id: f.tradeId,
      orderId: venueOrderNumber(o),
      orderListId: -1,
      price: f.price,
      qty: f.qty,
      quoteQty: new Decimal(f.qty).times(f.price).toFixed(8),
      commission: fakeCommission(f.qty, f.price),
      commissionAsset: "USDT",
      time: f.timeMs,
      isBuyer: o.side === "BUY",
      isMaker: false,
      isBestMatch: true,
    }));
  }
  return {
    name: "binance",
    operation(req) {
      if (req.path === "/api/v3/myTrades") return req.method === "GET" ? "trades" : undefined;
      if (req.path === "/api/v3/account") return req.method === "GET" ? "balances" : undefined;
      if (req.path === "/api/v3/openOrders") return req.method === "DELETE" ? "cancelAll" : req.method === "GET" ? "openOrders" : undefined;
      if (req.path === "/api/v3/order/amend/keepPriority") return req.method === "PUT" ? "amend" : undefined;
      if (req.path === "/api/v3/order/cancelReplace") return req.method === "POST" ? "amend" : undefined;
      if (req.path !== "/api/v3/order") return undefined;
      return req.method === "POST" ? "place" : req.method === "DELETE" ? "cancel" : req.method === "GET" ? "query" : undefined;
    },
    authenticate(req: FakeRequest) {
      if (req.headers["x-mbx-apikey"] !== apiKey) return err(401, -2015, "Invalid API-key, IP, or permissions for action.");
      const m = /(?:^|&)signature=([0-9a-fA-F]+)$/.exec(req.rawQuery);
      if (!m) return err(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
      const signedPart = req.rawQuery.slice(0, m.index);
      const expected = createHmac("sha256", apiSecret).update(signedPart + req.rawBody).digest();
      const got = Buffer.from(m[1]!.toLowerCase(), "hex");
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return err(400, -1022, "Signature for this request is not valid.");
      const params = new URLSearchParams(signedPart);
      const ts = Number(params.get("timestamp"));
      const recv = Number(params.get("recvWindow") ?? "5000");
      const server = Date.now();
      if (!(ts < server + 1000 && server - ts <= recv)) return err(400, -1021, "Timestamp for this request is outside of the recvWindow.");
      return undefined;
    },
    handle(op: Operation, req: FakeRequest, engine: FakeEngine, behaviour) {
      const p = new URLSearchParams(req.rawQuery + (req.rawBody ? `&${req.rawBody}` : ""));
      if (op === "place") {
        if (behaviour === "reject") return err(400, -2010, "Account has insufficient balance for requested action.");
        const type = p.get("type") ?? "";
        for (const k of ["symbol", "side", "type", "quantity"]) {
          if (!p.get(k)) return err(400, -1102, `Mandatory parameter '${k}' was not sent, was empty/null, or malformed.`);
        }
        if (type === "LIMIT" && (!p.get("price") || !p.get("timeInForce"))) return err(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
        if (type === "MARKET" && (p.get("price") || p.get("timeInForce"))) return err(400, -1106, "Parameter 'price' sent when not required.");
        const o = engine.place({
          clientOrderId: p.get("newClientOrderId") ?? `auto-${Math.random()}`,
          symbol: p.get("symbol")!,
          side: p.get("side") as "BUY" | "SELL",
          type,
          quantity: p.get("quantity")!,
          price: p.get("price") ?? "",
          isMarket: type === "MARKET",
        });
        if (!o) return err(400, -2010, "Duplicate order sent.");
        // Documented default: FULL for MARKET and LIMIT, ACK for the other types.
        const respType = p.get("newOrderRespType") ?? (type === "MARKET" || type === "LIMIT" ? "FULL" : "ACK");
        return { status: 200, headers: weightHeader(), body: render(o, behaviour, true, respType) };
      }
      if (op === "balances") {
        // Documented: omitZeroBalances=true "emits only the non-zero balances of an account".
        const omitZero = p.get("omitZeroBalances") === "true";
        const balances = engine.balances
          .filter((b) => !omitZero || Number(b.free) !== 0 || Number(b.locked) !== 0)
          .map((b) => ({ asset: b.asset, free: new Decimal(b.free).toFixed(8), locked: new Decimal(b.locked).toFixed(8) }));
        return {
          status: 200,
          headers: weightHeader(),
          body: { makerCommission: 15, takerCommission: 15, canTrade: true, canWithdraw: true, canDeposit: true, updateTime: Date.now(), accountType: "SPOT", balances, permissions: ["SPOT"], uid: 354937868 },
        };
      }

      if (op === "amend" && req.path.endsWith("/keepPriority")) {
        // rest-api.md: newQty must be > 0 and < the order's quantity; same order, same client id.
        const o = engine.orders.get(p.get("origClientOrderId") ?? "");
        if (!o || o.symbol !== p.get("symbol")) return err(400, -2013, "Order does not exist.");
        const q = p.get("newQty") ?? "";
        if (!(Number(q) > 0 && Number(q) < Number(o.quantity))) return err(400, -1013, "newQty must be greater than 0 and less than the order's quantity.");
        if (!engine.amend(o, { quantity: q })) return err(400, -2013, "Order does not exist.");
        return { status: 200, headers: weightHeader(), body: { transactTime: Date.now(), executionId: 1, amendedOrder: render(o, behaviour, false) } };
      }
      if (op === "amend") {
        // cancelReplace with STOP_ON_FAILURE: the new order only if the cancel succeeded; -2021 otherwise.
        if (p.get("cancelReplaceMode") !== "STOP_ON_FAILURE") return err(400, -1102, "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed.");
        const old = engine.orders.get(p.get("cancelOrigClientOrderId") ?? "");
        const failed = (status: number, cancelResult: string, newOrderResult: string): FakeAnswer => ({
          status,
          body: { code: -2021, msg: "Order cancel-replace partially failed.", data: { cancelResult, newOrderResult, cancelResponse: { code: -2011, msg: "Unknown order sent." }, newOrderResponse: null } },
        });
        if (!old || old.symbol !== p.get("symbol") || (old.state !== "new" && old.state !== "partial")) return failed(400, "FAILURE", "NOT_ATTEMPTED");
        engine.cancel(old);
        const type = p.get("type") ?? "";
        const o =
          behaviour === "reject"
            ? undefined
            : engine.place({ clientOrderId: p.get("newClientOrderId") ?? `auto-${Math.random()}`, symbol: p.get("symbol")!, side: p.get("side") as "BUY" | "SELL", type, quantity: p.get("quantity") ?? "", price: p.get("price") ?? "", isMarket: type === "MARKET" });
        if (!o) return failed(409, "SUCCESS", "FAILURE");
        return { status: 200, headers: weightHeader(), body: { cancelResult: "SUCCESS", newOrderResult: "SUCCESS", cancelResponse: render(old, undefined, false), newOrderResponse: render(o, behaviour, true, p.get("newOrderRespType") ?? "FULL") } };
      }
      if (op === "openOrders") {
        // rest-api.md "Current open orders": symbol optional; without it, every symbol's.
        const symbol = p.get("symbol");
        const list = openOrdersOf(engine).filter((o) => symbol === null || o.symbol === symbol);
        return {
          status: 200,
          headers: weightHeader(),
          body: list.map((o) => ({ ...render(o, behaviour, false), stopPrice: "0.00000000", icebergQty: "0.00000000", time: o.createdMs, updateTime: o.createdMs, isWorking: true })),
        };
      }
      if (op === "trades") {
        if (!p.get("symbol")) return err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        const o = [...engine.orders.values()].find((x) => String(venueOrderNumber(x)) === p.get("orderId") && x.symbol === p.get("symbol"));
        return { status: 200, headers: weightHeader(), body: o === undefined ? [] : trades(o) };
      }
      if (op === "cancelAll") {
        // DELETE /api/v3/openOrders: every open order of the symbol, in the cancel layout (origClientOrderId = the order's).
        const symbol = p.get("symbol");
        if (!symbol) return err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        const open = engine.open().filter((x) => x.symbol === symbol);
        if (open.length === 0) return err(400, -2011, "Unknown order sent.");
        for (const x of open) engine.cancel(x);
        return {
          status: 200,
          headers: weightHeader(),
          body: open.map((x) => ({ ...render(x, behaviour, false), origClientOrderId: x.clientOrderId, clientOrderId: `cancel-${x.clientOrderId}` })),
        };
      }
      const o = engine.orders.get(p.get("origClientOrderId") ?? "");
      if (!o || o.symbol !== p.get("symbol")) return op === "cancel" ? err(400, -2011, "Unknown order sent.") : err(400, -2013, "Order does not exist.");
      if (op === "cancel") engine.cancel(o);
      return { status: 200, headers: weightHeader(), body: render(o, behaviour, false) };
    },
    rateLimited(status) {
      return {
        status,
        headers: { "retry-after": status === 418 ? "120" : "1" },
        body: { code: -1003, msg: status === 418 ? "Way too much request weight used; IP banned until 1700000000000." : "Too much request weight used; current limit is 6000 request weight per 1 MINUTE." },
      };
    },
  };
}

function venueOrderNumber(o: FakeOrder): number {
  return Number(o.venueOrderId.split("-").pop());
}

export { averagePrice };
