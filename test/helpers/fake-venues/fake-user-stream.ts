import { createHmac, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Decimal } from "decimal.js";
import type { FakeOrder, FakeOrderEvent, FakeVenue } from "./fake-venue-server.js";
import { fakeCommission } from "./binance.js";

/**
 * A venue's authenticated user push stream on loopback (the `ws` server), fed by the fake venue's
 * engine: every order event is rendered in the venue's documented message shape and pushed to
 * each subscribed session. The venue part (a FakeStreamDialect) checks authentication the way the
 * venue documents it. Knobs script the misbehaviour: down (refuse connections), drop (kill the
 * connections), hold/flush (deliver late, reversed, duplicated), maxConnectionMs (the venue ends
 * connections: expiry).
 */

export interface FakeSession {
  subscribed: boolean;
  readonly openedAt: number;
}

export interface FakeStreamDialect {
  /** Answers one client frame (subscribe, ping); may set session.subscribed. */
  onFrame(text: string, session: FakeSession): string[];
  /** The frames an order event becomes. */
  render(e: FakeOrderEvent): string[];
  /** Sent when the venue ends a connection at maxConnectionMs (before closing). */
  expiryFrames?(): string[];
}

export interface FakeUserStream {
  readonly url: string;
  /** Connections accepted / subscriptions that passed authentication / refused subscribes. */
  readonly stats: { connections: number; subscriptions: number; refused: number };
  /** true: connections are refused (HTTP 503 on the upgrade) and events are lost. */
  down: boolean;
  /** true: events are kept back until flush(). */
  hold: boolean;
  /** Ends every connection now (events meanwhile are lost, as a venue's are). */
  drop(): void;
  /** Delivers the held frames: in order, reversed, and/or each twice. */
  flush(opts?: { reverse?: boolean; duplicate?: boolean }): void;
  /** Ends each connection this long after it opened (the venue's lifetime/expiry). */
  maxConnectionMs: number | undefined;
  close(): Promise<void>;
}

export async function startFakeUserStream(venue: FakeVenue, dialect: FakeStreamDialect): Promise<FakeUserStream> {
  const stats = { connections: 0, subscriptions: 0, refused: 0 };
  const sessions = new Map<WebSocket, FakeSession>();
  let held: string[] = [];
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    verifyClient: (_info, cb) => (api.down ? cb(false, 503, "Service Unavailable") : cb(true)),
  });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const port = (wss.address() as AddressInfo).port;

  function push(frames: string[]): void {
    for (const [ws, s] of sessions) if (s.subscribed) for (const f of frames) ws.send(f);
  }
  const listener = (e: FakeOrderEvent): void => {
    if (api.down) return;
    const frames = dialect.render(e);
    if (api.hold) held.push(...frames);
    else push(frames);
  };
  venue.engine.listeners.add(listener);

  wss.on("connection", (ws) => {
    stats.connections++;
    const session: FakeSession = { subscribed: false, openedAt: Date.now() };
    sessions.set(ws, session);
    let timer: NodeJS.Timeout | undefined;
    if (api.maxConnectionMs !== undefined) {
      timer = setTimeout(() => {
        for (const f of dialect.expiryFrames?.() ?? []) ws.send(f);
        ws.close();
      }, api.maxConnectionMs);
    }
    ws.on("message", (data) => {
      const was = session.subscribed;
      const replies = dialect.onFrame(data.toString(), session);
      if (!was && session.subscribed) stats.subscriptions++;
      else if (!was && replies.some((r) => /error|"success":false/.test(r))) stats.refused++;
      for (const r of replies) ws.send(r);
    });
    ws.on("close", () => {
      if (timer !== undefined) clearTimeout(timer);
      sessions.delete(ws);
    });
  });

  const api: FakeUserStream = {
    url: `ws://127.0.0.1:${port}`,
    stats,
    down: false,
    hold: false,
    maxConnectionMs: undefined,
    drop() {
      for (const ws of sessions.keys()) ws.terminate();
    },
    flush(opts = {}) {
      let frames = held;
      held = [];
      if (opts.reverse === true) frames = [...frames].reverse();
      if (opts.duplicate === true) frames = frames.flatMap((f) => [f, f]);
      push(frames);
    },
    async close() {
      venue.engine.listeners.delete(listener);
      for (const ws of sessions.keys()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  return api;
}

const BINANCE_STATUS: Record<FakeOrder["state"], string> = { new: "NEW", partial: "PARTIALLY_FILLED", filled: "FILLED", canceled: "CANCELED" };

/**
 * Binance WebSocket API user data stream: `userDataStream.subscribe.signature` with apiKey,
 * timestamp (within recvWindow, default 5000) and an HMAC-SHA256 hex signature of the other
 * params sorted by name; events wrapped as {"subscriptionId":0,"event":{...executionReport}}.
 */
export function binanceStreamDialect(apiKey: string, apiSecret: string): FakeStreamDialect {
  const refuse = (id: unknown, code: number, msg: string): string => JSON.stringify({ id, status: 400, error: { code, msg } });
  return {
    onFrame(text, session) {
      const req = JSON.parse(text) as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
      if (req.method !== "userDataStream.subscribe.signature") return [refuse(req.id, -1100, "Illegal characters found in parameter 'method'.")];
      const p = req.params ?? {};
      if (p["apiKey"] !== apiKey) return [refuse(req.id, -2015, "Invalid API-key, IP, or permissions for action.")];
      const signature = typeof p["signature"] === "string" ? p["signature"] : "";
      const payload = Object.keys(p)
        .filter((k) => k !== "signature")
        .sort()
        .map((k) => `${k}=${String(p[k])}`)
        .join("&");
      const expected = createHmac("sha256", apiSecret).update(payload).digest();
      const got = Buffer.from(signature, "hex");
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) return [refuse(req.id, -1022, "Signature for this request is not valid.")];
      const ts = Number(p["timestamp"]);
      const recv = Number(p["recvWindow"] ?? 5000);
      if (!(ts < Date.now() + 1000 && Date.now() - ts <= recv)) return [refuse(req.id, -1021, "Timestamp for this request is outside of the recvWindow.")];
      session.subscribed = true;
      return [JSON.stringify({ id: req.id, status: 200, result: { subscriptionId: 0 }, rateLimits: [] })];
    },
    render(e) {
      const o = e.order;
      const trade = e.kind === "trade" ? e.fill! : undefined;
      const x = e.kind === "trade" ? "TRADE" : e.kind === "canceled" ? "CANCELED" : "NEW";
      // The state right after this event (a later fill may already have moved the fake order on).
      const filledNow = trade === undefined ? o.filled : cumulativeUpTo(o, trade.tradeId).qty;
      const quoteNow = trade === undefined ? o.quote : cumulativeUpTo(o, trade.tradeId).quote;
      const status = e.kind === "trade" ? (new Decimal(filledNow).gte(o.quantity) ? "FILLED" : "PARTIALLY_FILLED") : BINANCE_STATUS[o.state];
      const now = Date.now();
      const event = {
        e: "executionReport",
        E: now,
        s: o.symbol,
        c: o.clientOrderId,
        S: o.side,
        o: o.type,
        f: "GTC",
        q: o.quantity,
        p: o.price === "" ? "0.00000000" : o.price,
        P: "0.00000000",
        F: "0.00000000",
        g: -1,
        C: "",
        x,
        X: e.kind === "canceled" ? "CANCELED" : status,
        r: "NONE",
        i: Number(o.venueOrderId.split("-").pop()),
        l: trade?.qty ?? "0.00000000",
        z: filledNow,
        L: trade?.price ?? "0.00000000",
        n: trade === undefined ? "0" : fakeCommission(trade.qty, trade.price),
        N: trade === undefined ? null : "USDT",
        T: trade?.timeMs ?? now,
        t: trade?.tradeId ?? -1,
        v: 3,
        I: 8641984,
        w: e.kind !== "trade" || status !== "FILLED",
        m: false,
        M: trade !== undefined,
        O: o.createdMs,
        Z: quoteNow,
        Y: trade === undefined ? "0.00000000" : new Decimal(trade.qty).times(trade.price).toFixed(8),
        Q: "0.00000000",
        W: o.createdMs,
        V: "NONE",
      };
      return [JSON.stringify({ subscriptionId: 0, event })];
    },
    expiryFrames: () => [JSON.stringify({ event: { e: "serverShutdown", E: Date.now() } })],
  };
}

function cumulativeUpTo(o: FakeOrder, tradeId: number): { qty: string; quote: string } {
  let qty = new Decimal(0);
  let quote = new Decimal(0);
  for (const f of o.fills) {
    qty = qty.plus(f.qty);
    quote = quote.plus(new Decimal(f.qty).times(f.price));
    if (f.tradeId === tradeId) break;
  }
  return { qty: qty.toFixed(), quote: quote.toFixed() };
}

/**
 * Kraken WebSocket v2 `executions`: subscribe with a token the fake's REST GetWebSocketsToken
 * issued and that is used within `tokenTtlMs` (Kraken: 15 minutes); executions as documented,
 * numbers as JSON numbers, and (the documented caveat) a trade that completes the order says
 * `partially_filled`, completion following in its own `filled` event.
 */
export function krakenStreamDialect(tokens: ReadonlyMap<string, number>, opts: { tokenTtlMs?: number } = {}): FakeStreamDialect & { readonly usedTokens: string[] } {
  const usedTokens: string[] = [];
  const ttl = opts.tokenTtlMs ?? 15 * 60 * 1000;
  return {
    usedTokens,
    onFrame(text, session) {
      const req = JSON.parse(text) as { method?: unknown; params?: Record<string, unknown>; req_id?: unknown };
      const stamp = { time_in: new Date().toISOString(), time_out: new Date().toISOString() };
      if (req.method === "ping") return [JSON.stringify({ method: "pong", req_id: req.req_id, ...stamp })];
      if (req.method !== "subscribe" || req.params?.["channel"] !== "executions") return [JSON.stringify({ error: "EGeneral:Invalid arguments", method: req.method, success: false, req_id: req.req_id, ...stamp })];
      const token = String(req.params["token"] ?? "");
      const issued = tokens.get(token);
      if (issued === undefined || Date.now() - issued > ttl || usedTokens.includes(token)) {
        return [JSON.stringify({ error: "ESession:Invalid session token", method: "subscribe", success: false, req_id: req.req_id, ...stamp })];
      }
      usedTokens.push(token);
      session.subscribed = true;
      return [
        JSON.stringify({ method: "subscribe", result: { channel: "executions", maxratecount: 180, snapshot: false, warnings: [] }, success: true, req_id: req.req_id, ...stamp }),
      ];
    },
    render(e) {
      const o = e.order;
      const ts = new Date().toISOString();
      const base = { order_id: o.venueOrderId, cl_ord_id: o.clientOrderId, symbol: o.symbol, side: o.side === "BUY" ? "buy" : "sell", order_type: o.type, order_qty: Number(o.quantity), timestamp: ts };
      if (e.kind === "new") return [frame([{ ...base, exec_type: "new", exec_id: `N${o.venueOrderId}`, order_status: "new", cum_qty: 0, cum_cost: 0 }])];
      if (e.kind === "canceled") {
        return [frame([{ ...base, exec_type: "canceled", exec_id: `C${o.venueOrderId}`, order_status: "canceled", cum_qty: Number(o.filled), cum_cost: Number(o.quote), reason: "User requested" }])];
      }
      const f = e.fill!;
      const cum = cumulativeUpTo(o, f.tradeId);
      const cost = new Decimal(f.qty).times(f.price);
      const fee = cost.times("0.0026").toNumber();
      const trade = {
        ...base,
        exec_type: "trade",
        exec_id: `T${f.tradeId}-KRAKEN`,
        trade_id: f.tradeId,
        last_qty: Number(f.qty),
        last_price: Number(f.price),
        liquidity_ind: "t",
        cost: cost.toNumber(),
        order_status: "partially_filled",
        cum_qty: Number(cum.qty),
        cum_cost: Number(cum.quote),
        avg_price: Number(new Decimal(cum.quote).div(cum.qty).toFixed(8)),
        fee_usd_equiv: fee,
        fees: [{ asset: "USD", qty: fee }],
      };
      const out = [frame([trade])];
      if (new Decimal(cum.qty).gte(o.quantity)) {
        out.push(frame([{ ...base, exec_type: "filled", exec_id: `F${o.venueOrderId}`, order_status: "filled", cum_qty: Number(cum.qty), cum_cost: Number(cum.quote), avg_price: trade.avg_price }]));
      }
      return out;
    },
  };
}

let sequence = 0;
function frame(data: unknown[]): string {
  return JSON.stringify({ channel: "executions", type: "update", data, sequence: ++sequence });
}
