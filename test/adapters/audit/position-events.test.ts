/**
 * What the position limits add to the audit log: the `daily_loss_limit_breached` event and
 * failed_precondition errors with ErrorInfo metadata (a risk refusal stored as an idempotency
 * outcome). Both round-trip through the line codec and through the PostgreSQL sink, and
 * positions recovered from a PostgreSQL log equal those recovered from the same events in JSONL.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { decodeAuditLine, encodeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import { createPostgresAuditSink } from "../../../src/adapters/audit/postgres-sink.js";
import { Side } from "../../../src/domain/order.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { createPositionBook } from "../../../src/use-cases/position-book.js";
import { recoverState } from "../../../src/use-cases/recover.js";
import { pgUnreachable, testPgUrl } from "../../helpers/test-postgres.js";
import { sampleFill } from "./fixtures.js";

const breach: AuditEvent = {
  ts: 1_767_000_000_500,
  type: "daily_loss_limit_breached",
  requestId: "risk-daily-loss",
  error: {
    kind: "failed_precondition",
    reason: "DAILY_LOSS_LIMIT",
    message: "risk limit: realized P&L -1000.5 of account acct-1 ...",
    metadata: { limit: "dailyLossLimit", account: "acct-1", realized_pnl: "-1000.5", daily_loss_limit: "1000" },
  },
};
const refusal: AuditEvent = {
  ts: 1_767_000_000_600,
  type: "order_rejected",
  requestId: "req-9",
  idempotency: { key: "acct-1\u0000c-9", fingerprint: "fp-9" },
  error: { kind: "failed_precondition", reason: "MAX_POSITION_EXCEEDED", message: "risk limit: position ...", metadata: { limit: "maxPosition", max_position: "2", projected_position: "2.00000001" } },
};
const fills: AuditEvent[] = [
  { ts: 1, type: "fill", requestId: "r1", fill: sampleFill(1n, { quantity: "2", price: "100" }) },
  { ts: 2, type: "fill", requestId: "r2", fill: sampleFill(2n, { side: Side.SELL, quantity: "3", price: "90", fee: "0.5", feeCurrency: "BNB" }) },
];

test("the breach event and failed_precondition metadata round-trip through the line codec", () => {
  for (const e of [breach, refusal]) {
    const d = decodeAuditLine(encodeAuditEvent(e));
    assert.ok(d.ok, d.ok ? "" : d.error);
    assert.deepEqual(d.value, e);
  }
});

async function positionsFrom(events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>) {
  const book = createPositionBook();
  await recoverState(events, { nowMs: 0, idempotencyTtlMs: 1e12, idempotencyMaxEntries: 10, orderRetentionMs: 1e12, maxTerminalOrders: 10, onFill: (f) => book.applyFill(f) });
  return book.list("acct-1");
}

describe("PostgreSQL", { skip: await pgUnreachable() }, () => {
  const schema = `positions_test_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: testPgUrl, max: 2 });
  before(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });

  test("stores and reads them back; positions recovered from it equal those from the events", async (t) => {
    const sink = await createPostgresAuditSink({ pool, table: `${schema}.audit`, mode: "fsync", batchMaxLines: 10, batchMaxMs: 1 });
    // Closed even when an assertion fails, or the pool's end() would wait for it.
    t.after(() => sink.close());
    const events = [fills[0]!, breach, refusal, fills[1]!];
    await sink.append(events);
    const read: AuditEvent[] = [];
    for await (const e of sink.read()) read.push(e);
    assert.deepEqual(read, events);
    const fromPg = await positionsFrom(sink.read());
    assert.deepEqual(fromPg, await positionsFrom(events));
    assert.deepEqual(
      fromPg.map((p) => [p.quantity, p.averageEntryPrice, p.realizedPnl, p.fees, p.otherFees]),
      [["-1", "90", "-20", "0.0001", { BNB: "0.5" }]],
    );
  });
});
