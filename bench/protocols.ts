/**
 * How the benchmark speaks each protocol on the wire: request headers and
 * body for one PlaceOrder, and how to tell an OK answer from the response.
 * Raw node:http2 (no client library) keeps the load generator's own cost per
 * call small and the same for every protocol.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  OrderType,
  PlaceOrderRequestSchema,
  Side,
  TimeInForce,
} from "../gen/trading/v1/trading_gateway_pb.js";

export const protocols = ["grpc", "grpc-web", "connect", "connect-json"] as const;
export type Protocol = (typeof protocols)[number];

export const placeOrderPath = "/trading.v1.TradingGateway/PlaceOrder";

export interface OrderShape {
  readonly venue: string;
  readonly symbol: string;
  readonly type: "market" | "limit";
}

/** A unique, valid order per call, the same as ../shared/bench's Go load generator sends (16 accounts, IOC market or GTC limit). */
export function orderRequest(shape: OrderShape, clientOrderId: string, n: number) {
  const limit = shape.type === "limit";
  return create(PlaceOrderRequestSchema, {
    clientOrderId,
    account: `acct-${n % 16}`,
    venue: shape.venue,
    symbol: shape.symbol,
    side: n % 2 === 0 ? Side.BUY : Side.SELL,
    type: limit ? OrderType.LIMIT : OrderType.MARKET,
    timeInForce: limit ? TimeInForce.GTC : TimeInForce.IOC,
    quantity: "1.5",
    price: limit ? "100.25" : "",
  });
}

export function requestHeaders(protocol: Protocol, timeoutMs: number): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { ":method": "POST", ":path": placeOrderPath };
  switch (protocol) {
    case "grpc":
      h["content-type"] = "application/grpc";
      h.te = "trailers";
      if (timeoutMs > 0) h["grpc-timeout"] = `${timeoutMs}m`;
      break;
    case "grpc-web":
      h["content-type"] = "application/grpc-web+proto";
      h["x-grpc-web"] = "1";
      if (timeoutMs > 0) h["grpc-timeout"] = `${timeoutMs}m`;
      break;
    case "connect":
      h["content-type"] = "application/proto";
      h["connect-protocol-version"] = "1";
      if (timeoutMs > 0) h["connect-timeout-ms"] = String(timeoutMs);
      break;
    case "connect-json":
      h["content-type"] = "application/json";
      h["connect-protocol-version"] = "1";
      if (timeoutMs > 0) h["connect-timeout-ms"] = String(timeoutMs);
      break;
  }
  return h;
}

export function requestBody(protocol: Protocol, req: ReturnType<typeof orderRequest>): Uint8Array {
  if (protocol === "connect-json") return Buffer.from(toJsonString(PlaceOrderRequestSchema, req));
  const bin = toBinary(PlaceOrderRequestSchema, req);
  if (protocol === "connect") return bin;
  const out = Buffer.allocUnsafe(bin.byteLength + 5);
  out[0] = 0;
  out.writeUInt32BE(bin.byteLength, 1);
  out.set(bin, 5);
  return out;
}

/**
 * The outcome of one call: "ok", or an error label (a gRPC code number, or
 * "http-NNN" for Connect). Connect unary answers carry the status in the HTTP
 * status; gRPC in the trailers (or headers, trailers-only); gRPC-Web in a
 * trailer frame at the end of the body (flag 0x80).
 */
export function outcome(
  protocol: Protocol,
  headers: IncomingHttpHeaders,
  trailers: IncomingHttpHeaders | undefined,
  body: Buffer,
): string {
  // node:http2 gives :status as a number although the type says string.
  const status = Number(headers[":status"]);
  if (protocol === "connect" || protocol === "connect-json") {
    if (status === 200) return "ok";
    const m = /"code"\s*:\s*"([a-z_]+)"/.exec(body.toString("utf8"));
    return m !== null ? m[1]! : `http-${status}`;
  }
  if (status !== 200) return `http-${status}`;
  let grpcStatus = trailers?.["grpc-status"] ?? headers["grpc-status"];
  if (protocol === "grpc-web" && grpcStatus === undefined) {
    // Walk the envelopes to the trailer frame.
    let off = 0;
    while (off + 5 <= body.length) {
      const flags = body[off]!;
      const len = body.readUInt32BE(off + 1);
      if ((flags & 0x80) === 0x80) {
        const m = /grpc-status:\s*(\d+)/i.exec(body.subarray(off + 5, off + 5 + len).toString("latin1"));
        if (m !== null) grpcStatus = m[1];
        break;
      }
      off += 5 + len;
    }
  }
  if (grpcStatus === undefined) return "no-status";
  return grpcStatus === "0" ? "ok" : String(grpcStatus);
}
