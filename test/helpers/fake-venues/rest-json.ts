import type { FakeAnswer, FakeDialect, FakeOrder, FakeRequest } from "./fake-venue-server.js";
import { averagePrice } from "./fake-venue-server.js";

const STATE: Record<FakeOrder["state"], string> = { new: "open", partial: "partial", filled: "done", canceled: "cancelled" };

/**
 * A made-up venue with the "common shape" (test/fixtures/venues/contract-venues.yaml
 * describes it to the gateway with translator rules only):
 * POST /api/orders {clientId, market, side, kind, amount, limit, tif} -> {"order":{...}}
 * GET /api/orders/by-client/{clientId}; DELETE /api/orders/{id} -> 204.
 * Auth: X-API-KEY header. Errors: {"error":{"code","message"}}.
 */
export function restJsonDialect(apiKey: string): FakeDialect {
  const fail = (status: number, code: string, message: string): FakeAnswer => ({ status, body: { error: { code, message } } });
  function render(o: FakeOrder, unknownStatus: boolean): Record<string, unknown> {
    return {
      order: {
        id: o.venueOrderId,
        clientId: o.clientOrderId,
        state: unknownStatus ? "sideways" : STATE[o.state],
        executed: o.filled,
        avgPrice: averagePrice(o),
        trades: o.fills.map((f) => ({ id: `t${f.tradeId}`, px: f.price, sz: f.qty, fee: "0.01", feeCcy: "USD", ts: f.timeMs })),
      },
    };
  }
  return {
    name: "rest-json",
    operation(req) {
      if (req.method === "POST" && req.path === "/api/orders") return "place";
      if (req.method === "GET" && req.path.startsWith("/api/orders/by-client/")) return "query";
      if (req.method === "DELETE" && req.path.startsWith("/api/orders/")) return "cancel";
      return undefined;
    },
    authenticate(req: FakeRequest) {
      return req.headers["x-api-key"] === apiKey ? undefined : fail(401, "AUTH", "bad api key");
    },
    handle(op, req, engine, behaviour) {
      if (op === "place") {
        if (behaviour === "reject") return fail(422, "FUNDS", "insufficient funds");
        const b = JSON.parse(req.rawBody) as Record<string, unknown>;
        if (typeof b["amount"] !== "string" || typeof b["market"] !== "string") return fail(400, "BAD", "amount and market are required");
        const o = engine.place({
          clientOrderId: String(b["clientId"]),
          symbol: b["market"],
          side: b["side"] === "bid" ? "BUY" : "SELL",
          type: String(b["kind"]),
          quantity: b["amount"],
          price: typeof b["limit"] === "string" ? b["limit"] : "",
          isMarket: b["kind"] === "mkt",
        });
        if (!o) return fail(409, "DUP", "clientId already used");
        return { status: 201, body: render(o, behaviour === "unknown-status") };
      }
      if (op === "query") {
        const o = engine.orders.get(decodeURIComponent(req.path.slice("/api/orders/by-client/".length)));
        if (!o) return fail(404, "NOT_FOUND", "no such order");
        return { status: 200, body: render(o, behaviour === "unknown-status") };
      }
      const o = engine.byVenueId(decodeURIComponent(req.path.slice("/api/orders/".length)));
      if (!o) return fail(404, "NOT_FOUND", "no such order");
      engine.cancel(o);
      return { status: 204 };
    },
    rateLimited() {
      return { status: 429, headers: { "retry-after": "2" }, body: { error: { code: "SLOW_DOWN", message: "rate limited" } } };
    },
  };
}
