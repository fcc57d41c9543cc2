import pg from "pg";
import type { Logger } from "pino";
import type { GatewayError } from "../../domain/errors.js";
import type { Fill, Order } from "../../domain/order.js";
import { err, ok, type Result } from "../../domain/result.js";
import { admittedStatuses, type FillQuery, type OrderHistory, type OrderQuery } from "../../use-cases/order-history.js";
import { createAuditDecoder } from "./audit-codec.js";
import { ensureAuditTable, quoteTableName } from "./postgres-sink.js";

/**
 * The order history over the PostgreSQL audit table (postgres-sink.ts): nothing is kept in
 * memory, every page is two queries.
 *
 * 1. Keys: each row carries its order as of the event (account, venue, symbol, status,
 *    created_ms: columns the sink fills). An order's current state is its row with the highest id;
 *    `DISTINCT ON` over the index (account, created_ms DESC, order_id DESC, id DESC) picks it while
 *    walking newest first, and the status filter applies to that row. Fills: the index
 *    (account, fill_seq DESC).
 * 2. Values: the page's orders' rows (index (order_id, id)), decoded in order with one decoder per
 *    order, as the reader decodes the log: a v2 line may carry only what changed since the order's
 *    first line. Lines of one append may leave out request_id and the idempotency pair when the
 *    line before had them; listing needs neither, so those are filled with placeholders first.
 *
 * It shows committed rows: the use-case overlays the order manager's newer state (`current` false).
 * Rows written before the columns existed (an older gateway) have them null and are not listed.
 */
export interface PostgresOrderHistoryOptions {
  /** A pool the caller owns, or a connection string (the history owns a small pool). */
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  /** The audit table, `table` or `schema.table` (default audit_log). */
  readonly table?: string;
  readonly logger?: Logger;
}

const unavailable = (e: unknown): GatewayError => ({
  kind: "unavailable",
  message: `order history unavailable: the audit database could not be read (${e instanceof Error ? e.message : String(e)})`,
  retryAfterMs: 1000,
});

interface Decoded {
  readonly orders: Map<string, Order>;
  readonly fills: Map<string, Fill>;
}

export async function createPostgresOrderHistory(opts: PostgresOrderHistoryOptions): Promise<OrderHistory> {
  const table = opts.table ?? "audit_log";
  const t = quoteTableName(table);
  const ownsPool = opts.pool === undefined;
  const pool = opts.pool ?? new pg.Pool({ connectionString: opts.connectionString, max: 2, application_name: "trading-gateway-history", connectionTimeoutMillis: 10_000 });
  const onPoolError = (e: Error): void => opts.logger?.warn({ err: e, table }, "order history: an idle database connection failed");
  pool.on("error", onPoolError);
  // The sink creates the table and the columns too; this makes the history usable on its own.
  await ensureAuditTable(pool, table);

  /** Every row of these orders, decoded: their current state and their fills by sequence. */
  async function decodeOrders(ids: readonly string[]): Promise<Decoded> {
    const orders = new Map<string, Order>();
    const fills = new Map<string, Fill>();
    if (ids.length === 0) return { orders, fills };
    const r = await pool.query<{ order_id: string; line: string }>(`SELECT order_id, line FROM ${t} WHERE order_id = ANY($1::text[]) ORDER BY id`, [ids]);
    const decoders = new Map<string, ReturnType<typeof createAuditDecoder>>();
    for (const row of r.rows) {
      let d = decoders.get(row.order_id);
      if (d === undefined) {
        d = createAuditDecoder();
        decoders.set(row.order_id, d);
      }
      const rec = JSON.parse(row.line) as Record<string, unknown>;
      if (rec["v"] !== undefined && rec["request_id"] === undefined) rec["request_id"] = "-";
      delete rec["same_idempotency"];
      const e = d.record(rec);
      if (!e.ok) {
        opts.logger?.warn({ table, orderId: row.order_id, reason: e.error }, "order history: an audit row could not be decoded; skipped");
        continue;
      }
      if (e.value.order !== undefined) orders.set(e.value.order.orderId, e.value.order);
      if (e.value.fill !== undefined) fills.set(e.value.fill.sequence.toString(), e.value.fill);
    }
    return { orders, fills };
  }

  return {
    current: false,
    record() {},
    async listOrders(q: OrderQuery): Promise<Result<readonly Order[], GatewayError>> {
      const statuses = admittedStatuses(q);
      if (statuses?.size === 0) return ok([]);
      try {
        const keys = await pool.query<{ order_id: string }>(
          `SELECT order_id FROM (
             SELECT DISTINCT ON (created_ms, order_id COLLATE "C") order_id COLLATE "C" AS order_id, created_ms, status
               FROM ${t}
              WHERE account = $1 AND created_ms IS NOT NULL
                AND ($2::text = '' OR venue = $2) AND ($3::text = '' OR symbol = $3)
                AND ($4::bigint IS NULL OR created_ms >= $4) AND ($5::bigint IS NULL OR created_ms < $5)
                AND ($6::bigint IS NULL OR (created_ms, order_id COLLATE "C") < ($6, $7::text COLLATE "C"))
              ORDER BY created_ms DESC, order_id COLLATE "C" DESC, id DESC
           ) latest
           WHERE ($8::smallint[] IS NULL OR status = ANY($8))
           ORDER BY created_ms DESC, order_id DESC
           LIMIT $9`,
          [
            q.account,
            q.venue,
            q.symbol,
            q.createdAfterMs ?? null,
            q.createdBeforeMs ?? null,
            q.after?.createdAtMs ?? null,
            q.after?.orderId ?? "",
            statuses === undefined ? null : [...statuses],
            q.limit,
          ],
        );
        const ids = keys.rows.map((r) => r.order_id);
        const { orders } = await decodeOrders(ids);
        const out: Order[] = [];
        for (const id of ids) {
          const o = orders.get(id);
          if (o !== undefined) out.push(o);
        }
        return ok(out);
      } catch (e) {
        return err(unavailable(e));
      }
    },
    async listFills(q: FillQuery): Promise<Result<readonly Fill[], GatewayError>> {
      try {
        const keys = await pool.query<{ order_id: string; seq: string }>(
          `SELECT order_id, fill_seq::text AS seq FROM ${t}
            WHERE account = $1 AND fill_seq IS NOT NULL
              AND ($2::text = '' OR order_id = $2) AND ($3::text = '' OR symbol = $3) AND ($4::text = '' OR venue = $4)
              AND ($5::bigint IS NULL OR fill_ms >= $5) AND ($6::bigint IS NULL OR fill_ms < $6)
              AND ($7::bigint IS NULL OR fill_seq < $7)
            ORDER BY fill_seq DESC
            LIMIT $8`,
          [q.account, q.orderId, q.symbol, q.venue, q.timeAfterMs ?? null, q.timeBeforeMs ?? null, q.beforeSequence?.toString() ?? null, q.limit],
        );
        const { fills } = await decodeOrders([...new Set(keys.rows.map((r) => r.order_id))]);
        const out: Fill[] = [];
        for (const r of keys.rows) {
          const f = fills.get(r.seq);
          if (f !== undefined) out.push(f);
        }
        return ok(out);
      } catch (e) {
        return err(unavailable(e));
      }
    },
    async close() {
      pool.off("error", onPoolError);
      if (ownsPool) await pool.end();
    },
  };
}
