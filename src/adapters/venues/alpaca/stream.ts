import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError } from "../../../use-cases/venue-adapter.js";
import type { TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import type { StreamMessage, StreamOrderEvent, VenueStreamKind, VenueStreamSpec } from "../user-stream/stream-spec.js";
import { ALPACA, alpacaRules } from "./describe.js";
import type { AlpacaCredentials } from "./sign.js";

/**
 * Alpaca `trade_updates` (docs/venues.md, "Alpaca and Coinbase streams"): pure message building and
 * parsing. The connection, timers and reconnects live in the stream framework.
 */
export const ALPACA_STREAM = {
  url: "wss://api.alpaca.markets/stream",
  paperUrl: "wss://paper-api.alpaca.markets/stream",
  /**
   * Keep-alive is not documented for this endpoint: WebSocket ping control frames (answered by
   * any RFC 6455 server) every 15 s, dead after 45 s without a frame or pong.
   */
  pingIntervalMs: 15_000,
  idleTimeoutMs: 45_000,
} as const;

/** The authenticate message, in the form the streaming docs quote ({"action":"authenticate","data":{key_id,secret_key}}). */
export function alpacaAuthMessage(credentials: AlpacaCredentials): string {
  return JSON.stringify({ action: "authenticate", data: { key_id: credentials.keyId, secret_key: credentials.secretKey } });
}

/** `streams` is the full set wanted (an empty list stops them all). */
export function alpacaListenMessage(): string {
  return JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } });
}

export type AlpacaStreamMessage =
  /** {"stream":"authorization","data":{"status":"authorized"|"unauthorized","action":"authenticate"|"listen"}} */
  | { readonly kind: "authorization"; readonly authorized: boolean; readonly action: string }
  /** {"stream":"listening","data":{"streams":[...]}}: the streams actually granted. */
  | { readonly kind: "listening"; readonly streams: readonly string[] }
  /**
   * A trade update: `event` (new, fill, partial_fill, canceled, ...) and the order object it
   * carries, read exactly as a REST order answer is (cumulative filled_qty / filled_avg_price),
   * so the stream and polling give the same VenueOrderUpdate. `executionId` is the fill's
   * execution_id, kept for the logs only: REST answers carry no execution ids, so fills are
   * de-duplicated by cumulative quantity on both paths (`cumulativeOnly`, user-stream/stream-update.ts).
   */
  | { readonly kind: "order"; readonly event: string; readonly executionId: string; readonly order: StreamOrderEvent }
  | { readonly kind: "other" };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses one frame. The paper endpoint sends trade_updates in binary frames (UTF-8 JSON, when
 * the MessagePack codec is not asked for), the data endpoint in text frames: both are accepted.
 */
export function parseAlpacaStreamMessage(frame: string | Uint8Array, rules: TranslatorRules = alpacaRules): Result<AlpacaStreamMessage, VenueError> {
  let text: string;
  try {
    text = typeof frame === "string" ? frame : decoder.decode(frame);
  } catch {
    return err({ kind: "protocol", reason: "venue stream frame is not UTF-8" });
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return err({ kind: "protocol", reason: "venue stream frame is not JSON" });
  }
  if (m === null || typeof m !== "object") return err({ kind: "protocol", reason: "venue stream frame is not an object" });
  const msg = m as { stream?: unknown; data?: unknown };
  const data = msg.data !== null && typeof msg.data === "object" ? (msg.data as Record<string, unknown>) : {};
  switch (msg.stream) {
    case "authorization":
      return ok({ kind: "authorization", authorized: data["status"] === "authorized", action: typeof data["action"] === "string" ? data["action"] : "" });
    case "listening":
      return ok({ kind: "listening", streams: Array.isArray(data["streams"]) ? data["streams"].filter((s): s is string => typeof s === "string") : [] });
    case "trade_updates": {
      const order = data["order"];
      if (order === null || typeof order !== "object") return err({ kind: "protocol", reason: "venue trade update lacks the order" });
      const u = parseOrderAnswer(order, rules);
      if (!u.ok) return u;
      const o = order as { client_order_id?: unknown; updated_at?: unknown };
      const ts = typeof data["timestamp"] === "string" ? Date.parse(data["timestamp"]) : typeof o.updated_at === "string" ? Date.parse(o.updated_at) : NaN;
      return ok({
        kind: "order",
        event: typeof data["event"] === "string" ? data["event"] : "",
        executionId: typeof data["execution_id"] === "string" ? data["execution_id"] : "",
        order: {
          venueOrderId: u.value.venueOrderId,
          venueClientOrderId: typeof o.client_order_id === "string" ? o.client_order_id : "",
          update: u.value,
          eventTimeMs: Number.isFinite(ts) ? ts : 0,
          cumulativeOnly: true,
        },
      });
    }
    default:
      return ok({ kind: "other" });
  }
}

/**
 * One frame as the framework's messages: authorized -> send `listen` (a listen before the
 * authorization answer is refused); listening with trade_updates -> subscribed; unauthorized ->
 * an auth error (the supervisor closes and retries with back-off); a trade update -> an order
 * event. A malformed trade update is ignored here: the REST catch-up and polling settle it.
 */
export function alpacaStreamMessages(frame: string, rules: TranslatorRules = alpacaRules): StreamMessage[] {
  const r = parseAlpacaStreamMessage(frame, rules);
  if (!r.ok) return [{ kind: "ignored" }];
  const m = r.value;
  switch (m.kind) {
    case "authorization":
      if (!m.authorized) return [{ kind: "error", reason: `Alpaca: ${m.action === "listen" ? "listen before authorization" : "key refused"}`, auth: true }];
      return m.action === "authenticate" ? [{ kind: "send", frames: [alpacaListenMessage()] }] : [{ kind: "ignored" }];
    case "listening":
      return m.streams.includes("trade_updates") ? [{ kind: "subscribed" }] : [{ kind: "error", reason: "Alpaca: trade_updates not granted" }];
    case "order":
      return [{ kind: "order", event: m.order }];
    default:
      return [{ kind: "ignored" }];
  }
}

export function createAlpacaStreamSpec(url: string, credentials: AlpacaCredentials, rules: TranslatorRules = alpacaRules): VenueStreamSpec {
  return {
    url,
    // Key and secret are the whole authentication: nothing to fetch, nothing expires.
    subscribe: () => [alpacaAuthMessage(credentials)],
    parse: (frame) => alpacaStreamMessages(frame, rules),
    heartbeat: { intervalMs: ALPACA_STREAM.pingIntervalMs, timeoutMs: ALPACA_STREAM.idleTimeoutMs },
  };
}

/** How kind alpaca declares its stream (user-stream/stream-kinds.ts). */
export const alpacaStreamKind: VenueStreamKind = {
  kind: "alpaca",
  defaultUrl: ALPACA_STREAM.url,
  productionBaseUrls: [ALPACA.baseUrl, ALPACA.paperBaseUrl],
  create(input) {
    // A paper-trading entry (baseUrl paper-api) without its own streamUrl listens to the paper stream.
    const base = typeof input.options["baseUrl"] === "string" ? input.options["baseUrl"].replace(/\/+$/, "") : "";
    const url = input.url === ALPACA_STREAM.url && base === ALPACA.paperBaseUrl ? ALPACA_STREAM.paperUrl : input.url;
    return createAlpacaStreamSpec(url, { keyId: input.credentials["keyId"] ?? "", secretKey: input.credentials["secretKey"] ?? "" }, input.rules ?? alpacaRules);
  },
};
