import pg from "pg";
import type { Logger } from "pino";
import { setTimeout as sleep } from "node:timers/promises";
import { quoteTableName } from "./postgres-sink.js";

/**
 * Leadership of a group of gateways that share one PostgreSQL audit table (high availability,
 * docs/high-availability.md). One row, `<table>_leader`, holds the current term, who holds it, the
 * backend pid of the holder's leadership session and when it last renewed its lease.
 *
 * - Taking leadership is one conditional UPDATE (`term = term + 1 WHERE term = <the term seen>`),
 *   so of several standbys racing only one wins a term.
 * - A standby takes over when the holder's leadership session is gone (pg_stat_activity: a killed
 *   process's backend exits at once, so a SIGKILL is seen within one poll) or when the holder has
 *   not renewed for `leaseMs` by the database's clock (a stopped or partitioned process).
 * - Fencing is not here but in every INSERT of the leader's sink (postgres-sink.ts `fence`): the
 *   INSERT takes a share lock on this row and writes only if the term is still its own. The
 *   takeover UPDATE waits for those locks, so an old leader's batch either committed before the
 *   new term existed (and the new leader reads it when catching up) or is refused.
 * - The lease also fences the venues: a leader sends nothing to a venue unless its last renewal,
 *   by its own monotonic clock from before the renewal was sent, is younger than the lease less
 *   a margin (`leaseValid`), so a process that wakes from a pause does not send before it learns
 *   it was deposed.
 */

export interface LeadershipOptions {
  readonly connectionString: string;
  /** The audit table (`table` or `schema.table`); the leader row is `<table>_leader` next to it. */
  readonly table: string;
  /** Who this is (logs, the `holder` column). */
  readonly holder: string;
  /** A holder that has not renewed for this long (database clock) is deposed. HA_LEASE_MS, default 5000. */
  readonly leaseMs?: number;
  /** How often a standby looks at the leader row. HA_POLL_MS, default 100. */
  readonly pollMs?: number;
  readonly logger?: Logger;
  /** Monotonic ms clock; default performance.now. */
  readonly nowMs?: () => number;
}

export interface Leadership {
  readonly table: string;
  /** `<table>_leader`, quoted, for the sink's fence. */
  readonly leaderTable: string;
  /**
   * Resolves with the term once this process holds it (polls until then). Rejects only when
   * `signal` is aborted.
   */
  campaign(signal: AbortSignal, onStandby?: (leader: string) => void): Promise<bigint>;
  /** The term held, or undefined. */
  readonly term: bigint | undefined;
  /** True while the lease is certainly still ours (see above): venue calls are allowed. */
  leaseValid(): boolean;
  /**
   * leaseValid(), or else a renewal now and leaseValid() after it: a leader whose renewals failed
   * for a while (a database restart) checks before it answers, and a deposed one learns it here.
   */
  confirm(): Promise<boolean>;
  /** Resolves when this process learns it lost the term it holds (renewal found another term). */
  deposed(): Promise<string>;
  /** Gives the term up (the row is left to expire: the next campaign sees the session gone). */
  resign(): Promise<void>;
  close(): Promise<void>;
}

/** The leader row's name for an audit table: `<table>_leader`, in the same schema. */
export function leaderTableOf(table: string): string {
  return quoteTableName(`${table}_leader`);
}

/** Creates the leader row and the `term` column of the audit table if absent. Safe to run concurrently. */
export async function ensureLeaderTable(client: pg.ClientBase, table: string): Promise<void> {
  const t = quoteTableName(table);
  const l = leaderTableOf(table);
  const base = table.split(".").at(-1)!;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${table} leader`]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${l} (
      id int PRIMARY KEY CHECK (id = 1),
      term bigint NOT NULL,
      holder text,
      holder_pid int,
      renewed_at timestamptz NOT NULL
    )`);
    await client.query(`INSERT INTO ${l} (id, term, renewed_at) VALUES (1, 0, 'epoch') ON CONFLICT (id) DO NOTHING`);
    // Every row says which term wrote it: the test (and an auditor) can check that no term wrote after its successor began.
    await client.query(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS term bigint`);
    // Standbys wake on each commit instead of waiting for their next poll.
    const fn = `"${base}_notify"`;
    const schema = table.includes(".") ? `"${table.split(".")[0]}".` : "";
    await client.query(`CREATE OR REPLACE FUNCTION ${schema}${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify(TG_ARGV[0], ''); RETURN NULL; END $$`);
    await client.query(`CREATE OR REPLACE TRIGGER appended AFTER INSERT ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ${schema}${fn}('${notifyChannel(table)}')`);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

/** The LISTEN channel told of every committed INSERT into the audit table. */
export function notifyChannel(table: string): string {
  // A channel is an identifier: at most 63 bytes, and this one is only ever quoted by us.
  return `tg_audit_${table.replace(/\./g, "_")}`.slice(0, 63);
}

interface LeaderRow {
  term: string;
  holder: string | null;
  alive: boolean;
  age_ms: number | null;
}

export function createLeadership(opts: LeadershipOptions): Leadership {
  const table = opts.table;
  const l = leaderTableOf(table);
  const leaseMs = Math.max(200, opts.leaseMs ?? 5000);
  const pollMs = Math.max(10, opts.pollMs ?? 100);
  const renewMs = Math.max(20, Math.floor(leaseMs / 5));
  const nowMs = opts.nowMs ?? (() => performance.now());
  const logger = opts.logger;
  let client: pg.Client | undefined;
  let term: bigint | undefined;
  /** Monotonic time at which the last successful renewal was sent. */
  let renewedAt = -Infinity;
  let renewTimer: NodeJS.Timeout | undefined;
  let onDeposed: ((why: string) => void) | undefined;
  let deposedP: Promise<string> | undefined;
  let closed = false;

  async function session(): Promise<pg.Client> {
    if (client !== undefined) return client;
    const c = new pg.Client({
      connectionString: opts.connectionString,
      application_name: "trading-gateway-leader",
      connectionTimeoutMillis: Math.min(10_000, leaseMs),
      // A dead server or a cut network is noticed by the kernel, not only by the lease.
      keepAlive: true,
      keepAliveInitialDelayMillis: 1000,
      // A renewal or a takeover never waits longer than a lease (a row lock held by a stalled INSERT).
      statement_timeout: leaseMs,
      lock_timeout: leaseMs,
    } as pg.ClientConfig);
    c.on("error", (e) => {
      logger?.warn({ err: e, table }, "ha: the leadership session failed; reconnecting");
      if (client === c) client = undefined;
    });
    c.on("end", () => {
      if (client === c) client = undefined;
    });
    client = c;
    try {
      await c.connect();
      await ensureLeaderTable(c, table);
    } catch (e) {
      client = undefined;
      await c.end().catch(() => {});
      throw e;
    }
    return c;
  }

  async function look(c: pg.Client): Promise<LeaderRow> {
    const r = await c.query<LeaderRow>(
      `SELECT term::text AS term, holder,
         (holder_pid IS NOT NULL AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = holder_pid)) AS alive,
         (extract(epoch FROM (clock_timestamp() - renewed_at)) * 1000)::float8 AS age_ms
       FROM ${l} WHERE id = 1`,
    );
    return r.rows[0]!;
  }

  function deposedNow(why: string): void {
    if (term === undefined) return;
    logger?.error({ table, term: term.toString(), why }, "ha: this gateway is no longer the leader");
    term = undefined;
    renewedAt = -Infinity;
    if (renewTimer !== undefined) clearInterval(renewTimer);
    renewTimer = undefined;
    onDeposed?.(why);
  }

  async function renew(): Promise<void> {
    const mine = term;
    if (mine === undefined) return;
    const sentAt = nowMs();
    try {
      const c = await session();
      // holder_pid follows the session: after a reconnect (a database restart) the new one is named,
      // so standbys do not take a live leader for dead. The term alone decides who leads.
      const r = await c.query(`UPDATE ${l} SET renewed_at = clock_timestamp(), holder_pid = pg_backend_pid() WHERE id = 1 AND term = $1`, [mine.toString()]);
      if (term !== mine) return;
      if (r.rowCount === 1) renewedAt = sentAt;
      else deposedNow("another gateway holds a newer term");
    } catch (e) {
      // Not deposed yet: the lease runs out by itself (leaseValid) and a standby may take over.
      logger?.warn({ err: e, table }, "ha: lease renewal failed");
    }
  }

  let renewing = false;
  let confirming: Promise<void> | undefined;
  const leaseValid = (): boolean => term !== undefined && nowMs() - renewedAt < leaseMs - Math.max(100, leaseMs / 5);
  function startRenewing(): void {
    renewTimer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      void renew().finally(() => (renewing = false));
    }, renewMs);
    renewTimer.unref();
  }

  async function campaign(signal: AbortSignal, onStandby?: (leader: string) => void): Promise<bigint> {
    let last = "";
    for (;;) {
      if (signal.aborted) throw signal.reason;
      try {
        const c = await session();
        const row = await look(c);
        const expired = row.age_ms === null || row.age_ms > leaseMs;
        if (row.holder === null || !row.alive || expired) {
          const sentAt = nowMs();
          const r = await c.query<{ term: string }>(
            `UPDATE ${l} SET term = term + 1, holder = $2, holder_pid = pg_backend_pid(), renewed_at = clock_timestamp()
              WHERE id = 1 AND term = $1 RETURNING term::text AS term`,
            [row.term, opts.holder],
          );
          if (r.rowCount === 1) {
            term = BigInt(r.rows[0]!.term);
            renewedAt = sentAt;
            deposedP = new Promise((resolve) => (onDeposed = resolve));
            startRenewing();
            logger?.warn(
              { table, term: term.toString(), previous: row.holder, why: row.holder === null ? "no leader" : !row.alive ? "the leader's session ended" : "the leader's lease expired" },
              "ha: this gateway took leadership",
            );
            return term;
          }
        } else if (row.holder !== last) {
          last = row.holder;
          logger?.info({ table, leader: row.holder, term: row.term }, "ha: standby; following the leader");
          onStandby?.(row.holder);
        }
      } catch (e) {
        logger?.warn({ err: e, table }, "ha: cannot look at the leader row; retrying");
        await client?.end().catch(() => {});
        client = undefined;
      }
      try {
        await sleep(pollMs, undefined, { signal });
      } catch {
        throw signal.reason;
      }
    }
  }

  return {
    table,
    leaderTable: l,
    campaign,
    get term() {
      return term;
    },
    // A fifth of the lease as margin: renewal round trips and timer lateness on a busy machine.
    leaseValid,
    async confirm() {
      if (leaseValid()) return true;
      if (term === undefined) return false;
      confirming ??= renew().finally(() => (confirming = undefined));
      await confirming;
      return leaseValid();
    },
    deposed: () => deposedP ?? new Promise<string>(() => {}),
    async resign() {
      const mine = term;
      if (mine === undefined) return;
      term = undefined;
      if (renewTimer !== undefined) clearInterval(renewTimer);
      renewTimer = undefined;
      await client?.query(`UPDATE ${l} SET holder_pid = NULL, renewed_at = 'epoch' WHERE id = 1 AND term = $1`, [mine.toString()]).catch(() => {});
    },
    async close() {
      if (closed) return;
      closed = true;
      if (renewTimer !== undefined) clearInterval(renewTimer);
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
