import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { dropMetrics } from "../../metrics/metrics.js";

/** What a stream event came to (label `outcome` of venue_stream_events_total). */
export type StreamEventOutcome = "applied" | "duplicate" | "stale" | "gap_query" | "unknown_order" | "overflow" | "error";

export interface UserStreamMetrics {
  setConnected(venue: string, connected: boolean): void;
  /** A connection ended; `reason` is a short fixed word or the venue's own (bounded) reason. */
  countReconnect(venue: string, reason: string): void;
  /** Venue event time to arrival here. */
  observeLag(venue: string, seconds: number): void;
  countEvent(venue: string, outcome: StreamEventOutcome): void;
}

/** Reconnect reasons kept as label values; anything else is counted as "other" (bounded labels). */
const REASONS = new Set(["auth", "auth_refused", "venue_error", "heartbeat_timeout", "subscribe_timeout", "queue_overflow", "catch_up_failed", "renew", "closed", "stopped"]);

/**
 * venue_stream_connected, venue_stream_reconnects_total, venue_stream_event_lag_seconds,
 * venue_stream_events_total, and venue_stream_last_event_age_seconds (computed at scrape from
 * `lastEventAt`, so it grows while a stream is silent).
 */
export function createUserStreamMetrics(registry: Registry, lastEventAt: () => ReadonlyMap<string, number>): UserStreamMetrics {
  dropMetrics(registry, ["venue_stream_connected", "venue_stream_reconnects_total", "venue_stream_event_lag_seconds", "venue_stream_events_total", "venue_stream_last_event_age_seconds"]);
  const connected = new Gauge({ name: "venue_stream_connected", help: "1 while the venue's user stream is connected and caught up (else polling is the fallback)", labelNames: ["venue"] as const, registers: [registry] });
  const reconnects = new Counter({ name: "venue_stream_reconnects_total", help: "Venue user stream connections that ended, by reason", labelNames: ["venue", "reason"] as const, registers: [registry] });
  const lag = new Histogram({
    name: "venue_stream_event_lag_seconds",
    help: "Venue event time to its arrival at the gateway (includes clock skew)",
    labelNames: ["venue"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const events = new Counter({ name: "venue_stream_events_total", help: "Venue user stream order events by what they came to", labelNames: ["venue", "outcome"] as const, registers: [registry] });
  new Gauge({
    name: "venue_stream_last_event_age_seconds",
    help: "Seconds since the venue's user stream last sent anything (absent until it did)",
    labelNames: ["venue"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const [venue, at] of lastEventAt()) if (at > 0) this.set({ venue }, Math.max(0, now - at) / 1000);
    },
  });
  return {
    setConnected: (venue, c) => connected.set({ venue }, c ? 1 : 0),
    countReconnect: (venue, reason) => reconnects.inc({ venue, reason: REASONS.has(reason) ? reason : reason.startsWith("venue:") ? "venue_request" : "other" }),
    observeLag: (venue, s) => lag.observe({ venue }, s),
    countEvent: (venue, outcome) => events.inc({ venue, outcome }),
  };
}
