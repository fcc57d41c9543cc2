import pg from "pg";
import type { Logger } from "pino";
import { createAuditDecoder, createAuditEncoder, createLineBuffer } from "./audit-codec.js";
import { AuditLogCorruptError } from "./audit-reader.js";
import { setTimeout as sleep } from "node:timers/promises";
import { AuditOutageError, type AuditAvailability, type AuditEvent, type AuditSink } from "../../use-cases/audit-sink.js";
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
 * instead of interleaving its orders into the first one's log. Every INSERT runs on that same
 * session, so nothing is committed without the lock.
 *
 * Connection loss (a terminated session, a server restart) does not end the process: 'error'
 * events of the pool and of the writer session are handled. The sink goes down: it tells its
 * AuditAvailability (the gateway's guard: health NOT_SERVING, calls UNAVAILABLE), refuses appends
 * with AuditOutageError but keeps their events in order, and reconnects with a bounded, jittered
 * back-off. Once it has a session and the lock again, it settles the batch whose COMMIT outcome
 * was unknown (rows after the last id it knows it wrote: its own lines, committed after all, are
 * not written twice), writes everything it kept, and says it is back. If another writer appended
 * to the table meanwhile, memory no longer matches the log: it stays down for good (restart).
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
  /**
   * Told when the database is lost (appends are refused with AuditOutageError and kept) and when
   * the sink is back (reconnected, lock re-taken, kept events written). The gateway's audit guard.
   */
  readonly availability?: AuditAvailability;
  /** Reconnect back-off: the first wait and the longest, in ms (defaults 100 and 5000); each wait is jittered. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /**
   * High availability (postgres-leadership.ts): every INSERT carries `term` and commits only while
   * the leader row still holds it (a share lock on the row in the same statement). A refused
   * INSERT means another gateway leads now: the sink fails for good (nothing it keeps is written)
   * and calls `onDeposed`. Use with `lock: false`: leadership, not the table lock, keeps one writer.
   */
  readonly fence?: { readonly leaderTable: string; readonly term: bigint; readonly onDeposed?: (why: string) => void };
}

export interface PostgresAuditSink extends AuditSink {
  readonly table: string;
  /** Every stored event in append order (start-up recovery, fill archive). */
  read(opts?: { readonly onCorrupt?: "skip" | "fail" }): AsyncIterable<AuditEvent>;
  /** outages: connection losses; reconnects: recoveries; retained: events kept now, waiting for the database. */
  stats(): {
    readonly batches: number;
    readonly lines: number;
    readonly errors: number;
    readonly outages: number;
    readonly reconnects: number;
    readonly retained: number;
  };
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
    // The order history (postgres-order-history.ts) lists orders and fills from these columns:
    // each row's order as of the event (account, venue, symbol, status, created_at in ms) and
    // its fill (sequence, time). Added to a table made before them as nullable columns (a
    // catalog-only change): rows written before have them null and are not listed.
    await client.query(`ALTER TABLE ${t}
      ADD COLUMN IF NOT EXISTS account text, ADD COLUMN IF NOT EXISTS venue text, ADD COLUMN IF NOT EXISTS symbol text,
      ADD COLUMN IF NOT EXISTS status smallint, ADD COLUMN IF NOT EXISTS created_ms bigint,
      ADD COLUMN IF NOT EXISTS fill_seq bigint, ADD COLUMN IF NOT EXISTS fill_ms bigint`);
    const base = parts.at(-1)!;
    // ListOrders walks (account, created_ms, order_id) newest first; ListFills (account, fill_seq);
    // both then read the page's orders' rows by order_id. order_id sorts COLLATE "C" (code units, as
    // the memory index compares them).
    await client.query(`CREATE INDEX IF NOT EXISTS "${base}_list_orders" ON ${t}
      (account, created_ms DESC, order_id COLLATE "C" DESC, id DESC) WHERE created_ms IS NOT NULL`);
    await client.query(`CREATE INDEX IF NOT EXISTS "${base}_list_fills" ON ${t} (account, fill_seq DESC) WHERE fill_seq IS NOT NULL`);
    await client.query(`CREATE INDEX IF NOT EXISTS "${base}_order_rows" ON ${t} (order_id, id) WHERE order_id IS NOT NULL`);
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

/** The SQL that finds who holds the table's advisory lock (a bigint key: classid = high half, objid = low half). */
const LOCK_HOLDER_SQL = `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr
   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid, (SELECT hashtext($1)::bigint AS k) h
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.classid::text::bigint = ((h.k >> 32) & 4294967295) AND l.objid::text::bigint = (h.k & 4294967295)
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** The table's lock is held by another session (another gateway, or our own previous session not yet ended). */
class TableLockedError extends Error {
  override readonly name = "TableLockedError";
  constructor(
    message: string,
    /** The holder's backend pid, when it could be found. */
    readonly holderPid: number | undefined,
  ) {
    super(message);
  }
}

/** The leader row holds another term (high availability): this gateway was deposed and must write nothing more. */
export class DeposedError extends Error {
  override readonly name = "DeposedError";
}

/** Rows in the table this gateway did not write, found on reconnecting: its memory no longer matches the log. */
class ForeignRowsError extends Error {
  override readonly name = "ForeignRowsError";
}

/**
 * The session that writes: it holds the table's advisory lock and runs every INSERT, so a commit
 * that succeeds was made while the lock was held. When the session dies the lock dies with it, and
 * no INSERT can slip through another session meanwhile.
 */
interface Writer {
  readonly client: pg.PoolClient;
  /** Its backend pid (pg_backend_pid()). */
  pid: number;
  /** Its connection failed or ended. */
  lost: boolean;
  released: boolean;
}

interface Batch {
  lines: number;
  ts: string[];
  event: string[];
  orderId: (string | null)[];
  line: string[];
  /** The order history's columns (ensureAuditTable), one entry per line. */
  cols: Cols;
  /** The group commit's batch number, for the audit encoder (0 for the kept-through-an-outage lists). */
  seq: number;
}

interface Cols {
  account: (string | null)[];
  venue: (string | null)[];
  symbol: (string | null)[];
  status: (number | null)[];
  createdMs: (number | null)[];
  fillSeq: (string | null)[];
  fillMs: (number | null)[];
}
const COL_KEYS = ["account", "venue", "symbol", "status", "createdMs", "fillSeq", "fillMs"] as const;
const emptyCols = (): Cols => ({ account: [], venue: [], symbol: [], status: [], createdMs: [], fillSeq: [], fillMs: [] });
const emptyBatch = (): Batch => ({ lines: 0, ts: [], event: [], orderId: [], line: [], cols: emptyCols(), seq: 0 });

/** The INSERT's parameters: the arrays unnested server-side, in column order. */
function insertParams(b: Batch): unknown[] {
  const c = b.cols;
  return [b.ts, b.event, b.orderId, b.line, c.account, c.venue, c.symbol, c.status, c.createdMs, c.fillSeq, c.fillMs];
}

/**
 * A failure after which the outcome of an INSERT is unknown, or a retry may succeed: the
 * connection is gone (no SQLSTATE: a socket error, "Connection terminated unexpectedly"), the
 * server is shutting down or was restarted (57P01-57P03), connection exceptions (08), insufficient
 * resources (53: disk full, too many connections), system errors (58), a read-only server (25006,
 * a standby after failover). Anything else is the database refusing this INSERT (a constraint, a
 * dropped table, permissions): definite, and not retried.
 */
function isConnectionLoss(e: unknown, w: Writer): boolean {
  if (w.lost) return true;
  if (!(e instanceof pg.DatabaseError)) return true;
  const code = e.code ?? "";
  return /^(08|57P|53|58)/.test(code) || code === "25006";
}

const noop = (): void => {};

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function createPostgresAuditSink(opts: PostgresAuditSinkOptions): Promise<PostgresAuditSink> {
  const table = opts.table ?? "audit_log";
  const t = quoteTableName(table);
  const ownsPool = opts.pool === undefined;
  const pool =
    opts.pool ??
    // One session writes (and holds the table lock), one serves reads (recovery, fill archive), one spare.
    // connectionTimeoutMillis: an unreachable server fails start-up (and a reconnect attempt) with an
    // error after 10 s instead of hanging it (pg waits forever by default).
    new pg.Pool({ connectionString: opts.connectionString, max: 3, application_name: "trading-gateway-audit", connectionTimeoutMillis: 10_000 });
  const mode = opts.mode;
  const batchMaxLines = Math.max(1, opts.batchMaxLines ?? 256);
  const batchMaxMs = Math.max(0, opts.batchMaxMs ?? 0);
  const logger = opts.logger;
  const availability = opts.availability;
  const lockOn = opts.lock !== false;
  const reconnectMinMs = Math.max(1, opts.reconnectMinMs ?? 100);
  const reconnectMaxMs = Math.max(reconnectMinMs, opts.reconnectMaxMs ?? 5000);

  // An idle pooled connection that fails (terminated, server restarted) is reported on the pool;
  // without a listener that 'error' event kills the process. The pool drops the client by itself.
  const onPoolError = (e: Error): void => {
    logger?.warn({ err: e, table }, "audit: an idle database connection failed; the pool replaces it on next use");
  };
  pool.on("error", onPoolError);

  const fence = opts.fence;
  const insertSql =
    fence === undefined
      ? `WITH ins AS (INSERT INTO ${t} (ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms) ` +
        `SELECT ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], ` +
        `$5::text[], $6::text[], $7::text[], $8::smallint[], $9::bigint[], $10::bigint[], $11::bigint[]) ` +
        `WITH ORDINALITY AS u(ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms, n) ORDER BY n RETURNING id) ` +
        `SELECT max(id)::text AS last, true AS leads FROM ins`
      : // The fence: FOR SHARE makes a takeover's UPDATE of the row wait for this statement, and makes
        // this statement see a term changed meanwhile (re-checked on the row's newest version).
        `WITH f AS (SELECT 1 FROM ${fence.leaderTable} WHERE id = 1 AND term = ${fence.term.toString()} FOR SHARE), ` +
        `ins AS (INSERT INTO ${t} (ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms, term) ` +
        `SELECT ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms, ${fence.term.toString()} FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], ` +
        `$5::text[], $6::text[], $7::text[], $8::smallint[], $9::bigint[], $10::bigint[], $11::bigint[]) ` +
        `WITH ORDINALITY AS u(ts, event, order_id, line, account, venue, symbol, status, created_ms, fill_seq, fill_ms, n) WHERE EXISTS (SELECT 1 FROM f) ORDER BY n RETURNING id) ` +
        `SELECT max(id)::text AS last, EXISTS (SELECT 1 FROM f) AS leads FROM ins`;

  /** up: commits go to `writer`. down: reconnecting; appends are kept in `retained`. failed: for good. */
  let state: "up" | "down" | "failed" = "up";
  let writer: Writer | undefined;
  /** Pid of the last session that held the lock: on reconnecting, a lock still held by it is not another gateway. */
  let lastWriterPid: number | undefined;
  /** Highest row id this sink knows it committed: rows after it are its in-doubt batch, or not its own. */
  let lastId = "0";
  /** Events not known to be committed, in append order (the first batch's outcome may be unknown). */
  let retained = emptyBatch();
  let recovering: Promise<void> | undefined;
  /** The commit in flight, settled (never rejects). */
  let inflight: Promise<void> = Promise.resolve();
  let closing = false;
  /** Why the sink failed for good, when it was deposed. */
  let failedWith: Error | undefined;
  const stopReconnecting = new AbortController();
  const st = { batches: 0, lines: 0, errors: 0, outages: 0, reconnects: 0 };

  function release(w: Writer): void {
    if (w.released) return;
    w.released = true;
    // A broken (or possibly still-locked) session is destroyed, never handed to the next pool user.
    w.client.release(true);
  }

  /** Connects a session and takes the table lock on it; throws TableLockedError if another session has it. */
  async function openWriter(): Promise<Writer> {
    const client = await pool.connect();
    const w: Writer = { client, pid: 0, lost: false, released: false };
    const onLost = (e: unknown): void => {
      if (w.lost) return;
      w.lost = true;
      if (writer === w) goDown(`the database session holding the audit table lock failed (${describe(e)})`, e);
    };
    // An 'error' on a checked-out client without a listener would crash the process.
    client.on("error", onLost);
    client.on("end", () => onLost(new Error("the connection ended")));
    try {
      const r = await client.query<{ locked: boolean; pid: number }>(
        lockOn ? "SELECT pg_try_advisory_lock(hashtext($1)) AS locked, pg_backend_pid() AS pid" : "SELECT true AS locked, pg_backend_pid() AS pid",
        lockOn ? [lockKey(table)] : [],
      );
      w.pid = r.rows[0]!.pid;
      if (r.rows[0]?.locked !== true) {
        const h = await client.query<{ pid: number; application_name: string; client_addr: string | null }>(LOCK_HOLDER_SQL, [lockKey(table)]).catch(() => ({ rows: [] }));
        const holder = h.rows[0];
        const who =
          holder === undefined
            ? "another session"
            : holder.pid === lastWriterPid
              ? `this gateway's previous session (pid ${holder.pid}), which the server has not ended yet`
              : `another session: pid ${holder.pid}, application_name ${JSON.stringify(holder.application_name)}${holder.client_addr !== null ? `, from ${holder.client_addr}` : ""}`;
        throw new TableLockedError(
          `audit table ${table} is in use by another gateway (${who} holds the PostgreSQL advisory lock on it); ` +
            "two gateways must not append to one audit log: give each its own AUDIT_PG_TABLE",
          holder?.pid,
        );
      }
      if (fence !== undefined) {
        const f = await client.query<{ term: string }>(`SELECT term::text AS term FROM ${fence.leaderTable} WHERE id = 1`);
        if (f.rows[0]?.term !== fence.term.toString()) throw new DeposedError(`audit table ${table}: term ${fence.term} is over (the leader row holds ${f.rows[0]?.term ?? "nothing"}): another gateway leads`);
      }
    } catch (e) {
      release(w);
      throw e;
    }
    return w;
  }

  /** The fence refused a write: another gateway leads. Nothing kept is written, ever. */
  function deposed(): DeposedError {
    const e = new DeposedError(`audit table ${table}: term ${fence?.term ?? ""} is over: another gateway leads; this one writes nothing more`);
    if (state !== "failed") {
      state = "failed";
      failedWith = e;
      const w = writer;
      writer = undefined;
      if (w !== undefined) release(w);
      logger?.error({ table, term: fence?.term.toString() }, `audit: ${e.message}`);
      // Told first: the member steps down because it was deposed (the guard, told next, would
      // step it down too, naming an audit failure).
      try {
        fence?.onDeposed?.(e.message);
      } catch {
        /* failed either way */
      }
      availability?.unavailable(e.message, e, true);
    }
    return e;
  }

  function toOutage(b: Batch, cause: unknown): AuditOutageError {
    return new AuditOutageError(
      `the audit database is unreachable (${describe(cause)}); ${b.lines} event(s) kept and written once it is back`,
      { cause },
    );
  }

  /** Appends b's events to `to`, in place (batches kept during a long outage may be many). */
  function appendTo(to: Batch, b: Batch): void {
    to.lines += b.lines;
    for (let i = 0; i < b.lines; i++) {
      to.ts.push(b.ts[i]!);
      to.event.push(b.event[i]!);
      to.orderId.push(b.orderId[i]!);
      to.line.push(b.line[i]!);
      for (const k of COL_KEYS) (to.cols[k] as unknown[]).push(b.cols[k][i]);
    }
  }

  /** Keeps b's events behind what is kept already. */
  function retain(b: Batch): void {
    appendTo(retained, b);
  }

  /** Takes everything kept (with `then` appended, if given) to write as one INSERT; nothing is left kept. */
  function takeRetained(then?: Batch): Batch {
    const all = retained;
    retained = emptyBatch();
    if (then !== undefined) appendTo(all, then);
    return all;
  }

  /** Puts a batch whose INSERT failed back in front of whatever was kept since. */
  function putBack(b: Batch): void {
    const later = retained;
    retained = b;
    appendTo(retained, later);
  }

  function goDown(reason: string, cause: unknown): void {
    if (state !== "up") return;
    state = "down";
    st.outages++;
    const w = writer;
    writer = undefined;
    if (w !== undefined) release(w);
    logger?.error({ err: cause, table }, `audit: ${reason}; orders are refused until the database is back and the table lock is re-taken`);
    // Before any caller is refused: the guard must already hold the refusal they are answered with.
    availability?.unavailable(reason, cause, false);
    if (!closing) recovering = reconnect();
  }

  /**
   * Rows after lastId: our in-doubt batch (committed after all: dropped from what is kept, never
   * written twice) and/or rows another writer appended (returns true). Only the first kept batch
   * can be in doubt: one INSERT runs at a time, and none runs while the sink is down.
   */
  async function settleInDoubt(w: Writer): Promise<boolean> {
    const from = lastId;
    // A copy: events kept while the queries run are appended to the live array.
    const mine = retained.line.slice();
    if (mine.length > 0) {
      const ours = await w.client.query<{ id: string; line: string }>(
        `SELECT id::text AS id, line FROM ${t} WHERE id > $1::bigint AND line = ANY($2::text[]) ORDER BY id`,
        [from, mine],
      );
      const k = ours.rows.length;
      for (let i = 0; i < k; i++) {
        if (ours.rows[i]!.line !== mine[i]) {
          throw new ForeignRowsError(`audit table ${table}: rows after id ${from} hold this gateway's unconfirmed events out of order; restart it (it re-reads the log)`);
        }
      }
      if (k > 0) {
        logger?.info({ table, lines: k }, "audit: the batch in doubt when the connection was lost had been committed");
        retained = {
          lines: retained.lines - k,
          ts: retained.ts.slice(k),
          event: retained.event.slice(k),
          orderId: retained.orderId.slice(k),
          line: retained.line.slice(k),
          cols: Object.fromEntries(COL_KEYS.map((c) => [c, retained.cols[c].slice(k)])) as unknown as Cols,
          seq: 0,
        };
        lastId = ours.rows[k - 1]!.id;
      }
    }
    if (!lockOn) return false;
    // Holding the lock, we are the only writer: any other row after ours was appended while we were away.
    const other = await w.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${t} WHERE id > $1::bigint AND NOT (line = ANY($2::text[]))`,
      [from, mine],
    );
    return (other.rows[0]?.n ?? 0) > 0;
  }

  /** Writes what is kept now, as one INSERT. Events kept meanwhile stay for the next commit. */
  async function writeRetained(w: Writer): Promise<void> {
    if (retained.lines === 0) return;
    const b = takeRetained();
    try {
      const r = await w.client.query<{ last: string | null; leads: boolean }>(insertSql, insertParams(b));
      if (r.rows[0]?.leads === false) throw deposed();
      lastId = r.rows[0]?.last ?? lastId;
    } catch (e) {
      if (e instanceof DeposedError) throw e;
      // In doubt again: it goes back first, and the next attempt checks whether it landed.
      putBack(b);
      throw e;
    }
    st.batches++;
    st.lines += b.lines;
  }

  /** One reconnect: new session, lock, in-doubt batch settled, kept events written. */
  async function catchUp(): Promise<void> {
    // A commit still running on the lost session keeps its batch once it fails: wait for that,
    // or its rows (if they landed) would look like another writer's, or be kept after we are up.
    await inflight;
    const w = await openWriter();
    try {
      const foreign = await settleInDoubt(w);
      // Our events are written even then: they happened (the venue may have the orders), and the
      // log is the only record of them. Any kept while this runs go first in the next commit.
      await writeRetained(w);
      if (foreign) {
        throw new ForeignRowsError(
          `rows were appended to audit table ${table} by another writer while this gateway was disconnected; ` +
            "its memory no longer matches the log: restart it (it re-reads the log)",
        );
      }
      if (w.lost) throw new Error("the connection was lost while catching up");
    } catch (e) {
      release(w);
      throw e;
    }
    lastWriterPid = w.pid;
    writer = w;
    state = "up";
  }

  function backoffMs(attempt: number): number {
    // Exponential from reconnectMinMs, capped; "equal jitter" (half fixed, half random) keeps
    // gateways that lost one server from reconnecting in lock-step, and never retries at once.
    const d = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(attempt, 30));
    return d / 2 + Math.random() * (d / 2);
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const wait = backoffMs(attempt);
      try {
        await sleep(wait, undefined, { signal: stopReconnecting.signal, ref: false });
      } catch {
        return; // closing
      }
      try {
        await catchUp();
      } catch (e) {
        if (e instanceof DeposedError) {
          deposed();
          return;
        }
        if (e instanceof ForeignRowsError) {
          state = "failed";
          logger?.error({ err: e, table }, `audit: ${e.message}`);
          availability?.unavailable(e.message, e, true);
          return;
        }
        if (e instanceof TableLockedError && e.holderPid !== lastWriterPid) {
          // Another gateway on our table is worth an error line each time; a server still down is expected.
          logger?.error({ err: e, table, attempt: attempt + 1 }, `audit: cannot re-take the table lock: ${e.message}; staying NOT_SERVING`);
        } else {
          logger?.warn({ err: e, table, attempt: attempt + 1 }, "audit: reconnect to the audit database failed; retrying");
        }
        continue;
      }
      st.reconnects++;
      logger?.info({ table, attempt: attempt + 1 }, "audit: reconnected to the audit database, table lock re-taken, kept events written; orders accepted again");
      availability?.restored();
      return;
    }
  }

  try {
    // A takeover (fence) writes to the table its follower made sure of: no DDL (and its locks) on that path.
    if (fence === undefined) await ensureAuditTable(pool, table);
    const w = await openWriter();
    try {
      const r = await w.client.query<{ last: string }>(`SELECT coalesce(max(id), 0)::text AS last FROM ${t}`);
      lastId = r.rows[0]!.last;
    } catch (e) {
      release(w);
      throw e;
    }
    writer = w;
    lastWriterPid = w.pid;
  } catch (e) {
    pool.off("error", onPoolError);
    if (ownsPool) await pool.end().catch(() => {});
    throw e;
  }

  /** One batch: one INSERT on the writer session, or kept while the database is away. */
  async function commitBatch(b: Batch): Promise<void> {
    const w = writer;
    if (state !== "up" || w === undefined) {
      if (state === "failed") throw failedWith ?? new Error(`audit table ${table} can no longer be written by this gateway: restart it`);
      // Kept, in order, behind whatever is already waiting.
      retain(b);
      throw toOutage(b, "reconnecting");
    }
    // Events kept through the outage that the catch-up did not reach go first, in the same INSERT.
    const all = retained.lines > 0 ? takeRetained(b) : b;
    let r: pg.QueryResult<{ last: string | null; leads: boolean }>;
    try {
      // A single statement is its own transaction: it returns after COMMIT (synchronous_commit on = durable).
      r = await w.client.query<{ last: string | null; leads: boolean }>(insertSql, insertParams(all));
    } catch (e) {
      if (!isConnectionLoss(e, w)) {
        // Refused by the database: definite, and the gateway's guard trips for good on it.
        if (all !== b) logger?.error({ table, lines: all.lines - b.lines }, "audit: events kept through an outage were refused with this batch");
        throw e;
      }
      // The COMMIT may or may not have happened: kept, and settled against the table on reconnecting.
      putBack(all);
      goDown(`the audit database connection was lost (${describe(e)}); the last batch's outcome is checked on reconnecting`, e);
      throw toOutage(b, e);
    }
    if (r.rows[0]?.leads === false) throw deposed();
    lastId = r.rows[0]?.last ?? lastId;
    st.batches++;
    st.lines += all.lines;
    // Its full order records are committed: later lines may refer to them.
    encoder.durable(b.seq);
  }

  /** This sink's audit v2 state (which orders' full records are committed) and its line scratch. */
  const encoder = createAuditEncoder();
  const scratch = createLineBuffer(4096);
  let batchSeq = 0;
  const group = createGroupCommit<Batch>({
    mode,
    batchMaxLines,
    batchMaxMs,
    ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
    ...(opts.onBackgroundError !== undefined ? { onBackgroundError: opts.onBackgroundError } : {}),
    empty: () => ({ ...emptyBatch(), seq: ++batchSeq }),
    add(b, events) {
      scratch.len = 0;
      encoder.write(scratch, events, b.seq);
      // One row per line; a JSON line never holds a raw newline, so splitting on them is exact.
      const text = scratch.buf.toString("utf8", 0, scratch.len - 1);
      const lines = events.length === 1 ? [text] : text.split("\n");
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        b.line.push(lines[i]!);
        b.ts.push(new Date(e.ts).toISOString());
        b.event.push(e.type);
        b.orderId.push(e.order?.orderId ?? e.fill?.orderId ?? null);
        const o = e.order;
        const c = b.cols;
        c.account.push(o?.account ?? e.fill?.account ?? null);
        c.venue.push(o?.venue ?? e.fill?.venue ?? null);
        c.symbol.push(o?.symbol ?? e.fill?.symbol ?? null);
        c.status.push(o?.status ?? null);
        c.createdMs.push(o?.createdAtMs ?? null);
        c.fillSeq.push(e.fill !== undefined ? e.fill.sequence.toString() : null);
        c.fillMs.push(e.fill?.timeMs ?? null);
      }
    },
    commit(b) {
      const p = commitBatch(b);
      inflight = p.then(noop, noop);
      return p;
    },
    onError(e, b) {
      st.errors++;
      // Kept lines are written later, in order; anything else may be lost: every order in full again.
      if (!(e instanceof AuditOutageError)) encoder.reset();
      if (e instanceof AuditOutageError) logger?.warn({ table, lines: b.lines }, "audit: batch kept for the audit database to come back; its callers are refused");
      else logger?.error({ err: e, table, lines: b.lines }, "audit insert failed");
    },
  });

  async function* read(ro: { readonly onCorrupt?: "skip" | "fail" } = {}): AsyncGenerator<AuditEvent, void, undefined> {
    // Keyset pages keep memory flat on a long log without a server-side cursor dependency.
    let after = "0";
    const decoder = createAuditDecoder();
    for (;;) {
      const r = await pool.query<{ row_id: string; line: string }>(
        `SELECT id::text AS row_id, line FROM ${t} WHERE id > $1::bigint ORDER BY id LIMIT 2000`,
        [after],
      );
      for (const row of r.rows) {
        const d = decoder.line(row.line);
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
    closePromise ??= (async () => {
      await group.close();
      closing = true;
      stopReconnecting.abort();
      await recovering;
      let cause: unknown;
      if (retained.lines > 0 && state !== "failed") {
        // One last try, so that events kept through an outage are not lost with the process (and a
        // remainder the catch-up left for the next commit, which will not come, is written).
        try {
          if (state === "down") await catchUp();
          else if (writer !== undefined) await writeRetained(writer);
        } catch (e) {
          cause = e;
        }
      }
      if (retained.lines > 0) {
        const orders = [...new Set(retained.orderId.filter((o) => o !== null))];
        logger?.error(
          { err: cause, table, lines: retained.lines, orders, events: retained.line.slice(0, 10_000) },
          "audit: events kept during the database outage could not be written before shutdown; they are in this log line only",
        );
      }
      const w = writer;
      writer = undefined;
      if (w !== undefined && !w.released) {
        // Unlock explicitly: the session is destroyed below anyway, but say so to the server first.
        if (lockOn && !w.lost) await w.client.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey(table)]).catch(() => {});
        release(w);
      }
      pool.off("error", onPoolError);
      if (ownsPool) await pool.end();
    })();
    return closePromise;
  }

  return {
    mode,
    table,
    append: group.append,
    close,
    read,
    stats: () => ({ ...st, retained: retained.lines }),
  };
}
