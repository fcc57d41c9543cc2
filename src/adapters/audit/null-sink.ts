import type { AuditEvent, AuditSink } from "../../use-cases/audit-sink.js";

/**
 * AUDIT_MODE=off: nothing is recorded and callers answer at once. Still refuses appends after
 * close so a shutdown-ordering bug shows up the same way in every mode.
 */
export function createNullAuditSink(): AuditSink {
  let closed = false;
  return {
    mode: "off",
    append(_events: readonly AuditEvent[]): Promise<void> | null {
      if (closed) throw new Error("audit sink is closed");
      return null;
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
