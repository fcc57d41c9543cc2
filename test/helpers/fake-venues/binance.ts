import { createHmac, timingSafeEqual } from "node:crypto";
import type { Behaviour, FakeAnswer, FakeDialect, FakeEngine, FakeOrder, FakeRequest, Operation } from "./fake-venue-server.js";
import { averagePrice } from "./fake-venue-server.js";

const STATUS: Record<FakeOrder["state"], string> = { new: "NEW", partial: "PARTIALLY_FILLED", filled: "FILLED", canceled: "CANCELED" };

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
  function render(o: FakeOrder, behaviour: Behaviour | undefined, withFills: boolean): Record<string, unknown> {
    return {
      symbol: o.symbol,
      orderId: Number(o.venueOrderId.split("-").pop()),
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
      ...(withFills
        ? { fills: o.fills.map((f) => ({ price: f.price, qty: f.qty, commission: "0.00000000", commissionAsset: "USDT", tradeId: f.tradeId })) }
        : {}),
    };
  }
  return {
    name: "binance",
    operation(req) {
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
        return { status: 200, headers: weightHeader(), body: render(o, behaviour, true) };
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

export { averagePrice };
