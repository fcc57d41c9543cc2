import { Counter, Histogram, type Registry } from "prom-client";
import { dropMetrics } from "../metrics/metrics.js";

/** Outcome label values: "ok" or a VenueError kind. */
export type VenueOutcome = "ok" | "rejected" | "unknown_outcome" | "rate_limited" | "unavailable" | "not_found" | "auth" | "protocol";

export interface VenueMetrics {
  /** One venue HTTP call (or a call refused before sending), labelled by venue, operation and outcome. */
  observeRequest(venue: string, operation: string, outcome: VenueOutcome, seconds: number): void;
  /** One reconciliation attempt: outcome is "resolved", "pending", "not_found", "gave_up" or "error". */
  countReconciliation(venue: string, outcome: string): void;
}

/**
 * Created once per gateway and shared by every adapter (prom-client refuses
 * to register a metric name twice in one registry: a gateway built again on the
 * same registry, a high-availability takeover, replaces them). The registry is
 * passed in: no global registry, so tests get their own.
 */
export function createVenueMetrics(registry: Registry): VenueMetrics {
  dropMetrics(registry, ["venue_request_duration_seconds", "venue_requests_total", "venue_reconciliations_total"]);
  const duration = new Histogram({
    name: "venue_request_duration_seconds",
    help: "Duration of venue REST calls",
    labelNames: ["venue", "operation", "outcome"] as const,
    // Venue round trips: sub-millisecond (local fake) to seconds (timeouts).
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const total = new Counter({
    name: "venue_requests_total",
    help: "Venue REST calls by outcome",
    labelNames: ["venue", "operation", "outcome"] as const,
    registers: [registry],
  });
  const recon = new Counter({
    name: "venue_reconciliations_total",
    help: "Reconciliation / fill-poll queries of open orders by outcome",
    labelNames: ["venue", "outcome"] as const,
    registers: [registry],
  });
  return {
    observeRequest(venue, operation, outcome, seconds) {
      duration.observe({ venue, operation, outcome }, seconds);
      total.inc({ venue, operation, outcome });
    },
    countReconciliation(venue, outcome) {
      recon.inc({ venue, outcome });
    },
  };
}

/** For tests and tools that do not collect metrics. */
export const noopVenueMetrics: VenueMetrics = {
  observeRequest() {},
  countReconciliation() {},
};
