import { randomBytes } from "node:crypto";
import type { Fill } from "./order.js";

/** Wall-clock time, injected so tests can freeze it. */
export interface Clock {
  /** Epoch milliseconds. */
  nowMs(): number;
}

/** Unique ids for orders and fills, injected so tests get predictable ones. */
export interface IdSource {
  /** A new id, unique for the life of the gateway's audit log. */
  next(): string;
}

/**
 * The part of the fill hub (src/use-cases/fill-hub.ts, B2) the pipeline uses.
 * `nextSequence` is called synchronously right before the audit append that
 * holds the fill, so sequences are appended in increasing order; `publish`
 * is called once that append is durable.
 */
export interface FillPublisher {
  nextSequence(): bigint;
  publish(fill: Fill): void;
}

export const systemClock: Clock = { nowMs: Date.now };

/**
 * Ids of the form `<prefix><boot>-<counter>`: a random 8-hex boot tag keeps ids
 * unique across restarts without coordination, and the counter makes them
 * cheap (no crypto per call: this is on the hot path).
 */
export function createIdSource(prefix = ""): IdSource {
  const boot = `${prefix}${randomBytes(4).toString("hex")}-`;
  let n = 0;
  return {
    next(): string {
      n += 1;
      return boot + n.toString(36);
    },
  };
}
