import { invalidArgument, type GatewayError } from "../domain/errors.js";
import { err, ok, type Result } from "../domain/result.js";
import type { VenueAdapter } from "./venue-adapter.js";

/**
 * Picks the adapter named by the order's `venue`. Pure. Validation already
 * rejects unknown venues; this keeps the guarantee on its own so a caller
 * that skips validation still cannot reach a venue that is not configured.
 */
export function routeOrder(venue: string, venues: ReadonlyMap<string, VenueAdapter>): Result<VenueAdapter, GatewayError> {
  const adapter = venues.get(venue);
  if (adapter === undefined) {
    return err(invalidArgument([{ field: "venue", description: `unknown venue "${venue}"; configured: ${[...venues.keys()].join(", ")}` }]));
  }
  return ok(adapter);
}
