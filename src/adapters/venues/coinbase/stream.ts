import { createPrivateKey, randomBytes, type KeyObject } from "node:crypto";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError } from "../../../use-cases/venue-adapter.js";
import type { AnswerRule, TranslatorRules } from "../translator.js";
import { parseOrderAnswer } from "../translator.js";
import type { StreamMessage, StreamOrderEvent, VenueStreamKind, VenueStreamSpec } from "../user-stream/stream-spec.js";
import { COINBASE, coinbaseRules } from "./describe.js";
import { coinbaseWsJwt } from "./sign.js";

/**
 * Coinbase Advanced Trade `user` channel (docs/venues.md, "Alpaca and Coinbase streams"): pure message
 * building and parsing. The connection, timers and renewal live in the stream framework.
 */
export const COINBASE_STREAM = {
  /** "User Order Data" endpoint: heartbeats, user, futures_balance_summary. */
  url: "wss://advanced-trade-ws-user.coinbase.com",
  /** "you are disconnected if no subscribe has been received within 5 seconds". */
  subscribeWithinMs: 5_000,
  /** Heartbeats arrive every second; channels close after 60-90 s without updates. */
  heartbeatEveryMs: 1_000,
  /** With a heartbeat a second, 10 s without any frame means the connection is dead. */
  pingIntervalMs: 5_000,
  idleTimeoutMs: 10_000,
  /**
   * Re-subscribe with fresh JWTs before the 2-minute expiry of the ones the subscription was made
   * with. Whether a live subscription outlives its JWT is not documented; renewing costs one
   * snapshot of the open orders (de-duplicated) every 100 s.
   */
  renewAfterMs: 100_000,
} as const;

/**
 * Where the fields of one `user`-channel order are: the same roles as the REST Get Order answer
 * (coinbaseRules.answer) under the channel's names. Quantities and fees are cumulative; the
 * channel carries no trade id and no per-fill quantity.
 */
export const coinbaseUserOrderAnswer: AnswerRule = {
  venueOrderId: "order_id",
  status: "status",
  filledQuantity: "cumulative_quantity",
  averagePrice: "avg_price",
  cumulativeFee: "total_fees",
  rejectReason: "reject_reason",
};

/**
 * One subscribe message, with its own JWT: "You must generate a different JWT for each websocket
 * message sent, since the JWTs will expire after 2 minutes." One channel per message.
 */
export function coinbaseSubscribeMessage(
  channel: "user" | "heartbeats",
  credentials: { keyName: string; key: KeyObject },
  nowMs: number,
  nonce: string,
  productIds?: readonly string[],
): string {
  const jwt = coinbaseWsJwt(credentials, nowMs, nonce);
  const msg: Record<string, unknown> = { type: "subscribe", channel };
  // `product_ids` is optional on `user` (omit for all products); the gateway listens to all.
  if (productIds !== undefined && productIds.length > 0) msg["product_ids"] = [...productIds];
  msg["jwt"] = jwt;
  return JSON.stringify(msg);
}

export type CoinbaseStreamMessage =
  /** `user` channel: orders of a snapshot (open orders, batched by 50) or an update. */
  | { readonly kind: "orders"; readonly sequence: number; readonly snapshot: boolean; readonly orders: StreamOrderEvent[]; readonly errors: VenueError[] }
  | { readonly kind: "heartbeat"; readonly sequence: number; readonly counter: number }
  /** The server's answer to (un)subscribe: the channels now subscribed. */
  | { readonly kind: "subscriptions"; readonly sequence: number; readonly channels: Readonly<Record<string, readonly string[]>> }
  /** {"type":"error","message":"..."}: e.g. a refused JWT. */
  | { readonly kind: "error"; readonly reason: string }
  /** Anything else ("Clients are expected to ignore messages they do not support"). */
  | { readonly kind: "other"; readonly sequence?: number };

function timeOf(v: unknown): number {
  if (typeof v !== "string") return 0;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : 0;
}

/**
 * Parses one text frame. A frame that is not JSON, or a `user` message without its envelope, is
 * a `protocol` error; one malformed order (an unknown status, say) is reported in `errors` and
 * does not hide the others of its batch.
 */
export function parseCoinbaseStreamMessage(frame: string, rules: TranslatorRules = coinbaseRules): Result<CoinbaseStreamMessage, VenueError> {
  let m: unknown;
  try {
    m = JSON.parse(frame);
  } catch {
    return err({ kind: "protocol", reason: "venue stream frame is not JSON" });
  }
  if (m === null || typeof m !== "object") return err({ kind: "protocol", reason: "venue stream frame is not an object" });
  const msg = m as Record<string, unknown>;
  if (msg["type"] === "error") return ok({ kind: "error", reason: typeof msg["message"] === "string" ? msg["message"].slice(0, 200) : "error" });
  const sequence = typeof msg["sequence_num"] === "number" ? msg["sequence_num"] : -1;
  const events = Array.isArray(msg["events"]) ? (msg["events"] as unknown[]) : undefined;
  const envTime = timeOf(msg["timestamp"]);
  switch (msg["channel"]) {
    case "heartbeats": {
      const e = events?.[0] as { heartbeat_counter?: unknown } | undefined;
      // The AsyncAPI says the live feed sends an integer; the prose example a string.
      const counter = Number(e?.heartbeat_counter ?? -1);
      return ok({ kind: "heartbeat", sequence, counter: Number.isFinite(counter) ? counter : -1 });
    }
    case "subscriptions": {
      const e = events?.[0] as { subscriptions?: unknown } | undefined;
      const subs = e?.subscriptions !== null && typeof e?.subscriptions === "object" ? (e.subscriptions as Record<string, unknown>) : {};
      const channels: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(subs)) channels[k] = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
      return ok({ kind: "subscriptions", sequence, channels });
    }
    case "user": {
      if (events === undefined) return err({ kind: "protocol", reason: "venue user message lacks events" });
      const orders: StreamOrderEvent[] = [];
      const errors: VenueError[] = [];
      let snapshot = false;
      for (const ev of events) {
        if (ev === null || typeof ev !== "object") continue;
        const e = ev as { type?: unknown; orders?: unknown };
        if (e.type === "snapshot") snapshot = true;
        if (!Array.isArray(e.orders)) continue;
        for (const o of e.orders as unknown[]) {
          const u = parseOrderAnswer(o, rules, coinbaseUserOrderAnswer);
          if (!u.ok) {
            errors.push(u.error);
            continue;
          }
          const rec = o as { client_order_id?: unknown };
          orders.push({
            venueOrderId: u.value.venueOrderId,
            venueClientOrderId: typeof rec.client_order_id === "string" ? rec.client_order_id : "",
            update: u.value,
            eventTimeMs: envTime,
            // No trade id on this channel: fills come from the rise of the cumulative figures.
            cumulativeOnly: true,
          });
        }
      }
      return ok({ kind: "orders", sequence, snapshot, orders, errors });
    }
    default:
      return ok(sequence >= 0 ? { kind: "other", sequence } : { kind: "other" });
  }
}

/**
 * True when `next` does not follow `prev` on one connection: a message was lost and the gateway
 * must catch up over REST. sequence_num counts every message of the connection, heartbeats
 * included; -1 (absent) never counts as a gap.
 */
export function coinbaseSequenceGap(prev: number, next: number): boolean {
  return prev >= 0 && next >= 0 && next !== prev + 1;
}

export interface CoinbaseStreamConfig {
  readonly url: string;
  readonly keyName: string;
  readonly privateKeyPem: string;
  readonly rules?: TranslatorRules | undefined;
  /** JWT nonce source; random hex by default. */
  readonly nonce?: (() => string) | undefined;
}

/**
 * The `user` channel as a framework stream: heartbeats and user subscribes, each with its own
 * fresh JWT; subscribed once the `subscriptions` answer lists `user`; renewed with fresh JWTs
 * before they expire; a skipped sequence_num (a lost message) reconnects, and the reconnect's
 * REST catch-up recovers what was lost.
 */
export function createCoinbaseStreamSpec(config: CoinbaseStreamConfig): VenueStreamSpec {
  const rules = config.rules ?? coinbaseRules;
  const nonce = config.nonce ?? (() => randomBytes(16).toString("hex"));
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(config.privateKeyPem);
  } catch {
    key = undefined;
  }
  // The last sequence_num of the current connection (reset by subscribe, called once per connection).
  let lastSeq = -1;
  const frames = (nowMs: number): string[] => {
    const creds = { keyName: config.keyName, key: key! };
    return [coinbaseSubscribeMessage("heartbeats", creds, nowMs, nonce()), coinbaseSubscribeMessage("user", creds, nowMs, nonce())];
  };
  return {
    url: config.url,
    // Never echo the PEM: name the problem only.
    authenticate: async () => (key === undefined ? err({ kind: "auth", reason: "the Coinbase private key is not a valid PEM key" }) : ok({})),
    subscribe(_auth, nowMs) {
      lastSeq = -1;
      return frames(nowMs);
    },
    parse(frame): StreamMessage[] {
      const r = parseCoinbaseStreamMessage(frame, rules);
      if (!r.ok) return [{ kind: "ignored" }];
      const m = r.value;
      if (m.kind === "error") return [{ kind: "error", reason: `Coinbase: ${m.reason}`, auth: /auth|jwt|token|unauthori/i.test(m.reason) }];
      const seq = m.kind === "other" ? (m.sequence ?? -1) : m.sequence;
      // Only a skip forward is a loss; a repeated or older number (a duplicate) is processed as is.
      if (seq >= 0 && lastSeq >= 0 && seq > lastSeq + 1) {
        const reason = `sequence gap (${seq} after ${lastSeq})`;
        lastSeq = seq;
        return [{ kind: "reconnect", reason }];
      }
      if (seq > lastSeq) lastSeq = seq;
      switch (m.kind) {
        case "subscriptions":
          return m.channels["user"] !== undefined ? [{ kind: "subscribed" }] : [{ kind: "ignored" }];
        case "heartbeat":
          return [{ kind: "heartbeat" }];
        case "orders":
          return m.orders.length > 0 ? m.orders.map((event) => ({ kind: "order" as const, event })) : [{ kind: "ignored" }];
        default:
          return [{ kind: "ignored" }];
      }
    },
    heartbeat: { intervalMs: COINBASE_STREAM.pingIntervalMs, timeoutMs: COINBASE_STREAM.idleTimeoutMs },
    renew: { afterMs: COINBASE_STREAM.renewAfterMs, frames: (_auth, nowMs) => frames(nowMs) },
    // "disconnected if no subscribe has been received within 5 seconds": the answer comes well before 10 s.
    subscribeTimeoutMs: 10_000,
  };
}

/** How kind coinbase declares its stream (user-stream/stream-kinds.ts). */
export const coinbaseStreamKind: VenueStreamKind = {
  kind: "coinbase",
  defaultUrl: COINBASE_STREAM.url,
  productionBaseUrls: [COINBASE.baseUrl],
  create: (input) =>
    createCoinbaseStreamSpec({ url: input.url, keyName: input.credentials["keyName"] ?? "", privateKeyPem: input.credentials["privateKey"] ?? "", rules: input.rules }),
};
