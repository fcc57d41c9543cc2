import { constants as h2constants } from "node:http2";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { DescMessage, DescMethodServerStreaming } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { ConnectRouter, ConnectRouterOptions, ContextValues, StreamRequest, StreamResponse } from "@connectrpc/connect";
import { compressionNegotiate, createMethodSerializationLookup, validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import type { Compression, MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { contentTypeProto, contentTypeRegExp, headerAcceptEncoding, parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { closeOnAbort, openerOf, subscriptionEndError, type SequencedStreamOpener } from "../../rpc/stream-subscription.js";
import { setGrpcStatus } from "../grpc-status.js";
import { FastCallState, deadlineFrom } from "./fast-path-call.js";
import { createOrderEventEncoder, type OrderEventEncoder } from "./order-event-encoder.js";
import { createStreamMessageEncoder, Writer, type StreamMessageEncoder } from "./stream-message-encoder.js";
import { createUrlCache, decodeSingle, envelopeLength, requestUrl, single, type UnaryFastPathOptions } from "./unary-fast-path.js";

/** The unary fast path's options (the same router-wide values given to connect): both paths run from one set. */
export type StreamFastPathOptions = UnaryFastPathOptions;

/** What the stream fast path has done, for tests and diagnostics. */
export interface StreamFastPathStats {
  /** Streams it answered. */
  streams: number;
  /** Messages it wrote. */
  messages: number;
  /** Writes (stream.write calls, one per gathered batch): messages / writes is the gathering. */
  writes: number;
  /** Messages written straight from the domain item, without its proto mapping (order-event-encoder.ts). */
  direct: number;
}

export interface StreamFastPath {
  /** `(stream, headers) => handled`: true when the stream fast path took the stream. */
  readonly handle: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
  readonly stats: StreamFastPathStats;
}

interface StreamEntry {
  readonly method: DescMethodServerStreaming<DescMessage, DescMessage>;
  readonly open: SequencedStreamOpener<unknown, unknown, unknown>;
  readonly serialization: MethodSerializationLookup<any, any>;
  readonly encoder: StreamMessageEncoder | undefined;
  /** Writes an item straight from the domain event, for a stream whose toMessage is `direct.toMessage`. */
  readonly direct: OrderEventEncoder | undefined;
}

/** A batch stops gathering at this size (then it is written and the next one starts): bounds the pending buffer. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The gRPC server-streaming fast path for the sequenced streams (StreamOrderEvents, StreamFills):
 * handlers that carry an opener (src/rpc/stream-subscription.ts withOpener), registered without
 * per-service options, called over gRPC with binary protobuf (application/grpc,
 * application/grpc+proto) on HTTP/2, identity request encoding, no Origin. gRPC-Web, Connect,
 * JSON and everything else go to connect.
 *
 * Same as connect's path: the same interceptors run around the call (request id, access line and
 * metrics, recovery, stream shutdown, auth, rate limit), the handler's own opener runs the checks,
 * subscribes and takes the cancel-on-disconnect lease, the stream ends through the same
 * subscriptionEndError (RESOURCE_EXHAUSTED with its resume hint, UNAVAILABLE on shutdown), with
 * the status in the trailers as the unary fast path writes them.
 *
 * Different, and why it is cheaper (issue 20: a subscriber cost about 40% of PlaceOrder
 * throughput): every item available at one moment (what the hub has queued, plus what is
 * published until the event loop's check phase, setImmediate) is encoded by the hand encoders
 * (order events straight from the domain event: order-event-encoder.ts; other items mapped, then
 * stream-message-encoder.ts) into one buffer and written with ONE stream.write, instead of an
 * async-generator step, a toBinary, an envelope and a write per item. The interceptors see one
 * response "message" per write, not per event, so grpc_server_msg_sent_total counts writes for
 * these streams. Back-pressure: when write returns false nothing more is pulled until 'drain';
 * the hub's bounded queue then ends a consumer that does not read with RESOURCE_EXHAUSTED, as on
 * connect's path. A gathered batch is bounded (MAX_BATCH_BYTES).
 */
export function createStreamFastPath(options: StreamFastPathOptions): StreamFastPath {
  const limits = validateReadWriteMaxBytes(options.readMaxBytes, options.writeMaxBytes, options.compressMinBytes);
  const maxTimeoutMs = options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER;
  const acceptCompression = options.acceptCompression ?? [compressionGzip, compressionBrotli];
  const interceptors = options.interceptors ?? [];
  const entries = collectStreamMethods(options);
  const maxBuffered = 2 * (limits.readMaxBytes + 5) + 1;
  const urlCache = createUrlCache();
  const stats: StreamFastPathStats = { streams: 0, messages: 0, writes: 0, direct: 0 };

  function handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    if (entries.size === 0 || headers[":method"] !== "POST") return false;
    const path = headers[":path"];
    if (path === undefined) return false;
    const entry = entries.get(path);
    if (entry === undefined) return false;
    const ct = headers["content-type"];
    if (ct !== "application/grpc" && ct !== "application/grpc+proto") {
      if (ct === undefined || !contentTypeRegExp.test(ct) || /json/i.test(ct)) return false;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    if (headers.origin !== undefined) return false;
    if (options.bypass?.() === true) return false;
    const url = requestUrl(urlCache, stream, headers);
    if (url === undefined) return false;
    stats.streams++;
    serve(stream, headers, entry, url);
    return true;
  }

  function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, entry: StreamEntry, url: string): void {
    const timeout = parseTimeout(single(headers["grpc-timeout"]), maxTimeoutMs);
    const compression = compressionNegotiate(acceptCompression, null, single(headers["grpc-accept-encoding"]), headerAcceptEncoding);
    const call = new FastCallState(stream, headers, deadlineFrom(timeout.timeoutMs, Date.now()), options.shutdownSignal, contentTypeProto, compression.response?.name, true);
    stream.on("error", noop);
    const chunks: Uint8Array[] = [];
    let size = 0;
    let firstLength = -1;
    let settled = false;
    const onData = (chunk: Uint8Array): void => {
      if (settled) return;
      chunks.push(chunk);
      size += chunk.byteLength;
      if (firstLength < 0 && size >= 5) {
        firstLength = envelopeLength(chunks);
        if (firstLength > limits.readMaxBytes) return finish();
      }
      if (size > maxBuffered) finish();
    };
    const onEnd = (): void => finish();
    const finish = (): void => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.resume();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      void run(stream, call, entry, url, body, timeout.error, compression.response);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
  }

  async function run(
    stream: ServerHttp2Stream,
    call: FastCallState,
    entry: StreamEntry,
    url: string,
    body: Uint8Array,
    timeoutError: ConnectError | undefined,
    compression: Compression | null,
  ): Promise<void> {
    let error: ConnectError | undefined;
    try {
      try {
        if (timeoutError !== undefined) throw timeoutError;
        const res = await invoke(call, entry, url, options.contextValues?.(stream) ?? createContextValues(), body);
        if (stream.destroyed || stream.closed) {
          await res.message[Symbol.asyncIterator]().return?.();
          return;
        }
        stream.respond(call.nodeResponseHeader(), { waitForTrailers: true });
        for await (const chunk of res.message as AsyncIterable<Uint8Array>) {
          if (stream.destroyed || stream.closed) break;
          const bytes = compression === null ? chunk : await compressLarge(chunk, compression, limits.compressMinBytes);
          stats.writes++;
          if (!stream.write(bytes)) await drained(stream);
        }
        // A stream stopped by its deadline ends with OK here, as connect's path ends it (pumpSubscription
        // returns when the signal aborts); the client's own deadline reports DEADLINE_EXCEEDED.
      } catch (e) {
        error = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      }
      if (stream.destroyed || stream.closed) return;
      if (error !== undefined) setGrpcStatus(call.responseTrailer(), error);
      const trailers = call.nodeResponseTrailer();
      if (!stream.headersSent) stream.respond(call.nodeResponseHeader(), { waitForTrailers: true });
      stream.once("wantTrailers", () => {
        try {
          stream.sendTrailers(trailers);
        } catch (e) {
          options.onWriteError?.(e);
        }
      });
      stream.end();
    } catch (e) {
      if (!stream.headersSent && !stream.destroyed) stream.close(h2constants.NGHTTP2_INTERNAL_ERROR);
      options.onWriteError?.(e);
    } finally {
      call.complete(error);
    }
  }

  /** connect's invokeStreamImplementation for a server-streaming method, the response being batches of envelopes. */
  async function invoke(call: FastCallState, entry: StreamEntry, url: string, contextValues: ContextValues, body: Uint8Array): Promise<StreamResponse> {
    const method = entry.method;
    const service = method.parent;
    const anyFn = async (req: StreamRequest): Promise<StreamResponse> => {
      const input = await ensureSingle(req.message);
      const ctx = { signal: req.signal, values: req.contextValues };
      return {
        stream: true,
        service,
        method,
        header: call.responseHeader(),
        trailer: call.responseTrailer(),
        message: batches(entry, input, ctx),
      } as unknown as StreamResponse;
    };
    let next = anyFn as (req: StreamRequest) => Promise<StreamResponse>;
    for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as unknown as typeof next;
    const req = {
      stream: true,
      service,
      method,
      requestMethod: "POST",
      url,
      get signal() {
        return call.signal();
      },
      get header() {
        return call.requestHeader();
      },
      contextValues,
      // Decoded when read, as connect's pipeline does: a bad request fails inside the interceptors.
      message: inputOf(body, entry),
    };
    const res = await next(req as unknown as StreamRequest);
    if (res.header !== call.responseHeader()) call.replaceResponseHeader(res.header);
    if (res.trailer !== call.responseTrailer()) call.replaceResponseTrailer(res.trailer);
    return res;
  }

  async function* inputOf(body: Uint8Array, entry: StreamEntry): AsyncGenerator<unknown> {
    yield decodeSingle(body, limits.readMaxBytes, entry, true, false, "server-streaming");
  }

  /**
   * The stream's writes: each the envelopes of every item available at one moment. The first
   * item is awaited; then, at the event loop's check phase (setImmediate), every item the hub has
   * queued since is added (up to MAX_BATCH_BYTES; the rest starts the next batch).
   */
  async function* batches(entry: StreamEntry, input: unknown, ctx: { signal: AbortSignal; values: ContextValues }): AsyncGenerator<Uint8Array> {
    const opened = entry.open(input, ctx);
    const { sub, toMessage } = opened;
    const removeListeners = closeOnAbort(sub, ctx.signal, opened.shutdownSignal);
    const it = sub[Symbol.asyncIterator]();
    const w = new Writer();
    const serialize = entry.serialization.getO(true);
    const direct = entry.direct !== undefined && entry.direct.toMessage === toMessage ? entry.direct : undefined;
    const append = (item: unknown): void => {
      stats.messages++;
      if (direct !== undefined && direct.appendEnvelope(w, item as never)) {
        stats.direct++;
        return;
      }
      const m = toMessage(item) as object;
      if (entry.encoder?.appendEnvelope(w, m) === true) return;
      const bytes = serialize.serialize(m as never);
      w.ensure(5 + bytes.byteLength);
      w.buf[w.pos] = 0;
      w.buf.writeUInt32BE(bytes.byteLength, w.pos + 1);
      w.buf.set(bytes, w.pos + 5);
      w.pos += 5 + bytes.byteLength;
    };
    const drainQueue = (): void => {
      for (let x = sub.poll(); x !== undefined; x = sub.poll()) {
        append(x);
        if (w.pos >= MAX_BATCH_BYTES) return;
      }
    };
    try {
      // Between writes this writer takes everything queued within the same event-loop turn (the
      // first item wakes it in a microtask, the rest it takes at setImmediate), so a burst of one
      // turn is not a slow consumer: `gathering` lets the hub queue it past its bound. Cleared
      // while a batch is out, which is when run() may wait for 'drain' (a client that does not read).
      sub.gathering = true;
      for (;;) {
        const first = await it.next();
        if (first.done === true) break;
        w.pos = 0;
        append(first.value);
        drainQueue();
        // Whatever is published until the check phase is queued by the hub (no waiter is set) and
        // taken by poll() in one pass: no promise or microtask per item, only one per batch (a
        // promise per item, raced against setImmediate, was most of what a subscriber cost under
        // callgrind: docs/performance.md, eighth sitting).
        if (w.pos < MAX_BATCH_BYTES) {
          await new Promise((resolve) => setImmediate(resolve));
          drainQueue();
        }
        sub.gathering = false;
        yield copyOut(w);
        sub.gathering = true;
      }
    } finally {
      removeListeners();
      sub.close();
      opened.end();
    }
    const error = subscriptionEndError(sub, ctx, opened.shutdownSignal, opened.noun);
    if (error !== undefined) throw error;
  }

  return { handle, stats };
}

/** The server-streaming methods with an opener, by request path, from the same routes connect is given. */
function collectStreamMethods(options: StreamFastPathOptions): Map<string, StreamEntry> {
  const limits = validateReadWriteMaxBytes(options.readMaxBytes, options.writeMaxBytes, options.compressMinBytes);
  const out = new Map<string, StreamEntry>();
  const router: ConnectRouter = {
    handlers: [],
    service(service, implementation, opts?: ConnectRouterOptions) {
      if (opts !== undefined) return router;
      for (const method of service.methods) {
        if (method.methodKind !== "server_streaming") continue;
        const open = openerOf((implementation as Record<string, unknown>)[method.localName]);
        if (open === undefined) continue;
        out.set(`/${service.typeName}/${method.name}`, {
          method: method as DescMethodServerStreaming<DescMessage, DescMessage>,
          open,
          serialization: createMethodSerializationLookup(method, options.binaryOptions, options.jsonOptions, limits),
          encoder: createStreamMessageEncoder(method.output),
          direct: createOrderEventEncoder(method.output),
        });
      }
      return router;
    },
    rpc() {
      return router;
    },
  };
  options.routes(router);
  return out;
}

/** connect's ensureSingle for a server-streaming input. */
async function ensureSingle(message: AsyncIterable<unknown>): Promise<unknown> {
  let first: unknown;
  let count = 0;
  for await (const m of message) {
    if (count === 1) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.Unimplemented);
    first = m;
    count++;
  }
  if (count === 0) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  return first;
}

function copyOut(w: Writer): Uint8Array {
  const out = Buffer.allocUnsafe(w.pos);
  w.buf.copy(out, 0, 0, w.pos);
  return out;
}

/** Resolves on 'drain' or when the stream closes (whichever first). */
function drained(stream: ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/** With a response compression: each envelope of at least compressMinBytes compressed, as connect's envelopeCompress does. */
async function compressLarge(chunk: Uint8Array, compression: Compression, minBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let changed = false;
  for (let at = 0; at < chunk.byteLength; ) {
    const len = ((chunk[at + 1]! << 24) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 8) | chunk[at + 4]!) >>> 0;
    const data = chunk.subarray(at + 5, at + 5 + len);
    if (len >= minBytes) {
      const z = await compression.compress(data);
      const head = Buffer.allocUnsafe(5);
      head[0] = 1;
      head.writeUInt32BE(z.byteLength, 1);
      parts.push(head, z);
      changed = true;
    } else parts.push(chunk.subarray(at, at + 5 + len));
    at += 5 + len;
  }
  return changed ? Buffer.concat(parts) : chunk;
}

function noop(): void {}

