import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { constants as h2 } from "node:http2";
import { inspect, type InspectOptionsStylized } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The reason the context signal carries once a call has completed normally.
 * connect aborts every call's signal at the end with `abort()`, whose default
 * reason is a fresh DOMException "AbortError" with a captured stack trace: a
 * measurable cost on every call. One shared instance of the same class, name
 * and message is indistinguishable to code that checks `reason.name`.
 */
const callCompletedReason = new DOMException("This operation was aborted", "AbortError");

/**
 * The absolute deadline (Date.now() based) of a call with this timeout, computed as connect's
 * createHandlerContext does: through a Date, whose time value is whole milliseconds (truncated).
 * A grpc-timeout in `u` or `n` units, which grpc-go sends for most deadlines, parses to a
 * fraction of a millisecond (4999960u is 4999.96 ms); added as it was, the fast path's
 * timeoutMs() was fractional where connect's is whole (4999), and a handler converting it to an
 * integer (BigInt) threw. Both paths parse with connect's parseTimeout.
 */
export function deadlineFrom(timeoutMs: number | undefined, now: number): number | undefined {
  return timeoutMs === undefined ? undefined : new Date(now + timeoutMs).getTime();
}

/**
 * The per-call state that connect's createHandlerContext builds eagerly
 * (three AbortControllers, three Headers, a deadline timer), built here only
 * when an interceptor or the implementation actually reads it.
 */
export class FastCallState {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onClose: (() => void) | undefined;
  private onShutdown: (() => void) | undefined;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private completed = false;
  /** The response the implementation made, once it has (unary-fast-path.ts: told from an interceptor's own). */
  ownResponse: object | undefined;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly rawHeaders: IncomingHttpHeaders,
    /** Absolute deadline (Date.now() based), or undefined without grpc-timeout. */
    readonly deadlineAt: number | undefined,
    readonly shutdownSignal: AbortSignal | undefined,
    /** The response content type connect would put first in the response header. */
    readonly contentType: string,
    /** grpc-encoding chosen for the response, if any (gRPC, gRPC-Web). */
    readonly responseEncoding: string | undefined,
    /** gRPC and gRPC-Web start the trailer with grpc-status 0; Connect starts it empty. */
    readonly grpcTrailer: boolean,
  ) {}

  /** Same semantics as connect's createHandlerContext: ms left until the deadline. */
  timeoutMs(): number | undefined {
    return this.deadlineAt === undefined ? undefined : this.deadlineAt - Date.now();
  }

  /**
   * The context's abort signal, linked, like connect's, to the deadline, the
   * HTTP/2 stream closing, and the server's shutdown signal (in that order).
   */
  signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const ac = new AbortController();
    this.controller = ac;
    if (this.completed) {
      ac.abort(callCompletedReason);
      return ac.signal;
    }
    if (this.deadlineAt !== undefined) {
      const left = this.deadlineAt - Date.now();
      if (left <= 0) {
        ac.abort(deadlineError());
        return ac.signal;
      }
      this.timer = setTimeout(() => this.abort(deadlineError()), left);
    }
    const stream = this.stream;
    if (stream.closed || stream.destroyed) {
      this.abort(resetError(stream.rstCode));
      return ac.signal;
    }
    // A stream closed because its whole connection died (the client's process killed, its socket
    // reset) carries node's INTERNAL_ERROR code, yet the client simply went away: CANCELED, as a
    // client's own cancel, not our fault (test/server/vanished-clients.test.ts).
    this.onClose = () =>
      this.abort(
        stream.rstCode === h2.NGHTTP2_INTERNAL_ERROR && (stream.session === undefined || stream.session.destroyed) ? connectionLostError() : resetError(stream.rstCode),
      );
    stream.once("close", this.onClose);
    const shutdown = this.shutdownSignal;
    if (shutdown !== undefined) {
      if (shutdown.aborted) {
        this.abort(shutdown.reason);
        return ac.signal;
      }
      this.onShutdown = () => this.abort(shutdown.reason);
      shutdown.addEventListener("abort", this.onShutdown, { once: true });
    }
    return ac.signal;
  }

  /** Aborts the signal (if anyone holds it) and releases timer and listeners. */
  abort(reason: unknown): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.onClose !== undefined) {
      this.stream.off("close", this.onClose);
      this.onClose = undefined;
    }
    if (this.onShutdown !== undefined) {
      this.shutdownSignal?.removeEventListener("abort", this.onShutdown);
      this.onShutdown = undefined;
    }
    const ac = this.controller;
    if (ac !== undefined && !ac.signal.aborted) ac.abort(reason);
  }

  /** Called once the response is written (connect calls context.abort at the same point). */
  complete(error: ConnectError | undefined): void {
    this.completed = true;
    this.abort(error ?? callCompletedReason);
  }

  requestHeader(): Headers {
    if (this.reqHeader === undefined) this.reqHeader = new NodeRequestHeaders(this.rawHeaders) as unknown as Headers;
    return this.reqHeader;
  }

  responseHeader(): Headers {
    if (this.resHeader === undefined) this.resHeader = new LazyResponseHeaders(this.contentType, this.responseEncoding) as unknown as Headers;
    return this.resHeader;
  }

  responseTrailer(): Headers {
    if (this.resTrailer === undefined) this.resTrailer = this.grpcTrailer ? new Headers({ "Grpc-Status": "0" }) : new Headers();
    return this.resTrailer;
  }

  /** The response header as node wants it, without building Headers when nobody touched them. */
  nodeResponseHeader(): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = { ":status": 200 };
    if (this.resHeader === undefined) {
      out["content-type"] = this.contentType;
      if (this.responseEncoding !== undefined) out["grpc-encoding"] = this.responseEncoding;
      return out;
    }
    appendResponseHeader(out, this.resHeader);
    return out;
  }

  /** The trailers; the error (if any) is encoded exactly as connect does, by the caller, into responseTrailer(). */
  nodeResponseTrailer(): OutgoingHttpHeaders {
    if (this.resTrailer === undefined) return this.grpcTrailer ? { "grpc-status": "0" } : {};
    const out: OutgoingHttpHeaders = {};
    appendAll(out, this.resTrailer);
    return out;
  }

  /** gRPC-Web: connect's trailerSerialize of the trailer ("key: value\r\n" lines). */
  grpcWebTrailer(): Uint8Array {
    if (this.resTrailer === undefined) return grpcStatusOkLine;
    let text = "";
    this.resTrailer.forEach((value, key) => {
      text += `${key}: ${value}\r\n`;
    });
    return Buffer.from(text, "utf8");
  }

  /**
   * Connect unary: the response header with the trailer muxed in as
   * `trailer-*` fields (connect's trailerMux) and Content-Length, as node wants it.
   */
  nodeConnectHeader(status: number, contentLength: number): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = { ":status": status };
    if (this.resHeader === undefined) out["content-type"] = this.contentType;
    else appendResponseHeader(out, this.resHeader);
    this.resTrailer?.forEach((value, key) => {
      appendOne(out, `trailer-${key}`, value);
    });
    out["content-length"] = String(contentLength);
    return out;
  }

  /** Whether the response header was created (interceptors may have replaced it). */
  replaceResponseHeader(from: Headers): void {
    copyHeaders(from, this.responseHeader());
  }

  replaceResponseTrailer(from: Headers): void {
    copyHeaders(from, this.responseTrailer());
  }
}

const grpcStatusOkLine = Buffer.from("grpc-status: 0\r\n", "utf8");

function deadlineError(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

/**
 * connect-node's connectErrorFromH2ResetCode (not exported by the package):
 * the error an HTTP/2 RST_STREAM code aborts the call with. A stream that
 * closed without an error code aborts with the default AbortError.
 */
function connectionLostError(): ConnectError {
  return new ConnectError("the client's connection was lost", Code.Canceled);
}

function resetError(rstCode: number | undefined): unknown {
  const name = rstNames[rstCode ?? -1];
  if (name === undefined || rstCode === undefined) return callCompletedReason;
  const message = `http/2 stream closed with error code ${name} (0x${rstCode.toString(16)})`;
  switch (rstCode) {
    case h2.NGHTTP2_REFUSED_STREAM:
      return new ConnectError(message, Code.Unavailable);
    case h2.NGHTTP2_CANCEL:
      return new ConnectError(message, Code.Canceled);
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(message, Code.ResourceExhausted);
    case h2.NGHTTP2_INADEQUATE_SECURITY:
    case h2.NGHTTP2_HTTP_1_1_REQUIRED:
      return new ConnectError(message, Code.PermissionDenied);
    default:
      return new ConnectError(message, Code.Internal);
  }
}

const rstNames: Record<number, string> = {
  [h2.NGHTTP2_PROTOCOL_ERROR]: "PROTOCOL_ERROR",
  [h2.NGHTTP2_INTERNAL_ERROR]: "INTERNAL_ERROR",
  [h2.NGHTTP2_FLOW_CONTROL_ERROR]: "FLOW_CONTROL_ERROR",
  [h2.NGHTTP2_SETTINGS_TIMEOUT]: "SETTINGS_TIMEOUT",
  [h2.NGHTTP2_FRAME_SIZE_ERROR]: "FRAME_SIZE_ERROR",
  [h2.NGHTTP2_REFUSED_STREAM]: "REFUSED_STREAM",
  [h2.NGHTTP2_CANCEL]: "CANCEL",
  [h2.NGHTTP2_COMPRESSION_ERROR]: "COMPRESSION_ERROR",
  [h2.NGHTTP2_CONNECT_ERROR]: "CONNECT_ERROR",
  [h2.NGHTTP2_ENHANCE_YOUR_CALM]: "ENHANCE_YOUR_CALM",
  [h2.NGHTTP2_INADEQUATE_SECURITY]: "INADEQUATE_SECURITY",
  [h2.NGHTTP2_HTTP_1_1_REQUIRED]: "HTTP_1_1_REQUIRED",
};

/** A header name as Headers stores it: a token, already lower case. */
const LOWER_TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * A value Headers would store unchanged: no leading or trailing whitespace, no NUL, CR or LF, and
 * a ByteString (no character above U+00FF, which Headers refuses).
 */
function storedAsIs(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  if (v.charCodeAt(0) <= 0x20 || v.charCodeAt(n - 1) <= 0x20) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13 || c > 0xff) return false;
  }
  return true;
}

/** Headers' own methods, called on the subclass below (its TypeScript types declare them as properties, not methods). */
const headersProto = Headers.prototype as unknown as Record<string | symbol, (this: unknown, ...a: any[]) => any>;
/** Headers' constructor, typed so that the subclass can declare the methods it overrides. */
const HeadersBase = Headers as unknown as new () => object;

/**
 * A Headers whose entries are put in only when first needed: every method fills it first and then
 * is Headers' own. The two classes below answer the common calls without filling it.
 */
abstract class FilledOnUse extends HeadersBase {
  /** Puts the entries in (once; a no-op after that). */
  protected abstract fill(): void;

  get(name: string): string | null {
    this.fill();
    return headersProto.get!.call(this, name);
  }

  has(name: string): boolean {
    this.fill();
    return headersProto.has!.call(this, name);
  }

  set(name: string, value: string): void {
    this.fill();
    headersProto.set!.call(this, name, value);
  }

  delete(name: string): void {
    this.fill();
    headersProto.delete!.call(this, name);
  }

  append(name: string, value: string): void {
    this.fill();
    headersProto.append!.call(this, name, value);
  }

  getSetCookie(): string[] {
    this.fill();
    return headersProto.getSetCookie!.call(this);
  }

  forEach(cb: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.fill();
    headersProto.forEach!.call(this, cb, thisArg);
  }

  keys(): IterableIterator<string> {
    this.fill();
    return headersProto.keys!.call(this);
  }

  values(): IterableIterator<string> {
    this.fill();
    return headersProto.values!.call(this);
  }

  entries(): IterableIterator<[string, string]> {
    this.fill();
    return headersProto.entries!.call(this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    this.fill();
    return headersProto[Symbol.iterator]!.call(this);
  }

  [inspect.custom](depth: number, options: InspectOptionsStylized, insp: typeof inspect): unknown {
    this.fill();
    const own = headersProto[inspect.custom];
    return own !== undefined ? own.call(this, depth, options, insp) : this;
  }
}

/**
 * The request's Headers, exactly what connect-node's nodeHeaderToWebHeader(raw) builds (pseudo-
 * headers left out, each value appended), but filled only when something more
 * than get/has is asked of it. Interceptors read two or three fields per call (request id,
 * authorization, content type); filling a Headers from a gRPC request's ten node headers took
 * about 1 us (each append validates and sorts), a get on node's object tens of ns. A get or has
 * that the raw object cannot answer exactly as Headers would (a name not in lower case or not a
 * token, an array or an odd value) fills it first and asks Headers. Every other method fills it
 * first (test/server/fast-path/fast-path-call.test.ts checks that no Headers method is left out).
 *
 * One difference, unreachable from the wire: a value Headers refuses (NUL, CR or LF) makes
 * connect's conversion throw whatever is read, and this one only once filled. nghttp2 refuses
 * such header values before node sees them.
 */
export class NodeRequestHeaders extends FilledOnUse {
  #raw: IncomingHttpHeaders | undefined;

  constructor(raw: IncomingHttpHeaders) {
    super();
    this.#raw = raw;
  }

  /** The raw value when it answers get() exactly; undefined when Headers must answer. */
  #direct(name: string): string | null | undefined {
    const raw = this.#raw;
    if (raw === undefined || !LOWER_TOKEN.test(name)) return undefined;
    const v = raw[name];
    if (v === undefined) return null;
    return typeof v === "string" && storedAsIs(v) ? v : undefined;
  }

  protected override fill(): void {
    const raw = this.#raw;
    if (raw === undefined) return;
    this.#raw = undefined;
    for (const k in raw) {
      if (k.charCodeAt(0) === 58 /* ":" */) continue;
      const v = raw[k];
      if (v === undefined) continue;
      if (typeof v === "string") headersProto.append!.call(this, k, v);
      else if (typeof v === "number") headersProto.append!.call(this, k, String(v));
      else for (const e of v) headersProto.append!.call(this, k, e);
    }
  }

  override get(name: string): string | null {
    const v = this.#direct(name);
    if (v !== undefined) return v;
    return super.get(name);
  }

  override has(name: string): boolean {
    const v = this.#direct(name);
    if (v !== undefined) return v !== null;
    return super.has(name);
  }
}

/** A header name Headers accepts, in any case. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * The response header, exactly a `Headers` holding the content type (and grpc-encoding), but kept
 * as a short list of names and values while only set, get, has and delete are used on plain
 * names and values. Most calls only set x-request-id (the request id interceptor); a Headers did
 * that at the cost of its validation on every set and of a sort when node's header object was
 * made from it (about 1 us and 2.5% of the gateway's allocations per call). `appendTo` writes
 * the list into node's header object sorted as Headers iterates it; anything else (append, iteration, an odd name or value)
 * fills the real Headers first and asks it, as NodeRequestHeaders does.
 */
export class LazyResponseHeaders extends FilledOnUse {
  /** Lower-case names and their values, unsorted; undefined once filled. */
  #names: string[] | undefined;
  #values: string[];

  constructor(contentType: string, grpcEncoding: string | undefined) {
    super();
    this.#names = ["content-type"];
    this.#values = [contentType];
    if (grpcEncoding !== undefined) {
      this.#names.push("grpc-encoding");
      this.#values.push(grpcEncoding);
    }
  }

  /** The entry's index (-1 if absent) while a plain list answers for `name`; undefined when Headers must. */
  #index(name: unknown): number | undefined {
    const names = this.#names;
    if (names === undefined || typeof name !== "string" || !TOKEN.test(name)) return undefined;
    return names.indexOf(name.toLowerCase());
  }

  protected override fill(): void {
    const names = this.#names;
    if (names === undefined) return;
    this.#names = undefined;
    for (let i = 0; i < names.length; i++) headersProto.append!.call(this, names[i], this.#values[i]);
    this.#values = [];
  }

  /**
   * Adds the entries to node's header object in Headers' iteration order (by name) and returns
   * true; false once filled (iterate the Headers then). A selection sort: there are a handful.
   */
  appendTo(o: OutgoingHttpHeaders): boolean {
    const names = this.#names;
    if (names === undefined) return false;
    const values = this.#values;
    let last = "";
    for (let k = 0; k < names.length; k++) {
      let best = -1;
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if ((k === 0 || name > last) && (best < 0 || name < names[best]!)) best = i;
      }
      last = names[best]!;
      o[last] = values[best]!;
    }
    return true;
  }

  override get(name: string): string | null {
    const i = this.#index(name);
    if (i !== undefined) return i < 0 ? null : this.#values[i]!;
    return super.get(name);
  }

  override has(name: string): boolean {
    const i = this.#index(name);
    if (i !== undefined) return i >= 0;
    return super.has(name);
  }

  override set(name: string, value: string): void {
    const i = this.#index(name);
    if (i !== undefined && typeof value === "string" && storedAsIs(value)) {
      if (i >= 0) this.#values[i] = value;
      else {
        this.#names!.push(name.toLowerCase());
        this.#values.push(value);
      }
      return;
    }
    super.set(name, value);
  }

  override delete(name: string): void {
    const i = this.#index(name);
    if (i !== undefined) {
      if (i >= 0) {
        this.#names!.splice(i, 1);
        this.#values.splice(i, 1);
      }
      return;
    }
    super.delete(name);
  }
}

/** Node's header object from the response header: straight from the list while it is one. */
function appendResponseHeader(o: OutgoingHttpHeaders, h: Headers): void {
  if (!(h instanceof LazyResponseHeaders && h.appendTo(o))) appendAll(o, h);
}

/** connect-node's webHeaderToNodeHeaders, appending into an existing object. */
function appendAll(o: OutgoingHttpHeaders, h: Headers): void {
  h.forEach((value, key) => appendOne(o, key, value));
}

function appendOne(o: OutgoingHttpHeaders, key: string, value: string): void {
  const existing = o[key];
  if (Array.isArray(existing)) existing.push(value);
  else if (existing === undefined) o[key] = value;
  else o[key] = [String(existing), value];
}

/**
 * connect's copyHeaders (invoke-implementation.js), statement for statement.
 * It deletes while iterating, which leaves some of the old fields in place;
 * the fast path must keep even that, or the two paths answer differently.
 */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  to.forEach((_, key) => {
    to.delete(key);
  });
  from.forEach((value, key) => {
    to.set(key, value);
  });
}
