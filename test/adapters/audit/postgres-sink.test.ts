import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPostgresAuditSink, quoteTableName } from "../../../src/adapters/audit/postgres-sink.js";
import { createAuditSink } from "../../../src/adapters/audit/create-audit-sink.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent, sampleFill, sampleOrder } from "./fixtures.js";
import { OrderStatus } from "../../../src/domain/order.js";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { recoverState } from "../../../src/use-cases/recover.js";
import { runAuditScenario } from "../../helpers/audit-scenario.js";
import { snapshotEvents, snapshotState } from "../../fixtures/audit/snapshot.js";
import { pgUnreachable, testPgUrl } from "../../helpers/test-postgres.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/audit");

const url = testPgUrl;
const skip = await pgUnreachable();

async function collect(it: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test("table names are validated before they reach SQL", () => {
  assert.equal(quoteTableName("audit_log"), '"audit_log"');
  assert.equal(quoteTableName("s1.audit_log"), '"s1"."audit_log"');
  for (const bad of ['a"; DROP TABLE x; --', "a.b.c", "", "1abc", "a b"]) assert.throws(() => quoteTableName(bad), /invalid audit table name/);
});

describe("postgres audit sink", { skip }, () => {
  const schema = `audit_test_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  before(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });

  test("fsync mode: events are stored in append order in batched INSERTs and read back exactly", async () => {
    const sink = await createPostgresAuditSink({ pool, table: `${schema}.audit_a`, mode: "fsync", batchMaxLines: 10, batchMaxMs: 1 });
    const events = Array.from({ length: 35 }, (_, i) =>
      i % 5 === 0 ? { ts: 1000 + i, type: "fill" as const, requestId: `r${i}`, fill: sampleFill(BigInt(i + 1)) } : sampleEvent(i),
    );
    const ps = events.map((e) => sink.append([e]));
    assert.ok(ps.every((p) => p !== null));
    // Durable means visible to another connection once the promise resolved.
    await Promise.all(ps);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.audit_a`);
    assert.equal(rows[0].n, 35);
    assert.ok(sink.stats().batches < 35, `batched (${sink.stats().batches} inserts for 35 events)`);
    assert.deepEqual(await collect(sink.read()), events);
    await sink.close();
    await assert.rejects(sink.append([sampleEvent(1)]) as Promise<void>, /closed/);
  });

  test("a NUL escape in a key (jsonb would refuse it) is stored and read back", async () => {
    const sink = await createPostgresAuditSink({ pool, table: `${schema}.audit_nul`, mode: "fsync" });
    const e = sampleEvent(1, { idempotency: { key: "acct\u0000key", fingerprint: "f" } });
    await sink.append([e]);
    assert.deepEqual(await collect(sink.read()), [e]);
    await sink.close();
  });

  test("reconciliation events (order_reconciled, an adopted external order) are stored and read back, and recovery rebuilds the order", async () => {
    const sink = await createPostgresAuditSink({ pool, table: `${schema}.audit_reconciled`, mode: "fsync" });
    const adopted: AuditEvent = {
      ts: 1_767_000_000_001,
      type: "order_reconciled",
      requestId: "venue-reconcile",
      order: sampleOrder({ orderId: "o-ext", clientOrderId: "ext-binance-77", account: "external", idempotencyKey: "", status: OrderStatus.NEW, filledQuantity: "0", averageFillPrice: "", external: true }),
      reconciliation: { kind: "external_adopted", detail: "adopted venue order 77 as external, NEW, filled 0" },
    };
    const corrected: AuditEvent = {
      ts: 1_767_000_000_002,
      type: "order_reconciled",
      requestId: "venue-reconcile",
      order: sampleOrder({ orderId: "o-ext", clientOrderId: "ext-binance-77", account: "external", idempotencyKey: "", status: OrderStatus.CANCELED, filledQuantity: "0", averageFillPrice: "", external: true, updatedAtMs: 1_767_000_000_002 }),
      reconciliation: { kind: "venue_closed", detail: "venue no longer lists the order \"x\" (gateway had NEW)" },
    };
    await sink.append([adopted]);
    await sink.append([corrected]);
    const back = await collect(sink.read());
    assert.deepEqual(back, [adopted, corrected]);
    const state = await recoverState(back, { nowMs: 1_767_000_000_010, idempotencyTtlMs: 60_000, idempotencyMaxEntries: 10, orderRetentionMs: 60_000, maxTerminalOrders: 10 });
    assert.equal(state.orders.get("o-ext")?.order.external, true);
    assert.equal(state.orders.get("o-ext")?.order.status, OrderStatus.CANCELED);
    const { rows } = await pool.query(`SELECT event FROM ${schema}.audit_reconciled ORDER BY id`);
    assert.deepEqual(rows.map((r: { event: string }) => r.event), ["order_reconciled", "order_reconciled"]);
    await sink.close();
  });

  test("the table is append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const table = `${schema}.audit_b`;
    const sink = await createPostgresAuditSink({ pool, table, mode: "fsync" });
    await sink.append([sampleEvent(1)]);
    await assert.rejects(pool.query(`UPDATE ${table} SET event = 'x'`), /append-only/);
    await assert.rejects(pool.query(`DELETE FROM ${table}`), /append-only/);
    await assert.rejects(pool.query(`TRUNCATE ${table}`), /append-only/);
    assert.equal((await collect(sink.read())).length, 1);
    await sink.close();
    // Re-opening an existing table works (start-up after a restart).
    const again = await createPostgresAuditSink({ pool, table, mode: "buffered" });
    assert.equal(again.append([sampleEvent(2)]), null);
    await again.close();
    assert.equal((await collect(again.read())).length, 2);
  });

  test("a failed insert rejects its callers and is logged; a corrupt row is skipped with its id", async () => {
    const table = `${schema}.audit_c`;
    const { logger, records } = captureLogger();
    const sink = await createPostgresAuditSink({ pool, table, mode: "fsync", logger });
    await pool.query(`ALTER TABLE ${table} ADD CONSTRAINT no_bad CHECK (event <> 'order_expired')`);
    await assert.rejects(sink.append([sampleEvent(1, { type: "order_expired" })]) as Promise<void>, /no_bad/);
    assert.ok(records.some((r) => r.level === 50 && /audit insert failed/.test(r.msg)));
    await sink.append([sampleEvent(2)]);
    await pool.query(`INSERT INTO ${table} (ts, event, line) VALUES (now(), 'x', '{broken')`);
    const events = await collect(sink.read());
    assert.deepEqual(events.map((e) => e.requestId), ["req-2"]);
    assert.ok(records.some((r) => /corrupt row skipped/.test(r.msg)));
    await assert.rejects(collect(sink.read({ onCorrupt: "fail" })), /corrupt/);
    await sink.close();
  });

  test("buffered mode: a failed insert nobody waits for is reported to onBackgroundError; later rows still land", async () => {
    const table = `${schema}.audit_bg`;
    const heard: { cause: unknown; lines: number }[] = [];
    const sink = await createPostgresAuditSink({ pool, table, mode: "buffered", onBackgroundError: (cause, lines) => heard.push({ cause, lines }) });
    await pool.query(`ALTER TABLE ${table} ADD CONSTRAINT no_expired CHECK (event <> 'order_expired')`);
    assert.equal(sink.append([sampleEvent(1, { type: "order_expired" })]), null);
    const deadline = Date.now() + 5000;
    while (heard.length === 0) {
      assert.ok(Date.now() < deadline, "the failed insert was not reported");
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.match(String(heard[0]!.cause), /no_expired/);
    assert.equal(heard[0]!.lines, 1);
    sink.append([sampleEvent(2)]);
    await sink.close();
    const { rows } = await pool.query(`SELECT event FROM ${table}`);
    assert.equal(rows.length, 1);
    assert.equal(heard.length, 1);
  });

  test("one gateway per table: a second sink on a table in use is refused; the lock goes with close or with the session", async () => {
    const table = `${schema}.audit_lock`;
    const first = await createAuditSink({ mode: "fsync", backend: "postgres", pgUrl: url, pgTable: table });
    await assert.rejects(
      createAuditSink({ mode: "fsync", backend: "postgres", pgUrl: url, pgTable: table }),
      /audit table .*audit_lock is in use by another gateway.*AUDIT_PG_TABLE/,
    );
    // Another table is independent.
    const other = await createPostgresAuditSink({ pool, table: `${schema}.audit_lock2`, mode: "fsync" });
    await other.close();
    await first.close();
    // Its reconnect (after a lost session) is put off: here it stands for a gateway that died.
    const second = await createPostgresAuditSink({ pool, table, mode: "fsync", reconnectMinMs: 600_000 });
    await second.append([sampleEvent(1)]);
    // A gateway that dies without closing: its session ends and so does the lock.
    // Only the session holding THIS table's lock (a bigint key: classid = high half, objid = low half).
    const c = await pool.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l, (SELECT hashtext($1)::bigint AS k) h
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid::text::bigint = ((h.k >> 32) & 4294967295) AND l.objid::text::bigint = (h.k & 4294967295)
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [`trading-gateway audit log ${table}`],
    );
    assert.equal(c.rows.length, 1, "the lock is one session lock, visible in pg_locks");
    await pool.query("SELECT pg_terminate_backend($1)", [c.rows[0]!.pid]);
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const third = await createPostgresAuditSink({ connectionString: url, table, mode: "fsync" });
        await third.close();
        break;
      } catch (e) {
        assert.ok(Date.now() < deadline, String(e));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await second.close().catch(() => {});
  });

  test("createAuditSink with AUDIT_BACKEND=postgres appends and reads back through the same interface", async () => {
    const audit = await createAuditSink({ mode: "fsync", backend: "postgres", pgUrl: url, pgTable: `${schema}.audit_factory`, batchMaxMs: 0 });
    const p = audit.append([sampleEvent(1), sampleEvent(2)]);
    assert.ok(p instanceof Promise);
    await p;
    assert.deepEqual((await collect(audit.read())).map((e) => e.requestId), ["req-1", "req-2"]);
    await audit.close();
  });

  test("audit v2 in PostgreSQL: the fixture's orders are stored as the same lean lines, one per row, and read back as the v1 log was", async () => {
    const table = `${schema}.audit_v2`;
    const sink = await createPostgresAuditSink({ pool, table, mode: "fsync", batchMaxMs: 0 });
    const nowMs = await runAuditScenario(sink);
    const events = await collect(sink.read());
    await sink.close();
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, "v1-gateway.expected.json"), "utf8"));
    assert.deepEqual(snapshotEvents(events), expected.events);
    assert.deepEqual(snapshotState(await recoverState(events, { nowMs, idempotencyTtlMs: 3_600_000, idempotencyMaxEntries: 1000, orderRetentionMs: 3_600_000, maxTerminalOrders: 1000 })), expected.state);
    const { rows } = await pool.query<{ event: string; order_id: string | null; line: string }>(`SELECT event, order_id, line FROM ${table} ORDER BY id`);
    assert.equal(rows.length, events.length);
    rows.forEach((r, i) => {
      assert.ok(r.line.startsWith('{"v":2,') && !r.line.includes("\n"), r.line);
      assert.equal(r.event, events[i]!.type);
      assert.equal(r.order_id, events[i]!.order?.orderId ?? events[i]!.fill?.orderId ?? null);
    });
    const v1Bytes = fs.statSync(path.join(fixtures, "v1-gateway.jsonl")).size;
    assert.ok(rows.reduce((n, r) => n + Buffer.byteLength(r.line) + 1, 0) * 2 < v1Bytes, "half the bytes of the v1 lines or less");
  });

  test("a v1 log in PostgreSQL (lines a v1 gateway stored) is still read", async () => {
    const table = `${schema}.audit_v1`;
    const sink = await createPostgresAuditSink({ pool, table, mode: "fsync" });
    await sink.close();
    const lines = fs.readFileSync(path.join(fixtures, "v1-gateway.jsonl"), "utf8").trimEnd().split("\n");
    await pool.query(
      `INSERT INTO ${table} (ts, event, order_id, line) SELECT now(), j->>'event', j->>'order_id', l FROM unnest($1::text[]) WITH ORDINALITY AS u(l, n), LATERAL (SELECT l::jsonb AS j) x ORDER BY n`,
      [lines],
    );
    const again = await createPostgresAuditSink({ pool, table, mode: "fsync" });
    const events = await collect(again.read());
    await again.close();
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, "v1-gateway.expected.json"), "utf8"));
    assert.deepEqual(snapshotEvents(events), expected.events);
  });
});
