/**
 * A connection's peer as the access line, the rate limiter and the keepalive log name it:
 * `host:port`, IPv6 in brackets; "" when the socket has no address (not or no longer connected).
 */
export function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return "";
  return address.includes(":") ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}
