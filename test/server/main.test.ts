import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as S } from "../../gen/health/v1/health_pb.js";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const node = process.execPath; // Node 24 from the lockfile when run through npm / node_modules/.bin/node

function run(args: string[], env: Record<string, string>) {
  const child = spawn(node, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", ...(process.env["FAST_PATH"] !== undefined ? { FAST_PATH: process.env["FAST_PATH"] } : {}), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (l) => stdout.push(l));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = once(child, "exit").then(([code]) => code as number);
  return { child, stdout, stderr: () => stderr, exited };
}

test("--help lists every setting with its default and exits 0", async () => {
  const p = run(["--help"], {});
  assert.equal(await p.exited, 0);
  const out = p.stdout.join("\n");
  assert.match(out, /PORT {2}\(default: "50051"/);
  assert.match(out, /API_KEYS/);
  assert.match(out, /AUDIT_MODE/);
});

test("a bad file named by a setting stops start-up too (exit 2)", async () => {
  const p = run([], { PORT: "0", METRICS_PORT: "off", AUDIT_MODE: "off", RISK_LIMITS_FILE: "/nonexistent/risk.yaml" });
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /config: RISK_LIMITS_FILE \/nonexistent\/risk\.yaml cannot be read/);
});

test("a bad setting stops the process with a message naming the variable", async () => {
  const p = run([], { PORT: "not-a-port", LOG_FORMAT: "xml", AUDIT_PG_URL: "mysql://gw:s3cret@db/x" });
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /PORT="not-a-port" is invalid: expected an integer 0\.\.65535/);
  assert.match(p.stderr(), /LOG_FORMAT="xml" is invalid: expected json\|pretty/);
  assert.match(p.stderr(), /AUDIT_PG_URL=.*is invalid/);
  assert.ok(!p.stderr().includes("s3cret"), "a password is never printed");
  const pg = run([], { AUDIT_BACKEND: "postgres" });
  assert.equal(await pg.exited, 2);
  assert.match(pg.stderr(), /config: AUDIT_PG_URL is required with AUDIT_BACKEND=postgres/);
});

/** A port held by another listener for the test's lifetime. */
async function occupiedPort(t: import("node:test").TestContext): Promise<number> {
  const { createServer } = await import("node:net");
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  t.after(() => holder.close());
  return (holder.address() as import("node:net").AddressInfo).port;
}

/** Exactly one line on stderr, with no stack frame. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
  return lines[0]!;
}

test("a port in use: one line naming the address and PORT, exit 1", async (t) => {
  const port = await occupiedPort(t);
  const p = run([], { PORT: String(port), METRICS_PORT: "off", AUDIT_MODE: "off" });
  t.after(() => p.child.kill("SIGKILL"));
  assert.equal(await p.exited, 1, p.stderr());
  const line = oneLine(p.stderr());
  assert.match(line, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use .*; set PORT \\(or --port\\) to a free port`));
  assert.ok(!p.stdout.some((l) => l.includes('"stack"')), "no stack trace in the log either");
});

test("a metrics port in use: one line naming the address and METRICS_PORT, exit 1", async (t) => {
  const port = await occupiedPort(t);
  const p = run([], { PORT: "0", METRICS_PORT: String(port), AUDIT_MODE: "off" });
  t.after(() => p.child.kill("SIGKILL"));
  assert.equal(await p.exited, 1, p.stderr());
  const line = oneLine(p.stderr());
  assert.match(line, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use .*; set METRICS_PORT to a free port .*METRICS_PORT=off`));
  assert.ok(!p.stdout.some((l) => l.includes('"stack"')), "no stack trace in the log either");
});

test("SIGTERM: health NOT_SERVING, open streams end with UNAVAILABLE, logs flushed, exit 0", async (t) => {
  const { existsSync, mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "gw-main-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = run(["--port", "0"], { METRICS_PORT: "0", LOG_LEVEL: "info", AUDIT_FILE: join(dir, "audit.jsonl") });
  t.after(() => p.child.kill("SIGKILL"));
  const deadline = Date.now() + 20_000;
  let port: number | undefined;
  while (port === undefined) {
    assert.ok(Date.now() < deadline, `no listening line; stderr: ${p.stderr()}`);
    const line = p.stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l["msg"]).startsWith("trading-gateway listening"));
    if (line !== undefined) port = Number(line["port"]);
    else await new Promise((r) => setTimeout(r, 20));
  }
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  const health = createClient(Health, transport);
  assert.equal((await health.check({ service: "" })).status, S.SERVING);
  // The plain-HTTP probes on the metrics listener (Docker HEALTHCHECK, load balancers).
  const metricsLine = p.stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l["msg"]).startsWith("metrics listening"));
  const probe = (path: string) => fetch(`http://127.0.0.1:${String(metricsLine?.["port"])}${path}`);
  assert.equal((await probe("/healthz")).status, 200);
  const ready = await probe("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "SERVING", notServing: [], tradingStates: [], venueStreams: {} });
  // The real pipeline is wired: an order on the built-in paper venue fills.
  const trading = createClient(TradingGateway, transport);
  const placed = await trading.placeOrder({ clientOrderId: "m1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1" });
  assert.equal(placed.order?.status, OrderStatus.FILLED);
  const missing = await trading.getOrderStatus({ orderId: "nope", account: "acct1" }).catch((e: unknown) => ConnectError.from(e));
  assert.ok(missing instanceof ConnectError && missing.code === Code.NotFound);

  // A second gateway on the same audit log is refused while this one runs (the lock names its pid).
  const second = run(["--port", "0"], { METRICS_PORT: "off", AUDIT_FILE: join(dir, "audit.jsonl") });
  assert.equal(await second.exited, 2, second.stderr());
  assert.match(second.stderr(), new RegExp(`config: AUDIT_FILE .*audit\\.jsonl .*locked by pid ${p.child.pid}`));
  assert.ok(existsSync(join(dir, "audit.jsonl.lock")), "the refused gateway left the running one's lock alone");

  const seen: S[] = [];
  let signalled = false;
  let end: unknown;
  try {
    for await (const r of health.watch({ service: "" })) {
      seen.push(r.status);
      if (!signalled) {
        signalled = true;
        p.child.kill("SIGTERM");
      }
    }
  } catch (e) {
    end = e;
  }
  // NOT_SERVING, then UNAVAILABLE "shutting down" (watch another instance), not an OK end.
  if (!(end instanceof ConnectError && end.code === Code.Unavailable && /shutting down/.test(end.rawMessage))) {
    // The gateway's own account of its shutdown is what explains a stream that did not end as expected.
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("still running"), 3000))]);
    assert.fail(`Watch did not end with UNAVAILABLE (${String(end)}); seen ${JSON.stringify(seen)}; exit ${String(code)}\nstdout:\n${p.stdout.slice(-15).join("\n")}\nstderr:\n${p.stderr()}`);
  }
  assert.deepEqual(seen, [S.SERVING, S.NOT_SERVING]);
  assert.equal(await p.exited, 0);
  assert.equal(existsSync(join(dir, "audit.jsonl.lock")), false, "the audit lock is released on shutdown");
  const msgs = p.stdout.map((l) => String((JSON.parse(l) as Record<string, unknown>)["msg"]));
  assert.ok(msgs.some((m) => m.startsWith("shutting down")));
  assert.equal(msgs.at(-1), "shutdown complete", "the last line made it out before exit");
  // The order is on record.
  const { readFileSync } = await import("node:fs");
  assert.match(readFileSync(join(dir, "audit.jsonl"), "utf8"), /"m1"/);
});

test("an old Node gets a clear message and exit 1", async (t) => {
  // The machine's system Node (v20 here) stands in for an old runtime; skip where there is none.
  const { execFileSync } = await import("node:child_process");
  let oldNode: string | undefined;
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    try {
      const v = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim();
      if (Number(v.slice(1).split(".")[0]) < 24) oldNode = candidate;
    } catch {
      // not installed
    }
    if (oldNode !== undefined) break;
  }
  if (oldNode === undefined) return t.skip("no Node < 24 on this machine");
  const child = spawn(oldNode, ["--import", "tsx", "src/main.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const [code] = await once(child, "exit");
  assert.equal(code, 1);
  assert.match(stderr, /needs Node\.js >= 24, this is v\d+/);
});
