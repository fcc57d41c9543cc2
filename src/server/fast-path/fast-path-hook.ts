import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { createUnaryFastPath } from "./unary-fast-path.js";
import type { UnaryFastPath, UnaryFastPathOptions } from "./unary-fast-path.js";

/**
 * A stream hook that can be handed to the HTTP server before the fast path
 * exists. buildApp creates the server (serverFactory) before it has the routes
 * and interceptors; `install` is called once they exist, with the very same
 * options object given to fastifyConnectPlugin. Until then, and after
 * `uninstall`, every stream falls through to Fastify.
 */
export interface FastPathHook {
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
  install(options: UnaryFastPathOptions): void;
  uninstall(): void;
  /** Streams the fast path has handled (for tests and diagnostics). */
  readonly handled: number;
}

export function createFastPathHook(): FastPathHook {
  let fast: UnaryFastPath | undefined;
  let handled = 0;
  return {
    onStream(stream, headers) {
      if (fast === undefined || !fast(stream, headers)) return false;
      handled++;
      return true;
    },
    install(options) {
      fast = createUnaryFastPath(options);
    },
    uninstall() {
      fast = undefined;
    },
    get handled() {
      return handled;
    },
  };
}
