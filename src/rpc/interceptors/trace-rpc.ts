import { ConnectError, createContextKey } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { Tracer } from "../../use-cases/tracing.js";
import { grpcCodeName } from "./observe-call.js";

/** The call's trace id (set by the trace interceptor), for the access line. "" when not traced. */
export const traceIdKey = createContextKey<string>("", { description: "trace id" });

/**
 * One server span per RPC, a child of the caller's W3C `traceparent` when it sent one; the
 * handler runs with it current, so the pipeline's spans (place-order.ts) are its children.
 * In the chain only when tracing is on (createInterceptors), so an untraced gateway pays nothing.
 * For a streaming call the span covers the handler's start, not the stream's life.
 */
export function createTraceInterceptor(tracer: Tracer): Interceptor {
  return (next) => async (req) => {
    const span = tracer.startSpan(`${req.service.typeName}/${req.method.name}`, "server", req.header.get("traceparent") ?? undefined);
    span.setAttribute("rpc.system", "grpc");
    span.setAttribute("rpc.service", req.service.typeName);
    span.setAttribute("rpc.method", req.method.name);
    req.contextValues.set(traceIdKey, span.traceId);
    try {
      return await tracer.runInSpan(span, () => next(req));
    } catch (e) {
      const code = grpcCodeName(ConnectError.from(e).code);
      span.setAttribute("rpc.grpc.status_code", code);
      span.fail(code);
      throw e;
    } finally {
      span.end();
    }
  };
}
