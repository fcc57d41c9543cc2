import type { Logger } from "pino";

interface LazyTarget {
  readonly base: Logger;
  readonly reqId: string;
  child: Logger | undefined;
}

function childOf(t: LazyTarget): Logger {
  // pino's child() serializes its bindings at once; most calls never log, so only pay when one does.
  return (t.child ??= t.base.child({ reqId: t.reqId }));
}

// One handler for every call: a call costs two small objects, not a child logger.
const handler: ProxyHandler<LazyTarget> = {
  get(t, prop) {
    const c = childOf(t);
    const v: unknown = Reflect.get(c, prop, c);
    // pino's methods use `this`; bind them to the real child, not the proxy.
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(c) : v;
  },
  set(t, prop, value) {
    return Reflect.set(childOf(t), prop, value);
  },
  has(t, prop) {
    return Reflect.has(childOf(t), prop);
  },
};

/**
 * A Logger that behaves exactly like `base.child({ reqId })` but only creates
 * that child when first used.
 */
export function lazyChildLogger(base: Logger, reqId: string): Logger {
  return new Proxy<LazyTarget>({ base, reqId, child: undefined }, handler) as unknown as Logger;
}
