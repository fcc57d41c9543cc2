import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health } from "../../gen/health/v1/health_pb.js";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { OrderType, PlaceOrderRequestSchema, PlaceOrderResponseSchema, Side, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { servedByFastPath } from "../../src/server/fast-path/install-fast-path.js";
import { startServer } from "../helpers/start-server.js";
import type { StartedServer } from "../helpers/start-server.js";
import { waitFor } from "../helpers/wait-for.js";

const order = { clientOrderId: "c1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, quantity: "1" };
const PLACE = "/trading.v1.TradingGateway/PlaceOrder";

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected the call to fail");
}

/** A raw HTTP/1.1 request; returns status, headers and body text. */
function h1(srv: StartedServer, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(`${srv.baseUrl}${path}`, { method: init.method ?? "POST", headers: init.headers ?? {}, agent: false }, (res) => {
      let data = "";
      res.setEncoding("utf8").on("data", (c) => (data += c)).on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A raw HTTP/2 request; returns the response headers, trailers, whether headers ended the stream, and the body. */
function h2(srv: StartedServer, headers: http2.OutgoingHttpHeaders, body?: Buffer | string) {
  return new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; endedWithHeaders: boolean; body: Buffer }>((resolve, reject) => {
    const session = http2.connect(srv.baseUrl);
    session.on("error", reject);
    const s = session.request({ ":method": "POST", ...headers });
    let h: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let endedWithHeaders = false;
    const chunks: Buffer[] = [];
    s.on("response", (hh, flags) => {
      h = hh;
      endedWithHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    s.on("trailers", (t) => (trailers = t));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => {
      session.close();
      resolve({ headers: h, trailers, endedWithHeaders, body: Buffer.concat(chunks) });
    });
    s.on("error", reject);
    s.end(body);
  });
}

const grpcFrame = (payload: Buffer, declaredLength = payload.length) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
};

test("metrics listener serves /metrics with RPC counters that move, plus default metrics", async (t) => {
  const { createRpcMetrics } = await import("../../src/adapters/metrics/metrics.js");
  const { createMetricsServer } = await import("../../src/server/metrics-server.js");
  const metrics = createRpcMetrics({ defaultMetrics: true });
  const srv = await startServer({ metrics });
  const ms = createMetricsServer({ registry: metrics.registry, health: srv.health });
  const addr = await ms.listen("127.0.0.1", 0);
  t.after(async () => {
    await ms.close();
    await srv.close();
  });
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${addr.port}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
    return r.text();
  };
  const line = /grpc_server_handled_total\{grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="PlaceOrder",grpc_code="OK"\} (\d+)/;
  const before = await scrape();
  assert.doesNotMatch(before, line);
  assert.match(before, /process_cpu_user_seconds_total/);
  assert.match(before, /nodejs_eventloop_lag_seconds/);
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  await client.placeOrder(order);
  await client.placeOrder(order);
  assert.equal((await scrape()).match(line)?.[1], "2");
  assert.equal((await fetch(`http://127.0.0.1:${addr.port}/other`)).status, 404);
});

test("request id is echoed over HTTP, auth and rate-limit codes map to HTTP and gRPC", async (t) => {
  const { createHash } = await import("node:crypto");
  const srv = await startServer({
    config: {
      apiKeys: [{ sha256: createHash("sha256").update("secret-key").digest("hex"), accounts: new Set(["acct1"]) }],
      rateLimitRps: 1,
      // Refused calls (no key, wrong account) take no token: auth runs first.
      rateLimitBurst: 1,
    },
  });
  t.after(() => srv.close());
  const body = JSON.stringify({ clientOrderId: "c1", account: "acct1", symbol: "X", quantity: "1" });
  const noKey = await h1(srv, PLACE, { headers: { "content-type": "application/json", "x-request-id": "req-42" }, body });
  assert.equal(noKey.status, 401);
  assert.equal(JSON.parse(noKey.body).code, "unauthenticated");
  assert.equal(noKey.headers["x-request-id"], "req-42");
  const ok = await h1(srv, PLACE, { headers: { "content-type": "application/json", authorization: "Bearer secret-key" }, body });
  assert.equal(ok.status, 200);
  const other = await h1(srv, PLACE, { headers: { "content-type": "application/json", authorization: "Bearer secret-key" }, body: body.replace("acct1", "acct2") });
  assert.equal(other.status, 403);
  assert.equal(JSON.parse(other.body).code, "permission_denied");
  const limited = await h1(srv, PLACE, { headers: { "content-type": "application/json", authorization: "Bearer secret-key" }, body });
  assert.equal(limited.status, 429);
  const err = JSON.parse(limited.body);
  assert.equal(err.code, "resource_exhausted");
  assert.equal(err.details[0].type, "google.rpc.RetryInfo");
  // gRPC clients get the same code, with health still open without a key.
  const grpc = createGrpcTransport({ baseUrl: srv.baseUrl });
  assert.equal((await codeOf(createClient(TradingGateway, grpc).placeOrder(order))).code, Code.Unauthenticated);
  assert.equal((await createClient(Health, grpc).check({ service: "" })).status, 1);
});

test("CORS preflight uses Connect's header lists for allowed origins only", async (t) => {
  const srv = await startServer({ config: { corsOrigins: ["https://app.example"] } });
  t.after(() => srv.close());
  const pre = await h1(srv, PLACE, {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version,x-grpc-web" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-origin"], "https://app.example");
  const allowed = String(pre.headers["access-control-allow-headers"]).toLowerCase();
  for (const h of ["content-type", "connect-protocol-version", "x-grpc-web", "grpc-timeout", "authorization", "x-request-id"]) assert.ok(allowed.includes(h), h);
  const call = await h1(srv, PLACE, { headers: { origin: "https://app.example", "content-type": "application/json" }, body: "{}" });
  assert.equal(call.headers["access-control-allow-origin"], "https://app.example");
  assert.ok(String(call.headers["access-control-expose-headers"]).toLowerCase().includes("grpc-status"));
  const evil = await h1(srv, PLACE, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
  assert.equal(evil.headers["access-control-allow-origin"], undefined);
});

test("load shedding answers UNAVAILABLE natively: gRPC trailers-only, gRPC-Web headers, Connect 503 JSON", async (t) => {
  // A heap limit of 1 byte is exceeded from the first sample on.
  const srv = await startServer({ config: { underPressureMaxHeapUsedBytes: 1, underPressureSampleIntervalMs: 5 } });
  t.after(() => srv.close());
  const grpcClient = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  // The first sample is taken one interval after start-up, so a call may still pass before it: retry until shed.
  const shed = (p: Promise<unknown>) => p.then(() => false, (e) => ConnectError.from(e).code === Code.Unavailable);
  await waitFor(() => shed(grpcClient.placeOrder(order)), { what: "shedding" });
  const web = await codeOf(createClient(TradingGateway, createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1" })).placeOrder(order));
  assert.equal(web.code, Code.Unavailable);
  assert.match(web.rawMessage, /overloaded/);
  const connect = await codeOf(createClient(TradingGateway, createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1" })).placeOrder(order));
  assert.equal(connect.code, Code.Unavailable);

  const raw = await h2(srv, { ":path": PLACE, "content-type": "application/grpc", te: "trailers" }, grpcFrame(Buffer.alloc(0)));
  assert.equal(raw.headers[":status"], 200);
  assert.equal(raw.headers["grpc-status"], "14");
  assert.ok(raw.endedWithHeaders, "trailers-only response");
  const rawWeb = await h1(srv, PLACE, { headers: { "content-type": "application/grpc-web+proto" }, body: grpcFrame(Buffer.alloc(0)) });
  assert.equal(rawWeb.status, 200);
  assert.equal(rawWeb.headers["grpc-status"], "14");
  const rawConnect = await h1(srv, PLACE, { headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(rawConnect.status, 503);
  assert.equal(rawConnect.headers["content-type"], "application/json");
  assert.equal(JSON.parse(rawConnect.body).code, "unavailable");
  assert.equal(rawConnect.headers["retry-after"], "1");
  // No "reply already sent" or other warnings from answering in a hook.
  assert.deepEqual(srv.logs.lines.filter((l) => Number(l["level"]) >= 40), []);
});

test("limits: message size -> RESOURCE_EXHAUSTED, deadline above maximum -> INVALID_ARGUMENT", async (t) => {
  const srv = await startServer({ config: { maxMessageBytes: 1024, maxDeadlineMs: 1000 } });
  t.after(() => srv.close());
  for (const transport of [createGrpcTransport({ baseUrl: srv.baseUrl }), createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1" })]) {
    const client = createClient(TradingGateway, transport);
    assert.equal((await codeOf(client.placeOrder({ ...order, quantity: "1".repeat(2000) }))).code, Code.ResourceExhausted);
    assert.equal((await codeOf(client.placeOrder(order, { timeoutMs: 5000 }))).code, Code.InvalidArgument);
    assert.equal((await client.placeOrder(order, { timeoutMs: 500 })).order?.orderId, "ord-c1");
  }
});

test("MAX_MESSAGE_BYTES limits requests only: at the limit accepted, one byte over refused, a larger response still answered", async (t) => {
  const LIMIT = 1024;
  // A request of exactly `size` bytes in its encoding: the client order id pads it (the fake echoes
  // it twice in the response, as clientOrderId and in orderId, so the response is larger).
  const sized = (size: number, binary: boolean) => {
    for (let pad = size; pad > 0; pad--) {
      const m = create(PlaceOrderRequestSchema, { clientOrderId: "x".repeat(pad), quantity: "1" });
      const n = binary ? toBinary(PlaceOrderRequestSchema, m).byteLength : Buffer.byteLength(toJsonString(PlaceOrderRequestSchema, m));
      if (n === size) return m;
    }
    throw new Error(`no request of ${size} bytes`);
  };
  for (const fastPath of [true, false]) {
    const srv = await startServer({ config: { maxMessageBytes: LIMIT, fastPath } });
    t.after(() => srv.close());
    const baseUrl = srv.baseUrl;
    const transports = {
      grpc: [createGrpcTransport({ baseUrl }), true],
      "grpc-web h2": [createGrpcWebTransport({ baseUrl, httpVersion: "2" }), true],
      "grpc-web h1": [createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }), true],
      "connect proto h2": [createConnectTransport({ baseUrl, httpVersion: "2" }), true],
      "connect json h2": [createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }), false],
      "connect json h1": [createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }), false],
    } as const;
    for (const [name, [transport, binary]] of Object.entries(transports)) {
      const client = createClient(TradingGateway, transport);
      const what = `${name}, FAST_PATH=${fastPath ? "on" : "off"}`;
      const atLimit = sized(LIMIT, binary);
      const res = await client.placeOrder(atLimit);
      assert.equal(res.order?.clientOrderId, atLimit.clientOrderId, what);
      assert.ok(toBinary(PlaceOrderResponseSchema, res).byteLength > LIMIT, "the response is larger than the limit");
      const over = await codeOf(client.placeOrder(sized(LIMIT + 1, binary)));
      assert.equal(over.code, Code.ResourceExhausted, what);
      assert.match(over.rawMessage, /larger than configured readMaxBytes 1024/, what);
    }
    // gRPC, gRPC-Web h2 and Connect proto h2 and JSON h2, twice each: the fast path took them when on.
    assert.equal(servedByFastPath(srv.app), fastPath ? 8 : 0);
  }
});

test("requests no RPC can take are refused in the caller's protocol (Connect error JSON, gRPC status), never with a framework body", async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const exchanges: [string, string, Record<string, string>, string | undefined, number, string, RegExp][] = [
    // [method, path, headers, body, HTTP status, Connect code, message]
    ["POST", PLACE, {}, "{}", 415, "invalid_argument", /^missing content-type header: expected application\/grpc/],
    ["POST", PLACE, {}, undefined, 415, "invalid_argument", /^missing content-type header/],
    ["POST", PLACE, { "content-type": "text/plain" }, "hello", 415, "invalid_argument", /^unsupported content-type "text\/plain": expected /],
    ["POST", PLACE, { "content-type": "application/xml" }, "<a/>", 415, "invalid_argument", /^unsupported content-type "application\/xml"/],
    ["POST", "/trading.v1.TradingGateway/Nope", { "content-type": "application/json" }, "{}", 404, "unimplemented", /^unknown method Nope for service trading\.v1\.TradingGateway$/],
    ["POST", "/trading.v1.TradingGateway/Nope", {}, "{}", 404, "unimplemented", /^unknown method Nope/],
    ["POST", "/trading.v9.Other/PlaceOrder", { "content-type": "application/proto" }, "", 404, "unimplemented", /^unknown service trading\.v9\.Other$/],
    ["GET", "/", {}, undefined, 404, "unimplemented", /^unknown path "\/" \(GET\)/],
    ["POST", "/favicon.ico", { "content-type": "text/plain" }, "x".repeat(2_000_000), 404, "unimplemented", /^unknown path "\/favicon\.ico"/],
    ["POST", "/trading.v1.TradingGateway/%zz", { "content-type": "application/json" }, "{}", 400, "invalid_argument", /^invalid request path: /],
  ];
  for (const [method, path, headers, body, status, code, message] of exchanges) {
    const what = `${method} ${path} ${JSON.stringify(headers)}`;
    const one = await h1(srv, path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const two = await h2(srv, { ":method": method, ":path": path, ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) }, body);
    for (const [proto, r] of [["HTTP/1.1", { status: one.status, ct: one.headers["content-type"], body: one.body }], ["h2", { status: two.headers[":status"], ct: two.headers["content-type"], body: two.body.toString("utf8") }]] as const) {
      assert.equal(r.status, status, `${proto} ${what}`);
      assert.equal(r.ct, "application/json", `${proto} ${what}`);
      const e = JSON.parse(r.body) as { code: string; message: string };
      assert.deepEqual(Object.keys(e), ["code", "message"], `${proto} ${what}: a Connect error, not Fastify's`);
      assert.equal(e.code, code, `${proto} ${what}`);
      assert.match(e.message, message, `${proto} ${what}`);
    }
  }
  // gRPC callers get a gRPC status: an unknown method is UNIMPLEMENTED, trailers-only.
  const grpcNope = await h2(srv, { ":path": "/trading.v1.TradingGateway/Nope", "content-type": "application/grpc", te: "trailers" }, grpcFrame(Buffer.alloc(0)));
  assert.equal(grpcNope.headers[":status"], 200);
  assert.equal(grpcNope.headers["grpc-status"], String(Code.Unimplemented));
  assert.equal(grpcNope.headers["grpc-message"], "unknown method Nope for service trading.v1.TradingGateway");
  assert.ok(grpcNope.endedWithHeaders, "trailers-only");
  const grpcXml = await h2(srv, { ":path": PLACE, "content-type": "application/grpc+xml", te: "trailers" }, grpcFrame(Buffer.alloc(0)));
  assert.equal(grpcXml.headers["grpc-status"], String(Code.InvalidArgument));
  assert.match(String(grpcXml.headers["grpc-message"]), /^unsupported content-type "application\/grpc\+xml"/);
  // A wrong HTTP method is connect's own answer (405, no body), not a framework's.
  const get = await h1(srv, PLACE, { method: "GET", headers: {} });
  assert.equal(get.status, 405);
  assert.equal(get.body, "");
});

test("bad input gets proper errors and never takes the server down", async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const json = { "content-type": "application/json" };
  const badJson = await h1(srv, PLACE, { headers: json, body: "{not json" });
  assert.equal(badJson.status, 400);
  assert.equal(JSON.parse(badJson.body).code, "invalid_argument");
  const badField = await h1(srv, PLACE, { headers: json, body: JSON.stringify({ quantity: 12, side: "SIDE_NOPE" }) });
  assert.equal(badField.status, 400);
  assert.equal(JSON.parse(badField.body).code, "invalid_argument");
  const wrongType = await h1(srv, PLACE, { headers: { "content-type": "text/plain" }, body: "hello" });
  assert.equal(wrongType.status, 415);
  const noSuch = await h1(srv, "/trading.v1.TradingGateway/Nope", { headers: json, body: "{}" });
  assert.equal(noSuch.status, 404);
  // Truncated gRPC frame: promises 100 bytes, sends 3.
  const truncated = await h2(srv, { ":path": PLACE, "content-type": "application/grpc", te: "trailers" }, grpcFrame(Buffer.from([1, 2, 3]), 100));
  const truncatedStatus = truncated.trailers["grpc-status"] ?? truncated.headers["grpc-status"];
  assert.ok(truncatedStatus !== undefined && truncatedStatus !== "0", `grpc-status ${String(truncatedStatus)}`);
  // Garbage protobuf.
  const garbage = await h2(srv, { ":path": PLACE, "content-type": "application/grpc", te: "trailers" }, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  const garbageStatus = garbage.trailers["grpc-status"] ?? garbage.headers["grpc-status"];
  assert.ok(garbageStatus !== undefined && garbageStatus !== "0");
  // Garbage after the HTTP/2 preface, and garbage instead of HTTP/1.1: the connection dies, not the server.
  for (const bytes of [Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.alloc(64, 0xee)]), Buffer.from("\x16\x03\x01garbage\r\n\r\n")]) {
    await new Promise<void>((resolve) => {
      const sock = net.connect(srv.port, "127.0.0.1", () => sock.end(bytes));
      sock.on("data", () => {});
      sock.on("error", () => resolve());
      sock.on("close", () => resolve());
    });
  }
  // A preface split across packets still becomes HTTP/2.
  const split = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(srv.port, "127.0.0.1");
    const session = http2.connect(srv.baseUrl, { createConnection: () => sock });
    const origWrite = sock.write.bind(sock);
    let first = true;
    sock.write = ((chunk: Buffer, ...rest: never[]) => {
      if (first && Buffer.isBuffer(chunk) && chunk.length > 5) {
        first = false;
        origWrite(chunk.subarray(0, 5));
        return origWrite(chunk.subarray(5), ...rest);
      }
      return origWrite(chunk, ...rest);
    }) as typeof sock.write;
    const s = session.request({ ":method": "POST", ":path": PLACE, "content-type": "application/json" });
    let data = "";
    s.setEncoding("utf8").on("data", (c) => (data += c)).on("end", () => {
      session.close();
      resolve(data);
    });
    s.on("error", reject);
    s.end(JSON.stringify({ clientOrderId: "split" }));
  });
  assert.equal(JSON.parse(split).order.orderId, "ord-split");
  // Still serving over every protocol.
  assert.equal((await createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl })).placeOrder(order)).order?.orderId, "ord-c1");
  assert.equal((await h1(srv, PLACE, { headers: json, body: "{}" })).status, 200);
  assert.deepEqual(srv.logs.lines.filter((l) => Number(l["level"]) >= 50), [], "no errors logged");
});

test("graceful shutdown: NOT_SERVING, new calls refused, the call in flight finishes, streams end", async (t) => {
  const srv = await startServer({ config: { shutdownGraceMs: 5000 } });
  t.after(() => srv.close());
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  const inFlight = client.placeOrder({ ...order, symbol: "SLOW", clientOrderId: "slow" });
  const fills: string[] = [];
  const stream = (async () => {
    for await (const r of client.streamFills({ account: "acct1" })) fills.push(r.fill!.fillId);
  })();
  await waitFor(() => srv.fake.slowWaiting === 1 && srv.fake.openStreams === 1, { what: "slow call and stream to start" });
  srv.fake.pushFill({ fillId: "f1", account: "acct1" });
  await waitFor(() => fills.length === 1, { what: "first fill" });
  // main.ts flips health first: from then on new calls are refused with UNAVAILABLE.
  // (Streams are told to end only when close() starts, below.)
  srv.health.shutdown();
  assert.equal(srv.health.get(""), 2 /* NOT_SERVING */);
  const refused = await h1(srv, PLACE, { headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).code, "unavailable");
  assert.equal((await codeOf(createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl })).placeOrder(order))).code, Code.Unavailable);
  const closed = srv.close();
  // Closing: the port no longer accepts connections at all.
  await assert.rejects(h1(srv, PLACE, { headers: { "content-type": "application/json" }, body: "{}" }), /ECONNREFUSED|ECONNRESET/);
  srv.fake.release();
  assert.equal((await inFlight).order?.orderId, "ord-slow");
  await closed;
  // The fill stream ended cleanly (status OK, no error), it was not cut off.
  await stream;
  assert.deepEqual(fills, ["f1"]);
});

test("graceful shutdown: a call that outlives the grace period is aborted with UNAVAILABLE and close completes", async (t) => {
  const srv = await startServer({ config: { shutdownGraceMs: 100 } });
  t.after(() => srv.close());
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  const inFlight = codeOf(client.placeOrder({ ...order, symbol: "SLOW" }));
  await waitFor(() => srv.fake.slowWaiting === 1, { what: "slow call to start" });
  await srv.close();
  assert.equal((await inFlight).code, Code.Unavailable);
});

test("timeouts: silent connections and slow headers are closed, for both protocols' entry", async (t) => {
  const srv = await startServer({ config: { headersTimeoutMs: 300 } });
  t.after(() => srv.close());
  const closedAfter = (send: string | undefined) =>
    new Promise<{ ms: number; data: string }>((resolve) => {
      const started = Date.now();
      let data = "";
      const sock = net.connect(srv.port, "127.0.0.1", () => {
        if (send !== undefined) sock.write(send);
      });
      sock.setEncoding("utf8").on("data", (c) => (data += c));
      sock.on("error", () => {});
      sock.on("close", () => resolve({ ms: Date.now() - started, data }));
    });
  // Sends nothing: still being sniffed for the HTTP/2 preface when the deadline hits.
  const silent = await closedAfter(undefined);
  assert.ok(silent.ms >= 250 && silent.ms < 5000, `closed after ${silent.ms} ms`);
  // Sends half a preface: same.
  assert.ok((await closedAfter("PRI * HTTP/2.0\r\n")).ms < 5000);
  // HTTP/1.1 headers that never end: Node's headersTimeout answers 408 and closes.
  const slow = await closedAfter("POST /trading.v1.TradingGateway/PlaceOrder HTTP/1.1\r\nHost: x\r\n");
  assert.ok(slow.ms < 5000, `closed after ${slow.ms} ms`);
  assert.match(slow.data, /^HTTP\/1\.1 408/);
});
