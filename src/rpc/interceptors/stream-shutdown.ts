import { ConnectError } from "@connectrpc/connect";
import type { Interceptor, StreamResponse } from "@connectrpc/connect";
import type { AnyRequest, Next } from "./check-interceptor.js";

export interface StreamShutdownDeps {
  /**
   * Aborted when the server starts shutting down, with the error open streams end with
   * (UNAVAILABLE "server is shutting down"): its reason is what clients get.
   */
  readonly signal: AbortSignal;
}

/**
 * Ends every open streaming call (StreamFills, health Watch, reflection) as soon as shutdown
 * begins, with UNAVAILABLE, so its client reconnects elsewhere at once and the drain is not held
 * up for the whole grace period by calls that never end by themselves. Unary calls are left to
 * finish within the grace period.
 *
 * How: the handler's signal (ctx.signal; connect hands handlers the interceptors' `req.signal`)
 * also aborts on shutdown, so a handler that stops on its signal stops; if it then simply returns,
 * the call ends with the shutdown error rather than OK (a fill or health stream never ends on its
 * own, so OK would tell the client nothing). A call whose client went away first keeps its own
 * code (CANCELED).
 */
export function createStreamShutdownInterceptor(deps: StreamShutdownDeps): Interceptor {
  const { signal } = deps;
  // Unary calls go straight through: no async wrapper (a promise and its ticks on every order).
  // A throw from `next` stays a rejection, as it was behind the async wrapper.
  return (next) => (req) => {
    if (req.stream) return streamed(next, req);
    try {
      return next(req);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  async function streamed(next: Next, req: AnyRequest) {
    const clientSignal = req.signal;
    const res = await next({ ...req, signal: AbortSignal.any([clientSignal, signal]) });
    if (!res.stream) return res;
    const source = res.message;
    async function* endOnShutdown() {
      yield* source;
      if (signal.aborted && !clientSignal.aborted) throw ConnectError.from(signal.reason);
    }
    return { ...res, message: endOnShutdown() } as StreamResponse;
  }
}
