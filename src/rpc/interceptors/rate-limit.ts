import type { Interceptor } from "@connectrpc/connect";
import { createLinkedMap } from "../../shared/linked-map.js";
import { toConnectError } from "../to-connect-error.js";
import { createCheckInterceptor } from "./check-interceptor.js";
import { peerKey, principalKey } from "./context-keys.js";
import { ANONYMOUS } from "../../domain/principal.js";

export interface RateLimitDeps {
  /** Steady rate in calls per second; 0 turns rate limiting off. */
  readonly ratePerSecond: number;
  /** Bucket size. */
  readonly burst: number;
  /** Most buckets held; the least recently used goes first. */
  readonly maxBuckets: number;
  /** A bucket untouched this long is dropped (it would be full again anyway). */
  readonly idleMs: number;
  /** Services never limited (health checks). */
  readonly exemptServices?: ReadonlySet<string>;
  /** Monotonic clock in milliseconds; tests pass a fake. */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  last: number;
}

export interface TokenBuckets {
  /** Takes one token for `key`; returns 0 when allowed, else ms until a token is available. */
  take(key: string): number;
  readonly size: number;
}

/**
 * Token buckets in an LRU list (touched on every use, so the oldest entries
 * are the least recently used). Memory stays bounded two ways: idle buckets
 * are dropped from the old end on every call, and the list never grows past
 * maxBuckets. No timer is needed. A linked map, not a plain Map re-inserted on
 * use: V8's `map.keys().next()` walks the holes deletions leave, O(n) at scale.
 */
export function createTokenBuckets(opts: Omit<RateLimitDeps, "exemptServices">): TokenBuckets {
  const now = opts.now ?? (() => performance.now());
  const buckets = createLinkedMap<string, Bucket>();
  const perMs = opts.ratePerSecond / 1000;
  return {
    get size() {
      return buckets.size;
    },
    take(key) {
      const t = now();
      // Evict idle buckets from the LRU end; a few per call keeps this O(1) amortized.
      for (let o = buckets.oldest(); o !== undefined && t - o.value.last >= opts.idleMs; o = buckets.oldest()) buckets.shift();
      let b = buckets.get(key);
      if (b === undefined) {
        b = { tokens: opts.burst, last: t };
        if (buckets.size >= opts.maxBuckets) buckets.shift();
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(opts.burst, b.tokens + (t - b.last) * perMs);
        b.last = t;
        buckets.touch(key);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - b.tokens) / perMs);
    },
  };
}

/**
 * Per API key (or per peer address when authentication is off) token bucket.
 * Must run after auth, which sets the principal. A refused call gets
 * RESOURCE_EXHAUSTED with google.rpc.RetryInfo saying when to come back.
 */
export function createRateLimitInterceptor(deps: RateLimitDeps): Interceptor {
  if (deps.ratePerSecond <= 0) return (next) => next;
  const buckets = createTokenBuckets(deps);
  const exempt = deps.exemptServices ?? new Set<string>();
  // Peer -> bucket key. The fast path hands every call of a connection the same peer string, so
  // this is one lookup instead of a slice and a concatenation (and a fresh string to hash) per call.
  const peerKeys = new Map<string, string>();
  const keyOfPeer = (peer: string): string => {
    let key = peerKeys.get(peer);
    if (key === undefined) {
      // Peer without the port: one client opening many connections is still one client.
      key = `peer:${hostOf(peer)}`;
      if (peerKeys.size >= 4096) peerKeys.clear();
      peerKeys.set(peer, key);
    }
    return key;
  };
  return createCheckInterceptor((next, req) => {
    if (exempt.has(req.service.typeName)) return next(req);
    const principal = req.contextValues.get(principalKey);
    const key = principal !== ANONYMOUS ? principal.keyId : keyOfPeer(req.contextValues.get(peerKey));
    const waitMs = buckets.take(key);
    if (waitMs > 0) {
      throw toConnectError({
        kind: "resource_exhausted",
        message: `rate limit exceeded: ${deps.ratePerSecond} calls/s, burst ${deps.burst}`,
        retryAfterMs: waitMs,
      });
    }
    return next(req);
  });
}

function hostOf(peer: string): string {
  const i = peer.lastIndexOf(":");
  if (i <= 0) return peer;
  // "[::1]:1234" / "1.2.3.4:1234" / "::1" (no port)
  if (peer.startsWith("[")) return peer.slice(0, peer.indexOf("]") + 1);
  return peer.indexOf(":") === i ? peer.slice(0, i) : peer;
}
