import { AuditOutageError, type AuditAvailability } from "./audit-sink.js";
import type { GatewayError } from "../domain/errors.js";

/**
 * Fail-closed switch for the audit log. A trading team must never have an
 * order the log does not know about, so a failed append refuses new orders and
 * cancels, and the server is told (health NOT_SERVING) through `onAuditFailure`.
 *
 * Two kinds of failure:
 * - events that may be lost (disk full, fsync error, the audit file gone, a
 *   row the database refused): the guard trips for the life of the process.
 *   Only a restart, which re-reads the log and rebuilds state from what was
 *   durable, clears it; there is deliberately no reset, because appends after
 *   a lost one would leave a hole in the log.
 * - an outage of a sink that keeps what it was given (AuditOutageError: the
 *   PostgreSQL connection is lost). The sink reports it (`unavailable`), writes
 *   everything once it has reconnected and re-taken its lock, then says
 *   `restored`: the log has no hole, so the gateway serves again by itself.
 *
 * Replays of completed idempotency keys are still answered once the guard has
 * tripped: they write nothing and send nothing, and they tell a client what
 * happened to an order whose outcome the log missed. During an outage they
 * wait (UNAVAILABLE) until the sink is back and has written what it kept.
 */
export interface AuditGuard extends AuditAvailability {
  /** undefined while the audit log works; else the error every new order and cancel is answered with. */
  refusal(): GatewayError | undefined;
  /**
   * The refusal while the sink reports an outage it will recover from, else undefined. Replays
   * are refused too then: the events of the order a replay would confirm may still be waiting in
   * the sink, and an acknowledgement must not outrun its record.
   */
  outage(): GatewayError | undefined;
  /**
   * Records a failed append and returns the refusal to answer with. Trips the guard (calling
   * `onAuditFailure` once) unless the cause is an AuditOutageError, which the sink reports itself.
   */
  failed(context: string, cause: unknown): GatewayError;
  readonly healthy: boolean;
}

/** `transient`: an outage the gateway recovers from by itself (see AuditGuard). */
export type AuditFailureListener = (message: string, cause: unknown, transient: boolean) => void;

export const AUDIT_UNAVAILABLE = "audit log unavailable";

export function createAuditGuard(onAuditFailure?: AuditFailureListener, onAuditRestored?: () => void): AuditGuard {
  /** Set once for good: events may be lost. */
  let tripped: GatewayError | undefined;
  /** Set while the sink reports an outage it will recover from. */
  let outage: GatewayError | undefined;
  // A listener that throws must not turn a typed answer into an unhandled error.
  const tell = (message: string, cause: unknown, transient: boolean): void => {
    try {
      onAuditFailure?.(message, cause, transient);
    } catch {
      /* the guard is set either way */
    }
  };
  function trip(context: string, cause: unknown): GatewayError {
    if (tripped !== undefined) return tripped;
    tripped = {
      kind: "unavailable",
      message: `${AUDIT_UNAVAILABLE}: the gateway accepts no new orders or cancels until it is restarted`,
    };
    tell(`${AUDIT_UNAVAILABLE}: ${context}`, cause, false);
    return tripped;
  }
  function down(reason: string, cause: unknown): GatewayError {
    if (tripped !== undefined) return tripped;
    if (outage !== undefined) return outage;
    outage = {
      kind: "unavailable",
      message: `${AUDIT_UNAVAILABLE} (${reason}): the gateway accepts no new orders or cancels until it is back; it reconnects by itself`,
    };
    tell(`${AUDIT_UNAVAILABLE}: ${reason}`, cause, true);
    return outage;
  }
  return {
    refusal: () => tripped ?? outage,
    outage: () => (tripped === undefined ? outage : undefined),
    failed(context: string, cause: unknown): GatewayError {
      // The sink kept the events and reported the outage before refusing. If it is already back,
      // this call is still refused (its events were not on record when it was answered), but the
      // guard is not set again: nothing would clear it.
      if (cause instanceof AuditOutageError) return tripped ?? outage ?? { kind: "unavailable", message: `${AUDIT_UNAVAILABLE}: ${cause.message}` };
      return trip(context, cause);
    },
    unavailable(reason: string, cause: unknown, permanent: boolean): void {
      if (permanent) trip(reason, cause);
      else down(reason, cause);
    },
    restored(): void {
      if (outage === undefined) return;
      outage = undefined;
      if (tripped !== undefined) return;
      try {
        onAuditRestored?.();
      } catch {
        /* serving again either way */
      }
    },
    get healthy(): boolean {
      return tripped === undefined && outage === undefined;
    },
  };
}

/** The answer to a call whose events could not be appended: the order exists, its outcome is not on record. */
export function outcomeNotRecorded(what: string, orderId: string, hint: string): GatewayError {
  return { kind: "unavailable", message: `${AUDIT_UNAVAILABLE}: the outcome of ${what} for order ${orderId} was not recorded; ${hint}` };
}

/**
 * Appends events nobody waits for, after a failed append: a sink in an outage keeps them (and
 * refuses), a broken one refuses; the guard has been told already either way.
 */
export function settleQuietly(commit: () => Promise<void> | null): void {
  try {
    commit()?.catch(() => {});
  } catch {
    /* buffered sinks throw */
  }
}
