import { Counter, Gauge, type Registry } from "prom-client";
import { dropMetrics } from "./metrics.js";

/** Metrics the operator's alert rules (deploy/prometheus/alerts.yml) watch that no other part exports. */
export interface OpsMetrics {
  /** The venue's health as the gateway sees it (the grpc.health.v1 service named after it). */
  venueUp(venue: string, up: boolean): void;
  /** A StreamFills ("fills") or StreamOrderEvents ("order_events") subscriber was cut off for being too slow. */
  subscriberDropped(stream: "fills" | "order_events"): void;
}

export function createOpsMetrics(registry: Registry): OpsMetrics {
  dropMetrics(registry, ["gateway_venue_up", "gateway_stream_subscribers_dropped_total"]);
  const up = new Gauge({
    name: "gateway_venue_up",
    help: "1 while the gateway considers the venue serving, 0 after consecutive failures marked it down (the venue's grpc.health.v1 status).",
    labelNames: ["venue"] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: "gateway_stream_subscribers_dropped_total",
    help: "Stream subscribers cut off for falling behind (RESOURCE_EXHAUSTED SUBSCRIBER_TOO_SLOW), by stream: fills, order_events.",
    labelNames: ["stream"] as const,
    registers: [registry],
  });
  // Present from the start at 0, so rate() and absence checks work before the first drop.
  dropped.inc({ stream: "fills" }, 0);
  dropped.inc({ stream: "order_events" }, 0);
  return {
    venueUp: (venue, isUp) => up.set({ venue }, isUp ? 1 : 0),
    subscriberDropped: (stream) => dropped.inc({ stream }),
  };
}
