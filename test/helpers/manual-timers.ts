import type { DisconnectTimers } from "../../src/use-cases/cancel-on-disconnect.js";

/** Timers a test fires by hand (cancel-on-disconnect's grace periods, dead-man refreshes): no sleeps. */
export function createManualTimers(): DisconnectTimers & { fireAll(): void } {
  const due = new Map<number, () => void>();
  let n = 0;
  return {
    set: (fn) => (due.set(++n, fn), n),
    clear: (h) => void due.delete(h as number),
    fireAll() {
      const fns = [...due.values()];
      due.clear();
      for (const f of fns) f();
    },
  };
}
