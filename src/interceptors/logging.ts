import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { createObserveRpcInterceptor } from "./observe-rpc.js";

export interface LoggingDeps {
  readonly logger: Logger;
  /** Monotonic clock in milliseconds. */
  readonly now?: () => number;
}

/**
 * One log line per RPC, written when the call is over (for streams: when the
 * stream ends). Sets loggerKey to a logger carrying the request id, so every
 * line a handler writes for this call can be joined to it. The production
 * chain uses createObserveRpcInterceptor, which also does the metrics.
 */
export function createLoggingInterceptor(deps: LoggingDeps): Interceptor {
  return createObserveRpcInterceptor(deps.now !== undefined ? { logger: deps.logger, now: deps.now } : { logger: deps.logger });
}
