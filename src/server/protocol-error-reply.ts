import type { ServerHttp2Stream } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJson } from "@connectrpc/connect/protocol-connect";
import { setGrpcStatus } from "./grpc-status.js";

/** The parts of a Fastify request/reply used here (any raw server type). */
interface RequestLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}
interface ReplyLike {
  readonly raw: unknown;
  hijack(): unknown;
  code(status: number): ReplyLike;
  header(key: string, value: string): ReplyLike;
  send(payload?: Buffer): ReplyLike;
}

/**
 * Answers a request that never reaches Connect (shed by under-pressure,
 * refused while shutting down) with an error every client understands in its
 * own protocol, built with Connect's own helpers so the shape matches what
 * Connect handlers send:
 * - gRPC: HTTP 200, trailers-only (grpc-status, grpc-message and
 *   grpc-status-details-bin in the only HEADERS frame, END_STREAM set);
 * - gRPC-Web: HTTP 200 with the status in the headers;
 * - Connect (and anything else): the Connect JSON error with its HTTP status (the code's, or
 *   `httpStatus` where HTTP has a more precise one: 404 for no such RPC, 415 for a content type).
 */
export function sendProtocolError<R extends ReplyLike>(req: RequestLike, reply: R, error: ConnectError, retryAfterS?: number, httpStatus?: number): R {
  const raw = req.headers["content-type"];
  const ct = typeof raw === "string" ? raw : "";
  if (retryAfterS !== undefined) reply.header("retry-after", String(retryAfterS));
  if (ct.startsWith("application/grpc")) {
    const h = setGrpcStatus(new Headers(), error);
    const stream = (reply.raw as { stream?: ServerHttp2Stream }).stream;
    if (!ct.startsWith("application/grpc-web") && stream !== undefined && !stream.headersSent) {
      // Real trailers-only: ONE HEADERS frame with END_STREAM. Fastify's send()
      // would add an empty DATA frame, and strict gRPC clients then read the
      // status as initial metadata and fail with "no trailers".
      reply.hijack();
      const out: Record<string, string | number> = { ":status": 200, "content-type": ct.split(";")[0]! };
      if (retryAfterS !== undefined) out["retry-after"] = retryAfterS;
      h.forEach((value, key) => (out[key] = value));
      stream.respond(out, { endStream: true });
      return reply;
    }
    reply.code(200).header("content-type", ct.split(";")[0]!);
    h.forEach((value, key) => reply.header(key, value));
    reply.send();
    return reply;
  }
  reply
    .code(httpStatus ?? codeToHttpStatus(error.code))
    .header("content-type", "application/json")
    // A Buffer, so Fastify does not append "; charset=utf-8": same bytes as Connect's own errors.
    .send(Buffer.from(JSON.stringify(errorToJson(error, undefined))));
  return reply;
}
