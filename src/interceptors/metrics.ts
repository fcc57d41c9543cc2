import type { Interceptor } from "@connectrpc/connect";
import type { RpcMetrics } from "../metrics/metrics.js";
import { grpcCodeName, grpcType, observeCall } from "./observe-call.js";

export interface MetricsInterceptorDeps {
  readonly metrics: RpcMetrics;
  /** Monotonic clock in milliseconds. */
  readonly now?: () => number;
}

/** go-grpc-prometheus server metrics for every call, streams included. */
export function createMetricsInterceptor(deps: MetricsInterceptorDeps): Interceptor {
  const { metrics } = deps;
  const now = deps.now ?? (() => performance.now());
  return (next) => async (req) => {
    const start = now();
    const labels = {
      grpc_type: grpcType(req.method.methodKind),
      grpc_service: req.service.typeName,
      grpc_method: req.method.name,
    };
    metrics.started.inc(labels);
    return observeCall(next, req, {
      onReceive: () => metrics.msgReceived.inc(labels),
      onSend: () => metrics.msgSent.inc(labels),
      onEnd({ code }) {
        metrics.handled.inc({ ...labels, grpc_code: grpcCodeName(code) });
        metrics.handlingSeconds.observe(labels, (now() - start) / 1000);
      },
    });
  };
}
