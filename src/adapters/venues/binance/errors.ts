import type { VenueError } from "../../../use-cases/venue-adapter.js";
import { retryAfterMs } from "../rest-venue-adapter.js";

/** Binance error body: {"code": -1121, "msg": "Invalid symbol."}. Codes are stable; messages vary. */
export interface BinanceErrorBody {
  readonly code: number;
  readonly msg: string;
}

const AUTH = new Set([-1002, -1021, -1022, -2014, -2015]);
const RATE = new Set([-1003, -1015]);
/** "Send status unknown; execution status unknown." and internal errors: the order may exist. */
const UNKNOWN = new Set([-1000, -1001, -1006, -1007]);

/**
 * Maps a Binance error answer (any non-2xx that is not 429/418/5xx, which the
 * shared shell handles) to a VenueError. Messages are the venue's own text,
 * which names the rule (e.g. "Filter failure: LOT_SIZE") and carries no secrets.
 */
export function mapBinanceError(httpStatus: number, body: unknown, headers: Readonly<Record<string, string>>): VenueError {
  const b = body as Partial<BinanceErrorBody> | null;
  const code = typeof b?.code === "number" ? b.code : undefined;
  const msg = typeof b?.msg === "string" ? b.msg.slice(0, 200) : `HTTP ${httpStatus}`;
  if (code === undefined) {
    // 403 is the WAF: the request was refused before reaching the engine.
    if (httpStatus === 403) return { kind: "unavailable", reason: "venue refused the request (HTTP 403, WAF)" };
    if (httpStatus === 401) return { kind: "auth", reason: "venue refused the credentials (HTTP 401)" };
    return { kind: "protocol", reason: `venue answered HTTP ${httpStatus} without an error code` };
  }
  const reason = `${msg} (binance ${code})`;
  if (AUTH.has(code)) return { kind: "auth", reason };
  if (RATE.has(code)) return { kind: "rate_limited", reason, retryAfterMs: retryAfterMs(headers["retry-after"]) ?? 1_000 };
  if (UNKNOWN.has(code)) return { kind: "unknown_outcome", reason };
  if (code === -2013) return { kind: "not_found", reason };
  if (code === -2011 && /unknown order/i.test(msg)) return { kind: "not_found", reason };
  // The venue already holds an order with this client order id: the earlier
  // attempt got through. Reconciliation will find it; never report REJECTED.
  if (code === -2010 && /duplicate order/i.test(msg)) return { kind: "unknown_outcome", reason };
  return { kind: "rejected", reason, code: String(code) };
}
