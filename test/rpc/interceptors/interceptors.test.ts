import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { OrderType, Side } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { createAuthInterceptor } from "../../../src/rpc/interceptors/auth.js";
import { createRateLimitInterceptor, createTokenBuckets } from "../../../src/rpc/interceptors/rate-limit.js";
import { grpcCodeName } from "../../../src/rpc/interceptors/observe-call.js";
import { createRecoveryInterceptor } from "../../../src/rpc/interceptors/recovery.js";
import { createLogCapture } from "../../helpers/log-capture.js";
import { createInMemoryGateway } from "../../helpers/in-memory-gateway.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const order = (over: Record<string, unknown> = {}) => ({ clientOrderId: "c1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, quantity: "1", ...over });
const codeOf = async (p: Promise<unknown>): Promise<ConnectError> => {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected the call to fail");
};

test("request id: a safe x-request-id is kept and echoed; unsafe or missing ones are replaced", async () => {
  const gw = createInMemoryGateway({ newRequestId: () => "generated-1" });
  let header: Headers | undefined;
  await gw.trading.placeOrder(order(), { headers: { "x-request-id": "abc-123" }, onHeader: (h) => (header = h) });
  assert.equal(header?.get("x-request-id"), "abc-123");
  await gw.trading.placeOrder(order(), { headers: { "x-request-id": "bad id\twith spaces" }, onHeader: (h) => (header = h) });
  assert.equal(header?.get("x-request-id"), "generated-1");
  await gw.trading.placeOrder(order(), { headers: { "x-request-id": "x".repeat(129) }, onHeader: (h) => (header = h) });
  assert.equal(header?.get("x-request-id"), "generated-1");
  // On errors too, so a failed call can be found in the logs.
  const e = await codeOf(gw.trading.getOrderStatus({ orderId: "o1" }, { headers: { "x-request-id": "err-7" } }));
  assert.equal(e.code, Code.NotFound);
  assert.equal(e.metadata.get("x-request-id"), "err-7");
});

test("logging: one line per RPC with service, method, protocol, code, duration, request id and peer", async () => {
  // Each clock reading advances 5 ms; logging and metrics share one reading at the start and one at the end -> 5 ms.
  let t = 1000;
  const gw = createInMemoryGateway({ now: () => (t += 5) });
  await gw.trading.placeOrder(order(), { headers: { "x-request-id": "log-1", ...gw.peer("10.0.0.7:5555").headers } });
  await codeOf(gw.trading.getOrderStatus({ orderId: "x" }, { headers: { "x-request-id": "log-2" } }));
  const lines = gw.logs.find("rpc");
  assert.equal(lines.length, 2);
  assert.deepEqual(
    { ...lines[0], time: 0, pid: 0, hostname: "" },
    { level: 30, time: 0, pid: 0, hostname: "", reqId: "log-1", service: "trading.v1.TradingGateway", method: "PlaceOrder", protocol: "connect", peer: "10.0.0.7:5555", code: "OK", durationMs: 5, msg: "rpc" },
  );
  assert.equal(lines[1]!["code"], "NotFound");
  assert.equal(lines[1]!["reqId"], "log-2");
});

test("recovery: a plain exception becomes INTERNAL with a generic message; the stack goes to the log only", async () => {
  const gw = createInMemoryGateway();
  const e = await codeOf(gw.trading.placeOrder(order({ symbol: "PANIC" })));
  assert.equal(e.code, Code.Internal);
  assert.equal(e.rawMessage, "internal error");
  assert.doesNotMatch(e.message, /secret|passwd/);
  const logged = gw.logs.find("unexpected exception in handler");
  assert.equal(logged.length, 1);
  // Logged through the per-call logger: the request id is on it.
  assert.equal(typeof logged[0]!["reqId"], "string");
  assert.equal(logged[0]!["reqId"], gw.logs.find("rpc")[0]?.["reqId"]);
  assert.match(String((logged[0]!["err"] as { stack: string }).stack), /boom: secret internals/);
  // The RPC line of that call is at error level (our fault), unlike client errors.
  const rpc = gw.logs.find("rpc");
  assert.equal(rpc[0]!["code"], "Internal");
  assert.equal(rpc[0]!["level"], 50);
  // The service keeps serving.
  assert.equal((await gw.trading.placeOrder(order())).order?.orderId, "ord-c1");
  // A ConnectError from a handler passes through unchanged.
  assert.equal((await codeOf(gw.trading.cancelOrder({ orderId: "x" }))).code, Code.NotFound);
});

test("recovery: what a handler throws after its call was aborted (the client left) is CANCELED at debug, not an INTERNAL bug", async () => {
  const logs = createLogCapture("debug");
  const recover = createRecoveryInterceptor({ logger: logs.logger });
  type Next = Parameters<Interceptor>[0];
  type Req = Parameters<Next>[0];
  // What a request stream read after the client went away throws.
  const premature = () => Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
  const reqWith = (signal: AbortSignal) =>
    ({ stream: true, signal, contextValues: createContextValues(), service: { typeName: "grpc.reflection.v1.ServerReflection" }, method: { name: "ServerReflectionInfo" } }) as unknown as Req;
  const streamThrowing = (async () => ({
    stream: true,
    message: (async function* () {
      yield* [];
      throw premature();
    })(),
  })) as unknown as Next;
  const drain = async (next: Next, req: Req) => {
    const res = await recover(next)(req);
    for await (const _ of (res as { message: AsyncIterable<unknown> }).message) void _;
  };
  const gone = new AbortController();
  gone.abort(new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled));
  await assert.rejects(drain(streamThrowing, reqWith(gone.signal)), (e: unknown) => e instanceof ConnectError && e.code === Code.Canceled);
  await assert.rejects(recover((async () => Promise.reject(premature())) as unknown as Next)(reqWith(gone.signal)), (e: unknown) => ConnectError.from(e).code === Code.Canceled);
  // An abort without a ConnectError reason (Node's plain AbortError) is CANCELED too.
  const plain = new AbortController();
  plain.abort();
  await assert.rejects(drain(streamThrowing, reqWith(plain.signal)), (e: unknown) => e instanceof ConnectError && e.code === Code.Canceled);
  assert.deepEqual(logs.lines.filter((l) => (l["level"] as number) >= 40), [], "nothing at warn or error");
  assert.equal(logs.find("handler threw after its call was aborted").length, 3);
  // With the call still on, the same exception is a bug: INTERNAL, logged at error.
  await assert.rejects(drain(streamThrowing, reqWith(new AbortController().signal)), (e: unknown) => e instanceof ConnectError && e.code === Code.Internal);
  assert.equal(logs.find("unexpected exception in handler").length, 1);
});

test("metrics: go-grpc-prometheus counters with CamelCase codes and bounded labels", async () => {
  const gw = createInMemoryGateway();
  await gw.trading.placeOrder(order());
  await gw.trading.placeOrder(order());
  await codeOf(gw.trading.getOrderStatus({ orderId: "x" }));
  const text = await gw.metrics.registry.metrics();
  const labels = 'grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="PlaceOrder"';
  assert.match(text, new RegExp(`grpc_server_started_total\\{${labels}\\} 2`));
  assert.match(text, new RegExp(`grpc_server_msg_received_total\\{${labels}\\} 2`));
  assert.match(text, new RegExp(`grpc_server_msg_sent_total\\{${labels}\\} 2`));
  assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="PlaceOrder",grpc_code="OK"\} 2/);
  assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="GetOrderStatus",grpc_code="NotFound"\} 1/);
  assert.match(text, new RegExp(`grpc_server_handling_seconds_count\\{${labels}\\} 2`));
  assert.doesNotMatch(text, /acct1|ord-c1/, "no unbounded label values");
  assert.equal(grpcCodeName(undefined), "OK");
  assert.equal(grpcCodeName(Code.InvalidArgument), "InvalidArgument");
  assert.equal(grpcCodeName(Code.ResourceExhausted), "ResourceExhausted");
});

test("metrics and logging see the end of a server stream, with every message counted", async () => {
  const gw = createInMemoryGateway();
  const ac = new AbortController();
  const received: string[] = [];
  const done = (async () => {
    try {
      for await (const r of gw.trading.streamFills({ account: "acct1" }, { signal: ac.signal })) {
        received.push(r.fill!.fillId);
        if (received.length === 2) ac.abort();
      }
    } catch (e) {
      assert.equal(ConnectError.from(e).code, Code.Canceled);
    }
  })();
  while (gw.fake.openStreams === 0) await new Promise((r) => setImmediate(r));
  gw.fake.pushFill({ fillId: "f1", account: "acct1" });
  gw.fake.pushFill({ fillId: "f2", account: "acct1" });
  await done;
  assert.deepEqual(received, ["f1", "f2"]);
  const deadline = Date.now() + 2000;
  while (gw.logs.find("rpc").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const text = await gw.metrics.registry.metrics();
  assert.match(text, /grpc_server_msg_sent_total\{grpc_type="server_stream",grpc_service="trading.v1.TradingGateway",grpc_method="StreamFills"\} 2/);
  assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="StreamFills",grpc_code="Canceled"\} 1/);
  assert.equal(gw.logs.find("rpc")[0]!["method"], "StreamFills");
});

test("auth: missing or wrong key -> UNAUTHENTICATED; other account -> PERMISSION_DENIED; principal set", async () => {
  const gw = createInMemoryGateway({
    apiKeys: [
      { sha256: sha("key-one"), accounts: new Set(["acct1"]) },
      { sha256: sha("key-all"), accounts: "any" },
    ],
  });
  const missing = await codeOf(gw.trading.placeOrder(order()));
  assert.equal(missing.code, Code.Unauthenticated);
  assert.match(missing.rawMessage, /authorization: Bearer/);
  const wrong = await codeOf(gw.trading.placeOrder(order(), { headers: { authorization: "Bearer nope" } }));
  assert.equal(wrong.code, Code.Unauthenticated);
  const basic = await codeOf(gw.trading.placeOrder(order(), { headers: { authorization: "Basic a2V5LW9uZQ==" } }));
  assert.equal(basic.code, Code.Unauthenticated);

  const ok = await gw.trading.placeOrder(order(), { headers: { authorization: "Bearer key-one" } });
  assert.equal(ok.order?.account, "acct1");
  assert.equal(gw.fake.lastKeyId, `key-${sha("key-one").slice(0, 12)}`);

  const denied = await codeOf(gw.trading.placeOrder(order({ account: "acct2" }), { headers: { authorization: "Bearer key-one" } }));
  assert.equal(denied.code, Code.PermissionDenied);
  assert.match(denied.rawMessage, /acct2/);
  const deniedStatus = await codeOf(gw.trading.getOrderStatus({ orderId: "o", account: "acct2" }, { headers: { authorization: "Bearer key-one" } }));
  assert.equal(deniedStatus.code, Code.PermissionDenied);
  // Streaming requests are checked too.
  const deniedStream = await codeOf((async () => {
    for await (const _ of gw.trading.streamFills({ account: "acct2" }, { headers: { authorization: "Bearer key-one" } })) void _;
  })());
  assert.equal(deniedStream.code, Code.PermissionDenied);

  const all = await gw.trading.placeOrder(order({ account: "acct9" }), { headers: { authorization: "bearer key-all" } });
  assert.equal(all.order?.account, "acct9");
  // Health stays open to load balancers without a key.
  assert.equal((await gw.health.check({ service: "" })).status, 1);
});

test("rate limit: per key token bucket; RESOURCE_EXHAUSTED carries google.rpc.RetryInfo", async () => {
  let t = 0;
  const gw = createInMemoryGateway({
    now: () => t,
    apiKeys: [
      { sha256: sha("k1"), accounts: "any" },
      { sha256: sha("k2"), accounts: "any" },
    ],
    rateLimit: { ratePerSecond: 2, burst: 2 },
  });
  const k1 = { headers: { authorization: "Bearer k1" } };
  await gw.trading.placeOrder(order(), k1);
  await gw.trading.placeOrder(order(), k1);
  const e = await codeOf(gw.trading.placeOrder(order(), k1));
  assert.equal(e.code, Code.ResourceExhausted);
  const retry = e.findDetails(RetryInfoSchema)[0];
  assert.ok(retry !== undefined, "RetryInfo detail");
  assert.equal(Number(retry.retryDelay?.seconds ?? 0n) * 1000 + (retry.retryDelay?.nanos ?? 0) / 1e6, 500);
  // Another key has its own bucket.
  await gw.trading.placeOrder(order(), { headers: { authorization: "Bearer k2" } });
  // Tokens come back with time.
  t += 500;
  await gw.trading.placeOrder(order(), k1);
  // Health is exempt.
  for (let i = 0; i < 5; i++) await gw.health.check({ service: "" });
  const shed = gw.logs.find("rpc").filter((l) => l["code"] === "ResourceExhausted");
  assert.equal(shed.length, 1);
});

test("rate limit without auth: per peer host (any port)", async () => {
  const gw = createInMemoryGateway({ now: () => 0, rateLimit: { ratePerSecond: 1, burst: 1 } });
  await gw.trading.placeOrder(order(), gw.peer("10.0.0.1:1000"));
  assert.equal((await codeOf(gw.trading.placeOrder(order(), gw.peer("10.0.0.1:2000")))).code, Code.ResourceExhausted);
  await gw.trading.placeOrder(order(), gw.peer("10.0.0.2:1000"));
  await gw.trading.placeOrder(order(), gw.peer("[::1]:1000"));
  assert.equal((await codeOf(gw.trading.placeOrder(order(), gw.peer("[::1]:1001")))).code, Code.ResourceExhausted);
});

test("token buckets stay bounded: idle ones are evicted, and never more than maxBuckets", () => {
  let t = 0;
  const b = createTokenBuckets({ ratePerSecond: 1, burst: 1, maxBuckets: 100, idleMs: 1000, now: () => t });
  for (let i = 0; i < 1000; i++) assert.equal(b.take(`client-${i}`), 0);
  assert.equal(b.size, 100);
  // The most recent client is still limited: eviction is LRU, not random.
  assert.ok(b.take("client-999") > 0);
  t += 1000;
  b.take("fresh");
  assert.equal(b.size, 1, "idle buckets dropped");
});

test("auth and rate-limit refusals are rejected promises, never synchronous throws", async () => {
  const service = { typeName: "trading.v1.TradingGateway" };
  const values = () => {
    const m = new Map<unknown, unknown>();
    return { get: (k: { id: symbol; defaultValue: unknown }) => (m.has(k.id) ? m.get(k.id) : k.defaultValue), set(k: { id: symbol }, v: unknown) { m.set(k.id, v); return this; }, delete(k: { id: symbol }) { m.delete(k.id); return this; } };
  };
  const req = (headers: Record<string, string>) =>
    ({ stream: false, service, method: { name: "PlaceOrder", methodKind: "unary" }, header: new Headers(headers), message: order(), contextValues: values() }) as never;
  const never = () => assert.fail("next must not be called") as never;
  const auth = createAuthInterceptor({ apiKeys: [{ sha256: sha("k1"), accounts: "any" }] })(never);
  let p: unknown;
  assert.doesNotThrow(() => (p = auth(req({}))));
  assert.ok(p instanceof Promise);
  assert.equal((await codeOf(p as Promise<unknown>)).code, Code.Unauthenticated);
  // A throw from further down, synchronous or not, also comes back as a rejection.
  const boom = createAuthInterceptor({ apiKeys: [] })(() => {
    throw new Error("sync");
  });
  assert.ok((p = boom(req({}))) instanceof Promise);
  await assert.rejects(p as Promise<unknown>, /sync/);
  const limited = createRateLimitInterceptor({ ratePerSecond: 1, burst: 1, maxBuckets: 10, idleMs: 60_000 })(async () => ({}) as never);
  await limited(req({}));
  assert.doesNotThrow(() => (p = limited(req({}))));
  assert.ok(p instanceof Promise);
  assert.equal((await codeOf(p as Promise<unknown>)).code, Code.ResourceExhausted);
});
