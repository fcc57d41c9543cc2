import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { MethodMetrics, RpcMetrics } from "../../adapters/metrics/metrics.js";
import { loggerKey, peerKey, requestIdKey } from "./context-keys.js";
import { redactCredentials } from "../../shared/logger.js";
import { createAccessLineWriter } from "./access-line.js";
import { traceIdKey } from "./trace-rpc.js";
import { lazyChildLogger } from "./lazy-logger.js";
import { grpcCodeName, grpcType, observeCall, protocolOf } from "./observe-call.js";
import type { AnyRequest } from "./check-interceptor.js";

/** Codes that mean the gateway failed, not the caller. */
const SERVER_FAULTS: ReadonlySet<Code> = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

export interface ObserveRpcDeps {
  /** Writes one line per RPC and gives handlers a per-call logger (loggerKey); omitted: no logging. */
  readonly logger?: Logger;
  /** go-grpc-prometheus server metrics; omitted: no metrics. */
  readonly metrics?: RpcMetrics;
  /** Monotonic clock in milliseconds. */
  readonly now?: () => number;
  /** Tracing is on: the access line carries the call's trace id (traceIdKey, set by the trace interceptor). */
  readonly traced?: boolean;
}

type MethodRef = AnyRequest["method"];

/**
 * Logging and metrics in one interceptor, because they observe the same
 * thing: one clock read at the start and one at the end serve both, and a
 * unary call (nearly all traffic) takes no closures or wrapper objects.
 *
 * Logging: one line per RPC, written when the call is over (for streams: when
 * the stream ends), with the request id; loggerKey gets a logger that binds
 * the request id, created only if a handler actually logs.
 * Metrics: go-grpc-prometheus counters and histogram, streams included.
 */
export function createObserveRpcInterceptor(deps: ObserveRpcDeps): Interceptor {
  const { logger, metrics } = deps;
  const traced = deps.traced === true;
  const now = deps.now ?? (() => performance.now());
  const accessLine = logger !== undefined ? createAccessLineWriter(logger, redactCredentials) : undefined;
  // Method descriptors are long-lived singletons, so identity is a free cache key.
  const byMethod = new Map<MethodRef, MethodMetrics>();
  const metricsFor = (m: MethodRef, service: string): MethodMetrics | undefined => {
    if (metrics === undefined) return undefined;
    let mm = byMethod.get(m);
    if (mm === undefined) {
      mm = metrics.forMethod(grpcType(m.methodKind), service, m.name);
      byMethod.set(m, mm);
    }
    return mm;
  };
  /** Metrics and the access line of one call; a function of the interceptor, not a closure per call. */
  function finish(req: AnyRequest, mm: MethodMetrics | undefined, service: string, reqId: string, start: number, code: Code | undefined, error: unknown): void {
    const durationMs = now() - start;
    const codeName = grpcCodeName(code);
    if (mm !== undefined) {
      mm.handled.set(codeName, (mm.handled.get(codeName) ?? 0) + 1);
      mm.observe(durationMs / 1000);
    }
    if (logger === undefined || accessLine === undefined) return;
    const method = req.method.name;
    const protocol = protocolOf(req.header);
    const peer = req.contextValues.get(peerKey);
    const ms = Math.round(durationMs * 1000) / 1000;
    if (code === undefined) {
      // Two literals rather than an optional field: the untraced line keeps its one shape.
      if (traced) accessLine({ reqId, service, method, protocol, peer, code: codeName, durationMs: ms, traceId: req.contextValues.get(traceIdKey) });
      else accessLine({ reqId, service, method, protocol, peer, code: codeName, durationMs: ms });
      return;
    }
    // One object, reqId first: the same line a child logger bound to the request id would write.
    const line: Record<string, unknown> = {
      reqId,
      service,
      method,
      protocol,
      peer,
      code: codeName,
      durationMs: ms,
      err: error instanceof Error ? error.message : String(error),
    };
    if (traced) line["traceId"] = req.contextValues.get(traceIdKey);
    // Our faults are errors worth paging on; client-caused codes are routine.
    if (SERVER_FAULTS.has(code)) logger.error(line, "rpc");
    else logger.info(line, "rpc");
  }
  return (next) => async (req) => {
    const start = now();
    const service = req.service.typeName;
    const mm = metricsFor(req.method, service);
    let reqId = "";
    if (logger !== undefined) {
      reqId = req.contextValues.get(requestIdKey);
      req.contextValues.set(loggerKey, lazyChildLogger(logger, reqId));
    }
    if (mm !== undefined) mm.started++;
    if (!req.stream && req.method.methodKind === "unary") {
      if (mm !== undefined) mm.received++;
      let res;
      try {
        res = await next(req);
      } catch (e) {
        finish(req, mm, service, reqId, start, ConnectError.from(e).code, e);
        throw e;
      }
      if (mm !== undefined) mm.sent++;
      finish(req, mm, service, reqId, start, undefined, undefined);
      return res;
    }
    return observeCall(next, req, {
      onReceive: mm !== undefined ? () => void mm.received++ : undefined,
      onSend: mm !== undefined ? () => void mm.sent++ : undefined,
      onEnd: ({ code, error }) => finish(req, mm, service, reqId, start, code, error),
    });
  };
}
