import { Writable } from "node:stream";
import pino from "pino";
import type { Logger } from "pino";

/** A pino logger whose JSON lines are kept in memory for assertions. */
export interface LogCapture {
  readonly logger: Logger;
  /** Every line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Lines whose msg equals `msg`. */
  find(msg: string): Record<string, unknown>[];
}

export function createLogCapture(level = "info"): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  // Synchronous pino -> Writable: a line is in `lines` as soon as log.x() returns.
  const logger = pino({ level }, stream);
  return { logger, lines, find: (msg) => lines.filter((l) => l["msg"] === msg) };
}
