import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor, StreamResponse } from "@connectrpc/connect";
import type { Logger } from "pino";
import { loggerKey } from "./context-keys.js";
import type { AnyRequest } from "./check-interceptor.js";

export interface RecoveryDeps {
  /** Fallback logger when the call has no per-call logger. */
  readonly logger: Logger;
}

/** Generic on purpose: internals (paths, SQL, venue replies) never reach clients. */
export const INTERNAL_MESSAGE = "internal error";

/**
 * Any exception that is not a ConnectError is a bug: log it with its stack,
 * answer INTERNAL with a generic message, keep serving. Streams are covered
 * too, since a handler can throw halfway through one.
 *
 * Except once the call's signal has aborted (the client went away, its deadline
 * passed): what a handler throws then is the consequence (a request stream read
 * after the client left throws "Premature close"), so the call ends with the
 * abort's own code (CANCELED, DEADLINE_EXCEEDED), logged at debug, not as a bug.
 */
export function createRecoveryInterceptor(deps: RecoveryDeps): Interceptor {
  // One helper per interceptor, not a closure per call: the success path allocates nothing here.
  const recover = (req: AnyRequest, e: unknown): never => {
    if (e instanceof ConnectError) throw e;
    const log = req.contextValues.get(loggerKey) ?? deps.logger;
    if (req.signal.aborted) {
      log.debug({ err: e, service: req.service.typeName, method: req.method.name }, "handler threw after its call was aborted");
      // connect's ConnectError.from makes an abort without a ConnectError reason CANCELED.
      throw ConnectError.from(req.signal.reason, Code.Canceled);
    }
    log.error({ err: e, service: req.service.typeName, method: req.method.name }, "unexpected exception in handler");
    throw new ConnectError(INTERNAL_MESSAGE, Code.Internal);
  };
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (e) {
      return recover(req, e);
    }
    if (!res.stream) return res;
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (e) {
        recover(req, e);
      }
    }
    return { ...res, message: guarded() } as StreamResponse;
  };
}
