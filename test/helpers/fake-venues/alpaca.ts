import type { FakeAnswer, FakeDialect, FakeOrder, FakeRequest } from "./fake-venue-server.js";
import { averagePrice, openOrdersOf } from "./fake-venue-server.js";

const STATUS: Record<FakeOrder["state"], string> = { new: "new", partial: "partially_filled", filled: "filled", canceled: "canceled" };

/** An order object as every Alpaca order answer (and the trade_updates stream) carries it. */
export function renderAlpacaOrder(o: FakeOrder, unknownStatus = false): Record<string, unknown> {
  return {
    id: o.venueOrderId,
    client_order_id: o.clientOrderId,
    created_at: new Date(o.createdMs).toISOString(),
    symbol: o.symbol,
    asset_class: "us_equity",
    qty: o.quantity,
    filled_qty: o.filled,
    filled_avg_price: o.state === "new" ? null : averagePrice(o),
    order_class: "",
    type: o.type,
    side: o.side.toLowerCase(),
    time_in_force: "day",
    limit_price: o.price === "" ? null : o.price,
    status: unknownStatus ? "teleported" : STATUS[o.state],
  };
}

/** Alpaca Trading API v2: key/secret headers, JSON bodies, decimals as strings, {"code","message"} errors. */
export function alpacaDialect(keyId: string, secretKey: string): FakeDialect {
  const fail = (status: number, code: number, message: string): FakeAnswer => ({ status, body: { code, message } });
  return {
    name: "alpaca",
    operation(req) {
      if (req.method === "GET" && req.path === "/v2/account") return "balances";
      if (req.method === "POST" && req.path === "/v2/orders") return "place";
      if (req.method === "GET" && req.path === "/v2/orders:by_client_order_id") return "query";
      if (req.method === "GET" && req.path === "/v2/orders") return "openOrders";
      if (req.method === "DELETE" && req.path.startsWith("/v2/orders/")) return "cancel";
      if (req.method === "DELETE" && req.path === "/v2/orders") return "cancelAll";
      if (req.method === "PATCH" && req.path.startsWith("/v2/orders/")) return "amend";
      return undefined;
    },
    authenticate(req: FakeRequest) {
      if (req.headers["apca-api-key-id"] !== keyId || req.headers["apca-api-secret-key"] !== secretKey) {
        return fail(401, 40110000, "request is not authorized");
      }
      return undefined;
    },
    handle(op, req, engine, behaviour) {
      if (op === "balances") {
        // The account object: cash in the account currency; the USD entry of the fake account is the cash.
        const cash = engine.balances.find((b) => b.asset === "USD")?.free ?? "0";
        return {
          status: 200,
          body: {
            id: "e6fe16f3-64a4-4921-8928-cadf02f92f98",
            account_number: "010203ABCD",
            status: "ACTIVE",
            currency: "USD",
            cash,
            buying_power: String(Number(cash) * 2),
            non_marginable_buying_power: cash,
            equity: cash,
            multiplier: "2",
            trading_blocked: false,
          },
        };
      }
      if (op === "place") {
        if (behaviour === "reject") return fail(403, 40310000, "insufficient buying power");
        const b = JSON.parse(req.rawBody) as Record<string, unknown>;
        if (req.headers["content-type"] !== "application/json") return fail(400, 40010000, "request body format is invalid");
        for (const k of ["symbol", "qty", "side", "type", "time_in_force"]) if (typeof b[k] !== "string") return fail(422, 40010000, `${k} is required`);
        if (b["type"] === "limit" && typeof b["limit_price"] !== "string") return fail(422, 40010000, "limit_price is required");
        const o = engine.place({
          clientOrderId: typeof b["client_order_id"] === "string" ? b["client_order_id"] : `auto-${Math.random()}`,
          symbol: b["symbol"] as string,
          side: b["side"] === "buy" ? "BUY" : "SELL",
          type: b["type"] as string,
          quantity: b["qty"] as string,
          price: typeof b["limit_price"] === "string" ? b["limit_price"] : "",
          isMarket: b["type"] === "market",
        });
        if (!o) return fail(422, 40010001, "client_order_id must be unique");
        return { status: 200, body: renderAlpacaOrder(o, behaviour === "unknown-status") };
      }
      if (op === "openOrders") {
        // GET /v2/orders?status=open&limit=..&direction=asc&after=<created_at, exclusive>
        if (req.query.get("status") !== "open") return fail(422, 40010000, "this fake lists open orders only");
        const limit = Number(req.query.get("limit") ?? "50");
        if (!(limit >= 1 && limit <= 500)) return fail(422, 40010000, "limit must be 1..500");
        const after = req.query.get("after");
        const list = openOrdersOf(engine)
          .sort((a, b) => a.createdMs - b.createdMs)
          .filter((o) => after === null || o.createdMs > Date.parse(after))
          .slice(0, limit);
        return { status: 200, body: list.map((o) => renderAlpacaOrder(o, behaviour === "unknown-status")) };
      }
      if (op === "query") {
        const o = engine.orders.get(req.query.get("client_order_id") ?? "");
        if (!o) return fail(404, 40410000, "order not found");
        return { status: 200, body: renderAlpacaOrder(o, behaviour === "unknown-status") };
      }
      if (op === "cancelAll") {
        // 207 Multi-Status: one entry per open order of the key, with the HTTP status of its cancel.
        const open = engine.open();
        for (const x of open) engine.cancel(x);
        return { status: 207, body: open.map((x) => ({ id: x.venueOrderId, status: 200, body: renderAlpacaOrder(x, false) })) };
      }
      const o = engine.byVenueId(decodeURIComponent(req.path.slice("/v2/orders/".length)));
      if (!o) return fail(404, 40410000, "order not found");
      if (op === "amend") {
        // Replace: a new order (new id, the given client_order_id) takes the old one's place; the old is `replaced`.
        if (req.headers["content-type"] !== "application/json") return fail(400, 40010000, "request body format is invalid");
        if (o.state !== "new" && o.state !== "partial") return fail(422, 42210000, "order is not replaceable");
        if (behaviour === "reject") return fail(403, 40310000, "insufficient buying power");
        const b = JSON.parse(req.rawBody) as Record<string, unknown>;
        engine.cancel(o);
        const n = engine.place({
          clientOrderId: typeof b["client_order_id"] === "string" ? b["client_order_id"] : `auto-${Math.random()}`,
          symbol: o.symbol,
          side: o.side,
          type: o.type,
          quantity: typeof b["qty"] === "string" ? b["qty"] : o.quantity,
          price: typeof b["limit_price"] === "string" ? b["limit_price"] : o.price,
          isMarket: false,
        });
        if (!n) return fail(422, 40010001, "client_order_id must be unique");
        return { status: 200, body: renderAlpacaOrder(n, behaviour === "unknown-status") };
      }
      if (o.state === "filled" || o.state === "canceled") return fail(422, 42210000, "order is not cancelable");
      engine.cancel(o);
      return { status: 204 };
    },
    rateLimited() {
      return { status: 429, body: { message: "too many requests" } };
    },
  };
}
