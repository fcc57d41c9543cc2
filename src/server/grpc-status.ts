import type { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/**
 * A `grpc-message` value as the gRPC spec (PROTOCOL-HTTP2.md, "Percent-Encoded") asks: the
 * UTF-8 bytes of the message, each byte outside 0x20-0x7E and `%` itself written as `%XX`,
 * everything else as is.
 *
 * connect-es encodes with encodeURIComponent, which also escapes `:`, `,`, `;`, `/`, `?`...
 * Decoders that follow the spec (grpc-go, connect-es, grpc-web's decodeURIComponent) read
 * both, but grpc-js decodes with decodeURI, which leaves `%3A`, `%2C`, `%3B` as they are:
 * its users saw "invalid request%3A client_order_id%2C quantity". Every decoder reads the
 * spec's form back exactly.
 */
export function encodeGrpcMessage(message: string): string {
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) return encodeFrom(message, i);
  }
  return message;
}

function encodeFrom(message: string, start: number): string {
  let out = message.slice(0, start);
  // A lone surrogate becomes U+FFFD (EF BF BD), as any UTF-8 encoder writes it.
  for (const b of Buffer.from(message.slice(start), "utf8")) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : HEX[b];
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`);

/**
 * The grpc-message connect-es wrote (encodeURIComponent), as text; the value itself when it is
 * no valid percent-encoding (then it was not connect's).
 */
export function decodeConnectGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * connect's setTrailerStatus (grpc-status, grpc-message, grpc-status-details-bin and the
 * error's metadata, for gRPC and gRPC-Web), with grpc-message encoded as the gRPC spec says.
 * Every gRPC status the gateway writes itself goes through here; connect's own are rewritten
 * to the same bytes at the edge (protocol-edge.ts).
 */
export function setGrpcStatus(target: Headers, error: ConnectError | undefined): Headers {
  setTrailerStatus(target, error);
  if (error !== undefined) target.set("grpc-message", encodeGrpcMessage(error.rawMessage));
  return target;
}
