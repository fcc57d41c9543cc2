import type { Interceptor } from "@connectrpc/connect";
import type { RpcMetrics } from "../metrics/metrics.js";
import { createObserveRpcInterceptor } from "./observe-rpc.js";

export interface MetricsInterceptorDeps {
  readonly metrics: RpcMetrics;
  /** Monotonic clock in milliseconds. */
  readonly now?: () => number;
}

/**
 * go-grpc-prometheus server metrics for every call, streams included. The
 * production chain uses createObserveRpcInterceptor, which also does the logging.
 */
export function createMetricsInterceptor(deps: MetricsInterceptorDeps): Interceptor {
  return createObserveRpcInterceptor(deps.now !== undefined ? { metrics: deps.metrics, now: deps.now } : { metrics: deps.metrics });
}
