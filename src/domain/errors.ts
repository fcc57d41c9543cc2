/**
 * The catalog of domain errors. Core code returns these as values; the RPC
 * edge maps each kind to exactly one Connect code in src/rpc/to-connect-error.ts.
 * Messages are written for the client: they name the field or the rule, and
 * never carry secrets, stack traces or venue credentials.
 */
export interface FieldViolation {
  /** Proto field name as the client wrote it, e.g. `quantity` or `price`. */
  readonly field: string;
  readonly description: string;
}

export type GatewayError =
  /** The request itself is malformed; every violation is listed at once. */
  | { readonly kind: "invalid_argument"; readonly message: string; readonly violations: readonly FieldViolation[] }
  /** The request is well formed but a rule of the current state forbids it (risk limit, terminal order). */
  /** `metadata` (ErrorInfo metadata) names the limit and the values for risk breaches. */
  | { readonly kind: "failed_precondition"; readonly message: string; readonly reason?: string; readonly metadata?: Readonly<Record<string, string>> }
  | { readonly kind: "not_found"; readonly message: string }
  /** An idempotency key reused with different order fields, and similar conflicts. */
  | { readonly kind: "already_exists"; readonly message: string; readonly reason: string; readonly metadata?: Readonly<Record<string, string>> }
  | { readonly kind: "unauthenticated"; readonly message: string }
  | { readonly kind: "permission_denied"; readonly message: string }
  /** Our own or a venue's rate limit; retryAfterMs becomes google.rpc.RetryInfo. */
  | { readonly kind: "resource_exhausted"; readonly message: string; readonly retryAfterMs?: number }
  /** A dependency (venue, storage) is down or shedding load; safe to retry after retryAfterMs. */
  | { readonly kind: "unavailable"; readonly message: string; readonly retryAfterMs?: number }
  | { readonly kind: "deadline_exceeded"; readonly message: string }
  | { readonly kind: "aborted"; readonly message: string }
  /** A bug or a broken invariant; the message stays generic for the client. */
  | { readonly kind: "internal"; readonly message: string };

export type GatewayErrorKind = GatewayError["kind"];

export function invalidArgument(violations: readonly FieldViolation[]): GatewayError {
  const fields = [...new Set(violations.map((v) => v.field))];
  const message =
    violations.length === 1
      ? `invalid ${violations[0]!.field}: ${violations[0]!.description}`
      : `invalid request: ${fields.join(", ")}: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`;
  return { kind: "invalid_argument", message, violations };
}
