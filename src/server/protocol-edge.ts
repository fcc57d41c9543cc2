import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { createAsyncIterable, encodeEnvelope, readAllBytes } from "@connectrpc/connect/protocol";
import type { Compression, UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  createEndStreamSerialization,
  endStreamFlag,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { decodeConnectGrpcMessage, encodeGrpcMessage, setGrpcStatus } from "./grpc-status.js";
import { requestDecodeError } from "./request-decode-error.js";

export interface ProtocolEdgeOptions {
  /** The compressions the router offers (connect-fastify's default: gzip and br). */
  readonly acceptCompression?: readonly Compression[];
  /** The router's compressMinBytes (connect's default: 1024). */
  readonly compressMinBytes?: number;
}

/**
 * `routes`, with every handler connect builds from it answering as the gateway does where
 * connect-es differs, at the edge between connect's handler and the node response (no change
 * inside the library):
 * - a request message that cannot be decoded is INVALID_ARGUMENT, not INTERNAL
 *   (request-decode-error.ts), in gRPC, gRPC-Web, Connect unary and Connect streaming;
 * - grpc-message is percent-encoded as the gRPC spec says (grpc-status.ts), in the gRPC
 *   trailers and in the gRPC-Web trailer envelope.
 * The unary fast path answers the same way by itself; test/e2e/differential.test.ts holds
 * the two to the same bytes.
 *
 * It works on the handlers the router holds once `routes` has run (connect-fastify and
 * connect-node's adapter read `router.handlers` right after): each is replaced by one that
 * rewrites what connect answers. Errors on the wire are all it sees, so a decode failure is
 * told by connect's status and message. Calls that succeed pay for a getter (gRPC), a flag
 * test per body chunk (gRPC-Web, Connect streaming) and a look at gRPC-Web's trailer.
 */
export function withProtocolEdge(routes: (router: ConnectRouter) => void, options: ProtocolEdgeOptions = {}): (router: ConnectRouter) => void {
  const compressions = options.acceptCompression ?? [compressionGzip, compressionBrotli];
  const compressMinBytes = options.compressMinBytes ?? 1024;
  const endStream = createEndStreamSerialization({});
  return (router) => {
    routes(router);
    const handlers = router.handlers;
    for (let i = 0; i < handlers.length; i++) handlers[i] = wrap(handlers[i]!);
  };

  function wrap(handler: UniversalHandler): UniversalHandler {
    const typeName = handler.method.input.typeName;
    const edge = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => answer(await handler(req), typeName);
    // The handler's own properties (requestPath, method, service, protocols...), which the adapters read.
    return Object.assign(edge, handler);
  }

  async function answer(res: UniversalServerResponse, typeName: string): Promise<UniversalServerResponse> {
    const header = res.header;
    const body = res.body;
    if (header === undefined || body === undefined) return res;
    const ct = header.get("content-type") ?? "";
    if (ct.startsWith("application/grpc-web")) {
      const compression = byName(header.get("grpc-encoding"));
      return { ...res, body: mapBody(body, trailerFlag, (chunk) => rewriteEnvelope(chunk, trailerFlag, compression, (data) => grpcWebTrailer(data, typeName))) };
    }
    if (ct.startsWith("application/grpc")) {
      const trailer = res.trailer;
      if (trailer === undefined) return res;
      // connect sets the status in the trailer when the body ends, and its node adapter reads
      // `trailer` only then: the getter sees the final status, at no cost per chunk.
      return {
        status: res.status,
        header,
        body,
        get trailer() {
          fixGrpcStatus(trailer, typeName);
          return trailer;
        },
      };
    }
    if (ct.startsWith("application/connect+")) {
      const compression = byName(header.get("connect-content-encoding"));
      return { ...res, body: mapBody(body, endStreamFlag, (chunk) => rewriteEnvelope(chunk, endStreamFlag, compression, (data) => connectEndStream(data, typeName))) };
    }
    // Connect unary: an error is a JSON body with an HTTP status; a decode failure is connect's 500.
    if (res.status === 500 && ct.startsWith("application/json")) return connectUnaryError(res, body, header, typeName);
    return res;
  }

  /** The gRPC status in `h` as the gateway writes it (decode failures mapped, grpc-message as the spec says); false if unchanged. */
  function fixGrpcStatus(h: Headers, typeName: string): boolean {
    const status = h.get("grpc-status");
    if (status === null || status === "0") return false;
    const encoded = h.get("grpc-message");
    const message = encoded === null ? "" : decodeConnectGrpcMessage(encoded);
    const mapped = requestDecodeError(typeName, Number(status) as Code, message, "grpc-encoding");
    if (mapped !== undefined) setGrpcStatus(h, mapped);
    else if (encoded !== null) h.set("grpc-message", encodeGrpcMessage(message));
    else return false;
    return true;
  }

  function grpcWebTrailer(data: Uint8Array, typeName: string): Uint8Array | undefined {
    const h = trailerParse(data);
    return fixGrpcStatus(h, typeName) ? trailerSerialize(h) : undefined;
  }

  function connectEndStream(data: Uint8Array, typeName: string): Uint8Array | undefined {
    const end = endStream.parse(data);
    const e = end.error;
    const mapped = e === undefined ? undefined : requestDecodeError(typeName, e.code, e.rawMessage, "connect-content-encoding");
    return mapped === undefined ? undefined : endStream.serialize({ metadata: end.metadata, error: mapped });
  }

  /** A Connect unary error response, with a decode failure mapped (status, body, content-length). */
  async function connectUnaryError(
    res: UniversalServerResponse,
    body: AsyncIterable<Uint8Array>,
    header: Headers,
    typeName: string,
  ): Promise<UniversalServerResponse> {
    const original = await readAllBytes(body, 0xffffffff);
    const compression = byName(header.get("content-encoding"));
    const json = compression === undefined ? original : await compression.decompress(original, 0xffffffff);
    let mapped: ConnectError | undefined;
    try {
      const e = errorFromJsonBytes(json, undefined, new ConnectError("", Code.Internal));
      mapped = requestDecodeError(typeName, e.code, e.rawMessage, "content-encoding");
    } catch {
      // Not connect's error JSON: answered as it is.
    }
    if (mapped === undefined) return { ...res, body: createAsyncIterable([original]) };
    // connect compresses an error body only from compressMinBytes on; the mapped one is a few
    // bytes longer, so it is compressed (again) exactly when the original was and still reaches it.
    let out: Uint8Array = errorToJsonBytes(mapped, {});
    if (compression !== undefined && out.byteLength >= compressMinBytes) out = await compression.compress(out);
    else header.delete("content-encoding");
    header.set("content-length", String(out.byteLength));
    return { ...res, status: codeToHttpStatus(mapped.code), header, body: createAsyncIterable([out]) };
  }

  /** The envelope `chunk` (flagged `flag`) with `rewrite` applied to its data; `chunk` itself if it leaves it. */
  async function rewriteEnvelope(
    chunk: Uint8Array,
    flag: number,
    compression: Compression | undefined,
    rewrite: (data: Uint8Array) => Uint8Array | undefined,
  ): Promise<Uint8Array> {
    const compressed = (chunk[0]! & 0b1) === 0b1;
    let data = chunk.subarray(5);
    if (compressed) {
      if (compression === undefined) return chunk;
      data = await compression.decompress(data, 0xffffffff);
    }
    const out = rewrite(data);
    if (out === undefined) return chunk;
    // As connect's transformCompressEnvelope: compressed when the response is and the data reaches compressMinBytes.
    if (compression !== undefined && out.byteLength >= compressMinBytes) return encodeEnvelope(flag | 0b1, await compression.compress(out));
    return encodeEnvelope(flag, out);
  }

  function byName(name: string | null): Compression | undefined {
    if (name === null) return undefined;
    return compressions.find((c) => c.name === name);
  }
}

/**
 * `body` with `map` applied to each envelope flagged `flag` (connect's handlers yield one whole
 * envelope per chunk: transformJoinEnvelopes); the others pass as they are. A plain iterator that
 * hands throw and return on to connect's: its node adapter reports write errors through them,
 * and connect aborts the call's signal with the reason.
 */
function mapBody(body: AsyncIterable<Uint8Array>, flag: number, map: (chunk: Uint8Array) => Promise<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const it = body[Symbol.asyncIterator]();
      const out: AsyncIterator<Uint8Array> = {
        next() {
          return it.next().then((r) => {
            if (r.done === true || r.value.byteLength < 5 || (r.value[0]! & flag) !== flag) return r;
            return map(r.value).then((value) => ({ done: false, value }));
          });
        },
      };
      if (it.throw !== undefined) out.throw = (e?: unknown) => it.throw!(e);
      if (it.return !== undefined) out.return = (v?: unknown) => it.return!(v);
      return out;
    },
  };
}
