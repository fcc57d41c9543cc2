import pg from "pg";
import type { Logger } from "pino";
import { decodeAuditLine, encodeAuditEvent } from "./audit-codec.js";
import { AuditLogCorruptError } from "./audit-reader.js";
import type { AuditEvent, AuditSink } from "./audit-sink.js";
import { createGroupCommit, type AuditObserver, type BackgroundErrorListener } from "./group-commit.js";

/**
 * The audit log in PostgreSQL, for deployments that already run it and want the log queryable
 * and replicated. One row per event; `line` holds exactly the JSONL line (audit-codec.ts) so both
 * back-ends share one format and one decoder. It is `text`, not `jsonb`, because jsonb rejects the
 * \u0000 escape and would reorder keys; `event`, `order_id` and `ts` are copied into columns for
 * queries.
 *
 * Group commit as in the JSONL sink: events are batched (N lines or T ms), each batch is one
 * multi-row INSERT (one round trip: arrays unnested server-side), one batch in flight at a time,
 * and in fsync mode a caller is answered only after the COMMIT covering its rows. Row order is the
 * append order: one writer, identity ids assigned in the unnest order.
 *
 * Append-only: triggers refuse UPDATE, DELETE and TRUNCATE, so a bug or a stray script cannot
 * rewrite history (a superuser can still drop the trigger: that is an explicit, visible act).
 *
 * One writer per table: the sink holds a session advisory lock on it while open (as the JSONL
 * sink holds `<file>.lock`), so a second gateway pointed at the same table refuses to start
 * instead of interleaving its orders into the first one's log.
 */

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Validates and quotes `table` or `schema.table`; identifiers cannot be bound as parameters. */
export function quoteTableName(name: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new Error(`invalid audit table name ${JSON.stringify(name)}: use [schema.]table with letters, digits, _`);
  }
  return parts.map((p) => `"${p}"`).join(".");
}

export interface PostgresAuditSinkOptions {
  /** A pool the caller owns (closed by the caller), or a connection string (the sink owns its pool). */
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  /** `table` or `schema.table` (default audit_log); created if absent. */
  readonly table?: string;
  readonly mode: "fsync" | "buffered";
  readonly batchMaxLines?: number;
  readonly batchMaxMs?: number;
  readonly logger?: Logger;
  /** Told about every commit (metrics). */
  readonly observer?: AuditObserver;
  /** Buffered mode: a failed background write nobody waits for (see group-commit.ts). */
  readonly onBackgroundError?: BackgroundErrorListener;
  /**
   * Hold a session advisory lock on the table while open (default true), so two gateways never
   * append to one log. PostgreSQL drops it when the session ends, so a crashed gateway leaves
   * no stale lock behind.
   */
  readonly lock?: boolean;
}

export interface PostgresAuditSink extends AuditSink {
  readonly table: string;
  /** Every stored event in append order (start-up recovery, fill archive). */
  read(opts?: { readonly onCorrupt?: "skip" | "fail" }): AsyncIterable<AuditEvent>;
  stats(): { readonly batches: number; readonly lines: number; readonly errors: number };
}

/** Creates the table and its append-only triggers if absent. Safe to run concurrently. */
export async function ensureAuditTable(pool: pg.Pool, table: string): Promise<void> {
  const t = quoteTableName(table);
  const parts = table.split(".");
  const schema = parts.length === 2 ? `"${parts[0]}".` : "";
  const fn = `${schema}"${parts.at(-1)}_append_only"`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // Serialises concurrent start-ups creating the same table.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [table]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${t} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      ts timestamptz NOT NULL,
      event text NOT NULL,
      order_id text,
      line text NOT NULL
    )`);
    await client.query(`CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit log % is append-only (% refused)', TG_TABLE_NAME, TG_OP; END $$`);
    await client.query(`CREATE OR REPLACE TRIGGER append_only_rows BEFORE UPDATE OR DELETE ON ${t}
      FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    await client.query(`CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON ${t}
      FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

function lockKey(table: string): string {
  return `trading-gateway audit log ${table}`;
}

/**
 * Takes the table's session advisory lock on a client kept out of the pool's rotation until
 * close; refuses (throws) when another session holds it.
 */
async function lockTable(pool: pg.Pool, table: string, logger: Logger | undefined): Promise<TableLock> {
  const client = await pool.connect();
  try {
    const r = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [lockKey(table)]);
    if (r.rows[0]?.locked !== true) {
      throw new Error(
        `audit table ${table} is in use by another gateway (it holds the PostgreSQL advisory lock on it); ` +
          "two gateways must not append to one audit log: give each its own AUDIT_PG_TABLE",
      );
    }
  } catch (e) {
    client.release();
    throw e;
  }
  const held: TableLock = { client, lost: false };
  // The lock dies with this session; appends still work through other sessions, so say it loudly.
  // (Also: an 'error' on a checked-out client without a listener would crash the process.)
  client.on("error", (e) => {
    held.lost = true;
    logger?.error({ err: e, table }, "audit: the session holding the audit table lock failed; the table is no longer locked");
  });
  return held;
}

interface TableLock {
  readonly client: pg.PoolClient;
  lost: boolean;
}

interface Batch {
  lines: number;
  ts: string[];
  event: string[];
  orderId: (string | null)[];
  line: string[];
}

export async function createPostgresAuditSink(opts: PostgresAuditSinkOptions): Promise<PostgresAuditSink> {
  const table = opts.table ?? "audit_log";
  const t = quoteTableName(table);
  const ownsPool = opts.pool === undefined;
  const pool =
    opts.pool ??
    // One session holds the table lock, one commits batches, one serves reads (recovery, fill archive).
    // connectionTimeoutMillis: an unreachable server fails start-up (and a commit) with an error
    // after 10 s instead of hanging it (pg waits forever by default).
    new pg.Pool({ connectionString: opts.connectionString, max: 3, application_name: "trading-gateway-audit", connectionTimeoutMillis: 10_000 });
  const mode = opts.mode;
  const batchMaxLines = Math.max(1, opts.batchMaxLines ?? 256);
  const batchMaxMs = Math.max(0, opts.batchMaxMs ?? 0);
  const logger = opts.logger;
  let lock: TableLock | undefined;
  try {
    await ensureAuditTable(pool, table);
    if (opts.lock !== false) lock = await lockTable(pool, table, logger);
  } catch (e) {
    if (ownsPool) await pool.end().catch(() => {});
    throw e;
  }
  const insertSql =
    `INSERT INTO ${t} (ts, event, order_id, line) ` +
    `SELECT ts, event, order_id, line FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[]) ` +
    `WITH ORDINALITY AS u(ts, event, order_id, line, n) ORDER BY n`;

  const st = { batches: 0, lines: 0, errors: 0 };
  const group = createGroupCommit<Batch>({
    mode,
    batchMaxLines,
    batchMaxMs,
    ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
    ...(opts.onBackgroundError !== undefined ? { onBackgroundError: opts.onBackgroundError } : {}),
    empty: () => ({ lines: 0, ts: [], event: [], orderId: [], line: [] }),
    add(b, events) {
      for (const e of events) {
        b.line.push(encodeAuditEvent(e).slice(0, -1));
        b.ts.push(new Date(e.ts).toISOString());
        b.event.push(e.type);
        b.orderId.push(e.order?.orderId ?? e.fill?.orderId ?? null);
      }
    },
    async commit(b) {
      // A single statement is its own transaction: it returns after COMMIT (synchronous_commit on = durable).
      await pool.query(insertSql, [b.ts, b.event, b.orderId, b.line]);
      st.batches++;
      st.lines += b.lines;
    },
    onError(e, b) {
      st.errors++;
      logger?.error({ err: e, table, lines: b.lines }, "audit insert failed");
    },
  });

  async function* read(ro: { readonly onCorrupt?: "skip" | "fail" } = {}): AsyncGenerator<AuditEvent, void, undefined> {
    // Keyset pages keep memory flat on a long log without a server-side cursor dependency.
    let after = "0";
    for (;;) {
      const r = await pool.query<{ row_id: string; line: string }>(
        `SELECT id::text AS row_id, line FROM ${t} WHERE id > $1::bigint ORDER BY id LIMIT 2000`,
        [after],
      );
      for (const row of r.rows) {
        const d = decodeAuditLine(row.line);
        if (d.ok) yield d.value;
        else if (ro.onCorrupt === "fail") throw new AuditLogCorruptError(`${table}#id`, Number(row.row_id), d.error);
        else logger?.warn({ table, id: row.row_id, reason: d.error }, "audit log: corrupt row skipped");
      }
      if (r.rows.length < 2000) return;
      after = r.rows.at(-1)!.row_id;
    }
  }

  let closePromise: Promise<void> | undefined;
  function close(): Promise<void> {
    closePromise ??= group.close().then(async () => {
      if (lock !== undefined) {
        // Unlock explicitly: with a caller-owned pool the session lives on after release().
        if (!lock.lost) await lock.client.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey(table)]).catch(() => (lock!.lost = true));
        // A broken session is destroyed, not handed to the next caller of the pool.
        lock.client.release(lock.lost);
      }
      if (ownsPool) await pool.end();
    });
    return closePromise;
  }

  return { mode, table, append: group.append, close, read, stats: () => ({ ...st }) };
}
