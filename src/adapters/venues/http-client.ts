import { Pool } from "undici";
import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";

/** A fully built (and, if needed, signed) venue request. `url` is absolute. */
export interface HttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyText: string;
}

/**
 * Why no answer came back. The distinction decides whether an order may be
 * re-sent: `unavailable` means the request certainly never reached the venue
 * (refused, DNS, connect timeout); `unknown_outcome` means it may have been
 * written and acted upon (timeout after connect, reset, dropped connection).
 */
export interface TransportError {
  readonly kind: "unavailable" | "unknown_outcome";
  readonly reason: string;
}

export interface SendOptions {
  readonly signal?: AbortSignal | undefined;
  /** Already clipped by the caller to min(venue timeout, remaining RPC deadline). */
  readonly timeoutMs: number;
  /** W3C traceparent of the venue call's span (tracing on): sent as the `traceparent` header. */
  readonly traceparent?: string | undefined;
}

export interface HttpClient {
  send(request: HttpRequest, options: SendOptions): Promise<Result<HttpResponse, TransportError>>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  /** e.g. https://api.binance.com ; every request url must share this origin. */
  readonly origin: string;
  /** Keep-alive connections per venue; a few suffice for an order gateway. */
  readonly connections?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Largest answer body read; a venue answering more is cut off (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

/** Errors raised before a single byte could have been written. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_DESTROYED",
  "UND_ERR_CLOSED",
]);

/**
 * One keep-alive undici Pool per venue origin. Never retries: undici's Pool
 * does not retry non-idempotent requests, and we add no retry on top, so an
 * order is written at most once per call.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const origin = new URL(options.origin).origin;
  const maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
  const pool = new Pool(origin, {
    connections: options.connections ?? 4,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    connect: { timeout: options.connectTimeoutMs ?? 3_000 },
    // A venue that stops answering must not pin the socket forever; the
    // per-request AbortSignal below is the real bound.
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  async function send(request: HttpRequest, opts: SendOptions): Promise<Result<HttpResponse, TransportError>> {
    const url = new URL(request.url);
    if (url.origin !== origin) {
      return err({ kind: "unavailable", reason: `request origin ${url.origin} does not match venue origin ${origin}` });
    }
    if (opts.signal?.aborted) return err({ kind: "unavailable", reason: "call cancelled before sending" });
    if (!(opts.timeoutMs > 0)) return err({ kind: "unavailable", reason: "deadline exceeded before sending" });
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      const res = await pool.request({
        method: request.method,
        path: url.pathname + url.search,
        headers: opts.traceparent === undefined ? request.headers : { ...request.headers, traceparent: opts.traceparent },
        body: request.body,
        signal,
      });
      // Bounded read: an order answer is a few KiB; a runaway body must not eat the heap.
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > maxBytes) {
          res.body.destroy();
          return err({ kind: "unknown_outcome", reason: `venue answer larger than ${maxBytes} bytes` });
        }
        chunks.push(b);
      }
      const bodyText = Buffer.concat(chunks).toString("utf8");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
      }
      return ok({ status: res.statusCode, headers, bodyText });
    } catch (e: unknown) {
      return err(classify(e, timeout.aborted, opts.timeoutMs));
    }
  }

  return {
    send,
    close: () => pool.close(),
  };
}

/** The most telling error code along the cause chain: a "not sent" code if any, else the first code. */
function errorCode(e: unknown): string | undefined {
  let first: string | undefined;
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === "object"; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") {
      if (NOT_SENT_CODES.has(code)) return code;
      first ??= code;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return first;
}

function classify(e: unknown, timedOut: boolean, timeoutMs: number): TransportError {
  const code = errorCode(e);
  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return { kind: "unavailable", reason: `venue unreachable (${code})` };
  }
  if (timedOut) return { kind: "unknown_outcome", reason: `venue did not answer within ${timeoutMs} ms` };
  // Reset, dropped connection, caller abort after dispatch: the request may
  // have been written, so the venue may have acted on it.
  return { kind: "unknown_outcome", reason: `venue connection failed (${code ?? "aborted"})` };
}
