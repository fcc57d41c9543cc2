/**
 * Issue 18 item 2, at the sink: a lost PostgreSQL connection no longer kills the process or loses
 * events. The sink refuses appends while the database is away (AuditOutageError) but keeps their
 * events, reconnects with back-off, re-takes its table lock, settles the batch whose COMMIT
 * outcome was unknown (never written twice), writes what it kept, and says it is back.
 * Real PostgreSQL (127.0.0.1:5432, a random schema); connections are found by a unique
 * application_name, so other tests on the same server are never touched.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import pg from "pg";
import { createPostgresAuditSink } from "../../../src/adapters/audit/postgres-sink.js";
import { AuditOutageError, type AuditAvailability } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent } from "./fixtures.js";
import { waitFor } from "../../helpers/wait-for.js";
import { pgUnreachable, testPgUrl } from "../../helpers/test-postgres.js";

const url = testPgUrl;
const skip = await pgUnreachable();

/** The sink's view of availability, as the gateway's guard sees it. */
function recorder() {
  const heard: { what: "down" | "back"; reason?: string; permanent?: boolean }[] = [];
  const availability: AuditAvailability = {
    unavailable: (reason, _cause, permanent) => void heard.push({ what: "down", reason, permanent }),
    restored: () => void heard.push({ what: "back" }),
  };
  return { heard, availability };
}

function withAppName(base: string, name: string): string {
  const u = new URL(base);
  u.searchParams.set("application_name", name);
  return u.toString();
}

/**
 * A TCP proxy in front of PostgreSQL that can cut a connection at a chosen moment:
 * "reply" drops the next answer the server sends (it has committed; the client never hears),
 * "request" drops the next request the client sends (it never reaches the server).
 */
async function startProxy(target: { host: string; port: number }) {
  let armed: "reply" | "request" | undefined;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const cut = () => {
      armed = undefined;
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (d) => {
      if (armed === "request") return cut();
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (armed === "reply") return cut();
      client.write(d);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    arm: (what: "reply" | "request") => void (armed = what),
    close: () =>
      new Promise<void>((r) => {
        for (const [a, b] of pairs) (a.destroy(), b.destroy());
        server.close(() => r());
      }),
  };
}

describe("postgres audit sink: connection loss", { skip }, () => {
  const schema = `audit_outage_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  before(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  const terminate = async (app: string): Promise<number> =>
    (await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [app])).rowCount ?? 0;
  const lines = async (table: string): Promise<string[]> =>
    (await admin.query<{ line: string }>(`SELECT line FROM ${table} ORDER BY id`)).rows.map((r) => r.line);

  test("an idle session terminated: health told at once, the process lives, the sink reconnects, re-takes its lock and takes appends again", async () => {
    const app = `tg-test-${randomBytes(4).toString("hex")}`;
    const table = `${schema}.idle`;
    const { heard, availability } = recorder();
    const { logger, records } = captureLogger();
    const sink = await createPostgresAuditSink({ connectionString: withAppName(url, app), table, mode: "fsync", availability, logger, reconnectMinMs: 20, reconnectMaxMs: 200 });
    try {
      await sink.append([sampleEvent(1)]);
      // A read leaves an idle pooled connection too: its 'error' used to be unhandled (exit 1).
      for await (const _ of sink.read()) void _;
      assert.ok((await terminate(app)) >= 2, "the writer and an idle pooled connection");
      await waitFor(() => heard.some((h) => h.what === "down"), { what: "the outage to be reported" });
      assert.equal(heard[0]!.permanent, false);
      assert.match(heard[0]!.reason ?? "", /session holding the audit table lock failed/);
      await waitFor(() => heard.some((h) => h.what === "back"), { what: "the sink to be back" });
      await sink.append([sampleEvent(2)]);
      assert.deepEqual((await lines(table)).length, 2);
      assert.equal(sink.stats().outages, 1);
      assert.equal(sink.stats().reconnects, 1);
      assert.ok(records.some((r) => r.level === 50 && /orders are refused until the database is back/.test(r.msg)));
      // The lock is ours again: a second writer on the table is still refused.
      await assert.rejects(createPostgresAuditSink({ pool: admin, table, mode: "fsync" }), /in use by another gateway/);
    } finally {
      await sink.close();
    }
  });

  test("terminated under load: acknowledged events are all stored; refused ones are kept and stored once; nothing is stored twice", async () => {
    const app = `tg-test-${randomBytes(4).toString("hex")}`;
    const table = `${schema}.load`;
    const { heard, availability } = recorder();
    const sink = await createPostgresAuditSink({ connectionString: withAppName(url, app), table, mode: "fsync", availability, reconnectMinMs: 20, reconnectMaxMs: 200 });
    const acked = new Set<string>();
    const refused = new Set<string>();
    let n = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const e = sampleEvent(n++);
        try {
          await sink.append([e]);
          acked.add(e.requestId);
        } catch (err) {
          assert.ok(err instanceof AuditOutageError, String(err));
          refused.add(e.requestId);
          // Callers back off too; without a pause the loop would spin on immediate refusals.
          await new Promise((r) => setImmediate(r));
        }
      }
    };
    try {
      const workers = Array.from({ length: 8 }, worker);
      await waitFor(() => acked.size >= 50, { what: "load" });
      await terminate(app);
      await waitFor(() => heard.some((h) => h.what === "back"), { what: "the sink to be back", timeoutMs: 10_000 });
      const ackedBefore = acked.size;
      await waitFor(() => acked.size >= ackedBefore + 50, { what: "load after the outage" });
      stop = true;
      await Promise.all(workers);
      assert.ok(refused.size > 0, "some calls were refused during the outage");
    } finally {
      stop = true;
      await sink.close();
    }
    const stored = (await lines(table)).map((l) => (JSON.parse(l) as { request_id: string }).request_id);
    assert.equal(new Set(stored).size, stored.length, "no event stored twice");
    for (const id of acked) assert.ok(stored.includes(id), `acknowledged ${id} is stored`);
    for (const id of refused) assert.ok(stored.includes(id), `refused-but-kept ${id} is stored once the database is back`);
    assert.equal(sink.stats().retained, 0);
  });

  test("the COMMIT went through but its answer was lost: the batch is refused, then found in the table and not written again", async () => {
    const proxy = await startProxy({ host: "127.0.0.1", port: Number(new URL(url).port || 5432) });
    const u = new URL(url);
    u.host = `127.0.0.1:${proxy.port}`;
    const table = `${schema}.indoubt`;
    const { heard, availability } = recorder();
    const { logger, records } = captureLogger();
    const sink = await createPostgresAuditSink({ connectionString: u.toString(), table, mode: "fsync", availability, logger, reconnectMinMs: 20, reconnectMaxMs: 100 });
    try {
      await sink.append([sampleEvent(1)]);
      proxy.arm("reply");
      await assert.rejects(sink.append([sampleEvent(2), sampleEvent(3)]) as Promise<void>, AuditOutageError);
      await waitFor(() => heard.some((h) => h.what === "back"), { what: "the sink to be back" });
      assert.ok(records.some((r) => /had been committed/.test(r.msg)));
      await sink.append([sampleEvent(4)]);
      assert.deepEqual(
        (await lines(table)).map((l) => (JSON.parse(l) as { request_id: string }).request_id),
        ["req-1", "req-2", "req-3", "req-4"],
      );
    } finally {
      await sink.close();
      await proxy.close();
    }
  });

  test("the INSERT never reached the server: refused, kept, written once on reconnecting", async () => {
    const proxy = await startProxy({ host: "127.0.0.1", port: Number(new URL(url).port || 5432) });
    const u = new URL(url);
    u.host = `127.0.0.1:${proxy.port}`;
    const table = `${schema}.lost`;
    const { heard, availability } = recorder();
    const sink = await createPostgresAuditSink({ connectionString: u.toString(), table, mode: "fsync", availability, reconnectMinMs: 20, reconnectMaxMs: 100 });
    try {
      await sink.append([sampleEvent(1)]);
      proxy.arm("request");
      await assert.rejects(sink.append([sampleEvent(2)]) as Promise<void>, AuditOutageError);
      await waitFor(() => heard.some((h) => h.what === "back"), { what: "the sink to be back" });
      assert.deepEqual(
        (await lines(table)).map((l) => (JSON.parse(l) as { request_id: string }).request_id),
        ["req-1", "req-2"],
      );
    } finally {
      await sink.close();
      await proxy.close();
    }
  });

  test("closed during an outage: one last reconnect writes what was kept", async () => {
    const app = `tg-test-${randomBytes(4).toString("hex")}`;
    const table = `${schema}.closing`;
    const { heard, availability } = recorder();
    const { logger, records } = captureLogger();
    // No reconnect before close: only close's own last try can write the kept event.
    const sink = await createPostgresAuditSink({ connectionString: withAppName(url, app), table, mode: "fsync", availability, logger, reconnectMinMs: 600_000 });
    await sink.append([sampleEvent(1)]);
    await terminate(app);
    await waitFor(() => heard.some((h) => h.what === "down"), { what: "the outage" });
    await assert.rejects(sink.append([sampleEvent(2)]) as Promise<void>, AuditOutageError);
    assert.equal(sink.stats().retained, 1);
    await sink.close();
    assert.equal((await lines(table)).length, 2);
    assert.ok(!records.some((r) => /could not be written before shutdown/.test(r.msg)));
  });

  test("another session takes the table lock meanwhile: the sink says who, stays down; rows it did not write make the outage permanent", async () => {
    const app = `tg-test-${randomBytes(4).toString("hex")}`;
    const table = `${schema}.stolen`;
    const { heard, availability } = recorder();
    const { logger, records } = captureLogger();
    // Slow retries, so the test's session reliably takes the lock first.
    const sink = await createPostgresAuditSink({ connectionString: withAppName(url, app), table, mode: "fsync", availability, logger, reconnectMinMs: 600, reconnectMaxMs: 600 });
    const thief = new pg.Client({ connectionString: withAppName(url, `${app}-other`) });
    await thief.connect();
    try {
      await sink.append([sampleEvent(1)]);
      await terminate(app);
      await waitFor(async () => (await thief.query("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [`trading-gateway audit log ${table}`])).rows[0].ok, {
        what: "the other session to take the lock",
      });
      await waitFor(() => records.some((r) => r.level === 50 && /cannot re-take the table lock/.test(r.msg)), { what: "the lock holder to be named" });
      const line = records.find((r) => /cannot re-take the table lock/.test(r.msg))!;
      assert.match(line.msg, new RegExp(`application_name "${app}-other"`));
      await assert.rejects(sink.append([sampleEvent(2)]) as Promise<void>, AuditOutageError);
      assert.ok(!heard.some((h) => h.what === "back"));
      // The other writer appends and goes away: this gateway's memory no longer matches the log.
      await thief.query(`INSERT INTO ${table} (ts, event, line) VALUES (now(), 'order_received', '{"other":1}')`);
      await thief.query("SELECT pg_advisory_unlock(hashtext($1))", [`trading-gateway audit log ${table}`]);
      await waitFor(() => heard.some((h) => h.permanent === true), { what: "the permanent failure", timeoutMs: 10_000 });
      assert.ok(!heard.some((h) => h.what === "back"));
      assert.match(heard.find((h) => h.permanent === true)!.reason ?? "", /another writer.*restart/);
      // What it kept is still written: it happened.
      const stored = await lines(table);
      assert.equal(stored.length, 3);
      assert.match(stored[2]!, /"request_id":"req-2"/);
      await assert.rejects(sink.append([sampleEvent(3)]) as Promise<void>, /restart/);
    } finally {
      await thief.end();
      await sink.close();
    }
  });
});
