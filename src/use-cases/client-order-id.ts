import { createHash } from "node:crypto";

/**
 * Venue client order ids are derived, never random: the same idempotency
 * scope key always gives the same id, so a retry that slips past the
 * gateway's own idempotency store (restart, two gateway instances) is still
 * de-duplicated by the venue, and reconciliation can look the order up by it.
 *
 * Each venue's rules:
 * - binance `newClientOrderId`: `^[.A-Z:/a-z0-9_-]{1,36}$`  -> "tg" + 32 hex = 34 chars
 * - kraken `cl_ord_id`: a UUID (long form) is one of the accepted formats
 * - alpaca `client_order_id`: <= 48 chars                    -> UUID (36)
 * - coinbase `client_order_id`: free string, UUIDs customary -> UUID (36)
 * - rest-json / paper / anything else                         -> 32 hex
 *
 * 128 bits of SHA-256 keep collisions out of reach for any realistic order count.
 */
export function deriveVenueClientOrderId(venueKind: string, idempotencyScopeKey: string): string {
  const digest = createHash("sha256").update(idempotencyScopeKey, "utf8").digest();
  const hex = digest.subarray(0, 16).toString("hex");
  switch (venueKind) {
    case "binance":
      return `tg${hex}`;
    case "kraken":
    case "alpaca":
    case "coinbase":
      return toUuid(digest);
    default:
      return hex;
  }
}

/** Formats the first 16 bytes as an RFC 9562 version-8 (custom, hash-based) UUID. */
function toUuid(digest: Buffer): string {
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC variant
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const HEX32 = /^[0-9a-f]{32}$/;
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Whether `venueClientOrderId` has the shape deriveVenueClientOrderId gives for this venue kind.
 * Reconciliation uses it to tell an order the gateway placed (but no longer tracks as open)
 * from one placed outside it: only the latter is adopted as external. A hash cannot be
 * inverted, so this is a shape test; an outsider would have to copy the format on purpose.
 */
export function looksLikeGatewayVenueClientOrderId(venueKind: string, venueClientOrderId: string): boolean {
  switch (venueKind) {
    case "binance":
      return venueClientOrderId.startsWith("tg") && HEX32.test(venueClientOrderId.slice(2));
    case "kraken":
    case "alpaca":
    case "coinbase":
      return UUID_V8.test(venueClientOrderId);
    default:
      return HEX32.test(venueClientOrderId);
  }
}
