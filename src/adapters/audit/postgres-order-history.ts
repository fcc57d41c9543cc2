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
 *    created_ms: columns the sink fills). An order's current state is its row with the highest id:
 *    the first one met walking the index (account, created_ms DESC, order_id DESC, id DESC), and
 *    the status filter applies to that row (orderKeys). Fills: the index (account, fill_seq DESC).
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

  /**
   * The ids of the page's orders: rows walked newest first on the index, in chunks; the first row
   * of an order is its latest (id DESC), whose status decides. (A DISTINCT ON subquery does the same
   * in SQL, but the planner then sorts every row of the account instead of walking the index.)
   * Only the filters given become conditions, so each query's plan fits it.
   */
  async function orderKeys(q: OrderQuery, statuses: ReadonlySet<number> | undefined): Promise<string[]> {
    const conds = ["account = $1", "created_ms IS NOT NULL"];
    const params: unknown[] = [q.account];
    const param = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.venue !== "") conds.push(`venue = ${param(q.venue)}`);
    if (q.symbol !== "") conds.push(`symbol = ${param(q.symbol)}`);
    if (q.createdAfterMs !== undefined) conds.push(`created_ms >= ${param(q.createdAfterMs)}::bigint`);
    if (q.createdBeforeMs !== undefined) conds.push(`created_ms < ${param(q.createdBeforeMs)}::bigint`);
    const fixed = params.length;
    const chunk = Math.min(5000, q.limit * 4 + 16);
    const ids: string[] = [];
    let prev: string | undefined;
    let cursor: { c: string | number; o: string; id?: string } | undefined = q.after === undefined ? undefined : { c: q.after.createdAtMs, o: q.after.orderId };
    for (;;) {
      params.length = fixed;
      const where = [...conds];
      if (cursor !== undefined) {
        where.push(
          cursor.id === undefined
            ? `(created_ms, order_id COLLATE "C") < (${param(cursor.c)}::bigint, ${param(cursor.o)}::text COLLATE "C")`
            : `(created_ms, order_id COLLATE "C", id) < (${param(cursor.c)}::bigint, ${param(cursor.o)}::text COLLATE "C", ${param(cursor.id)}::bigint)`,
        );
      }
      // row_id, not id: ORDER BY id would sort by the output column (text), not the bigint.
      const r = await pool.query<{ row_id: string; c: string; order_id: string; status: number }>(
        `SELECT id::text AS row_id, created_ms::text AS c, order_id, status FROM ${t} WHERE ${where.join(" AND ")}
          ORDER BY created_ms DESC, order_id COLLATE "C" DESC, id DESC LIMIT ${chunk}`,
        params,
      );
      for (const row of r.rows) {
        if (row.order_id === prev) continue;
        prev = row.order_id;
        if (statuses !== undefined && !statuses.has(row.status)) continue;
        ids.push(row.order_id);
        if (ids.length >= q.limit) return ids;
      }
      if (r.rows.length < chunk) return ids;
      const last = r.rows.at(-1)!;
      cursor = { c: last.c, o: last.order_id, id: last.row_id };
    }
  }

  return {
    current: false,
    record() {},
    async listOrders(q: OrderQuery): Promise<Result<readonly Order[], GatewayError>> {
      const statuses = admittedStatuses(q);
      if (statuses?.size === 0) return ok([]);
      try {
        const ids = await orderKeys(q, statuses);
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
