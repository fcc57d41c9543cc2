/**
 * SIGTERM with calls in flight, against the real gateway process (src/main.ts, paper venue,
 * JSONL audit): gRPC over h2c (@grpc/grpc-js) and Connect over HTTP/1.1 keep-alive keep placing
 * orders while it shuts down. Every call must end OK or with a clean UNAVAILABLE (never INTERNAL,
 * never a reset stream or a socket cut mid-request, which would leave the client unsure whether
 * its order went through); every OK order is in the audit log; an open StreamFills ends at once
 * with UNAVAILABLE instead of holding the shutdown for its grace period.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { OrderType, PlaceOrderRequestSchema, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { waitFor } from "../helpers/wait-for.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const GRACE_MS = 8000;

interface Outcome {
  readonly client: "grpc-js h2c" | "connect http/1.1";
  readonly id: string;
  readonly code: string;
  readonly message: string;
  readonly startedBeforeSigterm: boolean;
  readonly endedAfterSigterm: boolean;
}

const order = (id: string) => ({ clientOrderId: id, account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1" });

test("SIGTERM with calls in flight (grpc-js h2c, Connect HTTP/1.1 keep-alive): OK or clean UNAVAILABLE, every OK order audited, streams end at once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-drain-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const auditFile = join(dir, "audit.jsonl");
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--port", "0"], {
    cwd: root,
    env: {
      PATH: process.env["PATH"] ?? "",
      ...(process.env["FAST_PATH"] !== undefined ? { FAST_PATH: process.env["FAST_PATH"] } : {}),
      METRICS_PORT: "off",
      LOG_LEVEL: "info",
      AUDIT_FILE: auditFile,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      RATE_LIMIT_RPS: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  const stdout: Record<string, unknown>[] = [];
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (l) => stdout.push(JSON.parse(l) as Record<string, unknown>));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  let exited = false;
  const exit = once(child, "exit").then(([code]) => {
    exited = true;
    return code as number;
  });
  const listening = await waitFor(() => stdout.find((l) => String(l["msg"]).startsWith("trading-gateway listening")), {
    timeoutMs: 20_000,
    what: `the listening line (stderr: ${stderr})`,
  });
  const port = Number(listening!["port"]);

  const grpcClient = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => grpcClient.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const connect = createClient(TradingGateway, createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1", nodeOptions: { agent } }));

  // An open fill stream: it must end with UNAVAILABLE as soon as shutdown begins.
  let streamEnd: { code: number; details: string; atMs: number } | undefined;
  const fills = grpcClient.makeServerStreamRequest("/trading.v1.TradingGateway/StreamFills", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0));
  fills.on("data", () => {});
  fills.on("error", (e: grpc.ServiceError) => (streamEnd = { code: e.code, details: e.details, atMs: performance.now() }));

  let sigtermAt: number | undefined;
  const outcomes: Outcome[] = [];
  let seq = 0;
  const grpcCall = (id: string) =>
    new Promise<{ code: string; message: string }>((resolve) => {
      grpcClient.makeUnaryRequest(
        "/trading.v1.TradingGateway/PlaceOrder",
        (r: ReturnType<typeof order>) => Buffer.from(toBinary(PlaceOrderRequestSchema, create(PlaceOrderRequestSchema, r))),
        (b: Buffer) => b,
        order(id),
        { deadline: Date.now() + 5000 },
        (err) => resolve(err ? { code: grpc.status[err.code] ?? String(err.code), message: err.details } : { code: "OK", message: "" }),
      );
    });
  const connectCall = async (id: string) => {
    try {
      await connect.placeOrder(order(id), { timeoutMs: 5000 });
      return { code: "OK", message: "" };
    } catch (e) {
      const ce = ConnectError.from(e);
      const cause = ce.cause instanceof Error ? ` (${(ce.cause as NodeJS.ErrnoException).code ?? ce.cause.message})` : "";
      return { code: Code[ce.code] ?? String(ce.code), message: ce.rawMessage + cause };
    }
  };
  // Workers place orders back to back until the gateway has exited, then once more.
  const worker = async (client: Outcome["client"]) => {
    let afterExit = 0;
    while (afterExit < 1) {
      if (exited) afterExit++;
      const id = `${client === "grpc-js h2c" ? "g" : "c"}-${++seq}`;
      const startedBeforeSigterm = sigtermAt === undefined;
      const r = await (client === "grpc-js h2c" ? grpcCall(id) : connectCall(id));
      outcomes.push({ client, id, ...r, startedBeforeSigterm, endedAfterSigterm: sigtermAt !== undefined });
    }
  };
  const workers = [...Array.from({ length: 6 }, () => worker("grpc-js h2c")), ...Array.from({ length: 6 }, () => worker("connect http/1.1"))];

  await waitFor(() => outcomes.filter((o) => o.code === "OK").length >= 60, { timeoutMs: 20_000, what: `orders flowing (${JSON.stringify(outcomes.slice(-3))})` });
  sigtermAt = performance.now();
  child.kill("SIGTERM");
  const code = await exit;
  const exitMs = performance.now() - sigtermAt;
  await Promise.all(workers);

  const audited = readFileSync(auditFile, "utf8");
  // HTTP/1.1 has no GOAWAY: a request written on an idle keep-alive connection in the instant the
  // gateway closes it fails in the client's socket (EPIPE/ECONNRESET). The gateway closes only
  // connections with no request in progress, so such a request was never read: it must not be in
  // the audit log, and the client's retry with the same client_order_id is safe anywhere.
  const unread = outcomes.filter((o) => o.client === "connect http/1.1" && o.code !== "OK" && /EPIPE|ECONNRESET|socket hang up/.test(o.message));
  assert.deepEqual(unread.filter((o) => audited.includes(`"${o.id}"`)), [], "a request cut in the socket was never processed");
  const bad = outcomes.filter((o) => o.code !== "OK" && !(o.code === "UNAVAILABLE" || o.code === "Unavailable") && !unread.includes(o));
  assert.deepEqual(bad, [], `only OK or UNAVAILABLE; gateway log tail:\n${stdout.slice(-10).map((l) => JSON.stringify(l)).join("\n")}`);
  const inFlight = outcomes.filter((o) => o.startedBeforeSigterm && o.endedAfterSigterm);
  t.diagnostic(
    `${outcomes.length} calls, ${outcomes.filter((o) => o.code === "OK").length} OK, ${unread.length} cut unread in an HTTP/1.1 socket; in flight at SIGTERM: ${inFlight.length} (${inFlight.filter((o) => o.code === "OK").length} OK); exit after ${Math.round(exitMs)} ms`,
  );
  assert.ok(inFlight.length > 0, "calls were in flight when SIGTERM arrived");
  for (const client of ["grpc-js h2c", "connect http/1.1"] as const) {
    assert.ok(outcomes.some((o) => o.client === client && !o.startedBeforeSigterm), `${client} kept calling during the shutdown`);
    assert.ok(outcomes.some((o) => o.client === client && o.code !== "OK"), `${client} was refused in the end`);
  }

  assert.equal(code, 0, stderr);
  assert.ok(exitMs < GRACE_MS, `the gateway exited without waiting out its grace period (${Math.round(exitMs)} ms)`);
  assert.deepEqual(stdout.filter((l) => (l["level"] as number) >= 50), [], "nothing logged at error level");

  assert.ok(streamEnd !== undefined, "the fill stream ended");
  assert.equal(streamEnd.code, grpc.status.UNAVAILABLE);
  assert.match(streamEnd.details, /shutting down/);
  assert.ok(streamEnd.atMs - sigtermAt < GRACE_MS / 2, "the fill stream ended at once, not after the grace period");

  const missing = outcomes.filter((o) => o.code === "OK" && !audited.includes(`"${o.id}"`));
  assert.deepEqual(missing, [], "every order answered OK is in the audit log");
});
