import type { VenueError } from "../../../use-cases/venue-adapter.js";

/** Non-2xx answers: {"error":"NOT_FOUND","message":"...","error_details":"..."} (CDP error shape). */
export function mapCoinbaseHttpError(httpStatus: number, body: unknown): VenueError {
  const b = body as { error?: unknown; message?: unknown } | null;
  const code = typeof b?.error === "string" ? b.error.slice(0, 64) : String(httpStatus);
  const message = typeof b?.message === "string" ? b.message.slice(0, 200) : `HTTP ${httpStatus}`;
  const reason = `${message} (coinbase ${code})`;
  if (httpStatus === 401 || httpStatus === 403) return { kind: "auth", reason };
  if (httpStatus === 404) return { kind: "not_found", reason };
  if (httpStatus === 400 || httpStatus === 409 || httpStatus === 422) return { kind: "rejected", reason, code };
  return { kind: "protocol", reason };
}

/**
 * A create answered {"success":false,"error_response":{"error":"INSUFFICIENT_FUND",
 * "message":"...","new_order_failure_reason":"INSUFFICIENT_FUND"}}: the order was not created.
 */
export function mapCoinbaseCreateFailure(body: unknown): VenueError {
  const b = body as { failure_reason?: unknown; error_response?: Record<string, unknown> } | null;
  const e = b?.error_response ?? {};
  const pick = (v: unknown) => (typeof v === "string" && v !== "" && !v.startsWith("UNKNOWN_") ? v : undefined);
  const code = pick(e["new_order_failure_reason"]) ?? pick(e["preview_failure_reason"]) ?? pick(e["error"]) ?? pick(b?.failure_reason) ?? "UNKNOWN_FAILURE_REASON";
  const message = typeof e["message"] === "string" ? e["message"].slice(0, 200) : code;
  return { kind: "rejected", reason: `${message} (coinbase ${code})`, code };
}
