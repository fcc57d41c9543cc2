import { createHmac, timingSafeEqual } from "node:crypto";
import type { FakeAnswer, FakeDialect, FakeOrder, FakeRequest } from "./fake-venue-server.js";
import { averagePrice } from "./fake-venue-server.js";

/** The signed variant's key material (Coinbase Exchange's scheme, with its own header names). */
export interface FakeRestJsonSigning {
  /** Base64, as the venue hands it out; the HMAC key is the decoded bytes. */
  readonly secretBase64: string;
  readonly passphrase: string;
  /** How far X-ACME-TS may be from the venue's clock. Default 5 s. */
  readonly windowMs?: number;
}

const STATE: Record<FakeOrder["state"], string> = { new: "open", partial: "partial", filled: "done", canceled: "cancelled" };

/**
 * A made-up venue with the "common shape" (test/fixtures/venues/contract-venues.yaml
 * describes it to the gateway with translator rules only):
 * POST /api/orders {clientId, market, side, kind, amount, limit, tif} -> {"order":{...}}
 * GET /api/orders/by-client/{clientId}; DELETE /api/orders/{id} -> 204.
 * Auth: X-API-KEY header. Errors: {"error":{"code","message"}}.
 *
 * With `signing`, every request is signed instead, as Coinbase Exchange signs
 * (docs.cdp.coinbase.com/exchange/rest-api/authentication), under other names:
 * X-ACME-KEY, X-ACME-PASSPHRASE, X-ACME-TS (Unix ms) and
 * X-ACME-SIGN = base64(HMAC-SHA256(base64decode(secret), ts + METHOD + path[?query] + body)).
 * The fake recomputes it from the raw request (written here independently of
 * the gateway's signer) and answers 401 to anything else.
 */
export function restJsonDialect(apiKey: string, signing?: FakeRestJsonSigning): FakeDialect {
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
      if (signing === undefined) return req.headers["x-api-key"] === apiKey ? undefined : fail(401, "AUTH", "bad api key");
      if (req.headers["x-acme-key"] !== apiKey) return fail(401, "AUTH", "bad api key");
      if (req.headers["x-acme-passphrase"] !== signing.passphrase) return fail(401, "AUTH", "bad passphrase");
      const ts = req.headers["x-acme-ts"] ?? "";
      if (!/^\d+$/.test(ts) || Math.abs(Date.now() - Number(ts)) > (signing.windowMs ?? 5_000)) return fail(401, "AUTH", "timestamp outside the window");
      const prehash = ts + req.method + req.path + (req.rawQuery === "" ? "" : `?${req.rawQuery}`) + req.rawBody;
      const expected = createHmac("sha256", Buffer.from(signing.secretBase64, "base64")).update(prehash, "utf8").digest();
      const got = Buffer.from(req.headers["x-acme-sign"] ?? "", "base64");
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return fail(401, "AUTH", "invalid signature");
      return undefined;
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
