/**
 * The warm standby's follower (src/adapters/audit/postgres-follower.ts) against real PostgreSQL,
 * through a TCP proxy that can cut every connection and hold new ones: the moments of a database
 * restart, made to happen in a chosen order.
 */
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import pg from "pg";
import { createAuditFollower } from "../../../src/adapters/audit/postgres-follower.js";
import { waitFor } from "../../helpers/wait-for.js";
import { pgUnreachable, testPgUrl } from "../../helpers/test-postgres.js";

const skip = await pgUnreachable();

/** Forwards to PostgreSQL; `cutAll` ends every connection; while `hold` is set, new ones wait (unconnected) until `release`. */
async function startHoldingProxy(target: URL) {
  const open = new Set<net.Socket>();
  const waiting: (() => void)[] = [];
  let hold = false;
  const server = net.createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    const forward = () => {
      if (client.destroyed) return;
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (hold) waiting.push(forward);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(target.toString());
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    get held() {
      return waiting.length;
    },
    get open() {
      return open.size;
    },
    holdNew() {
      hold = true;
    },
    cutAll() {
      for (const s of open) s.destroy();
    },
    release() {
      hold = false;
      for (const f of waiting.splice(0)) f();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

test("close() while a poll is reconnecting the LISTEN session (a database restart) ends, and keeps no session open", { skip }, async () => {
  const table = `follower_close_${randomBytes(4).toString("hex")}`;
  const proxy = await startHoldingProxy(new URL(testPgUrl));
  const follower = createAuditFollower({ connectionString: proxy.url, table, onEvent: () => {}, pollMs: 10 });
  const admin = new pg.Client({ connectionString: testPgUrl });
  await admin.connect();
  try {
    await follower.start(new AbortController().signal);
    // The restart: every session ends; the server accepts again only after the follower was closed
    // (a takeover closes its follower as soon as it has caught up).
    proxy.holdNew();
    proxy.cutAll();
    await waitFor(() => proxy.held > 0, { timeoutMs: 10_000, what: "the poll reconnecting its LISTEN session" });
    let closed = false;
    const closing = follower.close().then(() => void (closed = true));
    proxy.release();
    // Before the fix, the poll took the late connection as its LISTEN session after close() had
    // released the old one, and pool.end() (so close(), so the takeover) waited for it forever.
    await waitFor(() => closed, { timeoutMs: 10_000, what: "close() to end" });
    await closing;
    await waitFor(() => proxy.open === 0, { timeoutMs: 10_000, what: "every session through the proxy to end" });
  } finally {
    proxy.release();
    await proxy.close();
    await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_leader"`).catch(() => {});
    await admin.end();
  }
});
