import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { decodeAuditLine, encodeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import { createPostgresAuditSink } from "../../../src/adapters/audit/postgres-sink.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { OrderStatus } from "../../../src/domain/order.js";
import { sampleOrder } from "./fixtures.js";
import { pgUnreachable, testPgUrl } from "../../helpers/test-postgres.js";

/** A replace as the log holds it: requested (with its key), then replaced or refused. */
const chain: AuditEvent[] = [
  { ts: 1_767_000_000_000, type: "replace_requested", requestId: "r1", idempotency: { key: "acct-1|r:c-2", fingerprint: "r1|o-1|c-2|3|101|" }, order: sampleOrder({ status: OrderStatus.PENDING_REPLACE }) },
  {
    ts: 1_767_000_000_001,
    type: "order_replaced",
    requestId: "r1",
    idempotency: { key: "acct-1|r:c-2", fingerprint: "r1|o-1|c-2|3|101|" },
    order: sampleOrder({ status: OrderStatus.NEW, clientOrderId: "c-2", replacedClientOrderIds: ["c-1"], quantity: "3", price: "101", venueClientOrderId: "tgabc" }),
  },
  {
    ts: 1_767_000_000_002,
    type: "replace_rejected",
    requestId: "r2",
    idempotency: { key: "acct-1|r:c-3", fingerprint: "r1|o-1|c-3||99|" },
    order: sampleOrder({ status: OrderStatus.FILLED, clientOrderId: "c-2", replacedClientOrderIds: ["c-1"] }),
    error: { kind: "failed_precondition", reason: "REPLACE_REJECTED", message: "the order is FILLED" },
  },
];

test("replace events (requested, replaced, rejected) round-trip through the audit line codec with the client id chain", () => {
  for (const e of chain) {
    const r = decodeAuditLine(encodeAuditEvent(e));
    assert.ok(r.ok, r.ok ? "" : r.error);
    assert.deepEqual(r.value, e);
  }
});

describe("replace events in PostgreSQL", { skip: await pgUnreachable() }, () => {
  const schema = `audit_replace_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: testPgUrl, max: 2 });
  before(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });
  test("stored and read back exactly", async () => {
    const sink = await createPostgresAuditSink({ pool, table: `${schema}.audit_r`, mode: "fsync", batchMaxLines: 10, batchMaxMs: 1 });
    await sink.append(chain);
    const out: AuditEvent[] = [];
    for await (const e of sink.read()) out.push(e);
    assert.deepEqual(out, chain);
    await sink.close();
  });
});
