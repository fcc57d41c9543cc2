import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as S } from "../../gen/health/v1/health_pb.js";
import { ServerReflection as V1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as V1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createHealthRegistry } from "../../src/server/health.js";
import { createInMemoryGateway } from "../helpers/in-memory-gateway.js";
import { startServer } from "../helpers/start-server.js";

test("health Check: overall and per service; unknown service is NOT_FOUND; List shows all", async () => {
  const gw = createInMemoryGateway();
  gw.registry.set("trading.v1.TradingGateway", S.SERVING);
  gw.registry.set("venue/paper", S.NOT_SERVING);
  assert.equal((await gw.health.check({ service: "" })).status, S.SERVING);
  assert.equal((await gw.health.check({ service: "venue/paper" })).status, S.NOT_SERVING);
  await assert.rejects(gw.health.check({ service: "nope" }), (e: unknown) => ConnectError.from(e).code === Code.NotFound);
  const list = await gw.health.list({});
  assert.deepEqual(
    Object.fromEntries(Object.entries(list.statuses).map(([k, v]) => [k, v.status])),
    { "": S.SERVING, "trading.v1.TradingGateway": S.SERVING, "venue/paper": S.NOT_SERVING },
  );
});

test("health registry Watch: current status, every change, SERVICE_UNKNOWN until known, ends on shutdown", async () => {
  const reg = createHealthRegistry();
  const ac = new AbortController();
  const seen: S[] = [];
  const it = reg.watch("svc", ac.signal)[Symbol.asyncIterator]();
  seen.push((await it.next()).value as S);
  reg.set("svc", S.SERVING);
  seen.push((await it.next()).value as S);
  reg.set("svc", S.SERVING); // no change, no message
  reg.set("svc", S.NOT_SERVING);
  seen.push((await it.next()).value as S);
  reg.shutdown();
  // Already NOT_SERVING: no duplicate; the stream just ends.
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.deepEqual(seen, [S.SERVICE_UNKNOWN, S.SERVING, S.NOT_SERVING]);
  reg.set("svc", S.SERVING);
  assert.equal(reg.get("svc"), S.NOT_SERVING, "set after shutdown is ignored");
});

test("end to end over gRPC: Watch streams changes and NOT_SERVING on shutdown; reflection v1 and v1alpha list and describe", async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const transport = createGrpcTransport({ baseUrl: srv.baseUrl });
  const health = createClient(Health, transport);
  assert.equal((await health.check({ service: "trading.v1.TradingGateway" })).status, S.SERVING);

  for (const svc of [V1, V1alpha]) {
    const client = createClient(svc, transport);
    async function* reqs() {
      yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
      yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "trading.v1.TradingGateway.PlaceOrder" } };
      yield { host: "", messageRequest: { case: "fileByFilename" as const, value: "health/v1/health.proto" } };
      yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" } };
    }
    const res = [];
    for await (const r of client.serverReflectionInfo(reqs())) res.push(r);
    assert.equal(res.length, 4);
    const list = res[0]!.messageResponse;
    assert.equal(list.case, "listServicesResponse");
    assert.deepEqual(
      list.value!.service.map((s: { name: string }) => s.name),
      ["trading.v1.TradingGateway", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
    );
    const file = res[1]!.messageResponse;
    assert.equal(file.case, "fileDescriptorResponse");
    const names = (file.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
    assert.deepEqual(names, ["trading/v1/trading_gateway.proto", "google/protobuf/timestamp.proto"]);
    const tradingFile = fromBinary(FileDescriptorProtoSchema, (file.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto[0]!);
    assert.deepEqual(tradingFile.service[0]!.method.map((m) => m.name), ["PlaceOrder", "CancelOrder", "GetOrderStatus", "StreamFills", "ListOrders", "ListFills", "StreamOrderEvents", "CancelAllOrders", "ReplaceOrder", "GetPositions", "GetBalances", "SetTradingState", "GetTradingState"]);
    assert.equal(res[2]!.messageResponse.case, "fileDescriptorResponse");
    assert.equal(res[3]!.messageResponse.case, "errorResponse");
    assert.equal((res[3]!.messageResponse.value as { errorCode: number }).errorCode, 5);
  }

  // Watch, then shut the server down: NOT_SERVING arrives, then the stream ends with UNAVAILABLE
  // (the client watches another instance), at once rather than after the grace period.
  const statuses: S[] = [];
  let closedAt = 0;
  const watching = (async () => {
    for await (const r of health.watch({ service: "" })) {
      statuses.push(r.status);
      if (statuses.length === 1) srv.health.set("", S.NOT_SERVING);
      if (statuses.length === 2) srv.health.set("", S.SERVING);
      if (statuses.length === 3) {
        closedAt = performance.now();
        void srv.close();
      }
    }
  })();
  const err = await watching.then(() => undefined, (e: unknown) => ConnectError.from(e));
  assert.equal(err?.code, Code.Unavailable, String(err));
  assert.match(err.rawMessage, /shutting down/);
  assert.ok(performance.now() - closedAt < 1000, "ended at once, not after SHUTDOWN_GRACE_MS (2000 here)");
  assert.deepEqual(statuses, [S.SERVING, S.NOT_SERVING, S.SERVING, S.NOT_SERVING]);
});

test("shutdown ends an open reflection stream at once with UNAVAILABLE instead of waiting out the grace period", async (t) => {
  const srv = await startServer({ config: { shutdownGraceMs: 5000 } });
  t.after(() => srv.close());
  const client = createClient(V1, createGrpcTransport({ baseUrl: srv.baseUrl }));
  // A client like grpcurl's: one question, then it keeps its request stream open.
  let hold: () => void = () => {};
  const held = new Promise<void>((r) => (hold = r));
  async function* reqs() {
    yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
    await held;
  }
  t.after(() => hold());
  const it = client.serverReflectionInfo(reqs())[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.messageResponse.case, "listServicesResponse");
  const t0 = performance.now();
  void srv.close();
  const end = await it.next().then(() => undefined, (e: unknown) => ConnectError.from(e));
  assert.equal(end?.code, Code.Unavailable, String(end));
  assert.match(end.rawMessage, /shutting down/);
  assert.ok(performance.now() - t0 < 2500, "ended at once, not after SHUTDOWN_GRACE_MS");
  const rpc = srv.logs.find("rpc").find((l) => l["method"] === "ServerReflectionInfo" && l["code"] === "Unavailable");
  assert.ok(rpc !== undefined, "logged as UNAVAILABLE");
  assert.equal(rpc["level"], 30);
});
