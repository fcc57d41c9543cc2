import { test, after, mock } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport, compressionGzip, compressionBrotli } from "@connectrpc/connect-node";
import {
  TradingGateway,
  PlaceOrderRequestSchema,
  OrderStatus,
  OrderType,
  Side,
} from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createUnaryFastPath } from "../../../src/server/fast-path/unary-fast-path.js";
import { withProtocolEdge } from "../../../src/server/protocol-edge.js";
import type { UnaryFastPath } from "../../../src/server/fast-path/unary-fast-path.js";
import { toConnectError } from "../../../src/rpc/to-connect-error.js";
import { invalidArgument } from "../../../src/domain/errors.js";
import { frame } from "../../helpers/grpc-frame.js";
import { collectResponse, rawStatus, stripHeaders, type RawResponse } from "../../helpers/raw-http2.js";
import { createTestCerts } from "../../helpers/test-certs.js";

const certs = createTestCerts();

// A small service and interceptor chain that exercise every part of the
// protocol the fast path re-implements: headers and trailers set by
// interceptors and the implementation, error details and metadata, the
// deadline signal, and message limits.
const requestIdInterceptor: Interceptor = (next) => async (req) => {
  const id = req.header.get("x-request-id") ?? "generated";
  try {
    const res = await next(req);
    res.header.set("x-request-id", id);
    return res;
  } catch (e) {
    const ce = ConnectError.from(e);
    ce.metadata.set("x-request-id", id);
    throw ce;
  }
};
// An interceptor that answers with its own Headers objects (connect copies them over).
const replaceInterceptor: Interceptor = (next) => async (req) => {
  const res = await next(req);
  if (req.header.get("x-replace") === null) return res;
  return { ...res, header: new Headers({ "x-new": "1", "content-type": "application/grpc" }), trailer: new Headers({ "grpc-status": "0", "x-t": "2" }) };
};
// An interceptor that passes on copies, as interceptors that change a message do: the copies
// must carry every field (header, signal, trailer...), lazy or not, or what comes after breaks.
const copyInterceptor: Interceptor = (next) => async (req) => {
  if (req.header.get("x-copy") === null || req.stream) return next(req);
  const res = await next({ ...req, message: req.message });
  return { ...res };
};
// The URL connect gives interceptors and handlers (scheme from the connection, authority, path).
const urlInterceptor: Interceptor = (next) => async (req) => {
  const res = await next(req);
  if (req.header.get("x-echo-url") !== null) res.header.set("x-url", req.url);
  return res;
};
const authInterceptor: Interceptor = (next) => async (req) => {
  if (req.header.get("authorization") !== "Bearer good") {
    throw new ConnectError("missing or invalid API key", Code.Unauthenticated, { "www-authenticate": "Bearer" });
  }
  return next(req);
};

let sleeping = 0;
const abortReasons: unknown[] = [];

function routes(router: ConnectRouter): void {
  router.service(TradingGateway, {
    async placeOrder(req, ctx) {
      if (req.quantity === "") {
        throw toConnectError(invalidArgument([{ field: "quantity", description: "is required" }]));
      }
      if (req.account === "sleep") {
        const signal = ctx.signal;
        sleeping++;
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        sleeping--;
        abortReasons.push(signal.reason);
        throw signal.reason;
      }
      if (req.account === "boom") throw new Error("a bug");
      // Over compressMinBytes once encoded: a compressed gRPC-Web trailer envelope with an accepted encoding.
      if (req.account === "long-error") throw new ConnectError("bad: a, b; 100% ü ".repeat(80), Code.FailedPrecondition);
      if (req.account === "timeout-left") {
        ctx.responseHeader.set("x-timeout-known", String(ctx.timeoutMs() !== undefined));
      }
      // What a handler that wants whole milliseconds does: BigInt throws on a fraction.
      if (req.account === "timeout-int") ctx.responseHeader.set("x-timeout-ms", String(BigInt(ctx.timeoutMs() ?? -1)));
      ctx.responseHeader.set("x-impl", "1");
      ctx.responseTrailer.set("x-trailer", "t");
      return {
        order: {
          orderId: "o-1",
          clientOrderId: req.clientOrderId,
          account: req.account,
          quantity: req.quantity,
          status: OrderStatus.FILLED,
          rejectReason: "x".repeat(req.symbol === "BIG" ? 2000 : 0),
        },
      };
    },
    async *streamFills() {},
  });
}

const options = {
  // As app.ts gives them: the edge makes connect answer as the gateway does (decode failures,
  // grpc-message), and the fast path answers so by itself.
  routes: withProtocolEdge(routes),
  interceptors: [requestIdInterceptor, replaceInterceptor, copyInterceptor, urlInterceptor, authInterceptor],
  readMaxBytes: 1024,
  maxTimeoutMs: 60_000,
  acceptCompression: [compressionGzip, compressionBrotli],
};

interface Started {
  readonly port: number;
  readonly handled: () => number;
  readonly close: () => Promise<void>;
}

/** A node:http2 server with connect's node adapter, optionally with the fast path hooked in front. */
async function start(withFastPath: boolean, tls?: { cert: Buffer; key: Buffer }): Promise<Started> {
  const server = tls === undefined ? http2.createServer(connectNodeAdapter(options)) : http2.createSecureServer({ ...tls, allowHTTP1: false }, connectNodeAdapter(options));
  let handled = 0;
  if (withFastPath) {
    const fast: UnaryFastPath = createUnaryFastPath(options);
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
    server.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === "stream" && fast(args[0] as http2.ServerHttp2Stream, args[1] as http2.IncomingHttpHeaders)) {
        handled++;
        return true;
      }
      return emit(event, ...args);
    }) as typeof server.emit;
  }
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    handled: () => handled,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}


/** One raw HTTP/2 exchange on its own connection, so that every header, trailer and body byte can be compared. */
async function exchange(port: number, headers: http2.OutgoingHttpHeaders, body: Uint8Array, ca?: Buffer): Promise<RawResponse> {
  const session = ca === undefined ? http2.connect(`http://127.0.0.1:${port}`) : http2.connect(`https://127.0.0.1:${port}`, { ca });
  const failed = new Promise<never>((_, reject) => session.on("error", reject));
  failed.catch(() => {}); // an error after the answer is in changes nothing
  try {
    // An empty body goes as END_STREAM on the HEADERS frame, with no DATA frame at all.
    const req = session.request({ ":method": "POST", ...headers }, body.byteLength === 0 ? { endStream: true } : {});
    const res = collectResponse(req, VOLATILE);
    if (body.byteLength > 0) req.end(body);
    return await Promise.race([res, failed]);
  } finally {
    session.close();
  }
}

const VOLATILE: ReadonlySet<string> = new Set(["date"]);
const strip = (h: http2.IncomingHttpHeaders) => stripHeaders(h, VOLATILE);


const validRequest = create(PlaceOrderRequestSchema, {
  clientOrderId: "c-1",
  account: "acc-1",
  venue: "paper",
  symbol: "BTC-USD",
  side: Side.BUY,
  type: OrderType.MARKET,
  quantity: "1.5",
});
const valid = toBinary(PlaceOrderRequestSchema, validRequest);
const base = {
  ":path": "/trading.v1.TradingGateway/PlaceOrder",
  "content-type": "application/grpc",
  te: "trailers",
  authorization: "Bearer good",
  "x-request-id": "rid-1",
};
const web = { ...base, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
const con = { ...base, "content-type": "application/proto", "connect-protocol-version": "1" };
const conJson = { ...con, "content-type": "application/json" };
const withAccount = (account: string, extra: Partial<typeof validRequest> = {}) =>
  toBinary(PlaceOrderRequestSchema, create(PlaceOrderRequestSchema, { ...validRequest, account, ...extra }));

const cases: { name: string; headers: http2.OutgoingHttpHeaders; body: Uint8Array; fast: boolean }[] = [
  { name: "valid", headers: base, body: frame(valid), fast: true },
  { name: "valid +proto", headers: { ...base, "content-type": "application/grpc+proto" }, body: frame(valid), fast: true },
  { name: "accept gzip, small answer", headers: { ...base, "grpc-accept-encoding": "gzip" }, body: frame(valid), fast: true },
  {
    name: "accept gzip, large answer is compressed",
    headers: { ...base, "grpc-accept-encoding": "gzip" },
    body: frame(withAccount("acc-1", { symbol: "BIG" })),
    fast: true,
  },
  { name: "invalid (details)", headers: base, body: frame(withAccount("acc-1", { quantity: "" })), fast: true },
  { name: "unauthenticated (metadata)", headers: { ...base, authorization: "Bearer bad" }, body: frame(valid), fast: true },
  { name: "implementation throws", headers: base, body: frame(withAccount("boom")), fast: true },
  { name: "long error message", headers: { ...base, "grpc-accept-encoding": "gzip" }, body: frame(withAccount("long-error")), fast: true },
  { name: "oversized message", headers: base, body: frame(new Uint8Array(2000)), fast: true },
  { name: "no message", headers: base, body: new Uint8Array(0), fast: true },
  { name: "two messages", headers: base, body: Buffer.concat([frame(valid), frame(valid)]), fast: true },
  { name: "incomplete envelope", headers: base, body: frame(valid).subarray(0, 9), fast: true },
  { name: "compressed flag without encoding", headers: base, body: frame(valid, 1), fast: true },
  { name: "garbage message", headers: base, body: frame(Buffer.from([0xff, 0xff, 0xff])), fast: true },
  { name: "invalid grpc-timeout", headers: { ...base, "grpc-timeout": "soon" }, body: frame(valid), fast: true },
  { name: "grpc-timeout above max", headers: { ...base, "grpc-timeout": "2M" }, body: frame(valid), fast: true },
  { name: "deadline expires", headers: { ...base, "grpc-timeout": "30m" }, body: frame(withAccount("sleep")), fast: true },
  { name: "deadline already expired", headers: { ...base, "grpc-timeout": "0n" }, body: frame(withAccount("sleep")), fast: true },
  { name: "timeoutMs visible", headers: { ...base, "grpc-timeout": "5S" }, body: frame(withAccount("timeout-left")), fast: true },
  { name: "interceptor replaces headers and trailers", headers: { ...base, "x-replace": "1" }, body: frame(valid), fast: true },
  { name: "connect: interceptor replaces headers and trailers", headers: { ...con, "x-replace": "1" }, body: valid, fast: true },
  { name: "interceptor passes on copies of request and response", headers: { ...base, "x-copy": "1" }, body: frame(valid), fast: true },
  { name: "copies: deadline expires", headers: { ...base, "x-copy": "1", "grpc-timeout": "30m" }, body: frame(withAccount("sleep")), fast: true },
  { name: "copies: unauthenticated", headers: { ...base, "x-copy": "1", authorization: "no" }, body: frame(valid), fast: true },
  { name: "connect: interceptor passes on copies", headers: { ...con, "x-copy": "1" }, body: valid, fast: true },
  // An explicit authority: the servers' ports differ.
  { name: "request URL", headers: { ...base, "x-echo-url": "1", ":authority": "gw.example" }, body: frame(valid), fast: true },
  { name: "request URL, other authority", headers: { ...base, "x-echo-url": "1", ":authority": "gw.example:8443" }, body: frame(valid), fast: true },
  {
    name: "grpc+json",
    headers: { ...base, "content-type": "application/grpc+json" },
    body: frame(Buffer.from(toJsonString(PlaceOrderRequestSchema, validRequest))),
    fast: true,
  },
  // gRPC-Web: the trailer travels as the body's last envelope.
  { name: "grpc-web valid", headers: web, body: frame(valid), fast: true },
  { name: "grpc-web (no +proto)", headers: { ...web, "content-type": "application/grpc-web" }, body: frame(valid), fast: true },
  { name: "grpc-web invalid (details)", headers: web, body: frame(withAccount("acc-1", { quantity: "" })), fast: true },
  { name: "grpc-web unauthenticated", headers: { ...web, authorization: "no" }, body: frame(valid), fast: true },
  { name: "grpc-web oversized", headers: web, body: frame(new Uint8Array(2000)), fast: true },
  { name: "grpc-web trailer-flagged request envelope is skipped", headers: web, body: Buffer.concat([frame(valid), frame(new Uint8Array(3), 0x80)]), fast: true },
  { name: "grpc-web deadline expires", headers: { ...web, "grpc-timeout": "20m" }, body: frame(withAccount("sleep")), fast: true },
  {
    name: "grpc-web accept gzip, large answer",
    headers: { ...web, "grpc-accept-encoding": "gzip" },
    body: frame(withAccount("acc-1", { symbol: "BIG" })),
    fast: true,
  },
  {
    name: "grpc-web+json",
    headers: { ...web, "content-type": "application/grpc-web+json" },
    body: frame(Buffer.from(toJsonString(PlaceOrderRequestSchema, validRequest))),
    fast: true,
  },
  { name: "grpc-web long error message", headers: web, body: frame(withAccount("long-error")), fast: true },
  { name: "grpc-web long error message, accept gzip (compressed trailer)", headers: { ...web, "grpc-accept-encoding": "gzip" }, body: frame(withAccount("long-error")), fast: true },
  { name: "grpc-web undecodable, accept gzip", headers: { ...web, "grpc-accept-encoding": "gzip" }, body: frame(Buffer.from([0x0a, 0x02, 0xc3, 0x28])), fast: true },
  // Connect unary: bare bodies, errors as JSON with an HTTP status, trailers muxed into headers.
  { name: "connect proto", headers: con, body: valid, fast: true },
  { name: "connect proto with content-length", headers: { ...con, "content-length": String(valid.byteLength) }, body: valid, fast: true },
  { name: "connect json", headers: conJson, body: Buffer.from(toJsonString(PlaceOrderRequestSchema, validRequest)), fast: true },
  { name: "connect json; charset", headers: { ...conJson, "content-type": "application/json; charset=utf-8" }, body: Buffer.from(toJsonString(PlaceOrderRequestSchema, validRequest)), fast: true },
  { name: "connect invalid (details)", headers: con, body: withAccount("acc-1", { quantity: "" }), fast: true },
  { name: "connect unauthenticated (metadata in headers)", headers: { ...con, authorization: "no" }, body: valid, fast: true },
  { name: "connect implementation throws", headers: con, body: withAccount("boom"), fast: true },
  { name: "connect oversized", headers: con, body: new Uint8Array(2000), fast: true },
  { name: "connect oversized by content-length", headers: { ...con, "content-length": "2000" }, body: new Uint8Array(2000), fast: true },
  { name: "connect garbage proto", headers: con, body: Buffer.from([0xff, 0xff, 0xff]), fast: true },
  { name: "connect garbage proto, accept gzip", headers: { ...con, "accept-encoding": "gzip" }, body: Buffer.from([0xff, 0xff, 0xff]), fast: true },
  { name: "connect long error message, accept gzip", headers: { ...con, "accept-encoding": "gzip" }, body: withAccount("long-error"), fast: true },
  { name: "connect garbage json", headers: conJson, body: Buffer.from("{nope"), fast: true },
  { name: "connect json unknown field", headers: conJson, body: Buffer.from('{"clientOrderId":"c","what":1,"quantity":"1"}'), fast: true },
  { name: "connect empty body", headers: con, body: new Uint8Array(0), fast: true },
  { name: "connect invalid timeout", headers: { ...con, "connect-timeout-ms": "soon" }, body: valid, fast: true },
  { name: "connect deadline expires", headers: { ...con, "connect-timeout-ms": "20" }, body: withAccount("sleep"), fast: true },
  { name: "connect accept gzip, large answer", headers: { ...con, "accept-encoding": "gzip, br" }, body: withAccount("acc-1", { symbol: "BIG" }), fast: true },
  { name: "connect accept gzip, small answer", headers: { ...con, "accept-encoding": "gzip" }, body: valid, fast: true },
  // Everything below must fall through untouched to connect.
  { name: "grpc-web-text", headers: { ...web, "content-type": "application/grpc-web-text" }, body: Buffer.from(Buffer.from(frame(valid)).toString("base64")), fast: false },
  { name: "connect streaming content type", headers: { ...con, "content-type": "application/connect+proto" }, body: frame(valid), fast: false },
  { name: "connect gzip request", headers: { ...con, "content-encoding": "gzip" }, body: gzipSync(valid), fast: false },
  { name: "gzip request", headers: { ...base, "grpc-encoding": "gzip" }, body: frame(valid), fast: false },
  { name: "unknown request encoding", headers: { ...base, "grpc-encoding": "zstd" }, body: frame(valid), fast: false },
  { name: "streaming method", headers: { ...base, ":path": "/trading.v1.TradingGateway/StreamFills" }, body: frame(new Uint8Array(0)), fast: false },
  { name: "unknown method", headers: { ...base, ":path": "/trading.v1.TradingGateway/Nope" }, body: frame(valid), fast: false },
  { name: "a query string", headers: { ...base, "x-echo-url": "1", ":authority": "gw.example", ":path": "/trading.v1.TradingGateway/PlaceOrder?x=1" }, body: frame(valid), fast: false },
  { name: "with Origin (CORS)", headers: { ...base, origin: "https://example.com" }, body: frame(valid), fast: false },
];

const stock = await start(false);
const fast = await start(true);
after(async () => {
  await stock.close();
  await fast.close();
});

for (const c of cases) {
  test(`same answer on both paths: ${c.name}`, async () => {
    const before = fast.handled();
    const a = await exchange(stock.port, c.headers, c.body);
    const b = await exchange(fast.port, c.headers, c.body);
    assert.deepEqual(b, a);
    assert.equal(fast.handled() - before, c.fast ? 1 : 0, c.fast ? "fast path should handle it" : "should fall through");
  });
}

test("over TLS too, the same answers (https request URL included)", { skip: certs === undefined ? "openssl not installed" : false }, async (t) => {
  const tls = { cert: certs!.serverCert, key: certs!.serverKey };
  const [stockTls, fastTls] = await Promise.all([start(false, tls), start(true, tls)]);
  t.after(() => Promise.all([stockTls.close(), fastTls.close()]));
  for (const headers of [{ ...base, "x-echo-url": "1", ":authority": "gw.example" }, { ...con, "x-echo-url": "1", ":authority": "localhost:1" }]) {
    const body = headers["content-type"] === "application/proto" ? valid : frame(valid);
    const before = fastTls.handled();
    const a = await exchange(stockTls.port, headers, body, certs!.ca);
    const b = await exchange(fastTls.port, headers, body, certs!.ca);
    assert.deepEqual(b, a);
    assert.match(String(b.headers["x-url"]), /^https:\/\//);
    assert.equal(fastTls.handled() - before, 1);
  }
});

test("answers of interest are what the protocol says", async () => {
  const ok = await exchange(fast.port, base, frame(valid));
  assert.equal(ok.trailers["grpc-status"], "0");
  assert.equal(ok.headers["x-request-id"], "rid-1");
  assert.equal(ok.headers["content-type"], "application/grpc+proto");
  assert.equal(ok.trailers["x-trailer"], "t");
  const big = await exchange(fast.port, { ...base, "grpc-accept-encoding": "gzip" }, frame(withAccount("acc-1", { symbol: "BIG" })));
  assert.equal(big.headers["grpc-encoding"], "gzip");
  assert.equal(big.body.slice(0, 2), "01", "compressed flag set");
  const unauth = await exchange(fast.port, { ...base, authorization: "x" }, frame(valid));
  assert.equal(unauth.trailers["grpc-status"], String(Code.Unauthenticated));
  assert.equal(unauth.trailers["www-authenticate"], "Bearer");
  const late = await exchange(fast.port, { ...base, "grpc-timeout": "20m" }, frame(withAccount("sleep")));
  assert.equal(late.trailers["grpc-status"], String(Code.DeadlineExceeded));
  const big2 = await exchange(fast.port, base, frame(new Uint8Array(5000)));
  assert.equal(big2.trailers["grpc-status"], String(Code.ResourceExhausted));
});

test("a connect-node gRPC client sees the same results, headers and error details", async () => {
  const mk = (port: number) =>
    createClient(
      TradingGateway,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [(next) => (req) => {
        req.header.set("authorization", "Bearer good");
        return next(req);
      }] }),
    );
  const results = [];
  for (const port of [stock.port, fast.port]) {
    const client = mk(port);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const ok = await client.placeOrder(validRequest, { onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    const bad = await client.placeOrder({ ...validRequest, quantity: "" }).catch((e: unknown) => ConnectError.from(e));
    assert.ok(bad instanceof ConnectError);
    results.push({
      ok,
      header: [...header!].filter(([k]) => k !== "date"),
      trailer: [...trailer!],
      bad: { code: bad.code, message: bad.message, details: bad.details },
    });
  }
  assert.deepEqual(results[1], results[0]);
  assert.equal(results[0]!.bad.code, Code.InvalidArgument);
  assert.equal(results[0]!.bad.details.length, 1);
});

test("a client that cancels aborts the call's signal the same way on both paths", async () => {
  const reasons = [];
  for (const port of [stock.port, fast.port]) {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const req = session.request({ ":method": "POST", ...base });
    req.on("error", () => {});
    req.end(frame(withAccount("sleep")));
    const deadline = Date.now() + 5000;
    while (sleeping === 0) {
      assert.ok(Date.now() < deadline, "the call should reach the implementation");
      await new Promise((r) => setImmediate(r));
    }
    const before = abortReasons.length;
    req.close(http2.constants.NGHTTP2_CANCEL);
    while (abortReasons.length === before) {
      assert.ok(Date.now() < deadline, "the signal should abort");
      await new Promise((r) => setImmediate(r));
    }
    const r = ConnectError.from(abortReasons.at(-1));
    reasons.push({ code: r.code, message: r.message });
    session.close();
  }
  assert.deepEqual(reasons[1], reasons[0]);
  assert.equal(reasons[0]!.code, Code.Canceled);
});

test("a body that arrives in pieces (envelope header split across DATA frames) gets the same answer", async () => {
  const pieces = (b: Uint8Array) => [b.subarray(0, 2), b.subarray(2, 7), b.subarray(7)];
  const send = (port: number, body: Uint8Array) =>
    new Promise<RawResponse>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", reject);
      const req = session.request({ ":method": "POST", ...base });
      const out: RawResponse = { headers: {}, trailers: {}, body: "" };
      const chunks: Buffer[] = [];
      req.on("response", (h) => (out.headers = strip(h)));
      req.on("trailers", (t) => (out.trailers = strip(t)));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", () => {});
      req.on("close", () => {
        out.body = Buffer.concat(chunks).toString("hex");
        session.close();
        resolve(out);
      });
      const [a, b, c] = pieces(body);
      req.write(a, () => setImmediate(() => req.write(b, () => setImmediate(() => req.end(c)))));
    });
  for (const body of [frame(valid), frame(new Uint8Array(3000))]) {
    const before = fast.handled();
    const a = await send(stock.port, body);
    const b = await send(fast.port, body);
    assert.deepEqual(b, a);
    assert.equal(fast.handled() - before, 1);
  }
});

test("a failure while answering resets the stream (INTERNAL_ERROR) rather than leaving the client to its deadline", async (t) => {
  const errors: unknown[] = [];
  const failing = createUnaryFastPath({
    ...options,
    contextValues: () => {
      throw new Error("context values broke");
    },
    onWriteError: (e) => errors.push(e),
  });
  const server = http2.createServer();
  server.on("stream", (s, h) => {
    if (!failing(s, h)) s.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(() => session.destroy());
  session.on("error", () => {});
  const req = session.request({ ":method": "POST", ...base });
  req.on("error", () => {});
  req.resume();
  req.end(frame(valid));
  const rst = await new Promise<number>((resolve) => req.on("close", () => resolve(req.rstCode)));
  assert.equal(rst, http2.constants.NGHTTP2_INTERNAL_ERROR);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /context values broke/);
});

test("deadlines: both paths give handlers the same whole milliseconds for every grpc-timeout unit and connect-timeout-ms", async (t) => {
  // Date frozen (timers are not): timeoutMs() is then exactly the deadline connect computes, on both servers.
  mock.timers.enable({ apis: ["Date"], now: 1_767_225_600_000 });
  t.after(() => mock.timers.reset());
  const body = withAccount("timeout-int");
  // [header value, the handler's timeoutMs(), or undefined when the header is refused]
  const grpc: [string, number | undefined][] = [
    ["0H", 0], ["0M", 0], ["0S", 0], ["0m", 0], ["0u", 0], ["0n", 0],
    ["1M", 60_000], ["1S", 1000], ["59S", 59_000], ["1m", 1], ["59999m", 59_999], ["60000m", 60_000],
    ["1u", 0], ["999u", 0], ["1000u", 1], ["1500u", 1], ["4999960u", 4999], ["59999999u", 59_999],
    // now + 0.999999 is not a double at Date.now()'s magnitude (steps of 2^-12): it rounds up to a whole ms, in connect too.
    ["1n", 0], ["999999n", 1], ["1000000n", 1], ["99999999n", 100], ["99999000n", 99],
    // Above maxTimeoutMs (60 s): INVALID_ARGUMENT, the message giving connect's (fractional) value.
    ["1H", undefined], ["99999999H", undefined], ["2M", undefined], ["61S", undefined], ["60001m", undefined], ["60000001u", undefined],
    // Nine digits, signs, fractions, other units, no unit: invalid.
    ["100000000n", undefined], ["999999999S", undefined], ["-1S", undefined], ["+1S", undefined], ["1.5S", undefined],
    ["1e3m", undefined], ["1s", undefined], ["1h", undefined], ["1", undefined], ["S", undefined], ["1SS", undefined], ["soon", undefined],
  ];
  const connectMs: [string, number | undefined][] = [
    ["0", 0], ["1", 1], ["4999", 4999], ["60000", 60_000], ["0060000", 60_000],
    ["60001", undefined], ["9999999999", undefined], ["10000000000", undefined], ["-1", undefined], ["1.5", undefined], ["1e3", undefined], ["", undefined],
  ];
  const calls = [
    ...grpc.map(([v, ms]) => ({ headers: { ...base, "grpc-timeout": v }, body: frame(body), ms, v })),
    ...grpc.map(([v, ms]) => ({ headers: { ...web, "grpc-timeout": v }, body: frame(body), ms, v })),
    ...connectMs.map(([v, ms]) => ({ headers: { ...con, "connect-timeout-ms": v }, body, ms, v })),
  ];
  for (const c of calls) {
    const before = fast.handled();
    const a = await exchange(stock.port, c.headers, c.body);
    const b = await exchange(fast.port, c.headers, c.body);
    assert.deepEqual(b, a, c.v);
    assert.equal(fast.handled() - before, 1);
    assert.equal(a.headers["x-timeout-ms"], c.ms === undefined ? undefined : String(c.ms), c.v);
    assert.equal(rawStatus(a).code, c.ms === undefined ? Code.InvalidArgument : 0, `${String(c.headers["content-type"])} ${c.v}`);
  }
});

