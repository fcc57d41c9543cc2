import { OrderStatus } from "../../../domain/order.js";
import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import type { VenueError, VenueFill, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import { parseJson, venueDecimal } from "../rest-venue-adapter.js";
import { formatDecimal } from "../../../domain/decimal.js";
import { add } from "../../../domain/decimal.js";
import type { UnsignedRequest } from "../translator.js";
import type { StreamAuth, StreamMessage, StreamRestSend, VenueStreamKind, VenueStreamSpec } from "../user-stream/stream-spec.js";
import { KRAKEN } from "./describe.js";
import { mapKrakenError } from "./errors.js";

/**
 * Kraken Spot WebSocket v2 `executions` channel (docs/venues.md "User streams"; venue-apis.md 8.2):
 * authenticated with a token from REST GetWebSocketsToken, fetched afresh for every connection
 * (it must be used within 15 minutes; once subscribed it lives as long as the subscription).
 */
export const KRAKEN_STREAM = {
  url: "wss://ws-auth.kraken.com/v2",
  tokenPath: "/0/private/GetWebSocketsToken",
  tokenWeight: 1,
  /** Application ping ({"method":"ping"}); the server also sends a heartbeat about once a second. */
  pingIntervalMs: 10_000,
  idleTimeoutMs: 30_000,
  /** A token never sent may be used this long after it was issued (Kraken: within 15 minutes). */
  unusedTokenMaxAgeMs: 10 * 60 * 1000,
} as const;

/** WS v2 `order_status` -> gateway status. `pending_new`: validated, not live yet; the venue has it (REST `pending` is NEW too). */
const STATUS: Readonly<Record<string, OrderStatus>> = {
  pending_new: OrderStatus.NEW,
  new: OrderStatus.NEW,
  partially_filled: OrderStatus.PARTIALLY_FILLED,
  filled: OrderStatus.FILLED,
  canceled: OrderStatus.CANCELED,
  expired: OrderStatus.EXPIRED,
};

export function toKrakenTokenRequest(): UnsignedRequest {
  return { method: "POST", path: KRAKEN_STREAM.tokenPath, query: [], body: "", contentType: "application/x-www-form-urlencoded" };
}

/** {"error":[],"result":{"token":"...","expires":900}} -> the token. */
export function fromKrakenTokenResponse(res: HttpResponse): Result<StreamAuth, VenueError> {
  if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
  const json = parseJson(res.bodyText);
  if (!json.ok) return json;
  const body = json.value as { error?: unknown; result?: { token?: unknown } } | null;
  if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
    return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
  }
  const token = body.result?.token;
  if (typeof token !== "string" || token === "") return err({ kind: "protocol", reason: "venue answer lacks result.token" });
  return ok({ token });
}

export function krakenSubscribeRequest(token: string, reqId: number): string {
  // No snapshot: the REST catch-up that follows every subscription is the one source of what was missed.
  return JSON.stringify({ method: "subscribe", params: { channel: "executions", token, snap_orders: false, snap_trades: false, order_status: true }, req_id: reqId });
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

function timeOf(v: unknown): number {
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * One entry of an executions message as an order update. `exec_type: trade` carries the execution
 * (`exec_id`, `last_qty`, `last_price`, `fees`); every entry carries `order_status` and, when the
 * venue sends them, the running totals `cum_qty` / `avg_price`. Numbers are JSON numbers.
 * undefined when the entry is malformed or its status unknown.
 */
export function fromKrakenExecution(d: Record<string, unknown>): { update: VenueOrderUpdate; clientId: string; venueOrderId: string; eventTimeMs: number } | undefined {
  const status = STATUS[str(d["order_status"])];
  const venueOrderId = str(d["order_id"]);
  if (status === undefined || venueOrderId === "") return undefined;
  const fills: VenueFill[] = [];
  const eventTimeMs = timeOf(d["timestamp"]);
  if (d["exec_type"] === "trade") {
    const qty = venueDecimal(d["last_qty"]);
    const price = venueDecimal(d["last_price"]);
    const id = str(d["exec_id"]);
    if (qty === undefined || price === undefined || id === "") return undefined;
    let fee = "0";
    let feeCurrency = "";
    if (Array.isArray(d["fees"])) {
      for (const f of d["fees"] as unknown[]) {
        const e = f as { asset?: unknown; qty?: unknown } | null;
        const q = venueDecimal(e?.qty);
        if (q === undefined) continue;
        if (feeCurrency === "") feeCurrency = str(e?.asset);
        fee = formatDecimal(add(fee, q));
      }
    }
    fills.push({ venueTradeId: id, quantity: qty, price, fee, feeCurrency, timeMs: eventTimeMs });
  }
  const cum = venueDecimal(d["cum_qty"]);
  const avg = venueDecimal(d["avg_price"]);
  const reason = str(d["reason"]);
  const update: VenueOrderUpdate = {
    status,
    venueOrderId,
    ...(cum !== undefined ? { filledQuantity: cum } : {}),
    ...(avg !== undefined && avg !== "0" ? { averageFillPrice: avg } : {}),
    ...(reason !== "" ? { rejectReason: reason } : {}),
    fills,
  };
  return { update, clientId: str(d["cl_ord_id"]), venueOrderId, eventTimeMs };
}

/**
 * One text frame. Pure.
 * - `{"method":"subscribe","success":true,"result":{"channel":"executions",...}}`: subscribed;
 *   `success:false` with `error` is a refusal (auth when it names the token or permission);
 * - `{"channel":"executions","type":"update"|"snapshot","data":[...]}`: order updates;
 * - `{"channel":"heartbeat"}`, `{"method":"pong"}`: liveness.
 */
export function parseKrakenFrame(frame: string): StreamMessage[] {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return [{ kind: "ignored" }];
  }
  if (json === null || typeof json !== "object") return [{ kind: "ignored" }];
  const m = json as Record<string, unknown>;
  if (m["method"] === "subscribe") {
    if (m["success"] === true) {
      const result = m["result"] as { channel?: unknown } | undefined;
      return result?.channel === "executions" ? [{ kind: "subscribed" }] : [{ kind: "ignored" }];
    }
    const reason = str(m["error"]) || "subscribe refused";
    return [{ kind: "error", reason: `Kraken: ${reason}`, auth: /token|permission|auth|key/i.test(reason) }];
  }
  if (m["method"] === "pong" || m["channel"] === "heartbeat") return [{ kind: "heartbeat" }];
  if (m["channel"] === "executions" && Array.isArray(m["data"])) {
    const out: StreamMessage[] = [];
    for (const d of m["data"] as unknown[]) {
      if (d === null || typeof d !== "object") continue;
      const r = fromKrakenExecution(d as Record<string, unknown>);
      if (r === undefined) continue;
      out.push({ kind: "order", event: { venueClientOrderId: r.clientId, venueOrderId: r.venueOrderId, update: r.update, eventTimeMs: r.eventTimeMs } });
    }
    return out.length > 0 ? out : [{ kind: "ignored" }];
  }
  return [{ kind: "ignored" }];
}

export interface KrakenStreamConfig {
  readonly url: string;
  readonly rest: StreamRestSend;
}

export function createKrakenStreamSpec(config: KrakenStreamConfig, nowMs: () => number = Date.now): VenueStreamSpec {
  let reqId = 0;
  // A token fetched for a connection that never opened was never sent: it is still good for its
  // first 15 minutes, so an outage does not cost a REST call (and a nonce) per reconnect attempt.
  let unused: { readonly token: string; readonly at: number } | undefined;
  return {
    url: config.url,
    async authenticate(signal) {
      if (unused !== undefined && nowMs() - unused.at < KRAKEN_STREAM.unusedTokenMaxAgeMs) return ok({ token: unused.token });
      const sent = await config.rest(toKrakenTokenRequest(), KRAKEN_STREAM.tokenWeight, signal);
      const r = sent.ok ? fromKrakenTokenResponse(sent.value) : sent;
      if (r.ok) unused = { token: r.value["token"] ?? "", at: nowMs() };
      return r;
    },
    subscribe: (auth) => {
      // Sent: from now on only a new token will do for another connection.
      if (unused?.token === auth["token"]) unused = undefined;
      return [krakenSubscribeRequest(auth["token"] ?? "", ++reqId)];
    },
    parse: parseKrakenFrame,
    heartbeat: { intervalMs: KRAKEN_STREAM.pingIntervalMs, timeoutMs: KRAKEN_STREAM.idleTimeoutMs, ping: (_now, id) => JSON.stringify({ method: "ping", req_id: id }) },
    // No renewal: the token does not expire while its subscription is kept; every reconnect fetches a new one.
  };
}

/** How kind kraken declares its stream (user-stream/stream-kinds.ts). */
export const krakenStreamKind: VenueStreamKind = {
  kind: "kraken",
  defaultUrl: KRAKEN_STREAM.url,
  productionBaseUrls: [KRAKEN.baseUrl],
  create: (input) => createKrakenStreamSpec({ url: input.url, rest: input.rest }),
};
