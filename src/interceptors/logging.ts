import { Code } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { loggerKey, peerKey, requestIdKey } from "./context-keys.js";
import { grpcCodeName, observeCall, protocolOf } from "./observe-call.js";

/** Codes that mean the gateway failed, not the caller. */
const SERVER_FAULTS: ReadonlySet<Code> = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

export interface LoggingDeps {
  readonly logger: Logger;
  /** Monotonic clock in milliseconds. */
  readonly now?: () => number;
}

/**
 * One log line per RPC, written when the call is over (for streams: when the
 * stream ends). Sets loggerKey to a child logger carrying the request id, so
 * every line a handler writes for this call can be joined to it.
 */
export function createLoggingInterceptor(deps: LoggingDeps): Interceptor {
  const now = deps.now ?? (() => performance.now());
  return (next) => async (req) => {
    const start = now();
    const reqId = req.contextValues.get(requestIdKey);
    const log = deps.logger.child({ reqId });
    req.contextValues.set(loggerKey, log);
    const fields = {
      service: req.service.typeName,
      method: req.method.name,
      protocol: protocolOf(req.header),
      peer: req.contextValues.get(peerKey),
    };
    return observeCall(next, req, {
      onEnd({ code, error }) {
        const line = { ...fields, code: grpcCodeName(code), durationMs: Math.round((now() - start) * 1000) / 1000 };
        if (code === undefined) log.info(line, "rpc");
        else {
          // Our faults are errors worth paging on; client-caused codes are routine.
          const level = SERVER_FAULTS.has(code) ? "error" : "info";
          log[level]({ ...line, err: error instanceof Error ? error.message : String(error) }, "rpc");
        }
      },
    });
  };
}
