import pg from "pg";
import type { Logger } from "pino";
import { setTimeout as sleep } from "node:timers/promises";
import { createAuditDecoder } from "./audit-codec.js";
import { AuditLogCorruptError } from "./audit-reader.js";
import { ensureAuditTable, quoteTableName } from "./postgres-sink.js";
import { ensureLeaderTable, notifyChannel } from "./postgres-leadership.js";
import type { AuditEvent } from "../../use-cases/audit-sink.js";

/**
 * A warm standby's view of the leader's audit table: every committed row, decoded with the same
 * codec as start-up recovery (one decoder, kept across reads: v2 lines refer to earlier ones), in
 * id order, handed to `onEvent` once. LISTEN wakes it on each commit (the table's statement
 * trigger, postgres-leadership.ts); a poll every `pollMs` catches anything a lost notification or
 * a reconnect missed, so being told is a speed-up, never a condition. Rows commit in id order: one
 * writer at a time (the fence), one INSERT in flight.
 */
export interface AuditFollowerOptions {
  readonly connectionString: string;
  readonly table: string;
  readonly onEvent: (e: AuditEvent) => void;
  readonly onCorrupt?: "skip" | "fail";
  /** The poll behind LISTEN; default 500 ms. */
  readonly pollMs?: number;
  readonly logger?: Logger;
}

export interface AuditFollower {
  /** Creates the tables if needed, reads every row committed so far, then follows. Retries until the database answers. */
  start(signal: AbortSignal): Promise<void>;
  /** Reads every row committed now (the takeover's last step before writing). */
  catchUp(): Promise<void>;
  /** Highest row id applied. */
  readonly lastId: string;
  /** Rows applied. */
  readonly events: number;
  close(): Promise<void>;
}

export function createAuditFollower(opts: AuditFollowerOptions): AuditFollower {
  const table = opts.table;
  const t = quoteTableName(table);
  const logger = opts.logger;
  const pollMs = Math.max(10, opts.pollMs ?? 500);
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: 2, application_name: "trading-gateway-standby", connectionTimeoutMillis: 10_000 });
  pool.on("error", (e) => logger?.warn({ err: e, table }, "ha: an idle standby connection failed"));
  const decoder = createAuditDecoder();
  let lastId = "0";
  let events = 0;
  let listener: pg.PoolClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** The read in progress; reads never overlap (rows are applied once, in order). */
  let reading: Promise<void> = Promise.resolve();
  let again = false;

  async function readOnce(): Promise<void> {
    for (;;) {
      const r = await pool.query<{ row_id: string; line: string }>(`SELECT id::text AS row_id, line FROM ${t} WHERE id > $1::bigint ORDER BY id LIMIT 2000`, [lastId]);
      for (const row of r.rows) {
        const d = decoder.line(row.line);
        if (d.ok) {
          events++;
          opts.onEvent(d.value);
        } else if (opts.onCorrupt === "fail") throw new AuditLogCorruptError(`${table}#id`, Number(row.row_id), d.error);
        else logger?.warn({ table, id: row.row_id, reason: d.error }, "audit log: corrupt row skipped");
        lastId = row.row_id;
      }
      if (r.rows.length < 2000) return;
    }
  }

  /** Reads now, or once more after the read in progress (a notification that came during it). */
  function read(): Promise<void> {
    if (again) return reading;
    again = true;
    reading = reading.then(
      () => {
        again = false;
        return readOnce();
      },
      () => {
        again = false;
        return readOnce();
      },
    );
    return reading;
  }

  async function listen(): Promise<void> {
    const c = await pool.connect();
    c.on("error", (e) => {
      logger?.warn({ err: e, table }, "ha: the standby's LISTEN session failed; polling until it is back");
      if (listener === c) listener = undefined;
      c.release(true);
    });
    c.on("notification", () => void read().catch(() => {}));
    await c.query(`LISTEN "${notifyChannel(table)}"`);
    // Closed while connecting: a client kept checked out would hold pool.end(), and close() with it, forever.
    if (closed) {
      c.release(true);
      return;
    }
    listener = c;
  }

  /** The poll in progress (close() waits for it: it may be connecting a LISTEN session). */
  let ticking: Promise<void> = Promise.resolve();
  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      ticking = (async () => {
        try {
          if (listener === undefined) await listen();
          if (!closed) await read();
        } catch (e) {
          if (!closed) logger?.warn({ err: e, table }, "ha: standby read failed; retrying");
        }
        schedule();
      })();
    }, pollMs);
    timer.unref();
  }

  return {
    async start(signal) {
      for (let attempt = 0; ; attempt++) {
        try {
          await ensureAuditTable(pool, table);
          const c = await pool.connect();
          try {
            await ensureLeaderTable(c, table);
          } finally {
            c.release();
          }
          await listen();
          await read();
          break;
        } catch (e) {
          if (e instanceof AuditLogCorruptError) throw e;
          logger?.warn({ err: e, table, attempt: attempt + 1 }, "ha: cannot read the audit table yet; retrying");
          await sleep(Math.min(2000, 100 * 2 ** attempt), undefined, { signal });
        }
      }
      logger?.info({ table, events, lastId }, "ha: standby caught up with the audit table; following it");
      schedule();
    },
    async catchUp() {
      // Behind any read in progress (reads never overlap): everything committed before this call.
      const p = reading.catch(() => {}).then(readOnce);
      reading = p;
      await p;
    },
    get lastId() {
      return lastId;
    },
    get events() {
      return events;
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await reading.catch(() => {});
      // A poll that was reconnecting the LISTEN session (a database restart) releases what it got.
      await ticking;
      listener?.release(true);
      listener = undefined;
      await pool.end().catch(() => {});
    },
  };
}
