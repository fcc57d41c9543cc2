import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor, StreamRequest, StreamResponse } from "@connectrpc/connect";

type AnyFn = Parameters<Interceptor>[0];
type AnyRequest = Parameters<AnyFn>[0];
type AnyResponse = Awaited<ReturnType<AnyFn>>;

/** How an observed call ended: undefined code = OK. */
export interface CallEnd {
  readonly code: Code | undefined;
  readonly error: unknown;
}

export interface CallObserver {
  /** Called for each request message as the handler reads it. */
  onReceive?(): void;
  /** Called for each response message the handler produces. */
  onSend?(): void;
  /** Called exactly once, when the call is over (for streams: when the response stream ends). */
  onEnd(end: CallEnd): void;
}

/**
 * Runs `next` and reports messages and the call's end to an observer. A
 * streaming call is not over when `next` resolves but when its response
 * iterable finishes, so the response stream is wrapped; logging and metrics
 * share this so both see the same code and duration.
 */
export async function observeCall(next: AnyFn, req: AnyRequest, obs: CallObserver): Promise<AnyResponse> {
  let ended = false;
  const end = (code: Code | undefined, error: unknown) => {
    if (ended) return;
    ended = true;
    obs.onEnd({ code, error });
  };
  let request: AnyRequest = req;
  if (req.stream) {
    request = { ...req, message: countMessages(req.message, obs.onReceive) } as StreamRequest;
  } else {
    obs.onReceive?.();
  }
  let res: AnyResponse;
  try {
    res = await next(request);
  } catch (e) {
    end(ConnectError.from(e).code, e);
    throw e;
  }
  if (!res.stream) {
    obs.onSend?.();
    end(undefined, undefined);
    return res;
  }
  const source = res.message;
  // A client that goes away mid-stream may leave this iterable suspended and
  // never resumed, so the abort itself must count as the end of the call.
  const onAbort = () => end(abortCode(req.signal.reason), req.signal.reason);
  if (req.signal.aborted) onAbort();
  else req.signal.addEventListener("abort", onAbort, { once: true });
  async function* wrapped() {
    try {
      for await (const m of source) {
        obs.onSend?.();
        yield m;
      }
      end(undefined, undefined);
    } catch (e) {
      end(ConnectError.from(e).code, e);
      throw e;
    } finally {
      req.signal.removeEventListener("abort", onAbort);
      // The consumer stopped early: the client went away or the server aborted it.
      end(req.signal.aborted ? abortCode(req.signal.reason) : undefined, req.signal.reason);
    }
  }
  return { ...res, message: wrapped() } as StreamResponse;
}

/** Deadline and shutdown aborts carry a ConnectError; a vanished client is CANCELED. */
function abortCode(reason: unknown): Code {
  return reason instanceof ConnectError ? reason.code : Code.Canceled;
}

async function* countMessages<T>(source: AsyncIterable<T>, onReceive: (() => void) | undefined): AsyncIterable<T> {
  for await (const m of source) {
    onReceive?.();
    yield m;
  }
}

/** The gRPC code name as Go's `codes.Code.String()` prints it: OK, InvalidArgument, ... */
export function grpcCodeName(code: Code | undefined): string {
  if (code === undefined) return "OK";
  return Code[code] ?? "Unknown";
}

/** gRPC wire protocol of a request, from its content type. */
export function protocolOf(header: Headers): "grpc" | "grpc_web" | "connect" {
  const ct = header.get("content-type") ?? "";
  if (ct.startsWith("application/grpc-web")) return "grpc_web";
  if (ct.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** grpc_type label values used by go-grpc-prometheus. */
export function grpcType(kind: string): "unary" | "server_stream" | "client_stream" | "bidi_stream" {
  switch (kind) {
    case "server_streaming":
      return "server_stream";
    case "client_streaming":
      return "client_stream";
    case "bidi_streaming":
      return "bidi_stream";
    default:
      return "unary";
  }
}
