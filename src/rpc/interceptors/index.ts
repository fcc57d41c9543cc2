import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { ApiKeyEntry } from "../../domain/principal.js";
import type { RpcMetrics } from "../../adapters/metrics/metrics.js";
import { createAuthInterceptor } from "./auth.js";
import { createObserveRpcInterceptor } from "./observe-rpc.js";
import { createRateLimitInterceptor } from "./rate-limit.js";
import { createRecoveryInterceptor } from "./recovery.js";
import { createRequestIdInterceptor } from "./request-id.js";
import { createStreamShutdownInterceptor } from "./stream-shutdown.js";
import { createTraceInterceptor } from "./trace-rpc.js";
import type { Tracer } from "../../use-cases/tracing.js";

export interface InterceptorsDeps {
  readonly logger: Logger;
  readonly metrics: RpcMetrics;
  readonly apiKeys: readonly ApiKeyEntry[];
  readonly rateLimit: { readonly ratePerSecond: number; readonly burst: number; readonly maxBuckets: number; readonly idleMs: number };
  /** Services callable without an API key (health, reflection). */
  readonly publicServices?: ReadonlySet<string>;
  /** Services exempt from rate limiting (health). */
  readonly rateLimitExemptServices?: ReadonlySet<string>;
  readonly now?: () => number;
  readonly newRequestId?: () => string;
  /** Aborted when shutdown begins: open streaming calls end with its reason (UNAVAILABLE). */
  readonly streamShutdownSignal?: AbortSignal;
  /** Tracing on: a server span per call (trace-rpc.ts) and the trace id in the access line. Absent: no tracing work at all. */
  readonly tracer?: Tracer | undefined;
}

/**
 * The interceptor chain, first = outermost (connect-es applyInterceptors):
 * request id (so every later line carries it), logging and metrics (so they
 * see the final code, including auth and rate-limit refusals), recovery (so
 * they see INTERNAL, never a raw exception), stream shutdown (streaming calls
 * end with UNAVAILABLE when shutdown begins), auth, then rate limit (which
 * needs the principal).
 */
export function createInterceptors(deps: InterceptorsDeps): Interceptor[] {
  const now = deps.now;
  return [
    createRequestIdInterceptor(deps.newRequestId !== undefined ? { newId: deps.newRequestId } : {}),
    // Logging and metrics, adjacent in the chain, share one interceptor (one pair of clock reads).
    createObserveRpcInterceptor({ logger: deps.logger, metrics: deps.metrics, ...(now !== undefined ? { now } : {}), ...(deps.tracer !== undefined ? { traced: true } : {}) }),
    // Inside logging, so the access line (written after it returns) finds the trace id it set.
    ...(deps.tracer !== undefined ? [createTraceInterceptor(deps.tracer)] : []),
    createRecoveryInterceptor({ logger: deps.logger }),
    ...(deps.streamShutdownSignal !== undefined ? [createStreamShutdownInterceptor({ signal: deps.streamShutdownSignal })] : []),
    createAuthInterceptor({ apiKeys: deps.apiKeys, publicServices: deps.publicServices ?? new Set() }),
    createRateLimitInterceptor({
      ...deps.rateLimit,
      exemptServices: deps.rateLimitExemptServices ?? new Set(),
      ...(now !== undefined ? { now } : {}),
    }),
  ];
}
