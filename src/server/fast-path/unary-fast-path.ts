import { constants as h2constants } from "node:http2";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { create } from "@bufbuild/protobuf";
import type { BinaryReadOptions, BinaryWriteOptions, JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type {
  ConnectRouter,
  ContextValues,
  HandlerContext,
  Interceptor,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  envelopeCompress,
  mergeNonProtocolHeaders,
  validateReadWriteMaxBytes,
} from "@connectrpc/connect/protocol";
import type { Compression, MethodSerializationLookup, Serialization } from "@connectrpc/connect/protocol";
import {
  contentTypeJson,
  contentTypeProto,
  contentTypeRegExp,
  headerAcceptEncoding,
  parseTimeout,
} from "@connectrpc/connect/protocol-grpc";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  contentTypeUnaryRegExp,
  errorToJsonBytes,
  headerUnaryAcceptEncoding,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import {
  contentTypeJson as grpcWebContentTypeJson,
  contentTypeProto as grpcWebContentTypeProto,
  contentTypeRegExp as grpcWebContentTypeRegExp,
  trailerFlag as grpcWebTrailerFlag,
} from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { FastCallState, deadlineFrom } from "./fast-path-call.js";
import { createOrderResponseEncoder, type OrderResponseEncoder } from "./order-response-encoder.js";
import { createOrderResponseJsonEncoder } from "./order-response-json-encoder.js";
import { collectUnaryMethods } from "./fast-path-methods.js";
import type { FastPathMethod } from "./fast-path-methods.js";
import { setGrpcStatus } from "../grpc-status.js";
import { compressedWithoutEncoding, requestDecodeError } from "../request-decode-error.js";

/**
 * Options of the unary fast path. They mirror the router-wide options given to
 * `fastifyConnectPlugin` and MUST be the same values, or the two paths differ.
 * connect's options not listed here (requestGate, requireConnectProtocolHeader, protocols
 * switched off) are not mirrored: the gateway sets none of them.
 */
export interface UnaryFastPathOptions {
  /** The same routes function given to connect-fastify. */
  readonly routes: (router: ConnectRouter) => void;
  /** The same interceptors, in the same order (first = outermost). */
  readonly interceptors?: Interceptor[];
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
  readonly compressMinBytes?: number;
  /** Largest grpc-timeout accepted; connect's default is unlimited. */
  readonly maxTimeoutMs?: number;
  /** Response compressions offered; connect-fastify's default is gzip and br. */
  readonly acceptCompression?: Compression[];
  readonly shutdownSignal?: AbortSignal;
  readonly jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
  readonly binaryOptions?: Partial<BinaryReadOptions & BinaryWriteOptions>;
  /**
   * Fresh context values per call: connect-fastify's `contextValues` option,
   * given the stream instead of the Fastify request (the peer address is
   * `stream.session.socket.remoteAddress`, as `req.socket` is on the compat path).
   */
  readonly contextValues?: (stream: ServerHttp2Stream) => ContextValues;
  /**
   * Return true to leave this stream to Fastify (e.g. while under-pressure
   * sheds load), so that its answer is exactly the stock one.
   */
  readonly bypass?: () => boolean;
  /** Told about failures to write a response (the client went away, mostly). */
  readonly onWriteError?: (error: unknown) => void;
  /**
   * Start together the calls whose requests end in one turn of the event loop, in arrival order,
   * from the loop's check phase (setImmediate), instead of each one as its request ends (default
   * true; CALL_BATCHING). Why: a call started alone runs the whole path (decode, interceptors,
   * the order pipeline, the answer) before the next begins, so at load every step of it runs with
   * caches and branch history the others have just evicted; started together, the calls advance
   * step by step through the same code, each await letting the others catch up (the audit log's
   * group commit already gathered their lines). A lone call waits only for the rest of the turn's
   * I/O callbacks. Measured in docs/performance.md ("Calls started together").
   */
  readonly batchCalls?: boolean;
}

/** A call whose request has ended, waiting for its batch to start (UnaryFastPathOptions.batchCalls). */
class QueuedCall {
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly call: FastCallState,
    readonly entry: MethodEntry,
    readonly wire: Wire,
    readonly url: string,
    readonly body: Uint8Array,
    readonly lengthHint: number,
    readonly timeoutError: ConnectError | undefined,
    readonly compression: Compression | null,
  ) {}
}

/** `(stream, headers) => handled`: true when the fast path took the stream. */
export type UnaryFastPath = ((stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean) & {
  /** Calls started (requests read whole), and the batches they were started in (equal when batching is off). */
  readonly stats: Readonly<UnaryFastPathStats>;
};

export interface UnaryFastPathStats {
  calls: number;
  batches: number;
}

/** What decoding a request needs of a method (unary or server-streaming). */
export interface DecodeEntry {
  readonly serialization: MethodSerializationLookup<any, any>;
  readonly method: { readonly input: { readonly typeName: string } };
}

export interface MethodEntry extends FastPathMethod {
  readonly serialization: MethodSerializationLookup<any, any>;
  /**
   * The interceptors around the implementation, composed once (as connect composes them once per
   * handler): every interceptor here is `(next) => (req) => ...` with all per-call state inside
   * the inner function, so a call allocates no chain of closures. The call's own state rides on
   * the request (kCall, kProtocol).
   */
  readonly chain: (req: UnaryRequest) => Promise<UnaryResponse>;
}

/**
 * A gRPC unary handler that runs on the HTTP/2 server's `stream` event, in
 * front of Fastify's compat layer and connect's generic handler, for the
 * requests that dominate traffic. It keeps connect's semantics (interceptors,
 * deadlines, limits, status encoding, headers and trailers) while skipping the
 * per-call costs that dominate connect-fastify's profile: eager Headers and
 * AbortControllers, async-iterable plumbing and Fastify's request objects.
 *
 * It handles unary POST calls of methods registered without per-service
 * options, with identity request encoding and no `Origin` header (CORS is
 * Fastify's job), in three protocols:
 * - gRPC: `application/grpc`, `application/grpc+proto`, `application/grpc+json`;
 * - gRPC-Web: `application/grpc-web`, `application/grpc-web+proto`, `+json`
 *   (the trailer as the body's last envelope);
 * - Connect unary: `application/proto`, `application/json` (errors as JSON
 *   with an HTTP status, trailers as `trailer-*` headers).
 * Everything else (streaming, compressed requests, gRPC-Web text, Connect GET
 * and streaming, unknown paths) returns false, untouched, to Fastify.
 *
 * test/server/fast-path/fast-path.test.ts and test/e2e/differential.test.ts compare
 * every header, trailer and body byte with connect's own handlers, behind the
 * edge that makes their answers the gateway's (protocol-edge.ts: undecodable
 * requests, grpc-message), which the fast path gives by itself.
 */
export function createUnaryFastPath(options: UnaryFastPathOptions): UnaryFastPath {
  const limits = validateReadWriteMaxBytes(options.readMaxBytes, options.writeMaxBytes, options.compressMinBytes);
  const maxTimeoutMs = options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER;
  const acceptCompression = options.acceptCompression ?? [compressionGzip, compressionBrotli];
  const interceptors = options.interceptors ?? [];
  const methods = new Map<string, MethodEntry>();
  for (const [path, m] of collectUnaryMethods(options.routes)) {
    // The innermost step reads the entry, which holds the chain around it: set once composed.
    let entry: MethodEntry | undefined;
    let next = (req: UnaryRequest): Promise<UnaryResponse> => innermost(entry!, req);
    for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as unknown as typeof next;
    entry = { ...m, serialization: serializationFor(m.method, options, limits), chain: next };
    methods.set(path, entry);
  }
  // The largest body that can hold at most two complete envelopes; beyond it
  // the answer (an error) is already decided, so we stop buffering.
  const maxBuffered = 2 * (limits.readMaxBytes + 5) + 1;
  const urlCache = createUrlCache();
  const batchCalls = options.batchCalls ?? true;
  const stats: UnaryFastPathStats = { calls: 0, batches: 0 };
  // The calls whose requests ended in this turn of the event loop (batchCalls): started together.
  let queued: QueuedCall[] = [];
  const startQueued = (): void => {
    const q = queued;
    queued = [];
    stats.batches++;
    // run never rejects (it hands its own failures to onWriteError): no .catch promise per call.
    for (let i = 0; i < q.length; i++) {
      const c = q[i]!;
      void run(c.stream, c.call, c.entry, c.wire, c.url, c.body, c.lengthHint, c.timeoutError, c.compression);
    }
  };

  const unaryFastPath = function unaryFastPath(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    if (headers[":method"] !== "POST") return false;
    const path = headers[":path"];
    if (path === undefined) return false;
    const entry = methods.get(path);
    if (entry === undefined) return false;
    const wire = classify(headers["content-type"]);
    if (wire === undefined) return false;
    const encoding = wire.protocol === "connect" ? headers["content-encoding"] : headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    if (headers.origin !== undefined) return false;
    if (options.bypass?.() === true) return false;
    // An authority no URL can hold ("[x"): left to Fastify, whose onRequest hook refuses it (app.ts).
    const url = requestUrl(urlCache, stream, headers);
    if (url === undefined) return false;
    serve(stream, headers, entry, wire, url);
    return true;
  };
  return Object.assign(unaryFastPath, { stats });

  function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, entry: MethodEntry, wire: Wire, url: string): void {
    const connect = wire.protocol === "connect";
    const timeout = connect
      ? parseConnectTimeout(single(headers["connect-timeout-ms"]), maxTimeoutMs)
      : parseTimeout(single(headers["grpc-timeout"]), maxTimeoutMs);
    const compression = connect
      ? compressionNegotiate(acceptCompression, null, single(headers["accept-encoding"]), headerUnaryAcceptEncoding)
      : compressionNegotiate(acceptCompression, null, single(headers["grpc-accept-encoding"]), headerAcceptEncoding);
    const call = new FastCallState(
      stream,
      headers,
      deadlineFrom(timeout.timeoutMs, Date.now()),
      options.shutdownSignal,
      wire.responseContentType,
      // Connect unary names the response encoding only when it compresses.
      connect ? undefined : compression.response?.name,
      !connect,
    );
    // Without a listener, a stream error (client reset) would crash the process.
    stream.on("error", noop);

    // Connect unary bodies are bare (no envelope) and may announce their size.
    let lengthHint = -1;
    if (connect) {
      const cl = headers["content-length"];
      const n = cl === undefined ? NaN : Number.parseInt(cl, 10);
      if (Number.isSafeInteger(n) && n >= 0) lengthHint = n;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    let firstLength = -1;
    let settled = false;
    const onData = (chunk: Uint8Array) => {
      if (settled) return;
      chunks.push(chunk);
      size += chunk.byteLength;
      if (connect) {
        if (size > limits.readMaxBytes) finish();
        return;
      }
      if (firstLength < 0 && size >= 5) {
        firstLength = envelopeLength(chunks);
        if (firstLength > limits.readMaxBytes) return finish();
      }
      if (size > maxBuffered) finish();
    };
    const onEnd = () => finish();
    const finish = () => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      // Drain what the client still sends; connect leaves it unread too, but
      // an unread HTTP/2 stream would hold its flow-control window.
      stream.resume();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      stats.calls++;
      if (batchCalls) {
        if (queued.push(new QueuedCall(stream, call, entry, wire, url, body, lengthHint, timeout.error, compression.response)) === 1) setImmediate(startQueued);
        return;
      }
      stats.batches++;
      void run(stream, call, entry, wire, url, body, lengthHint, timeout.error, compression.response);
    };
    if (connect && lengthHint > limits.readMaxBytes) {
      finish();
      return;
    }
    stream.on("data", onData);
    stream.on("end", onEnd);
  }

  /**
   * The gRPC trailers, sent when node asks for them ('wantTrailers' comes once per stream). One
   * handler for every call, the trailers kept on the stream: no closure and no once-wrapper per call.
   */
  function sendTrailers(this: TrailingStream): void {
    const trailers = this[kTrailers];
    if (trailers === undefined) return;
    this[kTrailers] = undefined;
    try {
      this.sendTrailers(trailers);
    } catch (e) {
      options.onWriteError?.(e);
    }
  }

  /**
   * Answers the call. Never rejects: what fails while answering goes to onWriteError, and a stream
   * left without an answer is reset (INTERNAL_ERROR), so no client waits for one until its deadline.
   */
  async function run(
    stream: ServerHttp2Stream,
    call: FastCallState,
    entry: MethodEntry,
    wire: Wire,
    url: string,
    body: Uint8Array,
    lengthHint: number,
    timeoutError: ConnectError | undefined,
    responseCompression: Compression | null,
  ): Promise<void> {
    try {
      const contextValues = options.contextValues?.(stream) ?? createContextValues();
      const binary = wire.binary;
      let error: ConnectError | undefined;
      let bytes: Uint8Array | undefined;
      try {
        if (timeoutError !== undefined) throw timeoutError;
        const input: any =
          wire.protocol === "connect"
            ? decodeUnary(body, lengthHint, limits.readMaxBytes, entry, binary)
            : decodeSingle(body, limits.readMaxBytes, entry, binary, wire.protocol === "grpc-web");
        const message = await invoke(call, entry, url, contextValues, input, wire.protocol);
        bytes = entry.serialization.getO(binary).serialize(message);
      } catch (e) {
        error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      }
      try {
        if (wire.protocol === "connect") {
          await respondConnect(stream, call, bytes, error, responseCompression);
          return;
        }
        if (error !== undefined) setGrpcStatus(call.responseTrailer(), error);
        let payload: Uint8Array | undefined;
        if (bytes !== undefined) {
          const p = compressedEnvelope(0, bytes, responseCompression);
          // Only a compressed envelope is a promise; an await on a plain value still costs a microtask.
          payload = p instanceof Uint8Array ? p : await p;
        }
        if (wire.protocol === "grpc-web") {
          // gRPC-Web carries the trailer as the last envelope of the body (flag 0x80).
          const t = compressedEnvelope(grpcWebTrailerFlag, call.grpcWebTrailer(), responseCompression);
          const trailer = t instanceof Uint8Array ? t : await t;
          if (stream.destroyed || stream.closed) return;
          stream.respond(call.nodeResponseHeader());
          stream.end(payload === undefined ? trailer : Buffer.concat([payload, trailer]));
          return;
        }
        if (stream.destroyed || stream.closed) return;
        (stream as TrailingStream)[kTrailers] = call.nodeResponseTrailer();
        stream.respond(call.nodeResponseHeader(), { waitForTrailers: true });
        stream.on("wantTrailers", sendTrailers);
        if (payload !== undefined) stream.end(payload);
        else stream.end();
      } finally {
        // Like connect's context.abort() once the answer is out: timer and listeners released.
        call.complete(error);
      }
    } catch (e) {
      if (!stream.headersSent && !stream.destroyed) stream.close(h2constants.NGHTTP2_INTERNAL_ERROR);
      options.onWriteError?.(e);
    }
  }

  /** connect's envelopeCompress + encodeEnvelope; no promise when nothing is compressed (the common case). */
  function compressedEnvelope(flags: number, data: Uint8Array, compression: Compression | null): Uint8Array | Promise<Uint8Array> {
    if (compression === null || data.byteLength < limits.compressMinBytes) return envelope(flags, data);
    return envelopeCompress({ flags, data }, compression, limits.compressMinBytes).then((e) => envelope(e.flags, e.data));
  }

  /** connect's Connect-protocol unary handler, from the point the message is serialized or failed. */
  async function respondConnect(
    stream: ServerHttp2Stream,
    call: FastCallState,
    bytes: Uint8Array | undefined,
    error: ConnectError | undefined,
    responseCompression: Compression | null,
  ): Promise<void> {
    let status = 200;
    let body: Uint8Array;
    if (error !== undefined || bytes === undefined) {
      const e = error ?? new ConnectError("internal error", Code.Internal);
      status = codeToHttpStatus(e.code);
      const h = call.responseHeader();
      h.set("Content-Type", contentTypeUnaryJson);
      if (!e.isWireError) mergeNonProtocolHeaders(h, e.metadata);
      try {
        body = errorToJsonBytes(e, options.jsonOptions ?? {});
      } catch (se) {
        body = errorToJsonBytes(ConnectError.from(se), {});
      }
    } else body = bytes;
    if (responseCompression !== null && body.byteLength >= limits.compressMinBytes) {
      body = await responseCompression.compress(body);
      call.responseHeader().set("Content-Encoding", responseCompression.name);
    }
    if (stream.destroyed || stream.closed) return;
    stream.respond(call.nodeConnectHeader(status, body.byteLength));
    stream.end(body);
  }

  /** connect's invokeUnaryImplementation, with the context built lazily. */
  /** The implementation, inside every interceptor: the call's state comes on the request. */
  async function innermost(entry: MethodEntry, req: UnaryRequest): Promise<UnaryResponse> {
    const tagged = req as unknown as { [kCall]: FastCallState; [kProtocol]: string };
    const call = tagged[kCall];
    const { spec, method } = entry;
    const out = await spec.impl(req.message, createContext(call, entry, req.url, req.contextValues, req, tagged[kProtocol]));
    const res = { stream: false, message: create(method.output, out), method, service: method.parent, [kCall]: call };
    Object.defineProperty(res, "header", responseHeaderProp);
    Object.defineProperty(res, "trailer", responseTrailerProp);
    call.ownResponse = res;
    return res as unknown as UnaryResponse;
  }

  async function invoke(
    call: FastCallState,
    entry: MethodEntry,
    url: string,
    contextValues: ContextValues,
    input: unknown,
    protocolName: string,
  ): Promise<any> {
    const { method } = entry;
    const req = { stream: false, message: input as never, method, requestMethod: "POST", url, service: method.parent, contextValues, [kCall]: call, [kProtocol]: protocolName };
    Object.defineProperty(req, "signal", requestSignalProp);
    Object.defineProperty(req, "header", requestHeaderProp);
    const res = await entry.chain(req as unknown as UnaryRequest);
    // Like connect's copyHeaders: an interceptor may return a response with
    // other Headers objects. Our own response object holds ours already, and
    // reading its getters would build Headers nobody asked for.
    if (res !== call.ownResponse) {
      call.replaceResponseHeader(res.header);
      call.replaceResponseTrailer(res.trailer);
    }
    return res.message;
  }
}

/**
 * connect's serialization for the method, except that the Order responses are written by the
 * hand encoders (order-response-encoder.ts: the same bytes as toBinary, a fifth of its cost;
 * order-response-json-encoder.ts: the same bytes as connect's JSON, a third of its cost).
 * Whatever they leave, and every message past writeMaxBytes, goes through connect's own
 * serializer, so errors and their messages stay connect's.
 */
function serializationFor(
  method: FastPathMethod["method"],
  options: UnaryFastPathOptions,
  limits: { readMaxBytes: number; writeMaxBytes: number },
): MethodSerializationLookup<any, any> {
  const lookup = createMethodSerializationLookup(method, options.binaryOptions, options.jsonOptions, limits);
  const binaryOut = withEncoder(lookup.getO(true), createOrderResponseEncoder(method.output), limits.writeMaxBytes);
  const jsonOut = withEncoder(lookup.getO(false), createOrderResponseJsonEncoder(method.output, options.jsonOptions), limits.writeMaxBytes);
  return { getI: (binary) => lookup.getI(binary), getO: (binary) => (binary ? binaryOut : jsonOut) };
}

/** `general`, serializing through `encode` first; what it leaves, or what is too large, goes to `general`. */
function withEncoder(general: Serialization<any>, encode: OrderResponseEncoder | undefined, writeMaxBytes: number): Serialization<any> {
  if (encode === undefined) return general;
  return {
    parse: general.parse,
    serialize(message: any): Uint8Array<ArrayBuffer> {
      const bytes = encode(message as object) as Uint8Array<ArrayBuffer> | undefined;
      return bytes === undefined || bytes.byteLength > writeMaxBytes ? general.serialize(message) : bytes;
    },
  };
}

const kTrailers = Symbol("trailers");
type TrailingStream = ServerHttp2Stream & { [kTrailers]?: OutgoingHttpHeaders | undefined };

type WireProtocol = "grpc" | "grpc-web" | "connect";

/** How a request is framed and encoded, from its content type. */
interface Wire {
  readonly protocol: WireProtocol;
  readonly binary: boolean;
  /** The content type connect puts in the response header. */
  readonly responseContentType: string;
}

const wires = {
  grpcProto: { protocol: "grpc", binary: true, responseContentType: contentTypeProto },
  grpcJson: { protocol: "grpc", binary: false, responseContentType: contentTypeJson },
  webProto: { protocol: "grpc-web", binary: true, responseContentType: grpcWebContentTypeProto },
  webJson: { protocol: "grpc-web", binary: false, responseContentType: grpcWebContentTypeJson },
  connectProto: { protocol: "connect", binary: true, responseContentType: contentTypeUnaryProto },
  connectJson: { protocol: "connect", binary: false, responseContentType: contentTypeUnaryJson },
} as const satisfies Record<string, Wire>;

/**
 * The protocol connect's negotiateProtocol would pick for a POST with this
 * content type (the three regular expressions are disjoint), or undefined
 * for what the fast path leaves to Fastify (gRPC-Web text, Connect
 * streaming, anything else).
 */
function classify(ct: string | undefined): Wire | undefined {
  switch (ct) {
    case "application/grpc":
    case "application/grpc+proto":
      return wires.grpcProto;
    case "application/grpc-web":
    case "application/grpc-web+proto":
      return wires.webProto;
    case "application/proto":
      return wires.connectProto;
    case "application/json":
      return wires.connectJson;
    case undefined:
      return undefined;
  }
  if (contentTypeRegExp.test(ct)) return /json/i.test(ct) ? wires.grpcJson : wires.grpcProto;
  const web = grpcWebContentTypeRegExp.exec(ct);
  if (web !== null) {
    if (web[1] !== undefined) return undefined; // grpc-web-text: base64 framing, left to connect
    return web[2] !== undefined ? wires.webJson : wires.webProto;
  }
  if (contentTypeUnaryRegExp.test(ct)) return /json/i.test(ct) ? wires.connectJson : wires.connectProto;
  return undefined;
}

/**
 * The per-call objects below keep connect's shapes (the same own, enumerable
 * properties in the same order, so an interceptor's `{ ...req, message }`
 * copies them all) while the signal and the Headers stay lazy (FastCallState).
 * The lazy fields are accessors shared by every call, reading the call from a
 * symbol-keyed property: an object literal with inline getters builds fresh
 * accessor closures and takes V8's slow literal path, measured at 450-700 ns
 * per object on Node 24 against about 125 ns per defineProperty here.
 */
const kCall = Symbol("fastCall");
/** The protocol name of the call (for createContext), on the request beside kCall. */
const kProtocol = Symbol("fastProtocol");

type WithCall = { readonly [kCall]: FastCallState };

function lazyProp(get: (this: WithCall) => unknown): PropertyDescriptor {
  return { get, enumerable: true, configurable: true };
}

const requestSignalProp = lazyProp(function (this: WithCall) {
  return this[kCall].signal();
});
const requestHeaderProp = lazyProp(function (this: WithCall) {
  return this[kCall].requestHeader();
});
const responseHeaderProp = lazyProp(function (this: WithCall) {
  return this[kCall].responseHeader();
});
const responseTrailerProp = lazyProp(function (this: WithCall) {
  return this[kCall].responseTrailer();
});

/**
 * The HandlerContext connect's mergeRequest builds, with lazy signal and
 * headers. A class, its accessors on the prototype (cheapest of all): a
 * handler reads its context, it does not copy it. `req` is the request as the
 * last interceptor passed it on, as in mergeRequest.
 */
class FastHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly method: HandlerContext["method"];
  readonly service: HandlerContext["service"];

  constructor(
    private readonly call: FastCallState,
    entry: MethodEntry,
    readonly url: string,
    readonly values: ContextValues,
    private readonly req: UnaryRequest,
    readonly protocolName: string,
  ) {
    this.method = entry.method;
    this.service = req.service;
  }

  get signal(): AbortSignal {
    return this.req.signal;
  }

  timeoutMs(): number | undefined {
    return this.call.timeoutMs();
  }

  get requestHeader(): Headers {
    return this.req.header;
  }

  get responseHeader(): Headers {
    return this.call.responseHeader();
  }

  get responseTrailer(): Headers {
    return this.call.responseTrailer();
  }
}

function createContext(
  call: FastCallState,
  entry: MethodEntry,
  url: string,
  values: ContextValues,
  req: UnaryRequest,
  protocolName: string,
): HandlerContext {
  return new FastHandlerContext(call, entry, url, values, req, protocolName);
}

/**
 * Decodes the one request message as connect's pipeline does (split envelope,
 * decompress, parse, ensureSingle), with its errors in its order.
 */
export function decodeSingle(
  body: Uint8Array,
  readMaxBytes: number,
  entry: DecodeEntry,
  binary: boolean,
  skipTrailerFlag: boolean,
  kind: "unary" | "server-streaming" = "unary",
): unknown {
  let offset = 0;
  let first: unknown;
  let count = 0;
  while (offset < body.byteLength) {
    if (body.byteLength - offset < 5) throw incompleteEnvelope();
    const flags = body[offset]!;
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    if (length > readMaxBytes) {
      throw new ConnectError(
        `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    if (body.byteLength - offset - 5 < length) throw incompleteEnvelope();
    const data = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & 0b1) === 0b1) throw compressedWithoutEncoding("grpc-encoding");
    // gRPC-Web: connect's transformParseEnvelope skips an envelope flagged as trailer.
    if (skipTrailerFlag && (flags & grpcWebTrailerFlag) === grpcWebTrailerFlag) continue;
    const value: unknown = parseMessage(entry, binary, data, "grpc-encoding");
    if (count === 0) first = value;
    count++;
    if (count === 2) {
      throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
    }
  }
  if (count === 0) {
    throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  }
  return first;
}

/** Connect unary: connect's readUnaryMessageFromBody + parseUnaryMessage for a bare body. */
function decodeUnary(body: Uint8Array, lengthHint: number, readMaxBytes: number, entry: MethodEntry, binary: boolean): unknown {
  if (lengthHint >= 0) {
    if (lengthHint > readMaxBytes) {
      throw new ConnectError(`message size ${lengthHint} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    }
    if (body.byteLength !== lengthHint) {
      throw new ConnectError(`protocol error: promised ${lengthHint} bytes, received ${body.byteLength}`, Code.InvalidArgument);
    }
  } else if (body.byteLength > readMaxBytes) {
    throw new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  }
  return parseMessage(entry, binary, body, "content-encoding");
}

/** connect's parse of one message, with a message that cannot be decoded answered as the edge answers it on connect's path. */
function parseMessage(entry: DecodeEntry, binary: boolean, data: Uint8Array, encodingHeader: string): unknown {
  try {
    return entry.serialization.getI(binary).parse(data);
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    throw requestDecodeError(entry.method.input.typeName, e.code, e.rawMessage, encodingHeader) ?? e;
  }
}

function incompleteEnvelope(): ConnectError {
  return new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
}

/** The length field of the first envelope, from the first 5 bytes that may span chunks. */
export function envelopeLength(chunks: readonly Uint8Array[]): number {
  const c = chunks[0]!;
  // The common case: the whole header is in the first chunk (no allocation).
  if (c.byteLength >= 5) return ((c[1]! << 24) | (c[2]! << 16) | (c[3]! << 8) | c[4]!) >>> 0;
  const head = new Uint8Array(5);
  let n = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.byteLength && n < 5; i++) head[n++] = c[i]!;
    if (n === 5) break;
  }
  return new DataView(head.buffer).getUint32(1);
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(data.byteLength + 5);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/** requestUrl's caches: the last URL built (most calls repeat it), then a bounded map. */
export interface UrlCache {
  readonly byKey: Map<string, string>;
  encrypted: boolean;
  authority: string;
  path: string;
  url: string;
}

export function createUrlCache(): UrlCache {
  return { byKey: new Map(), encrypted: false, authority: "", path: "", url: "" };
}

/**
 * connect-node's `new URL(path, protocol://authority).toString()`, cached per authority and path;
 * undefined when they make no URL.
 */
export function requestUrl(cache: UrlCache, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): string | undefined {
  // The session's own flag: reading it through `session.socket` goes through a Proxy.
  const encrypted = stream.session?.encrypted === true;
  const authority = headers[":authority"] ?? headers.host ?? "";
  const path = headers[":path"] ?? "";
  if (path === cache.path && authority === cache.authority && encrypted === cache.encrypted && cache.url !== "") return cache.url;
  const key = `${encrypted ? "s" : ""}${authority}${path}`;
  let url = cache.byKey.get(key);
  if (url === undefined) {
    if (!URL.canParse(path, `${encrypted ? "https" : "http"}://${authority}`)) return undefined;
    url = new URL(path, `${encrypted ? "https" : "http"}://${authority}`).toString();
    // Bounded: authorities come from clients.
    if (cache.byKey.size >= 256) cache.byKey.clear();
    cache.byKey.set(key, url);
  }
  cache.encrypted = encrypted;
  cache.authority = authority;
  cache.path = path;
  cache.url = url;
  return url;
}

/** A header as Web Headers.get() would return it: repeated values joined with ", ". */
export function single(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return typeof v === "string" ? v : v.join(", ");
}

function noop(): void {}
