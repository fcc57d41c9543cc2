/**
 * The fast path and the stock connect-fastify path must be indistinguishable
 * to a client. Two gateways are built with buildApp, identical but for
 * FAST_PATH, with the real order pipeline (paper venue), a frozen clock,
 * counter ids and a frozen rate-limit clock, so both are deterministic. The
 * same calls go to both in the same order, as raw HTTP/2 exchanges, and every
 * response header (less date and request id), trailer and body byte must be
 * equal. Each call also asserts which path served it, so a fast path that
 * silently falls through cannot pass.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Code } from "@connectrpc/connect";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  CancelOrderRequestSchema,
  GetOrderStatusRequestSchema,
  OrderType,
  PlaceOrderRequestSchema,
  Side,
  TimeInForce,
  TradingGateway,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { PlaceOrderRequest } from "../../gen/trading/v1/trading_gateway_pb.js";
import { buildApp } from "../../src/server/app.js";
import type { App } from "../../src/server/app.js";
import { defaultConfig } from "../../src/config/env.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createHealthRegistry, ServingStatus } from "../../src/server/health.js";
import { servedByFastPath } from "../../src/server/fast-path/install-fast-path.js";
import { createOrderPipeline } from "../../src/composition-root.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createNullAuditSink } from "../../src/adapters/audit/null-sink.js";
import type { IdSource } from "../../src/domain/ports.js";
import { frame } from "../helpers/grpc-frame.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { collectResponse, rawStatus, type RawResponse } from "../helpers/raw-http2.js";

const KEY_A = "key-a-secret";
const KEY_B = "key-b-secret";
const KEY_C = "key-c-secret";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const RATE_BURST = 40;

function counter(prefix: string): IdSource {
  let n = 0;
  return { next: () => `${prefix}${++n}` };
}

interface Gateway {
  readonly app: App;
  readonly port: number;
  /** What the fast path has served (installFastPath's count; 0 on connect's path). */
  readonly hook: { readonly handled: number };
  readonly health: ReturnType<typeof createHealthRegistry>;
}

async function startGateway(fastPath: boolean): Promise<Gateway> {
  const clock = { nowMs: () => 1_767_225_600_000 };
  const paper = createPaperVenue({ clock, ids: counter("pv-") });
  let seq = 0n;
  const core = createOrderPipeline({
    venues: new Map([["paper", paper]]),
    audit: createNullAuditSink(),
    fills: { nextSequence: () => ++seq, publish: () => {} } as unknown as Parameters<typeof createOrderPipeline>[0]["fills"],
    streamFills: async function* () {},
    signal: new AbortController().signal,
    clock,
    orderIds: counter("o-"),
    fillIds: counter("f-"),
  });
  const health = createHealthRegistry({ "": ServingStatus.SERVING, [TradingGateway.typeName]: ServingStatus.SERVING });
  const app = await buildApp({
    config: {
      ...defaultConfig(),
      fastPath,
      shutdownGraceMs: 500,
      underPressureMaxEventLoopDelayMs: 0,
      maxMessageBytes: 4096,
      apiKeys: [
        { sha256: sha(KEY_A), accounts: new Set(["acct-1", "acct-2"]) },
        { sha256: sha(KEY_B), accounts: "any" },
        { sha256: sha(KEY_C), accounts: "any" },
      ],
      rateLimitRps: 1,
      rateLimitBurst: RATE_BURST,
    },
    logger: pino({ level: "silent" }),
    trading: core.service,
    health,
    metrics: createRpcMetrics(),
    // Frozen: rate-limit buckets never refill, so both gateways refuse the same call.
    now: () => 0,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const hook = {
    get handled() {
      return servedByFastPath(app);
    },
  };
  return { app, port: (app.server.address() as AddressInfo).port, hook, health };
}

const session = new Map<number, http2.ClientHttp2Session>();
function connectTo(port: number): http2.ClientHttp2Session {
  let s = session.get(port);
  if (s === undefined || s.closed || s.destroyed) {
    s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", () => {});
    session.set(port, s);
  }
  return s;
}

function exchange(port: number, headers: http2.OutgoingHttpHeaders, body: Uint8Array): Promise<RawResponse> {
  const get = headers[":method"] === "GET";
  const req = connectTo(port).request({ ":method": "POST", ...headers }, get ? { endStream: true } : {});
  const res = collectResponse(req, VOLATILE);
  if (!get) req.end(body);
  return res;
}

// The request id differs per call by design; everything else must match.
const VOLATILE: ReadonlySet<string> = new Set(["date", "x-request-id"]);


const order = (o: Partial<Omit<PlaceOrderRequest, "$typeName">> = {}) =>
  toBinary(
    PlaceOrderRequestSchema,
    create(PlaceOrderRequestSchema, { ...MARKET_ORDER_FIELDS, quantity: "0.5", ...o }),
  );
const path = (m: string) => `/trading.v1.TradingGateway/${m}`;
const grpc = (key: string | undefined, extra: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders => ({
  ":path": path("PlaceOrder"),
  "content-type": "application/grpc",
  te: "trailers",
  // A fixed request id: gRPC-Web and Connect carry it in the body (error metadata, trailer frame).
  "x-request-id": "rid-differential-1",
  ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
  ...extra,
});

const web = (key: string | undefined, extra: http2.OutgoingHttpHeaders = {}) =>
  grpc(key, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...extra });
const con = (key: string | undefined, extra: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders => ({
  ":path": path("PlaceOrder"),
  "content-type": "application/proto",
  "connect-protocol-version": "1",
  "x-request-id": "rid-differential-1",
  ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
  ...extra,
});

interface Case {
  readonly name: string;
  readonly headers: http2.OutgoingHttpHeaders;
  readonly body: Uint8Array;
  /** Whether the fast path (when on) serves it; false = it must fall through to Fastify. */
  readonly fast: boolean;
  /** Expected grpc-status, as a sanity check that the case tests what it says. */
  readonly status?: string;
  /** Expected code in whatever protocol the answer is (rawStatus), and a pattern its message matches. */
  readonly code?: Code | 0;
  readonly message?: RegExp;
}

// Request messages that cannot be decoded (protobuf binary): INVALID_ARGUMENT on every protocol and path.
const malformed: [string, Uint8Array][] = [
  ["a length prefix past the end", Uint8Array.of(0x0a, 0x10, 0x41)],
  ["invalid tag bytes", Uint8Array.of(0xff, 0xff, 0xff)],
  ["wire type 6", Uint8Array.of(0x0e)],
  ["a string field as fixed32", Uint8Array.of(0x0d, 1, 2, 3, 4)],
  ["invalid UTF-8 in a string", Uint8Array.of(0x0a, 0x02, 0xc3, 0x28)],
];
const undecodable = /^invalid request: cannot decode trading\.v1\.(PlaceOrderRequest|StreamFillsRequest) from protobuf binary: /;
const flaggedCompressed = /^protocol error: the message is flagged compressed, but the request has no (grpc-encoding|connect-content-encoding) header/;
const fills = (extra: http2.OutgoingHttpHeaders = {}) => grpc(KEY_A, { ":path": path("StreamFills"), ...extra });

const cases: Case[] = [
  { name: "valid market order", headers: grpc(KEY_A), body: frame(order()), fast: true, status: "0" },
  { name: "replayed (same client_order_id)", headers: grpc(KEY_A), body: frame(order()), fast: true, status: "0" },
  {
    name: "idempotency key reused with other fields",
    headers: grpc(KEY_A),
    body: frame(order({ clientOrderId: "c-2", idempotencyKey: "k-1" })),
    fast: true,
    status: "0",
  },
  {
    name: "idempotency conflict",
    headers: grpc(KEY_A),
    body: frame(order({ clientOrderId: "c-2", idempotencyKey: "k-1", quantity: "0.7" })),
    fast: true,
  },
  {
    name: "resting limit order",
    headers: grpc(KEY_A),
    body: frame(order({ clientOrderId: "c-3", type: OrderType.LIMIT, price: "1000", timeInForce: TimeInForce.GTC })),
    fast: true,
    status: "0",
  },
  { name: "invalid quantity", headers: grpc(KEY_A), body: frame(order({ clientOrderId: "c-4", quantity: "abc" })), fast: true, status: "3" },
  {
    name: "several invalid fields",
    headers: grpc(KEY_A),
    body: frame(order({ clientOrderId: "", side: Side.UNSPECIFIED, quantity: "-1", price: "1" })),
    fast: true,
    status: "3",
  },
  { name: "account not allowed", headers: grpc(KEY_A), body: frame(order({ clientOrderId: "c-5", account: "acct-9" })), fast: true },
  { name: "unknown venue", headers: grpc(KEY_A), body: frame(order({ clientOrderId: "c-6", venue: "nowhere" })), fast: true },
  { name: "unauthenticated (no key)", headers: grpc(undefined), body: frame(order({ clientOrderId: "c-7" })), fast: true, status: "16" },
  { name: "unauthenticated (bad key)", headers: grpc("nope"), body: frame(order({ clientOrderId: "c-7" })), fast: true, status: "16" },
  { name: "oversized message", headers: grpc(KEY_A), body: frame(new Uint8Array(5000)), fast: true, status: "8" },
  { name: "expired deadline", headers: grpc(KEY_A, { "grpc-timeout": "1n" }), body: frame(order({ clientOrderId: "c-8" })), fast: true },
  { name: "invalid grpc-timeout", headers: grpc(KEY_A, { "grpc-timeout": "x" }), body: frame(order({ clientOrderId: "c-9" })), fast: true, status: "3" },
  { name: "deadline above MAX_DEADLINE_MS", headers: grpc(KEY_A, { "grpc-timeout": "99H" }), body: frame(order({ clientOrderId: "c-9" })), fast: true, status: "3" },
  { name: "garbage message", headers: grpc(KEY_A), body: frame(Buffer.from([0xff, 0xff, 0xff])), fast: true },
  { name: "no message", headers: grpc(KEY_A), body: new Uint8Array(0), fast: true, status: "12" },
  {
    name: "grpc+json",
    headers: grpc(KEY_A, { "content-type": "application/grpc+json" }),
    body: frame(
      Buffer.from(
        toJsonString(
          PlaceOrderRequestSchema,
          create(PlaceOrderRequestSchema, { clientOrderId: "c-10", account: "acct-2", venue: "paper", symbol: "BTC-USD", side: Side.SELL, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1" }),
        ),
      ),
    ),
    fast: true,
    status: "0",
  },
  {
    name: "GetOrderStatus",
    headers: grpc(KEY_A, { ":path": path("GetOrderStatus") }),
    body: frame(toBinary(GetOrderStatusRequestSchema, create(GetOrderStatusRequestSchema, { clientOrderId: "c-3", account: "acct-1" }))),
    fast: true,
    status: "0",
  },
  {
    name: "CancelOrder of a filled order",
    headers: grpc(KEY_A, { ":path": path("CancelOrder") }),
    body: frame(toBinary(CancelOrderRequestSchema, create(CancelOrderRequestSchema, { clientOrderId: "c-1", account: "acct-1" }))),
    fast: true,
  },
  {
    name: "CancelOrder of a resting order",
    headers: grpc(KEY_A, { ":path": path("CancelOrder") }),
    body: frame(toBinary(CancelOrderRequestSchema, create(CancelOrderRequestSchema, { clientOrderId: "c-3", account: "acct-1" }))),
    fast: true,
    status: "0",
  },
  {
    name: "health check",
    headers: { ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" },
    body: frame(new Uint8Array(0)),
    fast: true,
    status: "0",
  },
  // Fall through to Fastify + connect on both gateways.
  { name: "gzip request", headers: grpc(KEY_A, { "grpc-encoding": "gzip" }), body: frame(gzipSync(order({ clientOrderId: "c-11" })), 1), fast: false, status: "0" },
  { name: "browser call with Origin", headers: grpc(KEY_A, { origin: "https://app.example" }), body: frame(order({ clientOrderId: "c-12" })), fast: false },
  {
    name: "gRPC-Web text",
    headers: grpc(KEY_A, { "content-type": "application/grpc-web-text" }),
    body: Buffer.from(Buffer.from(frame(order({ clientOrderId: "c-13" }))).toString("base64")),
    fast: false,
  },
  {
    name: "Connect GET",
    headers: { ":method": "GET", ":path": `${path("GetOrderStatus")}?encoding=json&message=${encodeURIComponent('{"clientOrderId":"c-3","account":"acct-1"}')}`, authorization: `Bearer ${KEY_A}` },
    body: new Uint8Array(0),
    fast: false,
  },
  // An :authority no URL can hold: the fast path leaves it to Fastify, which refuses it with a typed error.
  { name: "an authority no URL can hold", headers: grpc(KEY_A, { ":authority": "[bad" }), body: frame(order({ clientOrderId: "c-14" })), fast: false, status: "3" },
  { name: "Connect: an authority no URL can hold", headers: con(KEY_A, { ":authority": "[bad" }), body: order({ clientOrderId: "c-15" }), fast: false },
  // gRPC-Web and Connect unary on the fast path.
  { name: "gRPC-Web valid", headers: web(KEY_A), body: frame(order({ clientOrderId: "w-1" })), fast: true },
  { name: "gRPC-Web replayed", headers: web(KEY_A), body: frame(order({ clientOrderId: "w-1" })), fast: true },
  { name: "gRPC-Web invalid", headers: web(KEY_A), body: frame(order({ clientOrderId: "w-2", quantity: "0" })), fast: true },
  { name: "gRPC-Web unauthenticated", headers: web(undefined), body: frame(order({ clientOrderId: "w-3" })), fast: true },
  { name: "gRPC-Web oversized", headers: web(KEY_A), body: frame(new Uint8Array(5000)), fast: true },
  { name: "Connect proto valid", headers: con(KEY_A), body: order({ clientOrderId: "n-1" }), fast: true },
  { name: "Connect proto replayed", headers: con(KEY_A), body: order({ clientOrderId: "n-1" }), fast: true },
  {
    name: "Connect JSON valid",
    headers: con(KEY_A, { "content-type": "application/json" }),
    body: Buffer.from('{"clientOrderId":"n-2","account":"acct-2","venue":"paper","symbol":"BTC-USD","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET","timeInForce":"TIME_IN_FORCE_IOC","quantity":"2"}'),
    fast: true,
  },
  {
    name: "Connect JSON invalid",
    headers: con(KEY_A, { "content-type": "application/json" }),
    body: Buffer.from('{"clientOrderId":"n-3","account":"acct-2","venue":"paper","symbol":"BTC-USD","side":"SIDE_BUY","type":"ORDER_TYPE_LIMIT","quantity":"2"}'),
    fast: true,
  },
  { name: "Connect JSON malformed", headers: con(KEY_A, { "content-type": "application/json" }), body: Buffer.from("{"), fast: true },
  { name: "Connect unauthenticated", headers: con("bad"), body: order({ clientOrderId: "n-4" }), fast: true },
  { name: "Connect permission denied", headers: con(KEY_A), body: order({ clientOrderId: "n-5", account: "acct-7" }), fast: true },
  { name: "Connect oversized", headers: con(KEY_A, { "content-length": "5000" }), body: new Uint8Array(5000), fast: true },
  { name: "Connect invalid timeout", headers: con(KEY_A, { "connect-timeout-ms": "-1" }), body: order({ clientOrderId: "n-6" }), fast: true },
  // Deadlines in every grpc-timeout unit (grpc-go sends u and n for most): whole milliseconds on both paths.
  ...["1H", "2M", "5S", "4999m", "4999960u", "99999999n"].map((t, i): Case => ({
    name: `grpc-timeout ${t}`,
    headers: grpc(KEY_A, { "grpc-timeout": t }),
    body: frame(order({ clientOrderId: `t-${i}` })),
    fast: true,
    code: t === "1H" ? Code.InvalidArgument : 0,
  })),
  ...malformed.flatMap(([what, bytes]): Case[] => [
    { name: `gRPC: ${what}`, headers: grpc(KEY_A), body: frame(bytes), fast: true, status: "3", message: undecodable },
    { name: `gRPC-Web: ${what}`, headers: web(KEY_A), body: frame(bytes), fast: true, code: Code.InvalidArgument, message: undecodable },
    { name: `Connect proto: ${what}`, headers: con(KEY_A), body: bytes, fast: true, code: Code.InvalidArgument, message: undecodable },
    // Left to connect on both gateways: the edge answers the same.
    { name: `gRPC gzip: ${what}`, headers: grpc(KEY_A, { "grpc-encoding": "gzip" }), body: frame(gzipSync(bytes), 1), fast: false, status: "3", message: undecodable },
    { name: `Connect gzip: ${what}`, headers: con(KEY_A, { "content-encoding": "gzip" }), body: gzipSync(bytes), fast: false, code: Code.InvalidArgument, message: undecodable },
    { name: `gRPC StreamFills: ${what}`, headers: fills(), body: frame(bytes), fast: false, status: "3", message: undecodable },
    {
      name: `Connect streaming StreamFills: ${what}`,
      headers: con(KEY_A, { ":path": path("StreamFills"), "content-type": "application/connect+proto" }),
      body: frame(bytes),
      fast: false,
      code: Code.InvalidArgument,
      message: undecodable,
    },
  ]),
  // Refused before any protocol handler, in the caller's protocol, on both gateways.
  {
    name: "no content-type",
    headers: { ":path": path("PlaceOrder"), authorization: `Bearer ${KEY_A}`, "x-request-id": "rid-differential-1" },
    body: order({ clientOrderId: "u-1" }),
    fast: false,
    code: Code.InvalidArgument,
    message: /^missing content-type header/,
  },
  { name: "gRPC: unknown method", headers: grpc(KEY_A, { ":path": path("Nope") }), body: frame(order()), fast: false, status: "12", message: /^unknown method Nope for service trading\.v1\.TradingGateway$/ },
  { name: "Connect: unknown method", headers: con(KEY_A, { ":path": path("Nope") }), body: order(), fast: false, code: Code.Unimplemented },
  { name: "gRPC: compressed flag without grpc-encoding", headers: grpc(KEY_A), body: frame(order({ clientOrderId: "z-1" }), 1), fast: true, status: "3", message: flaggedCompressed },
  { name: "gRPC-Web: compressed flag without grpc-encoding", headers: web(KEY_A), body: frame(order({ clientOrderId: "z-2" }), 1), fast: true, code: Code.InvalidArgument, message: flaggedCompressed },
  { name: "gRPC StreamFills: compressed flag without grpc-encoding", headers: fills(), body: frame(new Uint8Array(0), 1), fast: false, status: "3", message: flaggedCompressed },
  {
    name: "Connect streaming: compressed flag without connect-content-encoding",
    headers: con(KEY_A, { ":path": path("StreamFills"), "content-type": "application/connect+proto" }),
    body: frame(new Uint8Array(0), 1),
    fast: false,
    code: Code.InvalidArgument,
    message: flaggedCompressed,
  },
];

const stock = await startGateway(false);
const fast = await startGateway(true);
after(async () => {
  for (const s of session.values()) s.destroy();
  await stock.app.close();
  await fast.app.close();
});

for (const c of cases) {
  test(`identical on both paths: ${c.name}`, async () => {
    const before = fast.hook.handled;
    const a = await exchange(stock.port, c.headers, c.body);
    const b = await exchange(fast.port, c.headers, c.body);
    assert.deepEqual(b, a);
    if (c.status !== undefined) assert.equal(a.trailers["grpc-status"] ?? a.headers["grpc-status"], c.status, JSON.stringify(a));
    if (c.code !== undefined) assert.equal(rawStatus(a).code, c.code, JSON.stringify(a));
    if (c.message !== undefined) assert.match(rawStatus(a).message, c.message);
    assert.equal(fast.hook.handled - before, c.fast ? 1 : 0, c.fast ? "the fast path should serve it" : "it should fall through");
    assert.equal(stock.hook.handled, 0, "FAST_PATH=off must never use the fast path");
  });
}

test("identical on both paths: rate limited (same bucket state, frozen clock)", async () => {
  const before = fast.hook.handled;
  const answers: [RawResponse, RawResponse][] = [];
  for (let i = 0; i <= RATE_BURST; i++) {
    const body = frame(order({ clientOrderId: `r-${i}`, account: "acct-3" }));
    answers.push([await exchange(stock.port, grpc(KEY_C), body), await exchange(fast.port, grpc(KEY_C), body)]);
  }
  for (const [a, b] of answers) assert.deepEqual(b, a);
  const last = answers.at(-1)![0];
  assert.equal(last.trailers["grpc-status"], "8", "the call past the burst is RESOURCE_EXHAUSTED");
  assert.ok(last.trailers["grpc-status-details-bin"] !== undefined, "with RetryInfo details");
  assert.equal(fast.hook.handled - before, RATE_BURST + 1);
});

test("an authority no URL can hold gets a typed INVALID_ARGUMENT naming the header, in each protocol", async () => {
  const g = await exchange(fast.port, grpc(KEY_A, { ":authority": "[bad" }), frame(order({ clientOrderId: "a-1" })));
  assert.equal(g.headers["grpc-status"], "3");
  assert.match(decodeURIComponent(String(g.headers["grpc-message"])), /invalid :authority header: "\[bad"/);
  const c = await exchange(fast.port, con(KEY_A, { ":authority": "[bad" }), order({ clientOrderId: "a-2" }));
  assert.equal(c.headers[":status"], 400);
  assert.deepEqual(JSON.parse(Buffer.from(c.body, "hex").toString("utf8")), { code: "invalid_argument", message: 'invalid :authority header: "[bad"' });
});


test("identical on both paths: shutting down (the fast path steps aside, Fastify refuses)", async () => {
  stock.health.shutdown();
  fast.health.shutdown();
  const before = fast.hook.handled;
  for (const headers of [grpc(KEY_A), con(KEY_A)]) {
    const body = headers["content-type"] === "application/grpc" ? frame(order({ clientOrderId: "s-1" })) : order({ clientOrderId: "s-1" });
    const a = await exchange(stock.port, headers, body);
    const b = await exchange(fast.port, headers, body);
    assert.deepEqual(b, a);
  }
  const last = await exchange(fast.port, grpc(KEY_A), frame(order({ clientOrderId: "s-2" })));
  assert.equal(last.trailers["grpc-status"] ?? last.headers["grpc-status"], "14", JSON.stringify(last));
  assert.equal(fast.hook.handled, before, "calls during shutdown go to Fastify");
});
