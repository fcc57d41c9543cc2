import { alpacaStreamKind } from "../alpaca/stream.js";
import { binanceStreamKind } from "../binance/stream.js";
import { coinbaseStreamKind } from "../coinbase/stream.js";
import { krakenStreamKind } from "../kraken/stream.js";
import { restJsonStreamKind } from "../rest-json/stream.js";
import type { VenueStreamKind } from "./stream-spec.js";

/**
 * Every venue kind with a user push stream. A new one: write <venue>/stream.ts (a
 * VenueStreamKind: pure parse and subscribe, see stream-spec.ts) and add it here.
 */
export const STREAM_KINDS: ReadonlyMap<string, VenueStreamKind> = new Map([binanceStreamKind, krakenStreamKind, alpacaStreamKind, coinbaseStreamKind, restJsonStreamKind].map((k) => [k.kind, k] as const));

/** The venue-file entry fields that decide a stream (see stream-options.ts). */
export interface StreamEntry {
  readonly kind: string;
  readonly baseUrl?: string | undefined;
  readonly [option: string]: unknown;
}

/**
 * The URL the entry's stream connects to, or undefined when the entry does not stream: its kind
 * has no stream, `userStream: false`, or it sets no `streamUrl` and its baseUrl is not the
 * production one (a testnet's REST with the production stream would mix two accounts).
 */
export function streamUrlOf(entry: StreamEntry, kinds: ReadonlyMap<string, VenueStreamKind> = STREAM_KINDS): string | undefined {
  const kind = kinds.get(entry.kind);
  if (kind === undefined || entry["userStream"] === false) return undefined;
  const url = entry["streamUrl"];
  if (typeof url === "string" && url !== "") return url;
  const base = (entry.baseUrl ?? "").replace(/\/+$/, "");
  return kind.productionBaseUrls.some((b) => b.replace(/\/+$/, "") === base) ? kind.defaultUrl : undefined;
}
