/**
 * Outbound request budget per venue credential (token bucket, weighted per
 * endpoint where the venue weights them, e.g. Binance query order = 4).
 * Shared by every client of the gateway, so no client mix can push the
 * gateway over the venue's limit and get its IP or key banned.
 *
 * It fails fast instead of queueing: a queued order would wait an unknown
 * time and arrive stale; the client gets UNAVAILABLE with a retry delay.
 */
export interface OutboundLimit {
  /** Bucket size: the burst the venue tolerates. */
  readonly capacity: number;
  /** Tokens (weight units) regained per second. */
  readonly refillPerSecond: number;
}

export type AcquireResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export interface OutboundLimiter {
  /** Takes `weight` tokens from the bucket of `key` (a credential id) if it has them. */
  tryAcquire(key: string, weight: number): AcquireResult;
  /**
   * The venue reported how much of its budget is used (Binance
   * X-MBX-USED-WEIGHT-1M): never believe we have more left than the venue
   * says, e.g. when another process shares the IP or key.
   */
  observeUsed(key: string, used: number): void;
}

export interface OutboundLimiterDeps {
  readonly now: () => number;
  /** Limit per key; keys without a limit are not limited. */
  readonly limits: ReadonlyMap<string, OutboundLimit>;
}

export function createOutboundLimiter(deps: OutboundLimiterDeps): OutboundLimiter {
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  function refill(key: string, limit: OutboundLimit): { tokens: number; atMs: number } {
    const now = deps.now();
    let b = buckets.get(key);
    if (b === undefined) {
      b = { tokens: limit.capacity, atMs: now };
      buckets.set(key, b);
    }
    const elapsed = Math.max(0, now - b.atMs);
    b.tokens = Math.min(limit.capacity, b.tokens + (elapsed * limit.refillPerSecond) / 1000);
    b.atMs = now;
    return b;
  }
  return {
    observeUsed(key, used) {
      const limit = deps.limits.get(key);
      if (limit === undefined || !Number.isFinite(used)) return;
      const b = refill(key, limit);
      b.tokens = Math.max(0, Math.min(b.tokens, limit.capacity - used));
    },
    tryAcquire(key, weight) {
      const limit = deps.limits.get(key);
      if (limit === undefined) return { ok: true };
      const b = refill(key, limit);
      if (b.tokens >= weight) {
        b.tokens -= weight;
        return { ok: true };
      }
      const missing = weight - b.tokens;
      const retryAfterMs = limit.refillPerSecond > 0 ? Math.ceil((missing * 1000) / limit.refillPerSecond) : 60_000;
      return { ok: false, retryAfterMs };
    },
  };
}
