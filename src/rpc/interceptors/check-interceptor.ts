import type { Interceptor } from "@connectrpc/connect";

/** The `next` an interceptor is given, and the request it is called with. */
export type Next = Parameters<Interceptor>[0];
export type AnyRequest = Parameters<Next>[0];

/**
 * An interceptor whose work is a check before the call (auth, rate limit), without an async
 * frame of its own: `check` returns next's promise as it is. A throw, the check's own refusal or
 * one from further down, still comes back as a rejected promise, as from an async interceptor.
 */
export function createCheckInterceptor(check: (next: Next, req: AnyRequest) => ReturnType<Next>): Interceptor {
  return (next) => (req) => {
    try {
      return check(next, req);
    } catch (e) {
      return Promise.reject(e);
    }
  };
}
