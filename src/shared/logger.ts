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
    redact: { paths: ["authorization", "headers.authorization", "*.authorization"], censor: "[redacted]" },
  };
  if (opts.destination !== undefined) return pino(base, opts.destination);
  if (opts.format === "pretty") {
    // pino-pretty is a dependency; loaded lazily so json mode never pays for it.
    return pino(base, prettyStream());
  }
  // Asynchronous writes keep logging off the hot path; flushLogger() drains at exit.
  // No minLength: a line must show up when it happens, not after 4 KiB more.
  return pino(base, pino.destination({ dest: 1, sync: false }));
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
