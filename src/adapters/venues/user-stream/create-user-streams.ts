import type { Logger } from "pino";
import type { Clock } from "../../../domain/ports.js";
import type { OrderUpdateSink, VenueAdapter } from "../../../use-cases/venue-adapter.js";
import type { VenueSettingsFile } from "../registry.js";
import type { TranslatorRules } from "../translator.js";
import type { UserStreamMetrics } from "./stream-metrics.js";
import { DEFAULT_STREAM_POLL_INTERVAL_MS } from "./stream-options.js";
import { STREAM_KINDS, streamUrlOf } from "./stream-kinds.js";
import type { StreamRestSend, VenueStreamKind } from "./stream-spec.js";
import type { UserStream, UserStreamSettings, UserStreamState } from "./user-stream.js";
import { createUserStream } from "./user-stream.js";

export interface UserStreamsDeps {
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  /** Each REST venue's one-request path (registry onRestSend). */
  readonly rest: ReadonlyMap<string, StreamRestSend>;
  /** The order manager behind createFillGuardSink. */
  readonly sink: OrderUpdateSink;
  /** The REST catch-up of one venue (the poller's sweep of its open orders). */
  catchUp(venue: string, signal: AbortSignal): Promise<boolean>;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly metrics?: UserStreamMetrics | undefined;
  readonly onState?: ((venue: string, state: UserStreamState) => void) | undefined;
  readonly settings?: Partial<UserStreamSettings> | undefined;
  /** Default STREAM_KINDS. */
  readonly kinds?: ReadonlyMap<string, VenueStreamKind>;
}

/** The streams and what polling needs to know of them. */
export interface UserStreams {
  readonly streams: ReadonlyMap<string, UserStream>;
  /** The poll interval of a venue with a live stream (venue file streamPollIntervalMs). */
  readonly slowPollMs: ReadonlyMap<string, number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * One UserStream per venue of the file whose kind has a stream and whose entry streams (see
 * streamUrlOf). Not started: start() once the pipeline (the sink) is ready.
 */
export function createUserStreams(file: VenueSettingsFile, deps: UserStreamsDeps): UserStreams {
  const kinds = deps.kinds ?? STREAM_KINDS;
  const streams = new Map<string, UserStream>();
  const slowPollMs = new Map<string, number>();
  for (const entry of file.venues) {
    const kind = kinds.get(entry.kind);
    const url = streamUrlOf(entry, kinds);
    const adapter = deps.venues.get(entry.name);
    const rest = deps.rest.get(entry.name);
    if (kind === undefined || adapter === undefined) continue;
    if (url === undefined) {
      deps.logger?.info({ venue: entry.name }, "venue user stream off (userStream: false, or no streamUrl for a non-production baseUrl): polling only");
      continue;
    }
    if (rest === undefined) continue;
    const spec = kind.create({
      venue: entry.name,
      url,
      credentials: entry.credentials,
      rules: entry["rules"] as TranslatorRules | undefined,
      options: entry,
      rest,
    });
    streams.set(
      entry.name,
      createUserStream({
        venue: entry.name,
        spec,
        sink: deps.sink,
        catchUp: (signal) => deps.catchUp(entry.name, signal),
        queryOrder: (order, signal) => adapter.queryOrder(order, { signal, deadlineMs: deps.clock.nowMs() + entry.timeoutMs }),
        clock: deps.clock,
        logger: deps.logger,
        metrics: deps.metrics,
        onState: deps.onState,
        settings: deps.settings,
      }),
    );
    const slow = entry["streamPollIntervalMs"];
    slowPollMs.set(entry.name, typeof slow === "number" ? slow : DEFAULT_STREAM_POLL_INTERVAL_MS);
  }
  return {
    streams,
    slowPollMs,
    start() {
      for (const s of streams.values()) s.start();
    },
    async stop() {
      await Promise.allSettled([...streams.values()].map((s) => s.stop()));
    },
  };
}
