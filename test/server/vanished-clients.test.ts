/**
 * Server streams whose client goes away: killed (SIGKILL: the kernel closes its socket),
 * cancelling (RST_STREAM), closing its HTTP/1.1 connection, or frozen without a FIN (SIGSTOP:
 * only the HTTP/2 keepalive PING finds it). Each time the call must end at once, be counted and
 * logged as CANCELED (info, never error), and release what it held (the fill subscriber).
 * The clients are real: @grpc/grpc-js in a child process, raw sockets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { HealthCheckRequestSchema } from "../../gen/health/v1/health_pb.js";
import { ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { StreamFillsRequestSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Config } from "../../src/config/env.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import type { FillHub } from "../../src/use-cases/fill-hub.js";
import { createStreamFillsHandler } from "../../src/rpc/stream-fills.js";
import { createFakeTradingService } from "../helpers/fake-trading-service.js";
import { startServer } from "../helpers/start-server.js";
import type { StartedServer } from "../helpers/start-server.js";
import { waitFor } from "../helpers/wait-for.js";

const clientScript = fileURLToPath(new URL("../helpers/grpc-stream-client.ts", import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface Target {
  readonly name: string;
  readonly kind: "server" | "bidi";
  readonly service: string;
  readonly method: string;
  readonly request: string;
}

const targets: readonly Target[] = [
  { name: "StreamFills", kind: "server", service: "trading.v1.TradingGateway", method: "StreamFills", request: hex(toBinary(StreamFillsRequestSchema, create(StreamFillsRequestSchema))) },
  { name: "health Watch", kind: "server", service: "grpc.health.v1.Health", method: "Watch", request: hex(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }))) },
  {
    name: "reflection",
    kind: "bidi",
    service: "grpc.reflection.v1.ServerReflection",
    method: "ServerReflectionInfo",
    request: hex(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }))),
  },
];

async function gateway(t: { after: (fn: () => Promise<void> | void) => void }, config: Partial<Config> = {}): Promise<{ srv: StartedServer; hub: FillHub }> {
  const hub = createFillHub({ retain: 100, subscriberBuffer: 100 });
  const fake = createFakeTradingService();
  const srv = await startServer({ config, trading: { ...fake.service, streamFills: createStreamFillsHandler({ hub }) } });
  t.after(() => srv.close());
  return { srv, hub };
}

/** A grpc-js client process with one call open on `target`. */
function spawnClient(t: { after: (fn: () => void) => void }, port: number, target: Target) {
  const child = spawn(process.execPath, ["--import", "tsx", clientScript, `127.0.0.1:${port}`, target.kind, `/${target.service}/${target.method}`, target.request], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill("SIGKILL"));
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(l));
  return { child, lines };
}

async function handled(srv: StartedServer, target: Target, code: string): Promise<number> {
  const text = await srv.metrics.registry.metrics();
  const m = new RegExp(`^grpc_server_handled_total\\{[^}]*grpc_service="${target.service}",grpc_method="${target.method}",grpc_code="${code}"\\} (\\d+)$`, "m").exec(text);
  return m === null ? 0 : Number(m[1]);
}

function rpcLines(srv: StartedServer, target: Target) {
  return srv.logs.find("rpc").filter((l) => l["method"] === target.method && l["service"] === target.service);
}

/** The call ended as CANCELED, counted once, logged once at info; nothing logged as an error. */
async function assertCanceled(srv: StartedServer, target: Target, hub: FillHub, what: string): Promise<void> {
  await waitFor(async () => (await handled(srv, target, "Canceled")) === 1 && rpcLines(srv, target).length === 1 && hub.subscriberCount() === 0, {
    // Well before the grace period or any keep-alive would end it; generous for a loaded CI machine.
    timeoutMs: 15_000,
    what: `${what}: the call to end as CANCELED (lines: ${JSON.stringify(srv.logs.lines.slice(1))})`,
  });
  const line = rpcLines(srv, target)[0]!;
  assert.equal(line["code"], "Canceled");
  assert.equal(line["level"], 30, "a client that left is routine: info");
  assert.deepEqual(srv.logs.lines.filter((l) => (l["level"] as number) >= 50), [], "nothing at error level (no 'Premature close')");
  assert.equal(await handled(srv, target, "OK"), 0);
}

for (const target of targets) {
  test(`${target.name}: a client killed mid-stream (SIGKILL) ends the call at once as CANCELED`, async (t) => {
    const { srv, hub } = await gateway(t);
    const c = spawnClient(t, srv.port, target);
    // Watch and reflection answer at once; StreamFills has no fill to send, so its subscriber shows it.
    await waitFor(() => (target.method === "StreamFills" ? hub.subscriberCount() === 1 : c.lines.some((l) => l.startsWith("data"))), {
      timeoutMs: 10_000,
      what: "the call to be open",
    });
    c.child.kill("SIGKILL");
    await assertCanceled(srv, target, hub, "SIGKILL");
    // Shutdown has nothing left to wait for.
    const t0 = performance.now();
    await srv.close();
    assert.ok(performance.now() - t0 < 1000, "close did not wait for the grace period");
  });
}

test("StreamFills: a client frozen without a FIN (SIGSTOP) is found by the keepalive PING; the call ends as CANCELED", async (t) => {
  const { srv, hub } = await gateway(t, { http2KeepaliveIntervalMs: 200, http2KeepaliveTimeoutMs: 300 });
  const target = targets[0]!;
  const c = spawnClient(t, srv.port, target);
  await waitFor(() => hub.subscriberCount() === 1, { timeoutMs: 10_000, what: "the subscription" });
  // Alive and answering: PINGs keep coming back and the stream stays. A negative check, so it
  // waits a fixed span: at least two full PING rounds (interval + timeout = 500 ms).
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(hub.subscriberCount(), 1, "a live client answers PINGs: its stream stays");
  c.child.kill("SIGSTOP");
  const t0 = performance.now();
  await assertCanceled(srv, target, hub, "SIGSTOP");
  t.diagnostic(`frozen client found after ${Math.round(performance.now() - t0)} ms`);
  const warn = srv.logs.find("HTTP/2 peer did not answer a keepalive PING: connection closed, its calls canceled");
  assert.equal(warn.length, 1);
  assert.equal(warn[0]!["level"], 40);
  assert.match(String(warn[0]!["peer"]), /^127\.0\.0\.1:\d+$/);
});

test("StreamFills: a client that cancels the call (RST_STREAM) on a connection it keeps: CANCELED, subscriber released", async (t) => {
  const { srv, hub } = await gateway(t);
  const target = targets[0]!;
  const client = new grpc.Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const same = (b: Buffer) => b;
  const call = client.makeServerStreamRequest(`/${target.service}/${target.method}`, same, same, Buffer.alloc(0));
  call.on("error", () => {});
  await waitFor(() => hub.subscriberCount() === 1, { what: "the subscription" });
  call.cancel();
  await assertCanceled(srv, target, hub, "RST_STREAM");
});

test("StreamFills over HTTP/1.1 (Connect streaming): the client closing its connection ends the call as CANCELED", async (t) => {
  const { srv, hub } = await gateway(t);
  const target = targets[0]!;
  const sock = net.connect(srv.port, "127.0.0.1");
  await once(sock, "connect");
  // One Connect streaming envelope: flags 0, length, {}.
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from("{}")]);
  sock.write(
    `POST /${target.service}/${target.method} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/connect+json\r\nConnect-Protocol-Version: 1\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  sock.write(body);
  await waitFor(() => hub.subscriberCount() === 1, { what: "the subscription" });
  sock.destroy();
  await assertCanceled(srv, target, hub, "HTTP/1.1 close");
});

test("shutdown with a frozen client (keepalive off): its stream ends and close() returns without waiting for the peer's FIN", async (t) => {
  const { srv, hub } = await gateway(t, { http2KeepaliveIntervalMs: 0, shutdownGraceMs: 5000 });
  const target = targets[0]!;
  const c = spawnClient(t, srv.port, target);
  await waitFor(() => hub.subscriberCount() === 1, { timeoutMs: 10_000, what: "the subscription" });
  c.child.kill("SIGSTOP");
  const t0 = performance.now();
  // A gracefully closed HTTP/2 session waits for its peer's FIN, which a frozen peer never
  // sends: the server must not wait on it (it did, forever, even after the grace period).
  const closed = srv.close();
  let within: unknown;
  try {
    within = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 4000))]);
  } finally {
    // Thawed by death: a close() still waiting then ends, and the test's after-hooks with it.
    c.child.kill("SIGKILL");
  }
  assert.equal(within, true, "close() returned before the grace period ended");
  t.diagnostic(`closed after ${Math.round(performance.now() - t0)} ms`);
  assert.equal(hub.subscriberCount(), 0);
  const line = rpcLines(srv, target)[0]!;
  assert.equal(line["code"], "Unavailable");
});
