import type { VenueError } from "../../../use-cases/venue-adapter.js";

/**
 * Kraken error strings: `<severity><category>:<message>`, in the `error`
 * array of an HTTP 200 answer. Exact strings first, then by category.
 */
const EXACT: Readonly<Record<string, VenueError["kind"]>> = {
  "EAPI:Invalid key": "auth",
  "EAPI:Invalid signature": "auth",
  "EAPI:Invalid nonce": "auth",
  "EGeneral:Permission denied": "auth",
  "EAPI:Rate limit exceeded": "rate_limited",
  "EOrder:Rate limit exceeded": "rate_limited",
  "EGeneral:Temporary lockout": "rate_limited",
  "EOrder:Unknown order": "not_found",
  "EService:Unavailable": "unavailable",
  "EService:Market in cancel_only mode": "rejected",
  "EService:Market in post_only mode": "rejected",
  // The engine may or may not have taken the order.
  "EService:Busy": "unknown_outcome",
  "EService:Deadline elapsed": "unknown_outcome",
  "EGeneral:Internal error": "unknown_outcome",
};

export function mapKrakenError(errors: readonly string[]): VenueError {
  const first = (errors.find((e) => e.startsWith("E")) ?? errors[0] ?? "EGeneral:Unknown error").slice(0, 200);
  const key = first.split(":").slice(0, 2).join(":");
  const kind = EXACT[key] ?? (first.startsWith("EAPI:") ? "auth" : first.startsWith("EService:") ? "unknown_outcome" : "rejected");
  const reason = `${first} (kraken)`;
  switch (kind) {
    case "rate_limited":
      // Kraken's counters decay by about one unit per second or two.
      return { kind, reason, retryAfterMs: 2_000 };
    case "rejected":
      return { kind, reason, code: key };
    default:
      return { kind, reason } as VenueError;
  }
}
