import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP server that behaves like one venue: the venue-specific
 * part (a dialect) checks authentication exactly as the venue does and
 * speaks its documented request/answer shapes; this engine keeps the order
 * book and the scripted misbehaviour (rejections, 429/418, 5xx, slow answers,
 * dropped connections after accepting the order).
 */


/** One asset of the fake account, as tests set it; each dialect renders it in its venue's shape. */
export interface FakeBalance {
  readonly asset: string;
  readonly free: string;
  readonly locked: string;
}
/**
 * "trades": an order's execution list, for venues that have one (Binance myTrades).
 * "cancelAll": the venue's mass cancel (Binance DELETE openOrders, Kraken CancelAll, Alpaca
 * DELETE /v2/orders); Coinbase's batch_cancel is its "cancel" for one id or many.
 * "balances": the account's balances. "dead_man": Kraken CancelAllOrdersAfter. "amend": a venue's
 * native replace (Kraken AmendOrder, Binance keepPriority/cancelReplace, Alpaca PATCH, Coinbase edit).
 * "openOrders": the account's open-order listing.
 */
export type Operation = "place" | "cancel" | "query" | "trades" | "cancelAll" | "balances" | "dead_man" | "amend" | "openOrders" | "wsToken";

export type Behaviour =
  /** A documented business rejection (insufficient funds). */
  | "reject"
  | "429"
  /** Binance's IP ban. */
  | "418"
  /** Accept the order, then answer HTTP 500/503 (execution status unknown). */
  | "500-after-accept"
  /** Answer HTTP 503 without acting on the request (the client cannot tell the difference). */
  | "503-not-accepted"
  /** Accept the order and never answer (until the server closes). */
  | "slow-after-accept"
  /** Accept the order, then destroy the connection without an answer. */
  | "drop-after-accept"
  /** Answer with a status the venue has never documented. */
  | "unknown-status"
  /** Accept the order, answer 150 ms later (a user stream tells of it first). */
  | "delay-after-accept";

/** What happened to an order at the fake, for its user stream (fake-user-stream.ts). */
export interface FakeOrderEvent {
  readonly kind: "new" | "trade" | "canceled";
  readonly order: FakeOrder;
  /** For "trade": the execution. */
  readonly fill?: FakeOrder["fills"][number];
}

export interface FakeOrder extends Omit<PlaceParams, "isMarket" | "quantity" | "price"> {
  quantity: string;
  price: string;
  readonly venueOrderId: string;
  state: "new" | "partial" | "filled" | "canceled";
  filled: string;
  /** Quote value of everything filled, for the average price. */
  quote: string;
  readonly fills: Array<{ tradeId: number; qty: string; price: string; timeMs: number }>;
  readonly createdMs: number;
}

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  /** Raw query string as sent (without "?"). */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string>>;
  readonly rawBody: string;
}

export interface FakeAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialized as JSON unless a string; undefined = no body. */
  readonly body?: unknown;
}

export interface PlaceParams {
  readonly clientOrderId: string;
  readonly symbol: string;
  /** Gateway-normalized: BUY / SELL. */
  readonly side: "BUY" | "SELL";
  readonly type: string;
  readonly quantity: string;
  readonly price: string;
  /** Market orders fill at once at the engine's market price. */
  readonly isMarket: boolean;
}

/** What a dialect gets to work with. */
export interface FakeEngine {
  readonly orders: Map<string, FakeOrder>;
  /** The account's balances (tests replace the contents); zero entries are kept, as venues list them. */
  readonly balances: FakeBalance[];
  /** Per client order id: how many place requests carried it (must never exceed 1). */
  readonly placeAttempts: Map<string, number>;
  /** Creates the order; undefined if the client order id is already used (a duplicate). */
  place(p: PlaceParams): FakeOrder | undefined;
  byVenueId(id: string): FakeOrder | undefined;
  cancel(o: FakeOrder): void;
  /** Open (new or partly filled) orders, oldest first. */
  open(): FakeOrder[];
  /** Amends a live order in place (quantity = new total, price); false if it is not live. */
  amend(o: FakeOrder, change: { quantity?: string; price?: string }): boolean;
  /**
   * Most orders ever live (new/partial) at once on this fake, checked after every request: a
   * test with one order chain proves "never two live venue orders for one chain" with it.
   */
  readonly maxLive: number;
  /** The behaviour scripted for the next request of this operation, consumed. */
  take(op: Operation): Behaviour | undefined;
  /** Told of every order event (the fake user streams listen). */
  readonly listeners: Set<(e: FakeOrderEvent) => void>;
}

export interface FakeDialect {
  readonly name: string;
  /** Which operation a request is, or undefined (404). */
  operation(req: FakeRequest): Operation | undefined;
  /** undefined if the credentials/signature are right, else the venue's own auth-failure answer. */
  authenticate(req: FakeRequest): FakeAnswer | undefined;
  /** Handles an authenticated request. May call engine.place etc. */
  handle(op: Operation, req: FakeRequest, engine: FakeEngine, behaviour: Behaviour | undefined): FakeAnswer;
  /** Answer for 429 / 418 in the venue's shape. */
  rateLimited(status: 429 | 418): FakeAnswer;
}

export interface FakeVenue {
  readonly url: string;
  readonly engine: FakeEngine;
  readonly requests: FakeRequest[];
  /** Scripts the next request of `op` to misbehave. */
  failNext(op: Operation, behaviour: Behaviour): void;
  /** Simulates an execution of a resting order. */
  fill(clientOrderId: string, qty: string, price: string): void;
  /** Rests an order placed outside the gateway (another tool on the same account); returns it. */
  placeExternal(p: Omit<PlaceParams, "isMarket">): FakeOrder;
  close(): Promise<void>;
}

/** Exact decimal arithmetic is not needed in a fake; values stay small and finite. */
function add(a: string, b: string): string {
  return String(Number((Number(a) + Number(b)).toFixed(10)));
}
function mul(a: string, b: string): string {
  return String(Number((Number(a) * Number(b)).toFixed(10)));
}

export const MARKET_PRICE = "100";

export async function startFakeVenue(dialect: FakeDialect): Promise<FakeVenue> {
  const orders = new Map<string, FakeOrder>();
  const placeAttempts = new Map<string, number>();
  const script: Array<{ op: Operation; behaviour: Behaviour }> = [];
  const requests: FakeRequest[] = [];
  let nextId = 1000;
  let nextTrade = 1;
  const held: ServerResponse[] = [];
  let maxLive = 0;
  function watchLive(): void {
    let live = 0;
    for (const o of orders.values()) if (o.state === "new" || o.state === "partial") live++;
    maxLive = Math.max(maxLive, live);
  }

  const listeners = new Set<(e: FakeOrderEvent) => void>();
  function emit(e: FakeOrderEvent): void {
    for (const l of listeners) l(e);
  }

  function addFill(o: FakeOrder, qty: string, price: string): void {
    const fill = { tradeId: nextTrade++, qty, price, timeMs: Date.now() };
    o.fills.push(fill);
    o.filled = add(o.filled, qty);
    o.quote = add(o.quote, mul(qty, price));
    o.state = Number(o.filled) >= Number(o.quantity) ? "filled" : "partial";
    emit({ kind: "trade", order: o, fill });
  }

  const engine: FakeEngine = {
    orders,
    balances: [
      { asset: "BTC", free: "1.5", locked: "0.25" },
      { asset: "USD", free: "10000", locked: "0" },
      { asset: "ETH", free: "0", locked: "0" },
    ],
    placeAttempts,
    listeners,
    place(p) {
      placeAttempts.set(p.clientOrderId, (placeAttempts.get(p.clientOrderId) ?? 0) + 1);
      if (orders.has(p.clientOrderId)) return undefined;
      const o: FakeOrder = {
        venueOrderId: `${dialect.name}-${nextId++}`,
        clientOrderId: p.clientOrderId,
        symbol: p.symbol,
        side: p.side,
        type: p.type,
        quantity: p.quantity,
        price: p.price,
        state: "new",
        filled: "0",
        quote: "0",
        fills: [],
        createdMs: Date.now(),
      };
      orders.set(p.clientOrderId, o);
      emit({ kind: "new", order: o });
      if (p.isMarket) addFill(o, p.quantity, MARKET_PRICE);
      return o;
    },
    byVenueId(id) {
      for (const o of orders.values()) if (o.venueOrderId === id) return o;
      return undefined;
    },
    cancel(o) {
      if (o.state === "new" || o.state === "partial") {
        o.state = "canceled";
        emit({ kind: "canceled", order: o });
      }
    },
    open() {
      return [...orders.values()].filter((o) => o.state === "new" || o.state === "partial");
    },

    amend(o, change) {
      if (o.state !== "new" && o.state !== "partial") return false;
      if (change.quantity !== undefined) o.quantity = change.quantity;
      if (change.price !== undefined) o.price = change.price;
      return true;
    },
    get maxLive() {
      return maxLive;
    },
    take(op) {
      const i = script.findIndex((s) => s.op === op);
      if (i < 0) return undefined;
      return script.splice(i, 1)[0]!.behaviour;
    },
  };

  function send(res: ServerResponse, a: FakeAnswer): void {
    const headers: Record<string, string> = { ...(a.headers ?? {}) };
    let body = "";
    if (a.body !== undefined) {
      body = typeof a.body === "string" ? a.body : JSON.stringify(a.body);
      headers["content-type"] ??= "application/json";
    }
    res.writeHead(a.status, headers);
    res.end(body);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawUrl = req.url ?? "/";
      const q = rawUrl.indexOf("?");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const fr: FakeRequest = {
        method: req.method ?? "GET",
        path: q < 0 ? rawUrl : rawUrl.slice(0, q),
        rawQuery: q < 0 ? "" : rawUrl.slice(q + 1),
        query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)),
        headers,
        rawBody: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(fr);
      const op = dialect.operation(fr);
      if (op === undefined) return send(res, { status: 404, body: { message: "no such endpoint" } });
      const authFailure = dialect.authenticate(fr);
      if (authFailure) return send(res, authFailure);
      const behaviour = engine.take(op);
      if (behaviour === "429" || behaviour === "418") return send(res, dialect.rateLimited(behaviour === "429" ? 429 : 418));
      if (behaviour === "503-not-accepted") return send(res, { status: 503, body: { message: "Service Unavailable" } });
      const answer = dialect.handle(op, fr, engine, behaviour);
      watchLive();
      switch (behaviour) {
        case "500-after-accept":
          return send(res, { status: 503, body: { code: -1000, message: "An unknown error occurred while processing the request." } });
        case "slow-after-accept":
          held.push(res);
          return;
        case "drop-after-accept":
          req.socket.destroy();
          return;
        case "delay-after-accept":
          setTimeout(() => send(res, answer), 150);
          return;
        default:
          return send(res, answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    requests,
    failNext(op, behaviour) {
      script.push({ op, behaviour });
    },
    fill(clientOrderId, qty, price) {
      const o = orders.get(clientOrderId);
      if (!o) throw new Error(`fake ${dialect.name}: no order ${clientOrderId}`);
      addFill(o, qty, price);
    },
    placeExternal(p) {
      const o = engine.place({ ...p, isMarket: false });
      if (!o) throw new Error(`fake ${dialect.name}: client order id ${p.clientOrderId} already used`);
      return o;
    },
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The orders a venue lists as open: resting, not filled or canceled. */
export function openOrdersOf(engine: FakeEngine): FakeOrder[] {
  return [...engine.orders.values()].filter((o) => o.state === "new" || o.state === "partial");
}

/** Average price of a fake order as a string ("0" when nothing filled). */
export function averagePrice(o: FakeOrder): string {
  return Number(o.filled) === 0 ? "0" : String(Number((Number(o.quote) / Number(o.filled)).toFixed(8)));
}
