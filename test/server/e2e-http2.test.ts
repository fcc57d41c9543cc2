import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { HealthCheckRequestSchema, HealthCheckResponseSchema } from "../../gen/health/v1/health_pb.js";
import type { HealthCheckResponse } from "../../gen/health/v1/health_pb.js";
import { PlaceOrderRequestSchema, PlaceOrderResponseSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { PlaceOrderResponse } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";
import { waitFor } from "../helpers/wait-for.js";

/** A @grpc/grpc-js unary call (the strict C-core-like client grpcurl and most SDKs resemble). */
function grpcJsUnary<Req, Res>(address: string, path: string, req: Req, ser: (r: Req) => Uint8Array, de: (b: Uint8Array) => Res) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest(path, (r: Req) => Buffer.from(ser(r)), (b: Buffer) => de(b), req, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

test("@grpc/grpc-js clients interoperate, including the trailers-only UNAVAILABLE of load shedding", async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const address = `127.0.0.1:${srv.port}`;
  const health = await grpcJsUnary<ReturnType<typeof create<typeof HealthCheckRequestSchema>>, HealthCheckResponse>(
    address,
    "/grpc.health.v1.Health/Check",
    create(HealthCheckRequestSchema, { service: "" }),
    (r) => toBinary(HealthCheckRequestSchema, r),
    (b) => fromBinary(HealthCheckResponseSchema, b),
  );
  assert.equal(health.status, 1);
  const placed = await grpcJsUnary<ReturnType<typeof create<typeof PlaceOrderRequestSchema>>, PlaceOrderResponse>(
    address,
    "/trading.v1.TradingGateway/PlaceOrder",
    create(PlaceOrderRequestSchema, { clientOrderId: "gj", quantity: "1" }),
    (r) => toBinary(PlaceOrderRequestSchema, r),
    (b) => fromBinary(PlaceOrderResponseSchema, b),
  );
  assert.equal(placed.order?.orderId, "ord-gj");

  const shedding = await startServer({ config: { underPressureMaxHeapUsedBytes: 1, underPressureSampleIntervalMs: 5 } });
  t.after(() => shedding.close());
  const err = await waitFor(async () => {
    try {
      await grpcJsUnary(`127.0.0.1:${shedding.port}`, "/grpc.health.v1.Health/Check", create(HealthCheckRequestSchema), (r) => toBinary(HealthCheckRequestSchema, r), (b) => b);
      return undefined;
    } catch (e) {
      return e as grpc.ServiceError;
    }
  }, { what: "shedding" });
  assert.ok(err !== undefined);
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.match(err.details, /overloaded/);
});

test("the stream hook sees HTTP/2 streams before Fastify and may take them", async (t) => {
  const seen: string[] = [];
  const srv = await startServer({
    // Connect's path behind the hook: the fast path (a hook itself, offered streams first) would take PlaceOrder.
    config: { fastPath: false },
    onStream(stream, headers) {
      seen.push(String(headers[":path"]));
      if (headers[":path"] !== "/hooked") return false;
      stream.respond({ ":status": 200, "content-type": "text/plain" });
      stream.end("from the hook");
      return true;
    },
  });
  t.after(() => srv.close());
  const session = http2.connect(srv.baseUrl);
  t.after(() => session.close());
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
      let status = 0;
      let body = "";
      s.on("response", (h) => (status = Number(h[":status"])));
      s.setEncoding("utf8").on("data", (c) => (body += c)).on("end", () => resolve({ status, body })).on("error", reject);
      s.end("{}");
    });
  assert.deepEqual(await get("/hooked"), { status: 200, body: "from the hook" });
  const passed = await get("/trading.v1.TradingGateway/PlaceOrder");
  assert.equal(passed.status, 200);
  assert.equal(JSON.parse(passed.body).order.orderId, "ord-");
  assert.deepEqual(seen, ["/hooked", "/trading.v1.TradingGateway/PlaceOrder"]);
});

test("HTTP/2: max concurrent streams is advertised; idle sessions are closed, sessions with open streams kept", async (t) => {
  const srv = await startServer({ config: { http2MaxConcurrentStreams: 7, http2SessionIdleMs: 200 } });
  t.after(() => srv.close());
  const idle = http2.connect(srv.baseUrl);
  idle.on("error", () => {});
  await once(idle, "remoteSettings");
  assert.equal(idle.remoteSettings.maxConcurrentStreams, 7);
  // Nothing open: GOAWAY after the idle time.
  await once(idle, "goaway");

  const busy = http2.connect(srv.baseUrl);
  busy.on("error", () => {});
  let busyGoaway = false;
  busy.on("goaway", () => (busyGoaway = true));
  const stream = busy.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/StreamFills", "content-type": "application/connect+json", "connect-protocol-version": "1" });
  stream.on("error", () => {});
  const msg = Buffer.from(JSON.stringify({ account: "a" }));
  const envelope = Buffer.alloc(5);
  envelope.writeUInt32BE(msg.length, 1);
  stream.end(Buffer.concat([envelope, msg]));
  await waitFor(() => srv.fake.openStreams === 1, { what: "stream open" });
  // Well past the idle time with the stream quiet: the session must survive.
  const until = Date.now() + 600;
  await waitFor(() => Date.now() > until || busyGoaway, { timeoutMs: 2000 });
  assert.equal(busyGoaway, false);
  srv.fake.pushFill({ fillId: "still-here", account: "a" });
  const [chunk] = (await once(stream, "data")) as [Buffer];
  assert.match(chunk.toString("utf8"), /still-here/);
  stream.close();
  busy.close();
});
