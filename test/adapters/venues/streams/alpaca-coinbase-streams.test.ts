import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, describe, test } from "node:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../../../gen/trading/v1/trading_gateway_pb.js";
import { createRpcMetrics } from "../../../../src/adapters/metrics/metrics.js";
import { createGateway, type Gateway } from "../../../../src/composition-root.js";
import { createHealthRegistry } from "../../../../src/server/health.js";
import { alpacaDialect } from "../../../helpers/fake-venues/alpaca.js";
import { startFakeAlpacaStream, type FakeAlpacaStream } from "../../../helpers/fake-venues/alpaca-stream.js";
import { coinbaseDialect } from "../../../helpers/fake-venues/coinbase.js";
import { startFakeCoinbaseStream, type FakeCoinbaseStream } from "../../../helpers/fake-venues/coinbase-stream.js";
import { startFakeVenue, type FakeDialect, type FakeOrder, type FakeVenue } from "../../../helpers/fake-venues/fake-venue-server.js";
import { restJsonDialect } from "../../../helpers/fake-venues/rest-json.js";
import { startFakeRestJsonStream, type FakeRestJsonStream } from "../../../helpers/fake-venues/rest-json-stream.js";
import { gatewayConfig } from "../../../helpers/gateway-config.js";
import { createLogCapture } from "../../../helpers/log-capture.js";
import { startServer } from "../../../helpers/start-server.js";

/**
 * gRPC (real socket) -> the composed gateway -> Alpaca / Coinbase adapters -> fake REST venue,
 * and the venue's user stream from a fake WebSocket server on port 0 speaking the venue's
 * documented messages (authentication checked). Polling is slow (60 s) unless a case says
 * otherwise, so what arrives comes from the stream or the REST catch-up on (re)connect.
 */

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const env: Record<string, string> = {
  ALPACA_KEY_ID: "PKSTREAM",
  ALPACA_SECRET_KEY: "alpaca-stream-secret",
  COINBASE_KEY_NAME: "organizations/org-s/apiKeys/key-s",
  COINBASE_PRIVATE_KEY: privateKey.export({ type: "sec1", format: "pem" }).toString(),
  ACME_API_KEY: "acme-stream-key",
};

interface VenueDriver {
  readonly venue: "alpaca" | "coinbase" | "acme";
  dialect(): FakeDialect;
  startStream(rest: FakeVenue): Promise<FakeAlpacaStream | FakeCoinbaseStream | FakeRestJsonStream>;
  /** Pushes the order's current state on the stream as the venue would after a fill. */
  push(stream: FakeAlpacaStream | FakeCoinbaseStream | FakeRestJsonStream, o: FakeOrder): void;
  entry(restUrl: string, streamUrl: string): string;
}

const drivers: readonly VenueDriver[] = [
  {
    venue: "alpaca",
    dialect: () => alpacaDialect(env["ALPACA_KEY_ID"]!, env["ALPACA_SECRET_KEY"]!),
    startStream: (rest) => startFakeAlpacaStream(rest.engine, env["ALPACA_KEY_ID"]!, env["ALPACA_SECRET_KEY"]!),
    push: (s, o) => (s as FakeAlpacaStream).push(o, o.state === "filled" ? "fill" : "partial_fill"),
    entry: (rest, ws) => `
  - name: alpaca
    kind: alpaca
    baseUrl: ${rest}
    streamUrl: ${ws}
    timeoutMs: 2000
    streamPollIntervalMs: 60000
    credentials: { keyId: { env: ALPACA_KEY_ID }, secretKey: { env: ALPACA_SECRET_KEY } }
    symbols: { BTC-USD: BTC/USD }`,
  },
  {
    venue: "coinbase",
    dialect: () => coinbaseDialect(env["COINBASE_KEY_NAME"]!, publicKey),
    startStream: (rest) => startFakeCoinbaseStream(rest.engine, env["COINBASE_KEY_NAME"]!, publicKey, { heartbeatMs: 50 }),
    push: (s, o) => (s as FakeCoinbaseStream).push(o),
    entry: (rest, ws) => `
  - name: coinbase
    kind: coinbase
    baseUrl: ${rest}
    streamUrl: ${ws}
    timeoutMs: 2000
    streamPollIntervalMs: 60000
    credentials: { keyName: { env: COINBASE_KEY_NAME }, privateKey: { env: COINBASE_PRIVATE_KEY } }`,
  },
  {
    // A rules-only venue (kind rest-json) whose WebSocket stream is declared by rules too.
    venue: "acme",
    dialect: () => restJsonDialect(env["ACME_API_KEY"]!),
    startStream: (rest) => startFakeRestJsonStream(rest.engine, env["ACME_API_KEY"]!),
    push: (s, o) => (s as FakeRestJsonStream).push(o),
    entry: (rest, ws) => `
  - name: acme
    kind: rest-json
    baseUrl: ${rest}
    streamUrl: ${ws}
    timeoutMs: 2000
    streamPollIntervalMs: 60000
    credentials: { apiKey: { env: ACME_API_KEY } }
    auth: { type: header, header: X-API-KEY, credential: apiKey }
    symbols: { BTC-USD: BTC_USD }
    errors: { messagePath: error.message, codePath: error.code }
    stream:
      subscribe: ['{"op":"auth","key":"{credential.apiKey}"}']
      then: [{ when: { path: op, equals: authed }, send: ['{"op":"subscribe","channel":"orders"}'] }]
      subscribed: { path: op, equals: subscribed }
      refused: { path: op, equals: error, reasonPath: reason }
      events: { when: { path: topic, equals: orders }, order: data, clientOrderId: clientId }
    rules:
      place:
        method: POST
        path: /api/orders
        encoding: json
        fields:
          clientId: clientOrderId
          market: symbol
          side: side
          kind: type
          amount: quantity
          limit: { from: price, when: { type: [LIMIT] } }
          tif: { from: timeInForce, when: { type: [LIMIT] } }
      cancel: { method: DELETE, path: "/api/orders/{venueOrderId}", encoding: query, fields: {} }
      query: { method: GET, path: "/api/orders/by-client/{clientOrderId}", encoding: query, fields: {} }
      enums:
        side: { BUY: bid, SELL: ask }
        type: { MARKET: mkt, LIMIT: lmt }
        timeInForce: { GTC: gtc, IOC: ioc }
        status: { open: NEW, partial: PARTIALLY_FILLED, done: FILLED, cancelled: CANCELED }
      answer:
        root: order
        venueOrderId: id
        status: state
        filledQuantity: executed
        averagePrice: avgPrice
        fills: { path: trades, tradeId: id, price: px, quantity: sz, fee: fee, feeCurrency: feeCcy, timeMs: ts }`,
  },
];

interface Rig {
  readonly client: Client<typeof TradingGateway>;
  readonly rest: FakeVenue;
  readonly stream: FakeAlpacaStream | FakeCoinbaseStream | FakeRestJsonStream;
  readonly gateway: Gateway;
  /** Every fill StreamFills delivered, and every fill event StreamOrderEvents delivered. */
  readonly fills: Array<{ orderId: string; quantity: string; price: string; fee: string; venueTradeId: string }>;
  readonly fillEvents: string[];
  readonly logs: ReturnType<typeof createLogCapture>;
  scrape(): Promise<string>;
  live(): boolean;
  close(): Promise<void>;
}

async function until(what: string, pred: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function boot(d: VenueDriver, o: { pollIntervalMs?: number; dialect?: (base: FakeDialect, stream: () => FakeAlpacaStream | FakeCoinbaseStream | FakeRestJsonStream, rest: () => FakeVenue) => FakeDialect; refuseStream?: boolean; renewAfterMs?: number } = {}): Promise<Rig> {
  let streamRef: FakeAlpacaStream | FakeCoinbaseStream | FakeRestJsonStream | undefined;
  let restRef: FakeVenue | undefined;
  const base = d.dialect();
  const rest = await startFakeVenue(o.dialect ? o.dialect(base, () => streamRef!, () => restRef!) : base);
  restRef = rest;
  const stream = await d.startStream(rest);
  streamRef = stream;
  if (o.refuseStream) stream.refuse(true);
  const yaml = `pollIntervalMs: ${o.pollIntervalMs ?? 60_000}\nvenues:${d.entry(rest.url, stream.url)}\n`;
  let config;
  try {
    config = gatewayConfig({ auditMode: "off", venuesFile: "/virtual/venues.yaml" }, { env, readFile: () => yaml });
  } catch (e) {
    await stream.close();
    await rest.close();
    throw e;
  }
  const metrics = createRpcMetrics();
  const shutdown = new AbortController();
  const logs = createLogCapture("debug");
  const gateway = await createGateway({
    config,
    logger: logs.logger,
    health: createHealthRegistry(),
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
    userStreamSettings: { minBackoffMs: 20, maxBackoffMs: 80, ...(o.renewAfterMs !== undefined ? { renewAfterMs: o.renewAfterMs } : {}) },
  });
  const srv = await startServer({ trading: gateway.trading, metrics });
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  const fills: Rig["fills"] = [];
  const fillEvents: string[] = [];
  const reading = new AbortController();
  const readers = [
    (async () => {
      for await (const m of client.streamFills({ account: "acct-1" }, { signal: reading.signal })) {
        if (m.fill) fills.push({ orderId: m.fill.orderId, quantity: m.fill.quantity, price: m.fill.price, fee: m.fill.fee, venueTradeId: m.fill.fillId });
      }
    })().catch(() => undefined),
    (async () => {
      for await (const m of client.streamOrderEvents({ account: "acct-1" }, { signal: reading.signal })) {
        if (m.event?.fill) fillEvents.push(m.event.fill.fillId);
      }
    })().catch(() => undefined),
  ];
  return {
    client,
    rest,
    stream,
    gateway,
    fills,
    fillEvents,
    logs,
    scrape: () => metrics.registry.metrics(),
    live: () => gateway.userStreams().some((s) => s.venue === d.venue && s.state === "connected"),
    async close() {
      reading.abort();
      await Promise.all(readers);
      shutdown.abort();
      await srv.close();
      await gateway.close();
      await stream.close();
      await rest.close();
    },
  };
}

let n = 0;
function limit(venue: string, quantity = "1") {
  n++;
  return { clientOrderId: `s-${venue}-${n}`, account: "acct-1", venue, symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity, price: "100", idempotencyKey: `k-${venue}-${n}` };
}
/** The venue order the gateway order became (the newest at the fake). */
const venueOrderOf = (rig: Rig): FakeOrder => [...rig.rest.engine.orders.values()].at(-1)!;
const sum = (xs: readonly { quantity: string }[]) => xs.reduce((a, f) => a + Number(f.quantity), 0);

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});
async function rigFor(d: VenueDriver, o?: Parameters<typeof boot>[1]): Promise<Rig> {
  const r = await boot(d, o);
  rigs.push(r);
  return r;
}

for (const d of drivers) {
  describe(`${d.venue} user stream`, () => {
    test("a fill pushed on the stream reaches StreamFills and StreamOrderEvents once; a repeated push adds nothing", async () => {
      const rig = await rigFor(d);
      await until("stream live", rig.live);
      const placed = await rig.client.placeOrder(limit(d.venue));
      const orderId = placed.order!.orderId;
      const vo = venueOrderOf(rig);
      rig.rest.fill(vo.clientOrderId, "0.4", "101");
      d.push(rig.stream, vo);
      await until("first fill", () => rig.fills.length === 1 && rig.fillEvents.length === 1);
      d.push(rig.stream, vo); // the same event again
      rig.rest.fill(vo.clientOrderId, "0.6", "102");
      d.push(rig.stream, vo);
      await until("second fill", () => rig.fills.length >= 2 && rig.fillEvents.length >= 2);
      const st = await rig.client.getOrderStatus({ orderId, account: "acct-1" });
      assert.equal(st.order?.status, OrderStatus.FILLED);
      assert.deepEqual(rig.fills.map((f) => [f.quantity, f.price]), [["0.4", "101"], ["0.6", "102"]]);
      assert.equal(rig.fillEvents.length, 2);
      if (d.venue === "coinbase") assert.deepEqual(rig.fills.map((f) => f.fee), ["0.2424", "0.3672"], "fee = rise of total_fees");
      // Only the catch-up's one sweep queried the venue: the fills came over the stream.
      assert.equal(rig.rest.requests.filter((r) => r.method === "GET" && !r.path.endsWith("/accounts") && !r.path.endsWith("/account")).length <= 1, true);
    });

    test("the stream drops mid-fill: the REST catch-up on reconnect recovers the fill, no loss, no duplicate", async () => {
      const rig = await rigFor(d);
      await until("stream live", rig.live);
      const placed = await rig.client.placeOrder(limit(d.venue));
      const vo = venueOrderOf(rig);
      rig.rest.fill(vo.clientOrderId, "0.4", "101");
      d.push(rig.stream, vo);
      await until("first fill", () => rig.fills.length === 1);
      const accepted = rig.stream.accepted;
      rig.stream.refuse(true);
      rig.stream.dropAll();
      await until("stream down", () => !rig.live());
      rig.rest.fill(vo.clientOrderId, "0.6", "102");
      d.push(rig.stream, vo); // nobody listening: lost
      rig.stream.refuse(false);
      await until("reconnected and caught up", () => rig.live() && rig.stream.accepted > accepted);
      await until("recovered fill", () => rig.fills.length >= 2);
      d.push(rig.stream, vo); // the venue's late copy after the catch-up: a duplicate
      rig.rest.fill(vo.clientOrderId, "0", "102"); // no-op marker: nothing new at the venue
      const st = await rig.client.getOrderStatus({ orderId: placed.order!.orderId, account: "acct-1" });
      assert.equal(st.order?.status, OrderStatus.FILLED);
      assert.equal(st.order?.filledQuantity, "1");
      assert.deepEqual(rig.fills.map((f) => f.quantity), ["0.4", "0.6"]);
    });

    test("events out of order and duplicated: the order ends with what the venue filled, each unit once", async () => {
      const rig = await rigFor(d);
      await until("stream live", rig.live);
      const placed = await rig.client.placeOrder(limit(d.venue));
      const vo = venueOrderOf(rig);
      rig.stream.lose(true); // record the frames, deliver them by hand
      rig.rest.fill(vo.clientOrderId, "0.4", "101");
      d.push(rig.stream, vo);
      rig.rest.fill(vo.clientOrderId, "0.6", "102");
      d.push(rig.stream, vo);
      rig.stream.lose(false);
      const [first, second] = rig.stream.pushed.slice(-2);
      rig.stream.sendRaw(second!);
      rig.stream.sendRaw(first!);
      rig.stream.sendRaw(second!);
      await until("filled", () => sum(rig.fills) >= 1);
      // A marker after the replays: once it is through, the replays were handled.
      const marker = await rig.client.placeOrder(limit(d.venue, "2"));
      const mo = venueOrderOf(rig);
      rig.rest.fill(mo.clientOrderId, "2", "100");
      d.push(rig.stream, mo);
      await until("marker fill", () => rig.fills.some((f) => f.orderId === marker.order!.orderId));
      const mine = rig.fills.filter((f) => f.orderId === placed.order!.orderId);
      assert.equal(sum(mine), 1, JSON.stringify(mine));
      assert.equal(new Set(mine.map((f) => f.venueTradeId)).size, mine.length);
      const st = await rig.client.getOrderStatus({ orderId: placed.order!.orderId, account: "acct-1" });
      assert.equal(st.order?.status, OrderStatus.FILLED);
      assert.equal(st.order?.averageFillPrice, "101.6");
    });

    test("the stream reports the fill before the REST answer to PlaceOrder arrives: one fill", async () => {
      // The fake venue fills the order as it takes it and pushes the fill on the stream before it
      // answers the POST, whose answer (rendered before the fill) says "new, nothing filled".
      const rig = await rigFor(d, {
        dialect: (base, stream, rest) => ({
          ...base,
          handle(op, req, engine, behaviour) {
            const answer = base.handle(op, req, engine, behaviour);
            if (op === "place") {
              const o = [...engine.orders.values()].at(-1)!;
              rest().fill(o.clientOrderId, "1", "100");
              d.push(stream(), o);
            }
            return answer;
          },
        }),
      });
      await until("stream live", rig.live);
      const placed = await rig.client.placeOrder(limit(d.venue));
      await until("fill", () => rig.fills.length >= 1);
      const st = await rig.client.getOrderStatus({ orderId: placed.order!.orderId, account: "acct-1" });
      assert.equal(st.order?.status, OrderStatus.FILLED);
      assert.equal(st.order?.filledQuantity, "1");
      // Anything in flight has landed once a later order's fill is through.
      const marker = await rig.client.placeOrder(limit(d.venue));
      await until("marker fill", () => rig.fills.some((f) => f.orderId === marker.order!.orderId));
      assert.deepEqual(rig.fills.filter((f) => f.orderId === placed.order!.orderId).map((f) => [f.quantity, f.price]), [["1", "100"]]);
    });

    test("the stream is down for the whole test: polling carries on, health shows the venue degraded", async () => {
      const rig = await rigFor(d, { pollIntervalMs: 50, refuseStream: true });
      const placed = await rig.client.placeOrder(limit(d.venue));
      const vo = venueOrderOf(rig);
      rig.rest.fill(vo.clientOrderId, "1", "103");
      await until("polled fill", () => rig.fills.length === 1);
      const st = await rig.client.getOrderStatus({ orderId: placed.order!.orderId, account: "acct-1" });
      assert.equal(st.order?.status, OrderStatus.FILLED);
      const s = rig.gateway.userStreams().find((x) => x.venue === d.venue)!;
      assert.equal(s.degraded, true);
      assert.notEqual(s.state, "connected");
      assert.equal(rig.stream.accepted, 0);
    });
  });
}

test("alpaca: a refused key keeps the stream down (retried with back-off) while REST still works", async () => {
  const d = drivers[0]!;
  const rig = await rigFor(d);
  // The fake stream checks another secret than the REST fake: the stream's auth fails alone.
  const other = await startFakeAlpacaStream(rig.rest.engine, env["ALPACA_KEY_ID"]!, "another-secret");
  rigs.push({ ...rig, close: () => other.close() } as Rig);
  await rig.close();
  rigs.splice(rigs.indexOf(rig), 1);
  const rig2 = await rigFor({ ...d, startStream: async () => other });
  await until("two refused attempts", () => other.auths.refused >= 2);
  assert.equal(other.auths.ok, 0);
  assert.equal(rig2.live(), false);
  const placed = await rig2.client.placeOrder(limit("alpaca"));
  assert.equal(placed.order?.status, OrderStatus.NEW);
  // The secret never reaches the venue in the clear except in its own authenticate message.
  assert.ok(other.received.every((f) => !f.includes("alpaca-stream-secret") || f.includes('"action":"authenticate"')));
});

test("coinbase: every subscribe carries a fresh JWT; an expired JWT is refused, the stream falls back and comes back with new ones", async () => {
  const d = drivers[1]!;
  const rig = await rigFor(d, { renewAfterMs: 100, pollIntervalMs: 60_000 });
  const stream = rig.stream as FakeCoinbaseStream;
  await until("stream live", rig.live);
  // Renewals re-subscribe on the open connection with fresh JWTs (never reused).
  await until("two renewals", () => stream.auths.ok >= 6);
  assert.equal(stream.accepted, 1);
  // The venue's clock runs 2 minutes ahead: every JWT the gateway makes is expired there.
  stream.clockOffsetMs = 121_000;
  await until("refused as expired", () => stream.auths.reasons.includes("expired"));
  await until("stream down", () => !rig.live());
  stream.clockOffsetMs = 0;
  await until("live again", rig.live);
  assert.ok(!stream.auths.reasons.includes("jwt reused"), JSON.stringify(stream.auths.reasons));
  // And it carries fills again.
  const placed = await rig.client.placeOrder(limit("coinbase"));
  const vo = venueOrderOf(rig);
  rig.rest.fill(vo.clientOrderId, "1", "100");
  d.push(stream, vo);
  await until("fill", () => rig.fills.some((f) => f.orderId === placed.order!.orderId));
});
