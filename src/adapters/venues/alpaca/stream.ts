import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError } from "../../../use-cases/venue-adapter.js";
import type { StreamOrderEvent } from "../stream-order-event.js";
import type { TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import { alpacaRules } from "./describe.js";
import type { AlpacaCredentials } from "./sign.js";

/**
 * Alpaca `trade_updates` (docs/venue-streams-alpaca-coinbase.md §1): pure message building and
 * parsing. The connection, timers and reconnects live in the stream framework.
 */
export const ALPACA_STREAM = {
  url: "wss://api.alpaca.markets/stream",
  paperUrl: "wss://paper-api.alpaca.markets/stream",
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
   * de-duplicated by cumulative quantity on both paths (stream-order-event.ts).
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
          timeMs: Number.isFinite(ts) ? ts : 0,
        },
      });
    }
    default:
      return ok({ kind: "other" });
  }
}
