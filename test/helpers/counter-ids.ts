import type { Fill } from "../../src/domain/order.js";
import type { FillPublisher, IdSource } from "../../src/domain/ports.js";

/** Counter ids (`<prefix>1`, `<prefix>2`, ...): predictable ids for tests. */
export function createCounterIds(prefix: string): IdSource {
  let n = 0;
  return {
    next(): string {
      n += 1;
      return `${prefix}${n}`;
    },
  };
}

/** Counts sequences and keeps every published fill (unbounded). Production uses src/use-cases/fill-hub.ts. */
export function createLocalFillSequence(start = 0n): FillPublisher & { readonly published: Fill[] } {
  let seq = start;
  const published: Fill[] = [];
  return {
    published,
    nextSequence(): bigint {
      seq += 1n;
      return seq;
    },
    publish(fill: Fill): void {
      published.push(fill);
    },
  };
}
