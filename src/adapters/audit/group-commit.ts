import type { AuditEvent } from "../../use-cases/audit-sink.js";

/**
 * Group commit, shared by the JSONL and PostgreSQL sinks: events are gathered into a batch that
 * is committed (one write + fsync, or one INSERT) when it holds `batchMaxLines` lines or when
 * its first line has waited `batchMaxMs`, with one commit in flight at a time. Lines that arrive
 * during a commit form the next batch, which goes out whole as soon as the current commit ends
 * if it is full or old enough: under load a commit takes longer than batchMaxMs, and splitting
 * the waiting lines would only add commits and latency.
 *
 * In fsync mode every caller of one batch gets the same promise (one allocation per batch, not
 * per line); it settles after the commit covering the batch. In buffered mode append returns
 * null and batches are committed at once (lines queue behind an in-flight commit, as in
 * fs.WriteStream); nobody waits on them, so a failure is reported through onError (the sink
 * logs it) and onBackgroundError (the gateway fails closed on it).
 */
export interface GroupCommitOptions<B extends { lines: number }> {
  readonly mode: "fsync" | "buffered";
  readonly batchMaxLines: number;
  readonly batchMaxMs: number;
  /** A new, empty batch. */
  empty(): B;
  /** Adds the events to the batch's payload (encoding happens here, on the caller's tick). */
  add(batch: B, events: readonly AuditEvent[]): void;
  /** Makes the batch durable (or at least written, in buffered mode); rejects on failure. */
  commit(batch: B): Promise<void>;
  /** A failed commit, after which its callers are rejected. */
  onError(e: unknown, batch: B): void;
  /** Told about every commit (metrics); see AuditObserver. */
  readonly observer?: AuditObserver;
  /**
   * Buffered mode only: a failed commit whose lines nobody waits for (append returned null).
   * Without it such a loss is only logged and the gateway would go on accepting orders whose
   * events are gone; the gateway trips its audit guard here (fail closed). Not called in fsync
   * mode, where the batch's callers are rejected and each names its own order.
   */
  readonly onBackgroundError?: BackgroundErrorListener;
}

/** See GroupCommitOptions.onBackgroundError. Must not throw (a throw is caught and ignored). */
export type BackgroundErrorListener = (cause: unknown, lines: number) => void;

/**
 * Watches commits for metrics (src/adapters/metrics/audit-metrics.ts). Called on the commit path, once
 * per batch (not per line), so it must be cheap and must not throw.
 */
export interface AuditObserver {
  /** A batch of `lines` lines was committed; `seconds` covers write + fsync (or the INSERT). */
  committed(lines: number, seconds: number): void;
  /** A commit of `lines` lines failed; its callers are rejected. */
  failed(lines: number): void;
}

export interface GroupCommit {
  append(events: readonly AuditEvent[]): Promise<void> | null;
  /** Refuses new appends, commits what is pending, and resolves once nothing is in flight. */
  close(): Promise<void>;
}

interface Waiters {
  promise: Promise<void> | undefined;
  resolve: () => void;
  reject: (e: Error) => void;
  firstAt: number;
}

const noop = (): void => {};

export function createGroupCommit<B extends { lines: number }>(o: GroupCommitOptions<B>): GroupCommit {
  const batchMaxLines = Math.max(1, o.batchMaxLines);
  const batchMaxMs = Math.max(0, o.batchMaxMs);
  const observer = o.observer;
  let cur = o.empty();
  let w: Waiters = { promise: undefined, resolve: noop, reject: noop, firstAt: 0 };
  let inflight = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let closePromise: Promise<void> | undefined;
  let idle: (() => void)[] = [];

  const onTimer = (): void => {
    timer = undefined;
    maybeCommit();
  };

  function maybeCommit(): void {
    if (inflight) return;
    if (cur.lines === 0) {
      if (idle.length > 0) {
        const done = idle;
        idle = [];
        for (const f of done) f();
      }
      return;
    }
    const wait = o.mode === "buffered" || closed ? 0 : w.firstAt + batchMaxMs - performance.now();
    if (cur.lines >= batchMaxLines || wait <= 0) {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      void commit();
    } else if (timer === undefined) {
      timer = setTimeout(onTimer, wait);
    }
  }

  async function commit(): Promise<void> {
    const batch = cur;
    const waiters = w;
    cur = o.empty();
    w = { promise: undefined, resolve: noop, reject: noop, firstAt: 0 };
    inflight = true;
    const started = observer !== undefined ? performance.now() : 0;
    try {
      await o.commit(batch);
      observer?.committed(batch.lines, (performance.now() - started) / 1000);
      waiters.resolve();
    } catch (e) {
      observer?.failed(batch.lines);
      o.onError(e, batch);
      if (o.mode === "buffered" && o.onBackgroundError !== undefined) {
        try {
          o.onBackgroundError(e, batch.lines);
        } catch {
          // A listener bug must not stop the commit loop: later batches still need writing.
        }
      }
      waiters.reject(e instanceof Error ? e : new Error(String(e)));
    } finally {
      inflight = false;
      maybeCommit();
    }
  }

  return {
    append(events: readonly AuditEvent[]): Promise<void> | null {
      if (closed) {
        const e = new Error("audit sink is closed");
        if (o.mode === "fsync") return Promise.reject(e);
        throw e;
      }
      if (events.length === 0) return null;
      if (cur.lines === 0) w.firstAt = performance.now();
      o.add(cur, events);
      cur.lines += events.length;
      let p: Promise<void> | null = null;
      if (o.mode === "fsync") {
        if (w.promise === undefined) {
          const target = w;
          target.promise = new Promise<void>((resolve, reject) => {
            target.resolve = resolve;
            target.reject = reject;
          });
          // Every caller awaits it; this only keeps a dropped promise from crashing the process.
          target.promise.catch(noop);
        }
        p = w.promise ?? null;
      }
      maybeCommit();
      return p;
    },
    close(): Promise<void> {
      if (closePromise !== undefined) return closePromise;
      closed = true;
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      closePromise = new Promise<void>((resolve) => {
        idle.push(resolve);
        maybeCommit();
      });
      return closePromise;
    },
  };
}
