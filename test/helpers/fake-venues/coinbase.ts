import { verify, type KeyObject } from "node:crypto";
import type { FakeAnswer, FakeDialect, FakeOrder, FakeRequest } from "./fake-venue-server.js";
import { Decimal } from "decimal.js";
import { averagePrice, openOrdersOf } from "./fake-venue-server.js";

const STATUS: Record<FakeOrder["state"], string> = { new: "OPEN", partial: "OPEN", filled: "FILLED", canceled: "CANCELLED" };

/** Coinbase's taker fee on the filled value so far: the fake's running fee total. */
export function coinbaseFee(filledValue: string): string {
  return new Decimal(filledValue).times("0.006").toFixed();
}

/**
 * Coinbase Advanced Trade: Authorization: Bearer <ES256 JWT> whose `uri`
 * claim is "METHOD host path", valid for 2 minutes, signed with the key the
 * `kid` names (raw r||s signature).
 */
export function coinbaseDialect(keyName: string, publicKey: KeyObject): FakeDialect {
  const unauthorized: FakeAnswer = { status: 401, body: { error: "UNAUTHENTICATED", message: "Unauthorized" } };
  function render(o: FakeOrder, unknownStatus: boolean): Record<string, unknown> {
    return {
      order_id: o.venueOrderId,
      product_id: o.symbol,
      client_order_id: o.clientOrderId,
      side: o.side,
      status: unknownStatus ? "SCHRODINGER" : STATUS[o.state],
      filled_size: o.filled,
      average_filled_price: averagePrice(o),
      // The running fee total in the quote currency (0.6% taker of the filled value).
      total_fees: coinbaseFee(o.quote),
      order_type: o.type,
      reject_reason: "",
    };
  }
  return {
    name: "coinbase",
    operation(req) {
      if (req.method === "GET" && req.path === "/api/v3/brokerage/accounts") return "balances";
      if (req.method === "POST" && req.path === "/api/v3/brokerage/orders") return "place";
      if (req.method === "POST" && req.path === "/api/v3/brokerage/orders/batch_cancel") return "cancel";
      if (req.method === "POST" && req.path === "/api/v3/brokerage/orders/edit") return "amend";
      if (req.method === "GET" && req.path === "/api/v3/brokerage/orders/historical/batch" && req.query.get("order_status") === "OPEN") return "openOrders";
      if (req.method === "GET" && req.path.startsWith("/api/v3/brokerage/orders/historical/")) return "query";
      return undefined;
    },
    authenticate(req: FakeRequest) {
      const m = /^Bearer (.+)$/.exec(req.headers["authorization"] ?? "");
      if (!m) return unauthorized;
      const [h, c, s] = m[1]!.split(".");
      if (!h || !c || !s) return unauthorized;
      try {
        const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
        const claims = JSON.parse(Buffer.from(c, "base64url").toString()) as Record<string, unknown>;
        if (header["alg"] !== "ES256" || header["kid"] !== keyName || typeof header["nonce"] !== "string") return unauthorized;
        if (claims["sub"] !== keyName || claims["iss"] !== "cdp") return unauthorized;
        const now = Math.floor(Date.now() / 1000);
        if (!(Number(claims["nbf"]) <= now + 1 && now < Number(claims["exp"]))) return unauthorized;
        if (claims["uri"] !== `${req.method} ${req.headers["host"]}${req.path}`) return unauthorized;
        const ok = verify("sha256", Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
        return ok ? undefined : unauthorized;
      } catch {
        return unauthorized;
      }
    },
    handle(op, req, engine, behaviour) {
      if (op === "balances") {
        // List Accounts: limit (default 49, max 250), cursor = where the previous page ended.
        const limit = Math.min(250, Number(req.query.get("limit") ?? "49"));
        const start = Number(req.query.get("cursor") ?? "0");
        const page = engine.balances.slice(start, start + limit);
        const end = start + page.length;
        const hasNext = end < engine.balances.length;
        return {
          status: 200,
          body: {
            accounts: page.map((b, i) => ({
              uuid: `acct-${start + i}`,
              name: `${b.asset} Wallet`,
              currency: b.asset,
              available_balance: { value: b.free, currency: b.asset },
              default: true,
              active: true,
              type: "ACCOUNT_TYPE_CRYPTO",
              ready: true,
              hold: { value: b.locked, currency: b.asset },
            })),
            has_next: hasNext,
            cursor: hasNext ? String(end) : "",
            size: page.length,
          },
        };
      }
      if (op === "place") {
        const b = JSON.parse(req.rawBody) as Record<string, unknown>;
        if (behaviour === "reject") {
          return {
            status: 200,
            body: {
              success: false,
              failure_reason: "UNKNOWN_FAILURE_REASON",
              order_id: "",
              error_response: { error: "INSUFFICIENT_FUND", message: "Insufficient balance in source account", error_details: "", new_order_failure_reason: "INSUFFICIENT_FUND" },
            },
          };
        }
        const cfg = (b["order_configuration"] ?? {}) as Record<string, Record<string, unknown>>;
        const [cfgName, cfgBody] = Object.entries(cfg)[0] ?? [];
        if (!cfgName || !cfgBody || typeof cfgBody["base_size"] !== "string") {
          return { status: 200, body: { success: false, failure_reason: "UNKNOWN_FAILURE_REASON", error_response: { error: "INVALID_ARGUMENT", new_order_failure_reason: "UNSUPPORTED_ORDER_CONFIGURATION" } } };
        }
        const o = engine.place({
          clientOrderId: String(b["client_order_id"]),
          symbol: String(b["product_id"]),
          side: b["side"] === "BUY" ? "BUY" : "SELL",
          type: cfgName,
          quantity: cfgBody["base_size"] as string,
          price: typeof cfgBody["limit_price"] === "string" ? cfgBody["limit_price"] : "",
          isMarket: cfgName.startsWith("market_"),
        });
        if (!o) {
          // Coinbase answers a reused client_order_id with the existing order.
          const existing = engine.orders.get(String(b["client_order_id"]))!;
          return { status: 200, body: { success: true, success_response: { order_id: existing.venueOrderId, product_id: existing.symbol, side: existing.side, client_order_id: existing.clientOrderId } } };
        }
        return { status: 200, body: { success: true, success_response: { order_id: o.venueOrderId, product_id: o.symbol, side: o.side, client_order_id: o.clientOrderId } } };
      }
      if (op === "amend") {
        // Edit Order: {order_id, price, size} of a GTC limit order, in place.
        const b = JSON.parse(req.rawBody) as { order_id?: unknown; price?: unknown; size?: unknown };
        const o = typeof b.order_id === "string" ? engine.byVenueId(b.order_id) : undefined;
        const refuse = (reason: string) => ({ status: 200, body: { success: false, errors: [{ edit_failure_reason: reason }] } });
        if (!o || o.type !== "limit_limit_gtc") return refuse("ORDER_NOT_FOUND_OR_NOT_EDITABLE");
        if (behaviour === "reject") return refuse("CANNOT_EDIT_TO_BELOW_FILLED_SIZE");
        if (typeof b.price !== "string" || typeof b.size !== "string") return { status: 400, body: { error: "INVALID_ARGUMENT", message: "price and size are required" } };
        if (!engine.amend(o, { quantity: b.size, price: b.price })) return refuse("ORDER_NOT_FOUND_OR_NOT_EDITABLE");
        return { status: 200, body: { success: true, errors: [] } };
      }
      if (op === "cancel") {
        const ids = (JSON.parse(req.rawBody) as { order_ids?: string[] }).order_ids ?? [];
        if (ids.length === 0 || ids.length > 100) return { status: 400, body: { error: "INVALID_ARGUMENT", message: "order_ids must hold 1 to 100 ids" } };
        return {
          status: 200,
          body: {
            results: ids.map((id) => {
              const o = engine.byVenueId(id);
              if (!o) return { success: false, failure_reason: "UNKNOWN_CANCEL_ORDER", order_id: id };
              engine.cancel(o);
              return { success: true, failure_reason: "UNKNOWN_CANCEL_FAILURE_REASON", order_id: id };
            }),
          },
        };
      }
      if (op === "openOrders") {
        // List Orders, order_status=OPEN: `limit` per page, `cursor` from the previous page while has_next.
        const limit = Number(req.query.get("limit") ?? "100");
        const start = Number(req.query.get("cursor") ?? "0");
        const all = openOrdersOf(engine);
        const page = all.slice(start, start + limit).map((o) => ({
          ...render(o, behaviour === "unknown-status"),
          order_configuration: { limit_limit_gtc: { base_size: o.quantity, limit_price: o.price, post_only: false } },
          time_in_force: "GOOD_UNTIL_CANCELLED",
          created_time: new Date(o.createdMs).toISOString(),
          order_type: "LIMIT",
        }));
        const hasNext = start + limit < all.length;
        return { status: 200, body: { orders: page, has_next: hasNext, cursor: hasNext ? String(start + limit) : "" } };
      }
      const rest = req.path.slice("/api/v3/brokerage/orders/historical/".length);
      if (rest === "batch") {
        const product = req.query.get("product_ids");
        const list = [...engine.orders.values()].filter((o) => product === null || o.symbol === product).reverse();
        return { status: 200, body: { orders: list.map((o) => render(o, behaviour === "unknown-status")), has_next: false, cursor: "" } };
      }
      const o = engine.byVenueId(decodeURIComponent(rest));
      if (!o) return { status: 404, body: { error: "NOT_FOUND", message: "order not found" } };
      return { status: 200, body: { order: render(o, behaviour === "unknown-status") } };
    },
    rateLimited() {
      return { status: 429, body: { error: "RESOURCE_EXHAUSTED", message: "Too many requests" } };
    },
  };
}
