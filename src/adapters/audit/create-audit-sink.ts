import type { Logger } from "pino";
import { readAuditLog, type AuditReadStats } from "./audit-reader.js";
import type { AuditAvailability, AuditEvent, AuditMode, AuditSink } from "../../use-cases/audit-sink.js";
import { createJsonlAuditSink, type AuditFileIo } from "./jsonl-sink.js";
import type { AuditObserver, BackgroundErrorListener } from "./group-commit.js";
import { createNullAuditSink } from "./null-sink.js";
import { createPostgresAuditSink } from "./postgres-sink.js";

/** Audit settings, as src/config/env.ts reads them (AUDIT_*). */
export interface AuditSettings {
  /** AUDIT_MODE: fsync (default) | buffered | off. */
  readonly mode: AuditMode;
  /** AUDIT_BACKEND: jsonl (default) | postgres. */
  readonly backend?: "jsonl" | "postgres";
  /** AUDIT_FILE (jsonl): the active file, default ./data/audit.jsonl. */
  readonly file?: string;
  /** AUDIT_PG_URL (postgres): connection string. */
  readonly pgUrl?: string;
  /** AUDIT_PG_TABLE (postgres): [schema.]table, default audit_log. */
  readonly pgTable?: string;
  /** AUDIT_PG_RECONNECT_MIN_MS / _MAX_MS (postgres): reconnect back-off bounds after a lost connection. */
  readonly pgReconnectMinMs?: number;
  readonly pgReconnectMaxMs?: number;
  /** AUDIT_BATCH_LINES, default 256. */
  readonly batchMaxLines?: number;
  /** AUDIT_BATCH_MS; the sinks default to 0 (commit whenever no commit is in flight). */
  readonly batchMaxMs?: number;
  /** AUDIT_ROTATE_BYTES (jsonl), 0 = never. */
  readonly rotateBytes?: number;
  /** AUDIT_ON_CORRUPT: skip (default: warn with file:line and go on) | fail (refuse to start). */
  readonly onCorrupt?: "skip" | "fail";
}

/** A sink that can also read back what it stored (start-up recovery, StreamFills archive). */
export interface AuditLog extends AuditSink {
  /**
   * Every stored event, oldest first. `live: true` while the sink is writing (the fill archive):
   * an incomplete last line is an in-progress batch, not damage. Start-up recovery uses the default.
   */
  read(opts?: { readonly live?: boolean }): AsyncIterable<AuditEvent>;
  /** Counters for metrics (batches, lines, fsyncs, errors...); empty when off. */
  stats(): Readonly<Record<string, number>>;
}

/**
 * Builds the audit log from settings. Call once in main, before serving: for JSONL it repairs a
 * torn tail left by a crash (synchronously), so `read()` for recovery and the first append both
 * start on clean lines.
 */
export interface AuditSinkDeps {
  readonly logger?: Logger;
  /** Told about every commit: src/adapters/metrics/audit-metrics.ts. */
  readonly observer?: AuditObserver;
  /**
   * AUDIT_MODE=buffered: a failed background write (no caller waits for it). The gateway trips
   * its audit guard here, so buffered mode fails closed like fsync mode. Never called in fsync mode.
   */
  readonly onBackgroundError?: BackgroundErrorListener;
  /**
   * PostgreSQL: told when the database is lost (appends refused, events kept) and when it is back;
   * the gateway passes its audit guard (health NOT_SERVING, then SERVING again).
   */
  readonly availability?: AuditAvailability;
  /** PostgreSQL, high availability: the leader's term fences every INSERT (postgres-sink.ts `fence`); no table lock then. */
  readonly fence?: { readonly leaderTable: string; readonly term: bigint; readonly onDeposed?: (why: string) => void };
  /** JSONL only: the file system seam (tests inject write/fsync failures); default node:fs. */
  readonly io?: AuditFileIo;
}

export async function createAuditSink(settings: AuditSettings, deps: AuditSinkDeps = {}): Promise<AuditLog> {
  const logger = deps.logger;
  const observer = deps.observer;
  const onCorrupt = settings.onCorrupt ?? "skip";
  if (settings.mode === "off") {
    const sink = createNullAuditSink();
    logger?.warn("audit log is off (AUDIT_MODE=off): orders are not recorded and idempotency does not survive a restart");
    return {
      mode: sink.mode,
      append: sink.append,
      close: sink.close,
      read: async function* () {},
      stats: () => ({}),
    };
  }
  const batch = {
    ...(settings.batchMaxLines !== undefined ? { batchMaxLines: settings.batchMaxLines } : {}),
    ...(settings.batchMaxMs !== undefined ? { batchMaxMs: settings.batchMaxMs } : {}),
  };
  if ((settings.backend ?? "jsonl") === "postgres") {
    if (settings.pgUrl === undefined || settings.pgUrl === "") throw new Error("AUDIT_BACKEND=postgres needs AUDIT_PG_URL");
    const sink = await createPostgresAuditSink({
      connectionString: settings.pgUrl,
      mode: settings.mode,
      ...(settings.pgTable !== undefined ? { table: settings.pgTable } : {}),
      ...(settings.pgReconnectMinMs !== undefined ? { reconnectMinMs: settings.pgReconnectMinMs } : {}),
      ...(settings.pgReconnectMaxMs !== undefined ? { reconnectMaxMs: settings.pgReconnectMaxMs } : {}),
      ...(deps.availability !== undefined ? { availability: deps.availability } : {}),
      ...(deps.fence !== undefined ? { fence: deps.fence, lock: false } : {}),
      ...batch,
      ...(logger !== undefined ? { logger } : {}),
      ...(observer !== undefined ? { observer } : {}),
      ...(deps.onBackgroundError !== undefined ? { onBackgroundError: deps.onBackgroundError } : {}),
    });
    return {
      mode: sink.mode,
      append: sink.append,
      close: sink.close,
      read: () => sink.read({ onCorrupt }),
      stats: sink.stats,
    };
  }
  const file = settings.file ?? "./data/audit.jsonl";
  const sink = createJsonlAuditSink({
    path: file,
    mode: settings.mode,
    ...batch,
    ...(settings.rotateBytes !== undefined ? { rotateBytes: settings.rotateBytes } : {}),
    ...(logger !== undefined ? { logger } : {}),
    ...(observer !== undefined ? { observer } : {}),
    ...(deps.onBackgroundError !== undefined ? { onBackgroundError: deps.onBackgroundError } : {}),
    ...(deps.io !== undefined ? { io: deps.io } : {}),
  });
  return {
    mode: sink.mode,
    append: sink.append,
    close: sink.close,
    stats: () => ({ ...sink.stats() }),
    read: (opts = {}) => {
      const stats: AuditReadStats = { segments: 0, events: 0, corruptLines: 0, tornBytes: 0 };
      const live = opts.live === true;
      const it = readAuditLog({ path: file, onCorrupt, live, stats, ...(logger !== undefined ? { logger } : {}) });
      if (live) return it;
      return (async function* () {
        yield* it;
        logger?.info({ file, ...stats }, "audit log read");
      })();
    },
  };
}
