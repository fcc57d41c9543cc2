import type { VenueError } from "../../../use-cases/venue-adapter.js";

/** Alpaca error body: {"code": 42210000, "message": "invalid limit_price 290.123. sub-penny increment ..."}. */
export function mapAlpacaError(httpStatus: number, body: unknown): VenueError {
  const b = body as { code?: unknown; message?: unknown } | null;
  const message = typeof b?.message === "string" ? b.message.slice(0, 200) : `HTTP ${httpStatus}`;
  const code = typeof b?.code === "number" || typeof b?.code === "string" ? String(b.code) : String(httpStatus);
  const reason = `${message} (alpaca ${code})`;
  if (httpStatus === 401) return { kind: "auth", reason };
  if (httpStatus === 403) {
    // 403 is both "Buying power or shares is not sufficient." and a forbidden key.
    return /buying power|shares|insufficient/i.test(message) ? { kind: "rejected", reason, code } : { kind: "auth", reason };
  }
  if (httpStatus === 404) return { kind: "not_found", reason };
  // An order with this client_order_id already exists: an earlier attempt got through.
  if (/client_order_id must be unique|duplicate/i.test(message)) return { kind: "unknown_outcome", reason };
  if (httpStatus === 400 || httpStatus === 422) return { kind: "rejected", reason, code };
  return { kind: "protocol", reason };
}
