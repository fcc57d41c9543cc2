import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createHttpClient } from "../../../src/adapters/venues/http-client.js";

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

test("answers of any status come back with body and lower-case headers; connections are kept alive", async (t) => {
  const sockets = new Set<unknown>();
  const { server, url } = await listen((req, res) => {
    sockets.add(req.socket);
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.writeHead(req.url === "/fail" ? 503 : 200, { "X-Echo": req.headers["x-k"] ?? "" });
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  const client = createHttpClient({ origin: url, connections: 1 });
  t.after(async () => {
    await client.close();
    await close(server);
  });
  const a = await client.send({ method: "POST", url: `${url}/x?q=1`, headers: { "X-K": "v" }, body: "b=2" }, { timeoutMs: 2000 });
  assert.ok(a.ok);
  assert.deepEqual([a.value.status, a.value.headers["x-echo"], a.value.bodyText], [200, "v", "POST /x?q=1 b=2"]);
  const b = await client.send({ method: "GET", url: `${url}/fail`, headers: {} }, { timeoutMs: 2000 });
  assert.ok(b.ok && b.value.status === 503, "5xx is an answer; the adapter decides it means unknown outcome");
  assert.equal(sockets.size, 1, "one keep-alive connection reused");
});

test("connection refused: unavailable (certainly not sent)", async () => {
  const { server, url } = await listen(() => {});
  await close(server);
  const client = createHttpClient({ origin: url });
  const r = await client.send({ method: "POST", url: `${url}/o`, headers: {}, body: "x" }, { timeoutMs: 2000 });
  await client.close();
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "unavailable");
  assert.match(r.error.reason, /ECONNREFUSED/);
});

test("no answer within the timeout: unknown_outcome (the request was written)", async (t) => {
  let received = 0;
  const { server, url } = await listen(() => {
    received++;
  });
  const client = createHttpClient({ origin: url });
  t.after(async () => {
    await client.close().catch(() => {});
    await close(server);
  });
  const r = await client.send({ method: "POST", url: `${url}/o`, headers: {}, body: "x" }, { timeoutMs: 150 });
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "unknown_outcome");
  assert.match(r.error.reason, /150 ms/);
  assert.equal(received, 1);
});

test("connection dropped after the request: unknown_outcome", async (t) => {
  const { server, url } = await listen((req) => {
    req.on("data", () => {});
    req.on("end", () => req.socket.destroy());
  });
  const client = createHttpClient({ origin: url });
  t.after(async () => {
    await client.close().catch(() => {});
    await close(server);
  });
  const r = await client.send({ method: "POST", url: `${url}/o`, headers: {}, body: "x" }, { timeoutMs: 2000 });
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "unknown_outcome");
});

test("cancelled or out of time before sending: unavailable, nothing sent", async (t) => {
  let received = 0;
  const { server, url } = await listen((_q, s) => {
    received++;
    s.end();
  });
  const client = createHttpClient({ origin: url });
  t.after(async () => {
    await client.close();
    await close(server);
  });
  const ac = new AbortController();
  ac.abort();
  const a = await client.send({ method: "POST", url: `${url}/o`, headers: {} }, { signal: ac.signal, timeoutMs: 1000 });
  assert.ok(!a.ok && a.error.kind === "unavailable");
  const b = await client.send({ method: "POST", url: `${url}/o`, headers: {} }, { timeoutMs: 0 });
  assert.ok(!b.ok && b.error.kind === "unavailable");
  const c = await client.send({ method: "POST", url: "http://127.0.0.2:1/o", headers: {} }, { timeoutMs: 1000 });
  assert.ok(!c.ok && c.error.kind === "unavailable" && /origin/.test(c.error.reason));
  assert.equal(received, 0);
});

test("an oversized answer is cut off: unknown_outcome, not an out-of-memory", async (t) => {
  const { server, url } = await listen((_req, res) => {
    res.writeHead(200);
    res.end(Buffer.alloc(64 * 1024, 97));
  });
  const client = createHttpClient({ origin: url, maxResponseBytes: 1024 });
  t.after(async () => {
    await client.close().catch(() => {});
    await close(server);
  });
  const r = await client.send({ method: "GET", url: `${url}/big`, headers: {} }, { timeoutMs: 2000 });
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "unknown_outcome");
  assert.match(r.error.reason, /larger than 1024 bytes/);
});
