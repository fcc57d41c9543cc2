import type { GatewayError } from "../domain/errors.js";

/**
 * Fail-closed switch for the audit log. A trading team must never have an
 * order the log does not know about, so the first failed append (disk full,
 * fsync error, database gone) trips it for the life of the process: new
 * orders and cancels are refused from then on, and the server is told (health
 * NOT_SERVING) through `onAuditFailure`. Only a restart, which re-reads the log
 * and rebuilds state from what was durable, clears it; there is deliberately
 * no reset, because appends after a failed one would leave a hole in the log.
 *
 * Replays of completed idempotency keys are still answered: they write
 * nothing and send nothing, and they tell a client what happened to an order
 * whose outcome the log missed.
 */
export interface AuditGuard {
  /** undefined while the audit log works; else the error every new order and cancel is answered with. */
  refusal(): GatewayError | undefined;
  /** Records a failed append. The first call trips the guard and calls `onAuditFailure` once. */
  failed(context: string, cause: unknown): void;
  readonly healthy: boolean;
}

export type AuditFailureListener = (message: string, cause: unknown) => void;

export const AUDIT_UNAVAILABLE = "audit log unavailable";

export function createAuditGuard(onAuditFailure?: AuditFailureListener): AuditGuard {
  let refusal: GatewayError | undefined;
  return {
    refusal: () => refusal,
    failed(context: string, cause: unknown): void {
      if (refusal !== undefined) return;
      refusal = {
        kind: "unavailable",
        message: `${AUDIT_UNAVAILABLE}: the gateway accepts no new orders or cancels until it is restarted`,
      };
      // A listener that throws must not turn a typed answer into an unhandled error.
      try {
        onAuditFailure?.(`${AUDIT_UNAVAILABLE}: ${context}`, cause);
      } catch {
        /* the guard is tripped either way */
      }
    },
    get healthy(): boolean {
      return refusal === undefined;
    },
  };
}

/** The answer to a call whose events could not be appended: the order exists, its outcome is not on record. */
export function outcomeNotRecorded(what: string, orderId: string, hint: string): GatewayError {
  return { kind: "unavailable", message: `${AUDIT_UNAVAILABLE}: the outcome of ${what} for order ${orderId} was not recorded; ${hint}` };
}
