import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import { createAuditDecoder } from "./audit-codec.js";
import type { AuditEvent } from "../../use-cases/audit-sink.js";

/**
 * Reading the JSONL audit log back: at start-up (to rebuild orders, idempotency and the fill
 * sequence) and at run time (StreamFills resuming from a sequence older than the in-memory ring).
 *
 * Segments: the active file is `<path>`; rotated segments are `<path>.<n>` with n increasing
 * (older = smaller n, written zero-padded but compared as numbers). Reading order is every
 * rotated segment by n, then the active file. Rotating by renaming to a *new* higher number
 * (instead of shifting .1 -> .2 -> ...) keeps rotation one rename and keeps segment names stable
 * while a reader is walking them.
 *
 * Damage policy (chosen, tested in test/adapters/audit/audit-reader.test.ts):
 * - A torn last line (bytes after the final newline: a crash during write(2)) was never
 *   acknowledged, because callers are answered only after the fsync covering their lines.
 *   It is skipped with a warning and, with `repair`, the file is truncated back to the last
 *   newline so that the next append starts on a clean line.
 * - A corrupt complete line (bad JSON or failing validation) is reported with file:line and
 *   skipped by default (`onCorrupt: "skip"`). A crash can leave such lines only inside the
 *   unacknowledged tail (a write whose blocks reached disk out of order), and refusing to start
 *   would turn a crash into an outage. Operators who prefer to stop and look set
 *   `onCorrupt: "fail"`, which throws AuditLogCorruptError naming file and line.
 */

export interface AuditSegment {
  readonly file: string;
  /** Rotation number; Infinity for the active file so that it sorts last. */
  readonly index: number;
}

/** Lists the segments of the log at `activePath` in reading order (oldest first). Missing files are simply absent. */
export function listSegmentsSync(activePath: string): AuditSegment[] {
  const dir = path.dirname(activePath);
  const base = path.basename(activePath);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: AuditSegment[] = [];
  let active = false;
  for (const name of names) {
    if (name === base) {
      active = true;
      continue;
    }
    if (name.startsWith(`${base}.`)) {
      const suffix = name.slice(base.length + 1);
      if (/^[0-9]{1,15}$/.test(suffix)) out.push({ file: path.join(dir, name), index: Number(suffix) });
    }
  }
  out.sort((a, b) => a.index - b.index);
  if (active) out.push({ file: activePath, index: Number.POSITIVE_INFINITY });
  return out;
}

/**
 * If the file does not end with a newline, truncates it after its last newline (or to empty)
 * and returns the number of bytes removed. Synchronous: it runs once at start-up, before the
 * sink's first append, and must finish before anything else touches the file.
 */
export function repairTornTailSync(file: string, logger?: Logger): number {
  let fd: number;
  try {
    fd = fs.openSync(file, "r+");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return 0;
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, size - 1);
    if (one[0] === 0x0a) return 0;
    // Scan backwards for the last newline; a torn line is at most one batch long.
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    let keep = 0;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (i >= 0) {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
    fs.ftruncateSync(fd, keep);
    fs.fsyncSync(fd);
    const removed = size - keep;
    logger?.warn({ file, removedBytes: removed, keptBytes: keep }, "audit log: torn last line (crash during write) skipped and truncated");
    return removed;
  } finally {
    fs.closeSync(fd);
  }
}

export class AuditLogCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`audit log corrupt at ${file}:${line}: ${reason}`);
    this.name = "AuditLogCorruptError";
  }
}

/** Counters filled in while reading; pass an object to learn what was skipped. */
export interface AuditReadStats {
  segments: number;
  events: number;
  corruptLines: number;
  tornBytes: number;
}

export interface ReadAuditLogOptions {
  /** The active file, e.g. ./data/audit.jsonl; rotated segments are found beside it. */
  readonly path: string;
  readonly logger?: Logger;
  /** Truncate a torn tail of the last segment (start-up only: never while a sink is writing). Default false. */
  readonly repair?: boolean;
  /** What to do with a corrupt complete line. Default "skip" (warn with file:line). */
  readonly onCorrupt?: "skip" | "fail";
  /**
   * The log is being written concurrently (run-time reads): an incomplete last line is a batch
   * in progress, not damage, so it is ignored without a warning and never truncated.
   */
  readonly live?: boolean;
  readonly stats?: AuditReadStats;
}

const CHUNK = 1 << 20;

/** Every event of every segment, oldest first. */
export async function* readAuditLog(opts: ReadAuditLogOptions): AsyncGenerator<AuditEvent, void, undefined> {
  const { logger, onCorrupt = "skip", live = false } = opts;
  const stats = opts.stats ?? { segments: 0, events: 0, corruptLines: 0, tornBytes: 0 };
  const segments = listSegmentsSync(opts.path);
  // One decoder across segments: a v2 line may complete an order written in full in an older one.
  const decoder = createAuditDecoder();
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s]!;
    const isLast = s === segments.length - 1;
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(seg.file, "r");
    } catch (e) {
      // Rotated away between listing and opening (run-time reads): the caller re-reads if it needs to.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    stats.segments++;
    let tail: Buffer | undefined;
    let lineNo = 0;
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        let data = buf.subarray(0, bytesRead);
        if (tail !== undefined) data = Buffer.concat([tail, data]);
        tail = undefined;
        let start = 0;
        for (;;) {
          const nl = data.indexOf(0x0a, start);
          if (nl < 0) break;
          lineNo++;
          if (nl > start) {
            const decoded = decoder.line(data.toString("utf8", start, nl));
            if (decoded.ok) {
              stats.events++;
              yield decoded.value;
            } else {
              stats.corruptLines++;
              if (onCorrupt === "fail") throw new AuditLogCorruptError(seg.file, lineNo, decoded.error);
              logger?.warn({ file: seg.file, line: lineNo, reason: decoded.error }, "audit log: corrupt line skipped");
            }
          }
          start = nl + 1;
        }
        // Copy: `buf` is reused by the next read.
        if (start < data.length) tail = Buffer.from(data.subarray(start));
      }
    } finally {
      await fh.close();
    }
    if (tail !== undefined && tail.length > 0 && !live) {
      stats.tornBytes += tail.length;
      logger?.warn(
        { file: seg.file, line: lineNo + 1, bytes: tail.length },
        "audit log: torn last line (crash during write) skipped",
      );
      if (opts.repair === true && isLast) {
        // Same cut as the sink's own start-up check (after the last newline), and fsynced.
        repairTornTailSync(seg.file, logger);
      }
    }
  }
}
