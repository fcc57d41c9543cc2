import type { VenueError } from "../../../use-cases/venue-adapter.js";
import { getPath } from "../translator.js";

export interface RestJsonErrorRules {
  readonly messagePath?: string;
  readonly codePath?: string;
}

/** Generic HTTP status mapping for venues described only by configuration. */
export function mapRestJsonError(httpStatus: number, body: unknown, rules: RestJsonErrorRules): VenueError {
  const m = getPath(body, rules.messagePath ?? "message");
  const c = getPath(body, rules.codePath ?? "code");
  const message = typeof m === "string" ? m.slice(0, 200) : `HTTP ${httpStatus}`;
  const code = typeof c === "string" || typeof c === "number" ? String(c) : String(httpStatus);
  const reason = `${message} (${code})`;
  if (httpStatus === 401 || httpStatus === 403) return { kind: "auth", reason };
  if (httpStatus === 404) return { kind: "not_found", reason };
  if (httpStatus === 400 || httpStatus === 409 || httpStatus === 422) return { kind: "rejected", reason, code };
  return { kind: "protocol", reason: `venue answered HTTP ${httpStatus}` };
}
