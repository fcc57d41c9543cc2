import { createHash, createHmac } from "node:crypto";
import type { FakeAnswer, FakeDialect, FakeOrder, FakeRequest } from "./fake-venue-server.js";
import { Decimal } from "decimal.js";
import { averagePrice, openOrdersOf } from "./fake-venue-server.js";

/** Kraken's taker fee on the order's cost so far: the fake's running fee total. */
export function krakenFee(cost: string): string {
  return new Decimal(cost).times("0.0026").toFixed();
}

const STATUS: Record<FakeOrder["state"], string> = { new: "open", partial: "open", filled: "closed", canceled: "canceled" };

/**
 * Kraken Spot as documented: form bodies with a strictly increasing nonce,
 * API-Sign = base64(HMAC-SHA512(b64decode(secret), path + SHA256(nonce + body))),
 * errors as HTTP 200 {"error":["EAPI:Invalid signature"]}.
 */
export function krakenDialect(apiKey: string, apiSecretB64: string): FakeDialect & { readonly deadManTimeouts: number[]; readonly wsTokens: Map<string, number> } {
  let lastNonce = 0n;
  /** GetWebSocketsToken: every token issued -> when (epoch ms); the fake user stream checks them. */
  const wsTokens = new Map<string, number>();
  /** Every authenticated CancelAllOrdersAfter `timeout`, in order (0 = disarmed). */
  const deadManTimeouts: number[] = [];
  const fail = (...errors: string[]): FakeAnswer => ({ status: 200, body: { error: errors } });
  const okBody = (result: unknown): FakeAnswer => ({ status: 200, body: { error: [], result } });
  return {
    name: "kraken",
    deadManTimeouts,
    wsTokens,
    operation(req) {
      if (req.method !== "POST") return undefined;
      if (req.path === "/0/private/BalanceEx") return "balances";
      if (req.path === "/0/private/CancelAll") return "cancelAll";
      if (req.path === "/0/private/CancelAllOrdersAfter") return "dead_man";
      if (req.path === "/0/private/AmendOrder") return "amend";
      if (req.path === "/0/private/OpenOrders") return "openOrders";
      if (req.path === "/0/private/GetWebSocketsToken") return "wsToken";
      return req.path === "/0/private/AddOrder" ? "place" : req.path === "/0/private/CancelOrder" ? "cancel" : req.path === "/0/private/QueryOrders" ? "query" : undefined;
    },
    authenticate(req: FakeRequest) {
      if (!req.headers["user-agent"]) return fail("EGeneral:Invalid arguments:User-Agent");
      if (req.headers["api-key"] !== apiKey) return fail("EAPI:Invalid key");
      // AmendOrder takes JSON (nonce a body member); the older endpoints take form bodies.
      const nonce = (req.headers["content-type"] ?? "").startsWith("application/json")
        ? String((JSON.parse(req.rawBody) as { nonce?: unknown }).nonce ?? "")
        : (new URLSearchParams(req.rawBody).get("nonce") ?? "");
      const inner = createHash("sha256").update(nonce + req.rawBody).digest();
      const expected = createHmac("sha512", Buffer.from(apiSecretB64, "base64"))
        .update(Buffer.concat([Buffer.from(req.path), inner]))
        .digest("base64");
      if (req.headers["api-sign"] !== expected) return fail("EAPI:Invalid signature");
      if (!/^\d+$/.test(nonce) || BigInt(nonce) <= lastNonce) return fail("EAPI:Invalid nonce");
      lastNonce = BigInt(nonce);
      return undefined;
    },
    handle(op, req, engine, behaviour) {
      if (op === "wsToken") {
        // Documented answer: {"error":[],"result":{"token":"...","expires":900}}.
        const token = `WStok${wsTokens.size + 1}${Math.random().toString(36).slice(2, 10)}`;
        wsTokens.set(token, Date.now());
        return okBody({ token, expires: 900 });
      }
      if (op === "amend") {
        // docs.kraken.com/api/docs/rest-api/amend-order: txid or cl_ord_id (either), order_qty, limit_price, trigger_price.
        const b = JSON.parse(req.rawBody) as Record<string, unknown>;
        if (b["txid"] !== undefined && b["cl_ord_id"] !== undefined) return fail("EGeneral:Invalid arguments:txid and cl_ord_id");
        const o = typeof b["txid"] === "string" ? engine.byVenueId(b["txid"]) : engine.orders.get(String(b["cl_ord_id"] ?? ""));
        if (!o) return fail("EOrder:Unknown order");
        if (behaviour === "reject") return fail("EOrder:Insufficient funds");
        const qty = b["order_qty"];
        if (qty !== undefined && (typeof qty !== "string" || Number(qty) <= Number(o.filled))) return fail("EGeneral:Invalid arguments:order_qty");
        if (!engine.amend(o, { ...(typeof qty === "string" ? { quantity: qty } : {}), ...(typeof b["limit_price"] === "string" ? { price: b["limit_price"] } : {}) })) {
          return fail("EOrder:Invalid order:not open");
        }
        return okBody({ amend_id: `TAMEND-${o.venueOrderId}` });
      }
      const p = new URLSearchParams(req.rawBody);
      if (op === "balances") {
        // BalanceEx: balance is the total (free + held); hold_trade the part held by open orders.
        // Kraken names assets its own way (XXBT, ZUSD); credit fields appear for some assets only.
        const name: Record<string, string> = { BTC: "XXBT", USD: "ZUSD", ETH: "XETH" };
        return okBody(
          Object.fromEntries(
            engine.balances.map((b) => [
              name[b.asset] ?? b.asset,
              { balance: new Decimal(b.free).plus(b.locked).toFixed(4), hold_trade: new Decimal(b.locked).toFixed(4), ...(b.asset === "BTC" ? { credit: "0.0000", credit_used: "0.0000" } : {}) },
            ]),
          ),
        );
      }

      if (op === "dead_man") {
        // Documented: `timeout` in seconds is required; 0 disables; the answer carries currentTime and triggerTime.
        const timeout = p.get("timeout");
        if (timeout === null || !/^\d+$/.test(timeout)) return fail("EGeneral:Invalid arguments:timeout");
        deadManTimeouts.push(Number(timeout));
        const now = new Date();
        return okBody({ currentTime: now.toISOString(), triggerTime: timeout === "0" ? "0" : new Date(now.getTime() + Number(timeout) * 1000).toISOString() });
      }
      if (op === "place") {
        if (behaviour === "reject") return fail("EOrder:Insufficient funds");
        const ordertype = p.get("ordertype") ?? "";
        if (!p.get("pair") || !p.get("type") || !p.get("volume") || !ordertype) return fail("EGeneral:Invalid arguments");
        if (ordertype === "limit" && !p.get("price")) return fail("EGeneral:Invalid arguments:price");
        const o = engine.place({
          clientOrderId: p.get("cl_ord_id") ?? `auto-${Math.random()}`,
          symbol: p.get("pair")!,
          side: p.get("type") === "buy" ? "BUY" : "SELL",
          type: ordertype,
          quantity: p.get("volume")!,
          price: p.get("price") ?? "",
          isMarket: ordertype === "market",
        });
        if (!o) return fail("EGeneral:Invalid arguments:cl_ord_id");
        return okBody({ descr: { order: `${p.get("type")} ${o.quantity} ${o.symbol} @ ${ordertype}` }, txid: [o.venueOrderId] });
      }
      if (op === "cancelAll") {
        // Every open order of the key; the answer says how many, not which.
        const open = engine.open();
        for (const o of open) engine.cancel(o);
        return okBody({ count: open.length });
      }

      if (op === "openOrders") {
        // Docs "Get Open Orders": result.open keyed by txid; descr holds pair/type/ordertype/price.
        const open: Record<string, unknown> = {};
        for (const o of openOrdersOf(engine)) {
          open[o.venueOrderId] = {
            refid: null,
            userref: 0,
            ...(o.clientOrderId.startsWith("auto-") ? {} : { cl_ord_id: o.clientOrderId }),
            status: "open",
            opentm: o.createdMs / 1000,
            starttm: 0,
            expiretm: 0,
            descr: { pair: o.symbol, type: o.side === "BUY" ? "buy" : "sell", ordertype: o.type, price: o.price === "" ? "0" : o.price, price2: "0", leverage: "none", order: "", close: "" },
            vol: o.quantity,
            vol_exec: o.filled,
            cost: o.quote,
            fee: krakenFee(o.quote),
            price: averagePrice(o),
            stopprice: "0.00000",
            limitprice: "0.00000",
            misc: "",
            oflags: "fciq",
          };
        }
        return okBody({ open });
      }
      const txid = p.get("txid");
      if (txid !== null && p.get("cl_ord_id") !== null) return fail("EGeneral:Invalid arguments:txid and cl_ord_id");
      const o = txid !== null ? engine.byVenueId(txid) : engine.orders.get(p.get("cl_ord_id") ?? "");
      if (op === "cancel") {
        if (!o || o.state === "filled" || o.state === "canceled") return okBody({ count: 0 });
        engine.cancel(o);
        return okBody({ count: 1 });
      }
      if (!o) return okBody({});
      return okBody({
        [o.venueOrderId]: {
          refid: null,
          userref: 0,
          cl_ord_id: o.clientOrderId,
          status: behaviour === "unknown-status" ? "limbo" : STATUS[o.state],
          opentm: o.createdMs / 1000,
          vol: o.quantity,
          vol_exec: o.filled,
          cost: o.quote,
          // The running fee total, in the quote currency, as Kraken reports it (taker 0.26% of cost).
          fee: krakenFee(o.quote),
          price: averagePrice(o),
          reason: null,
        },
      });
    },
    rateLimited(status) {
      // Kraken signals rate limits in the error array; an edge proxy may still say 429.
      return status === 429 ? { status: 429, headers: { "retry-after": "1" }, body: { error: ["EAPI:Rate limit exceeded"] } } : fail("EAPI:Rate limit exceeded");
    },
  };
}
