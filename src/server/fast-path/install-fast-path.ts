import type { Http2Server, Http2Session } from "node:http2";
import type { ContextValues } from "@connectrpc/connect";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { addStreamHook } from "../dual-protocol-server.js";
import { formatPeer } from "../format-peer.js";
import { withStreamEnd } from "../stream-end.js";
import { createStreamFastPath, type StreamFastPathStats } from "./stream-fast-path.js";
import { createUnaryFastPath } from "./unary-fast-path.js";
import type { UnaryFastPathOptions, UnaryFastPathStats } from "./unary-fast-path.js";

/** installFastPath's options: connect's router-wide options, and what the fast path needs besides. */
export interface FastPathOptions extends Omit<UnaryFastPathOptions, "contextValues" | "onWriteError"> {
  /**
   * The context values of a call from this peer (`host:port`, formatPeer): what connect's
   * `contextValues` gives a call on connect's path. The fast path formats a connection's peer
   * once, so every call of a connection hands the same string on (the rate limiter reuses its key).
   */
  readonly peerContextValues: (peer: string) => ContextValues;
  /** For the rare call that could not be answered (its stream was reset). */
  readonly logger: Pick<Logger, "warn">;
}

/** What the fast path decorates the app with (`app.fastPath`): for tests and diagnostics. */
export interface FastPathStats {
  /** Streams the fast path has answered (every other stream went to Fastify). */
  readonly served: number;
  /** Unary calls started, and the batches they were started in (UnaryFastPathOptions.batchCalls). */
  readonly unary: Readonly<UnaryFastPathStats>;
  /** The server-streaming part (stream-fast-path.ts): streams, messages and writes. */
  readonly streams: Readonly<StreamFastPathStats>;
}

/**
 * Installs the unary fast path (unary-fast-path.ts), and the gRPC stream fast path for the
 * sequenced streams (stream-fast-path.ts: StreamOrderEvents, StreamFills), in front of Fastify on
 * `app`'s server (made by createDualProtocolServer). Call it once, before listen, with the very same options object
 * given to fastifyConnectPlugin (spread into this one): both paths then run the same routes,
 * interceptors and limits. This call is the gateway's only tie to the fast path: an app built
 * without it serves every call through connect.
 */
export function installFastPath(app: FastifyInstance<Http2Server>, options: FastPathOptions): void {
  const { peerContextValues, logger, batchCalls, ...unaryOptions } = options;
  // `session.socket` is a Proxy: the peer is read through it once per connection.
  const peers = new WeakMap<Http2Session, string>();
  const peerOf = (session: Http2Session | undefined): string => {
    if (session === undefined) return "";
    let peer = peers.get(session);
    if (peer === undefined) {
      peer = formatPeer(session.socket.remoteAddress, session.socket.remotePort);
      // Only once known: a session not yet (or no longer) connected has no address yet.
      if (peer !== "") peers.set(session, peer);
    }
    return peer;
  };
  const fast = createUnaryFastPath({
    ...unaryOptions,
    ...(batchCalls !== undefined ? { batchCalls } : {}),
    contextValues: (stream) => peerContextValues(peerOf(stream.session)),
    // Rare (a write to a stream that just closed is skipped): worth a line, the call was reset.
    onWriteError: (err) => logger.warn({ err }, "fast path: a call could not be answered; its stream was reset"),
  });
  // StreamOrderEvents and StreamFills over gRPC: gathered writes, hand-encoded (stream-fast-path.ts).
  const streams = createStreamFastPath({
    ...unaryOptions,
    contextValues: (stream) => withStreamEnd(peerContextValues(peerOf(stream.session)), { stream }),
    onWriteError: (err) => logger.warn({ err }, "fast path: a stream could not be answered; it was reset"),
  });
  let served = 0;
  addStreamHook(app.server, (stream, headers) => {
    if (!fast(stream, headers) && !streams.handle(stream, headers)) return false;
    served++;
    return true;
  });
  const stats: FastPathStats = {
    get served() {
      return served;
    },
    unary: fast.stats,
    streams: streams.stats,
  };
  app.decorate("fastPath", stats);
}

/** Streams the fast path installed on `app` has answered; 0 when none is installed. */
export function servedByFastPath(app: object): number {
  return (app as { fastPath?: FastPathStats }).fastPath?.served ?? 0;
}
