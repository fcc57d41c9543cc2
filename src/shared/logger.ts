import { createRequire } from "node:module";
import pino from "pino";
import type { DestinationStream, Logger } from "pino";

export interface LoggerOptions {
  readonly level: string;
  readonly format: "json" | "pretty";
  /**
   * Where lines go. Tests pass a capture stream; production leaves it unset
   * and gets an asynchronous stdout destination (see flushLogger).
   */
  readonly destination?: DestinationStream;
}

/**
 * The process logger. JSON lines by default; `pretty` runs pino-pretty in
 * the same thread (not a worker transport) so that a flush at shutdown
 * really is the last thing written.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level,
    // Never log credentials, even if a caller passes headers along.
    formatters: { log: redactCredentials },
  };
  if (opts.destination !== undefined) return pino(base, opts.destination);
  if (opts.format === "pretty") {
    // pino-pretty is a dependency; loaded lazily so json mode never pays for it.
    return pino(base, prettyStream());
  }
  // Asynchronous writes keep logging off the hot path; flushLogger() drains at exit.
  // No minLength (which waits for 4 KiB however long that takes): coalesceLines bounds the wait in time.
  return pino(base, coalesceLines(pino.destination({ dest: 1, sync: false })));
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** What coalesceLines gives pino: a destination it can flush. */
export interface CoalescedDestination extends DestinationStream {
  write(line: string): boolean;
  /** Hands over what is pending, then sonic-boom's flush (pino's logger.flush calls it). */
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

export interface CoalesceOptions {
  /** Longest a line waits before it is handed to sonic-boom (default 10 ms). */
  readonly maxDelayMs?: number;
  /** Pending characters that hand the lines over at the end of the turn, without waiting (default 64 Ki). */
  readonly maxChars?: number;
}

/**
 * Gathers log lines for up to `maxDelayMs` and hands them to sonic-boom as one string.
 *
 * Why: every sonic-boom write is one asynchronous fs.write, a round trip through libuv's thread
 * pool, and the gateway writes an access line per call. Handing lines over once per event-loop
 * turn still meant about one write per call at moderate load: at 1,000 calls/s on one pinned
 * core, 5.2-7.9 context switches and 130-156 us of system time per call, against 4.9-5.0 and
 * 72-110 us with a 10 ms window. (At saturation, sonic-boom's write() also measures its whole
 * pending chunk on every call: 5.1-5.4 us per access line one by one, 2.6-2.7 us joined.) The access log is not the
 * system of record (the audit log is, and it is not delayed), so a line may wait 10 ms; a burst
 * of `maxChars` goes at the end of its turn. sonic-boom still does all the I/O (partial writes,
 * EAGAIN, EPIPE, fsync on flushSync). Lines still pending when the process exits (an uncaught
 * exception, process.exit, an empty event loop) are written synchronously; the timer never keeps
 * the process alive.
 */
export function coalesceLines(dest: SonicBoom, options: CoalesceOptions = {}): CoalescedDestination {
  const maxDelayMs = options.maxDelayMs ?? 10;
  const maxChars = options.maxChars ?? 64 * 1024;
  const pending: string[] = [];
  let pendingChars = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate = false;
  /** The pending lines as one string (cleared), or undefined; the window's timer is cancelled. */
  const take = (): string | undefined => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    immediate = false;
    if (pending.length === 0) return undefined;
    const text = pending.length === 1 ? pending[0]! : pending.join("");
    pending.length = 0;
    pendingChars = 0;
    return text;
  };
  const handOver = (): void => {
    const text = take();
    if (text !== undefined) dest.write(text);
  };
  const flushSync = (): void => {
    const text = take();
    if (text !== undefined) {
      // Queued only: sonic-boom's write() would start an asynchronous fs.write when it has none in
      // flight, and flushSync() leaves a write in flight alone, so at exit the lines could be lost
      // (a test caught it). With minLength out of reach write() only queues, and flushSync() then
      // writes the queue synchronously with sonic-boom's own retries.
      const boom = dest as SonicBoom & { minLength: number };
      const minLength = boom.minLength;
      boom.minLength = Number.POSITIVE_INFINITY;
      try {
        dest.write(text);
      } finally {
        boom.minLength = minLength;
      }
    }
    dest.flushSync();
  };
  // pino's own exit hook (on the sonic-boom stream) runs first and cannot see these lines.
  process.once("exit", () => {
    try {
      flushSync();
    } catch {
      // A destroyed or broken stdout: nothing left to write to.
    }
  });
  return {
    write(line: string): boolean {
      pending.push(line);
      pendingChars += line.length;
      if (pendingChars >= maxChars) {
        if (!immediate) {
          immediate = true;
          setImmediate(handOver);
        }
      } else if (timer === undefined && !immediate) {
        timer = setTimeout(handOver, maxDelayMs);
        timer.unref();
      }
      return true;
    },
    flush(cb?: (err?: Error) => void): void {
      handOver();
      dest.flush(cb);
    },
    flushSync,
  };
}

const CENSOR = "[redacted]";

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Replaces `authorization` at the top of a log object and one level down
 * (`headers.authorization`, any `x.authorization`) with "[redacted]", copying
 * only the objects it changes; the caller's objects are never modified.
 *
 * Why not pino's `redact` option: it ran on every line, and the per-call
 * access line (built field by field, never holding a credential) paid for its
 * path matching and copies: 8% of the gateway's allocations per call, 2% of
 * its CPU. This is one key scan that allocates nothing when there is nothing
 * to hide. What it does not look into, unlike `redact`: child-logger bindings
 * (pino computes them once, without formatters; the gateway binds only
 * request ids and component names there) and non-plain objects such as errors.
 */
export function redactCredentials(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = obj[key];
    let replaced: unknown = value;
    if (key === "authorization") replaced = CENSOR;
    else if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, "authorization")) replaced = { ...value, authorization: CENSOR };
    if (replaced !== value) {
      if (out === obj) out = { ...obj };
      out[key] = replaced;
    }
  }
  return out;
}

function prettyStream(): DestinationStream {
  // Synchronous require through createRequire keeps createLogger synchronous.
  const req = createRequire(import.meta.url);
  const pretty = req("pino-pretty") as (o: object) => DestinationStream;
  return pretty({ colorize: process.stdout.isTTY === true, translateTime: "SYS:standard", sync: true });
}

/** Writes out whatever the logger still buffers; call before process exit. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush((e) => {
        void e;
        resolve();
      });
    } catch {
      resolve();
    }
  });
}
