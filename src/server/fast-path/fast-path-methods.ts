import type { ConnectRouter, ConnectRouterOptions, MethodImplSpec } from "@connectrpc/connect";
import { createMethodImplSpec, createServiceImplSpec } from "@connectrpc/connect";
import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";

/** A unary method the fast path may serve, keyed by its request path. */
export interface FastPathMethod {
  readonly spec: Extract<MethodImplSpec, { kind: "unary" }>;
  readonly method: DescMethodUnary<DescMessage, DescMessage>;
}

/**
 * Runs a `routes` function against a recording router and returns the unary
 * methods it registered, by request path (`/package.Service/Method`, exactly as
 * connect's createMethodUrl builds it). The SAME routes function is given to
 * connect-fastify, so both paths call the same implementations.
 *
 * A service or rpc registered with its own options (other interceptors,
 * protocols switched off, other limits) is left out on purpose: the fast path
 * only knows the router-wide options, and such methods must keep connect's
 * exact behaviour, which they get by falling through.
 */
export function collectUnaryMethods(routes: (router: ConnectRouter) => void): Map<string, FastPathMethod> {
  const specs: MethodImplSpec[] = [];
  const router: ConnectRouter = {
    handlers: [],
    service(service, implementation, options?: ConnectRouterOptions) {
      if (options === undefined) {
        const s = createServiceImplSpec(service, implementation);
        for (const m of Object.values(s.methods)) specs.push(m);
      }
      return router;
    },
    rpc(method, impl, options?: ConnectRouterOptions) {
      if (options === undefined) specs.push(createMethodImplSpec(method, impl));
      return router;
    },
  };
  routes(router);
  const byPath = new Map<string, FastPathMethod>();
  for (const spec of specs) {
    if (spec.kind !== "unary") continue;
    const path = `/${spec.method.parent.typeName}/${spec.method.name}`;
    byPath.set(path, { spec, method: spec.method });
  }
  return byPath;
}
