import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { OrderStatus } from "../../../../src/domain/order.js";
import { binanceSubscribeRequest, parseBinanceFrame } from "../../../../src/adapters/venues/binance/stream.js";
import { createKrakenStreamSpec, fromKrakenTokenResponse, krakenSubscribeRequest, parseKrakenFrame } from "../../../../src/adapters/venues/kraken/stream.js";
import { ok as okResult } from "../../../../src/domain/result.js";
import { streamUrlOf } from "../../../../src/adapters/venues/user-stream/stream-kinds.js";

// Message shapes from the venues' documentation (../shared/reference/venue-apis.md 8.1, 8.2; docs/venues.md "User streams").

/** binance-spot-api-docs user-data-stream.md executionReport example (a NEW order), verbatim. */
const BINANCE_NEW = `{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC",
 "q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE","i":4293153,
 "l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"v":3,"I":8641984,"w":true,"m":false,"M":false,
 "O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}}`;

/** The same order's documented fields for a TRADE execution (x TRADE, X PARTIALLY_FILLED, t, l, L, n, N). */
const BINANCE_TRADE = BINANCE_NEW.replace('"x":"NEW","X":"NEW"', '"x":"TRADE","X":"PARTIALLY_FILLED"')
  .replace('"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null', '"l":"0.40000000","z":"0.40000000","L":"0.10264410","n":"0.00004106","N":"BNB"')
  .replace('"t":-1', '"t":28457')
  .replace('"Z":"0.00000000"', '"Z":"0.04105764"');

describe("Binance user data stream: parse (pure)", () => {
  test("executionReport NEW: an order update without fills, client id c, order id i", () => {
    const [m] = parseBinanceFrame(BINANCE_NEW);
    assert.equal(m?.kind, "order");
    if (m?.kind !== "order") return;
    assert.equal(m.event.venueClientOrderId, "mUvoqJxFIILMdfAW5iGSOW");
    assert.equal(m.event.venueOrderId, "4293153");
    assert.equal(m.event.update.status, OrderStatus.NEW);
    assert.equal(m.event.update.filledQuantity, "0");
    assert.deepEqual(m.event.update.fills, []);
    assert.equal(m.event.eventTimeMs, 1499405658658);
  });

  test("executionReport TRADE: the execution with trade id t (as myTrades names it), l, L, commission n N; cumulative z; average Z/z", () => {
    const [m] = parseBinanceFrame(BINANCE_TRADE);
    assert.equal(m?.kind, "order");
    if (m?.kind !== "order") return;
    assert.equal(m.event.update.status, OrderStatus.PARTIALLY_FILLED);
    assert.equal(m.event.update.filledQuantity, "0.4");
    assert.equal(m.event.update.averageFillPrice, "0.1026441");
    assert.deepEqual(m.event.update.fills, [{ venueTradeId: "28457", quantity: "0.4", price: "0.1026441", fee: "0.00004106", feeCurrency: "BNB", timeMs: 1499405658657 }]);
  });

  test("a cancel's event names the order by C (c is the cancel's own id)", () => {
    const frame = BINANCE_NEW.replace('"c":"mUvoqJxFIILMdfAW5iGSOW"', '"c":"cancel-1"').replace('"C":""', '"C":"mUvoqJxFIILMdfAW5iGSOW"').replace('"x":"NEW","X":"NEW"', '"x":"CANCELED","X":"CANCELED"');
    const [m] = parseBinanceFrame(frame);
    assert.ok(m?.kind === "order" && m.event.venueClientOrderId === "mUvoqJxFIILMdfAW5iGSOW" && m.event.update.status === OrderStatus.CANCELED);
  });

  test("subscribe answers, refusals, venue-ended streams, other events", () => {
    assert.deepEqual(parseBinanceFrame('{"id":"d3df8a22-98ea-4fe0-9f4e-0fcea5d418b7","status":200,"result":{"subscriptionId":0}}'), [{ kind: "subscribed" }]);
    const refused = parseBinanceFrame('{"id":"x","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}');
    assert.equal(refused[0]?.kind, "error");
    assert.ok(refused[0]?.kind === "error" && refused[0].auth === true);
    assert.deepEqual(parseBinanceFrame('{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}'), [{ kind: "reconnect", reason: "eventStreamTerminated" }]);
    assert.deepEqual(parseBinanceFrame('{"event":{"e":"serverShutdown","E":1728973001334}}'), [{ kind: "reconnect", reason: "serverShutdown" }]);
    assert.deepEqual(parseBinanceFrame('{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}}'), [{ kind: "ignored" }]);
    assert.deepEqual(parseBinanceFrame("not json"), [{ kind: "ignored" }]);
    // An unknown order status is never passed through.
    assert.deepEqual(parseBinanceFrame(BINANCE_NEW.replace('"X":"NEW"', '"X":"HALF_BAKED"')), [{ kind: "ignored" }]);
  });

  test("userDataStream.subscribe.signature: params sorted by name and signed with HMAC-SHA256 (hex), signature excluded", () => {
    const req = JSON.parse(binanceSubscribeRequest({ apiKey: "key-1", apiSecret: "secret-1" }, 1747385641636, "id-1", 5000)) as { id: string; method: string; params: Record<string, unknown> };
    assert.equal(req.method, "userDataStream.subscribe.signature");
    assert.equal(req.id, "id-1");
    const expected = createHmac("sha256", "secret-1").update("apiKey=key-1&recvWindow=5000&timestamp=1747385641636").digest("hex");
    assert.deepEqual(req.params, { apiKey: "key-1", timestamp: 1747385641636, signature: expected, recvWindow: 5000 });
  });
});

/** docs.kraken.com websocket-v2 executions: the documented trade example (numbers are JSON numbers). */
const KRAKEN_TRADE = `{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A",
 "exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t",
 "cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,
 "cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}`;

describe("Kraken executions channel: parse (pure)", () => {
  test("a trade: exec_id is the fill id, last_qty/last_price, fees summed; cum_qty and avg_price are the totals", () => {
    const [m] = parseKrakenFrame(KRAKEN_TRADE);
    assert.equal(m?.kind, "order");
    if (m?.kind !== "order") return;
    assert.equal(m.event.venueOrderId, "OK4GJX-KSTLS-7DZZO5");
    assert.equal(m.event.venueClientOrderId, "");
    assert.equal(m.event.update.status, OrderStatus.PARTIALLY_FILLED);
    assert.equal(m.event.update.filledQuantity, "0.005");
    assert.equal(m.event.update.averageFillPrice, "26599.9");
    assert.deepEqual(m.event.update.fills, [{ venueTradeId: "TGBB7L-HT5LX-J3BZ4A", quantity: "0.005", price: "26599.9", fee: "0.3458", feeCurrency: "USD", timeMs: Date.parse("2023-09-22T10:33:05.709993Z") }]);
  });

  test("status events: new, filled (completion after the trade, per the documented caveat), canceled; cl_ord_id is the client id", () => {
    const one = (d: Record<string, unknown>) => parseKrakenFrame(JSON.stringify({ channel: "executions", type: "update", data: [d] }))[0];
    const f = one({ order_id: "O1", cl_ord_id: "c1", exec_type: "filled", order_status: "filled", cum_qty: 1, avg_price: 10, timestamp: "2023-09-22T10:33:05Z" });
    assert.ok(f?.kind === "order" && f.event.update.status === OrderStatus.FILLED && f.event.update.fills.length === 0 && f.event.venueClientOrderId === "c1");
    const n = one({ order_id: "O1", exec_type: "pending_new", order_status: "pending_new", timestamp: "2023-09-22T10:33:05Z" });
    assert.ok(n?.kind === "order" && n.event.update.status === OrderStatus.NEW);
    const c = one({ order_id: "O1", exec_type: "canceled", order_status: "canceled", cum_qty: 0.5, reason: "User requested" });
    assert.ok(c?.kind === "order" && c.event.update.status === OrderStatus.CANCELED && c.event.update.filledQuantity === "0.5");
    assert.deepEqual(one({ order_id: "O1", exec_type: "new", order_status: "limbo" }), { kind: "ignored" });
  });

  test("subscribe ack, refusal, heartbeat and pong", () => {
    assert.deepEqual(parseKrakenFrame('{"method":"subscribe","result":{"channel":"executions","maxratecount":180,"snapshot":true},"success":true,"time_in":"2023-09-22T10:33:05.709993Z","time_out":"2023-09-22T10:33:05.709993Z","req_id":1}'), [{ kind: "subscribed" }]);
    const refused = parseKrakenFrame('{"error":"ESession:Invalid session token","method":"subscribe","success":false,"req_id":1}');
    assert.ok(refused[0]?.kind === "error" && refused[0].auth === true);
    assert.deepEqual(parseKrakenFrame('{"channel":"heartbeat"}'), [{ kind: "heartbeat" }]);
    assert.deepEqual(parseKrakenFrame('{"method":"pong","req_id":2,"time_in":"x","time_out":"y"}'), [{ kind: "heartbeat" }]);
    assert.deepEqual(parseKrakenFrame('{"channel":"status","type":"update","data":[{"system":"online"}]}'), [{ kind: "ignored" }]);
  });

  test("the subscribe request carries the token; the token answer is read, an error mapped", () => {
    const req = JSON.parse(krakenSubscribeRequest("tok-1", 7)) as { method: string; params: Record<string, unknown>; req_id: number };
    assert.deepEqual(req, { method: "subscribe", params: { channel: "executions", token: "tok-1", snap_orders: false, snap_trades: false, order_status: true }, req_id: 7 });
    const ok = fromKrakenTokenResponse({ status: 200, headers: {}, bodyText: '{"error":[],"result":{"token":"1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw","expires":900}}' });
    assert.deepEqual(ok, { ok: true, value: { token: "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw" } });
    const bad = fromKrakenTokenResponse({ status: 200, headers: {}, bodyText: '{"error":["EAPI:Invalid key"]}' });
    assert.ok(!bad.ok && bad.error.kind === "auth");
  });
});

describe("Kraken token per connection", () => {
  test("a token is fetched per connection; one never sent (the socket never opened) is used for the next attempt", async () => {
    let calls = 0;
    const spec = createKrakenStreamSpec({
      url: "wss://x",
      rest: async (req) => {
        calls++;
        assert.equal(req.path, "/0/private/GetWebSocketsToken");
        return okResult({ status: 200, headers: {}, bodyText: JSON.stringify({ error: [], result: { token: `tok-${calls}`, expires: 900 } }) });
      },
    });
    const signal = new AbortController().signal;
    const a = await spec.authenticate!(signal);
    const b = await spec.authenticate!(signal);
    assert.deepEqual([a, b, calls], [okResult({ token: "tok-1" }), okResult({ token: "tok-1" }), 1]);
    spec.subscribe({ token: "tok-1" }, 0);
    const c = await spec.authenticate!(signal);
    assert.deepEqual([c, calls], [okResult({ token: "tok-2" }), 2]);
  });
});

describe("stream URL of a venue-file entry", () => {
  test("the production stream for the production REST URL; a named streamUrl wins; off otherwise or when userStream is false", () => {
    assert.equal(streamUrlOf({ kind: "binance", baseUrl: "https://api.binance.com" }), "wss://ws-api.binance.com:443/ws-api/v3");
    assert.equal(streamUrlOf({ kind: "kraken", baseUrl: "https://api.kraken.com/" }), "wss://ws-auth.kraken.com/v2");
    assert.equal(streamUrlOf({ kind: "binance", baseUrl: "https://testnet.binance.vision" }), undefined);
    assert.equal(streamUrlOf({ kind: "binance", baseUrl: "https://testnet.binance.vision", streamUrl: "wss://ws-api.testnet.binance.vision/ws-api/v3" }), "wss://ws-api.testnet.binance.vision/ws-api/v3");
    assert.equal(streamUrlOf({ kind: "binance", baseUrl: "https://api.binance.com", userStream: false }), undefined);
    assert.equal(streamUrlOf({ kind: "rest-json", baseUrl: "https://api.binance.com" }), undefined);
  });
});
