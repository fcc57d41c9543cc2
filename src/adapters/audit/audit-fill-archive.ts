import type { AuditEvent } from "../../use-cases/audit-sink.js";
import type { Fill } from "../../domain/order.js";

/**
 * The fill hub's `readArchive` over the audit log: fills with a sequence above `afterSequence`,
 * in log order (which is sequence order: sequences are assigned and appended in one step).
 * It reads the log as *live* because the sink keeps appending while a subscriber catches up.
 */
export function createAuditFillArchive(
  read: (opts: { readonly live: boolean }) => AsyncIterable<AuditEvent>,
): (afterSequence: bigint) => AsyncIterable<Fill> {
  return async function* readArchive(afterSequence: bigint): AsyncGenerator<Fill, void, undefined> {
    for await (const e of read({ live: true })) {
      if (e.fill !== undefined && e.fill.sequence > afterSequence) yield e.fill;
    }
  };
}
