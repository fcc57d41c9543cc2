import * as v from "valibot";
import type { VenueOption } from "../../../shared/venue-kind-schema.js";

const noStream = (option: string) => (kind: string) => `kind ${kind} has no user push stream, so it takes no ${option}`;

/**
 * Venue-file options of every kind with a user push stream (added to the built-in kinds by
 * translator-schema.ts builtInVenueKind):
 * - `streamUrl`: the ws(s):// URL of the venue's user stream (testnets, paper endpoints, tests).
 *   Default: the kind's production stream URL when `baseUrl` is the production REST URL; an entry
 *   with another baseUrl streams only when it names its streamUrl (else it polls).
 * - `userStream`: false turns the stream off (polling only). Default true.
 * - `streamPollIntervalMs`: how often orders are still polled while the stream is live
 *   (reconciliation). Default 30000. While it is down the file's pollIntervalMs applies.
 */
export const streamVenueOptions: Readonly<Record<"streamUrl" | "userStream" | "streamPollIntervalMs", VenueOption>> = {
  streamUrl: {
    schema: v.pipe(v.string(), v.url("must be an absolute URL"), v.regex(/^wss?:\/\//, "must be a ws:// or wss:// URL")),
    otherKinds: noStream("streamUrl"),
  },
  userStream: { schema: v.boolean(), otherKinds: noStream("userStream") },
  streamPollIntervalMs: {
    schema: v.pipe(v.number(), v.integer(), v.minValue(50), v.maxValue(3_600_000)),
    otherKinds: noStream("streamPollIntervalMs"),
  },
};

export const DEFAULT_STREAM_POLL_INTERVAL_MS = 30_000;
