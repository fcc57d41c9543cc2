import { div } from "../../../domain/decimal.js";
import type { VenueFill, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import { formatDecimal, mapStatus } from "../translator.js";
import type { TranslatorRules } from "../translator.js";
import { venueDecimal } from "../rest-venue-adapter.js";
import type { StreamMessage, VenueStreamKind, VenueStreamSpec } from "../user-stream/stream-spec.js";
import { BINANCE, binanceRules } from "./describe.js";
import { binanceSignature } from "./sign.js";

/**
 * Binance Spot user data stream on the WebSocket API (docs/venues.md "User streams"; venue-apis.md
 * 8.1). The listenKey flow (REST /api/v3/userDataStream, WS API userDataStream.start/ping/stop)
 * was retired on 2026-02-20; the current way for any key type is `userDataStream.subscribe.signature`
 * in any session: signed like every WS API SIGNED request (params but `signature` sorted by name,
 * joined as a query string, HMAC-SHA256 hex for an HMAC key).
 */
export const BINANCE_STREAM = {
  url: "wss://ws-api.binance.com:443/ws-api/v3",
  testnetUrl: "wss://ws-api.testnet.binance.vision/ws-api/v3",
  /** The server pings every 20 s and drops a client that does not pong within a minute (ws pongs by itself). */
  pingIntervalMs: 15_000,
  /** Nothing at all for this long (the server's own pings included) is a dead connection. */
  idleTimeoutMs: 60_000,
  /** A connection lives 24 h at most: a fresh one (re-subscribed, caught up) replaces it before. */
  renewAfterMs: 23 * 60 * 60 * 1000,
  /** Authentication refusals: -1022 bad signature, -2014 bad API-key format, -2015 invalid key/IP/permissions. */
  authCodes: [-1022, -2014, -2015],
} as const;

export interface BinanceStreamCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** The subscribe request: pure given nowMs and the request id. */
export function binanceSubscribeRequest(credentials: BinanceStreamCredentials, nowMs: number, id: string, recvWindowMs?: number): string {
  const params: [string, string][] = [
    ["apiKey", credentials.apiKey],
    ...(recvWindowMs !== undefined ? ([["recvWindow", String(recvWindowMs)]] as [string, string][]) : []),
    ["timestamp", String(nowMs)],
  ];
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const payload = params.map(([k, v]) => `${k}=${v}`).join("&");
  const signature = binanceSignature(payload, credentials.apiSecret);
  const out: Record<string, string | number> = { apiKey: credentials.apiKey, timestamp: nowMs, signature };
  if (recvWindowMs !== undefined) out["recvWindow"] = recvWindowMs;
  return JSON.stringify({ id, method: "userDataStream.subscribe.signature", params: out });
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : "";
}

/**
 * One `executionReport` event as an order update, in the same shape as the REST answers: status
 * `X` through the venue's status table, cumulative `z` (average `Z`/`z`), and for `x: TRADE` the
 * execution (`t` trade id, the same id myTrades and FULL answers give, `l`, `L`, `n`, `N`, `T`).
 * undefined when the event is malformed or its status unknown.
 */
export function fromExecutionReport(e: Record<string, unknown>, rules: TranslatorRules = binanceRules): { update: VenueOrderUpdate; clientId: string; venueOrderId: string; eventTimeMs: number } | undefined {
  const st = mapStatus(rules.enums, str(e["X"]));
  if (!st.ok) return undefined;
  const venueOrderId = str(e["i"]);
  const execType = str(e["x"]);
  // A cancel's event names the cancel request in `c` and the order in `C`.
  const orig = str(e["C"]);
  const clientId = orig !== "" ? orig : str(e["c"]);
  const z = venueDecimal(e["z"]);
  const quote = venueDecimal(e["Z"]);
  const fills: VenueFill[] = [];
  if (execType === "TRADE") {
    const qty = venueDecimal(e["l"]);
    const price = venueDecimal(e["L"]);
    const tid = str(e["t"]);
    if (qty === undefined || price === undefined || tid === "" || tid === "-1") return undefined;
    const fee = venueDecimal(e["n"]) ?? "0";
    const t = e["T"];
    fills.push({ venueTradeId: tid, quantity: qty, price, fee, feeCurrency: str(e["N"]), timeMs: typeof t === "number" ? t : 0 });
  }
  const reject = str(e["r"]);
  const update: VenueOrderUpdate = {
    status: st.value,
    venueOrderId,
    ...(z !== undefined ? { filledQuantity: z } : {}),
    ...(z !== undefined && quote !== undefined && z !== "0" ? { averageFillPrice: formatDecimal(div(quote, z).toDecimalPlaces(12).toFixed()) } : {}),
    ...(reject !== "" && reject !== "NONE" ? { rejectReason: reject } : {}),
    fills,
  };
  const E = e["E"];
  return { update, clientId, venueOrderId, eventTimeMs: typeof E === "number" ? E : 0 };
}

/**
 * One text frame of the WebSocket API session. Pure.
 * - `{"id":..,"status":200,"result":{"subscriptionId":0}}`: subscribed; another status with
 *   `error: {code, msg}` is a refusal (auth for the signature/key codes).
 * - `{"subscriptionId":0,"event":{"e":"executionReport",...}}`: an order update.
 * - `eventStreamTerminated`, `serverShutdown`: the venue ends the subscription: reconnect.
 */
export function parseBinanceFrame(frame: string, rules: TranslatorRules = binanceRules): StreamMessage[] {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return [{ kind: "ignored" }];
  }
  if (json === null || typeof json !== "object") return [{ kind: "ignored" }];
  const m = json as Record<string, unknown>;
  if (m["event"] !== undefined && m["event"] !== null && typeof m["event"] === "object") {
    const e = m["event"] as Record<string, unknown>;
    switch (e["e"]) {
      case "executionReport": {
        const r = fromExecutionReport(e, rules);
        if (r === undefined) return [{ kind: "ignored" }];
        return [{ kind: "order", event: { venueClientOrderId: r.clientId, venueOrderId: r.venueOrderId, update: r.update, eventTimeMs: r.eventTimeMs } }];
      }
      case "eventStreamTerminated":
        return [{ kind: "reconnect", reason: "eventStreamTerminated" }];
      case "serverShutdown":
        return [{ kind: "reconnect", reason: "serverShutdown" }];
      default:
        return [{ kind: "ignored" }];
    }
  }
  if (m["id"] !== undefined && typeof m["status"] === "number") {
    if (m["status"] === 200) {
      const result = m["result"] as Record<string, unknown> | null | undefined;
      return result !== null && typeof result === "object" && "subscriptionId" in result ? [{ kind: "subscribed" }] : [{ kind: "ignored" }];
    }
    const error = (m["error"] ?? {}) as { code?: unknown; msg?: unknown };
    const code = typeof error.code === "number" ? error.code : 0;
    return [{ kind: "error", reason: `Binance ${m["status"]} ${code}: ${str(error.msg)}`, auth: (BINANCE_STREAM.authCodes as readonly number[]).includes(code) }];
  }
  return [{ kind: "ignored" }];
}

export interface BinanceStreamConfig {
  readonly url: string;
  readonly credentials: BinanceStreamCredentials;
  readonly recvWindowMs?: number | undefined;
  readonly rules?: TranslatorRules | undefined;
}

export function createBinanceStreamSpec(config: BinanceStreamConfig): VenueStreamSpec {
  let n = 0;
  const rules = config.rules ?? binanceRules;
  return {
    url: config.url,
    subscribe: (_auth, nowMs) => [binanceSubscribeRequest(config.credentials, nowMs, `uds-${++n}`, config.recvWindowMs)],
    parse: (frame) => parseBinanceFrame(frame, rules),
    // No application ping: WebSocket ping frames (Binance answers them with pongs).
    heartbeat: { intervalMs: BINANCE_STREAM.pingIntervalMs, timeoutMs: BINANCE_STREAM.idleTimeoutMs },
    renew: { afterMs: BINANCE_STREAM.renewAfterMs },
  };
}

/** How kind binance declares its stream (user-stream/stream-kinds.ts). */
export const binanceStreamKind: VenueStreamKind = {
  kind: "binance",
  defaultUrl: BINANCE_STREAM.url,
  productionBaseUrls: [BINANCE.baseUrl],
  create: (input) =>
    createBinanceStreamSpec({
      url: input.url,
      credentials: { apiKey: input.credentials["apiKey"] ?? "", apiSecret: input.credentials["apiSecret"] ?? "" },
      recvWindowMs: typeof input.options["recvWindowMs"] === "number" ? input.options["recvWindowMs"] : undefined,
      rules: input.rules,
    }),
};
