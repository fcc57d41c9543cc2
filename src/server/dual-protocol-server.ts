import http from "node:http";
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";

/**
 * A hook that sees every HTTP/2 stream before Fastify's compat layer.
 * Return true when the stream was handled (it then never reaches Fastify),
 * false to let it through. Added with addStreamHook (the unary gRPC fast path
 * adds one: src/server/fast-path/).
 */
export type StreamHook = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => boolean;

export interface DualProtocolServerOptions {
  /** PEM material; when present the server speaks TLS with ALPN (h2, http/1.1). */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string; readonly ca?: Buffer | string };
  readonly maxConcurrentStreams: number;
  /** HTTP/1.1 header deadline; also how long a new cleartext connection may take to send its first bytes. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Socket inactivity timeout, 0 = none. */
  readonly connectionTimeoutMs: number;
  /** Idle HTTP/2 sessions without open streams are closed after this, 0 = never. */
  readonly http2SessionIdleMs: number;
  /** Every HTTP/2 connection is sent a PING this often, 0 = never (see keepalive()). */
  readonly keepaliveIntervalMs: number;
  /** A PING not answered within this ends the connection. */
  readonly keepaliveTimeoutMs: number;
  /** Told when a connection is ended because its peer did not answer a PING (for a log line). */
  readonly onKeepaliveTimeout?: (peer: { readonly address: string | undefined; readonly port: number | undefined }) => void;
}

/**
 * During a shutdown drain, idle HTTP/1.1 keep-alive connections are closed only once no HTTP/1.1
 * call has ended for this long (see closeIdleH1 in addCloseHelpers).
 */
const H1_QUIET_MS = 250;

/** The HTTP/2 connection preface (RFC 9113 §3.4) every prior-knowledge client sends first. */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** The server Fastify gets from serverFactory; close/closeIdle/closeAll cover both protocols. */
export type DualProtocolServer = http.Server | http2.Http2SecureServer;

/** Where a server keeps its stream hooks (on the object itself: no module state). */
const kStreamHooks = Symbol("streamHooks");

/**
 * Offers every HTTP/2 stream of `server` (made by createDualProtocolServer) to `hook` before
 * Fastify, after the hooks added before it. Add hooks before the server listens: a stream that
 * arrived earlier was not offered.
 */
export function addStreamHook(server: object, hook: StreamHook): void {
  const hooks = (server as { [kStreamHooks]?: StreamHook[] })[kStreamHooks];
  if (hooks === undefined) throw new TypeError("addStreamHook: not a server made by createDualProtocolServer");
  hooks.push(hook);
}

/**
 * One port for HTTP/2 (prior knowledge, i.e. gRPC and h2c) and HTTP/1.1
 * (Connect JSON from curl, gRPC-Web from browsers). Node cannot do both on a
 * cleartext port, so:
 *
 * - The listening server is a plain http.Server, which keeps every HTTP/1.1
 *   feature Fastify relies on (headers/request/keep-alive timeouts,
 *   closeIdleConnections, close waiting for open sockets).
 * - Its own 'connection' listener is swapped for one that peeks at the first
 *   bytes: the HTTP/2 preface sends the socket (bytes put back with unshift)
 *   to a never-listening http2 server via emit('connection'); anything else
 *   goes to the original HTTP/1.1 connection listener.
 * - With TLS, ALPN already chooses, so the listening server is Node's
 *   http2.createSecureServer({ allowHTTP1: true }).
 *
 * The stream hook: Node installs its compat layer (which turns streams into
 * the 'request' events Fastify handles) as a 'stream' listener when a request
 * handler is given. We take those listeners off the http2 server and put back
 * one dispatcher that offers each stream to the hooks (addStreamHook) first and
 * calls the compat listeners only when every hook declines.
 */
export function createDualProtocolServer(handler: Handler, opts: DualProtocolServerOptions): DualProtocolServer {
  const drain = createDrain();
  const hooks: StreamHook[] = [];
  const h2Settings = { maxConcurrentStreams: opts.maxConcurrentStreams };

  if (opts.tls !== undefined) {
    const secure = http2.createSecureServer(
      {
        cert: opts.tls.cert,
        key: opts.tls.key,
        allowHTTP1: true,
        settings: h2Settings,
        ...(opts.tls.ca !== undefined ? { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
    Object.assign(secure, {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      keepAliveTimeout: opts.keepAliveTimeoutMs,
    });
    secure.setTimeout(opts.connectionTimeoutMs);
    installStreamHook(secure, drain, hooks, opts);
    // tls.Server has no closeIdleConnections/closeAllConnections: track sockets for the drain and the hard stop.
    const sockets = new Set<Socket>();
    secure.on("secureConnection", (sock: Socket) => {
      sockets.add(sock);
      sock.once("close", () => sockets.delete(sock));
    });
    addCloseHelpers(secure, drain, undefined, sockets);
    Object.defineProperty(secure, kStreamHooks, { value: hooks });
    return secure;
  }

  const h1 = http.createServer(
    {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      keepAliveTimeout: opts.keepAliveTimeoutMs,
      // Node checks those deadlines on this interval (default 30 s, which would
      // let a slow-headers client hold a socket far past HEADERS_TIMEOUT_MS).
      connectionsCheckingInterval: Math.min(5000, Math.max(100, Math.floor(opts.headersTimeoutMs / 4))),
    },
    handler as http.RequestListener,
  );
  h1.setTimeout(opts.connectionTimeoutMs);
  const h2 = http2.createServer({ settings: h2Settings }, handler);
  h2.setTimeout(opts.connectionTimeoutMs);
  installStreamHook(h2, drain, hooks, opts);

  const h1ConnectionListeners = h1.listeners("connection") as ((socket: Duplex) => void)[];
  h1.removeAllListeners("connection");
  const peeking = new Set<Socket>();
  // Sockets handed to the HTTP/2 server, for the hard stop: a session closed gracefully (GOAWAY)
  // waits for its peer's FIN, which a frozen or vanished peer never sends.
  const h2Sockets = new Set<Socket>();

  h1.on("connection", (socket: Socket) => {
    // Small RPC frames must leave at once (Nagle would hold them for an ACK);
    // http.Server does this for its own sockets, the HTTP/2 hand-off needs it here.
    socket.setNoDelay(true);
    peeking.add(socket);
    let buf: Buffer = Buffer.alloc(0);
    // A connection that never sends its first bytes would otherwise hold a socket forever.
    const timer = setTimeout(() => socket.destroy(), opts.headersTimeoutMs);
    const done = () => {
      clearTimeout(timer);
      peeking.delete(socket);
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
    };
    const onError = () => {
      done();
      socket.destroy();
    };
    const onClose = () => done();
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const n = Math.min(buf.length, HTTP2_PREFACE.length);
      const looksH2 = buf.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (looksH2 && buf.length < HTTP2_PREFACE.length) return; // need more bytes to decide
      done();
      // Stop the flow so no byte is read before its new owner listens, and put
      // the peeked bytes back: both Node servers read what is already buffered
      // (http2's session start drains socket.read(); the HTTP/1 parser gets
      // 'data' events once the socket flows again).
      socket.pause();
      socket.unshift(buf);
      if (looksH2) {
        // http.Server accepts sockets with allowHalfOpen (its HTTP/1.1 parser handles a client's
        // FIN itself); the HTTP/2 session does not, so with it a client's FIN went unseen until
        // the server next wrote: a killed client's streams (StreamFills, Watch) stayed open.
        socket.allowHalfOpen = false;
        h2Sockets.add(socket);
        socket.once("close", () => h2Sockets.delete(socket));
        h2.emit("connection", socket);
      } else {
        for (const l of h1ConnectionListeners) l.call(h1, socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });

  addCloseHelpers(h1, drain, peeking, h2Sockets);
  Object.defineProperty(h1, kStreamHooks, { value: hooks });
  return h1;
}

function installStreamHook(
  server: http2.Http2Server | http2.Http2SecureServer,
  drain: Drain,
  hooks: readonly StreamHook[],
  opts: DualProtocolServerOptions,
): void {
  const compat = server.listeners("stream") as ((...args: unknown[]) => void)[];
  server.removeAllListeners("stream");
  const openStreams = new WeakMap<http2.Http2Session, number>();
  (server as http2.Http2Server).on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const session = stream.session;
    if (session !== undefined) {
      openStreams.set(session, (openStreams.get(session) ?? 0) + 1);
      stream.once("close", () => {
        openStreams.set(session, (openStreams.get(session) ?? 1) - 1);
        // The session may now be done (see Drain.check).
        if (drain.active) setImmediate(() => drain.check());
      });
    }
    for (let i = 0; i < hooks.length; i++) if (hooks[i]!(stream, headers, flags, rawHeaders)) return;
    for (const l of compat) l.call(server, stream, headers, flags, rawHeaders);
  });
  (server as http2.Http2Server).on("session", (session: http2.ServerHttp2Session) => {
    drain.sessions.add(session);
    session.once("close", () => {
      drain.sessions.delete(session);
      drain.check();
    });
    if (opts.http2SessionIdleMs > 0) {
      session.setTimeout(opts.http2SessionIdleMs, () => {
        // Quiet fill streams are legitimate: only sessions with nothing open are idle.
        if ((openStreams.get(session) ?? 0) === 0) session.close();
      });
    }
    if (opts.keepaliveIntervalMs > 0) keepalive(session, opts);
    // A connection still being sniffed when the drain began: serve what it has already sent
    // (those calls get UNAVAILABLE), then GOAWAY like the others.
    if (drain.active) setImmediate(() => session.close());
  });
}

/**
 * HTTP/2 keepalive: a PING every `keepaliveIntervalMs`; no answer within `keepaliveTimeoutMs`
 * ends the connection, so its streams end (CANCELED) and their resources are released. It finds
 * peers that vanished without a FIN or RST (a host that lost power, a dropped NAT mapping, a
 * client process frozen or stopped), which the socket alone would not show while the server has
 * nothing to write. A peer answers PINGs in its HTTP/2 stack whatever its application does, and
 * one 17-byte frame per interval costs nothing; PINGs carry no stream, so they do not count as
 * activity for HTTP2_SESSION_IDLE_MS.
 */
function keepalive(session: http2.ServerHttp2Session, opts: DualProtocolServerOptions): void {
  let timer: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(probe, opts.keepaliveIntervalMs);
    // The socket keeps the process alive while it is open; the probe timers need not.
    timer.unref();
  };
  const probe = () => {
    if (session.destroyed) return;
    deadline = setTimeout(() => {
      const sock = session.socket as Socket | undefined;
      opts.onKeepaliveTimeout?.({ address: sock?.remoteAddress, port: sock?.remotePort });
      session.destroy();
    }, opts.keepaliveTimeoutMs);
    deadline.unref();
    try {
      session.ping((err) => {
        clearTimeout(deadline);
        // An error: the session is going away (its close clears everything).
        if (err === null) schedule();
      });
    } catch {
      // Destroyed in between: nothing to probe (a throw here would escape from a timer).
      clearTimeout(deadline);
    }
  };
  session.once("close", () => {
    clearTimeout(timer);
    clearTimeout(deadline);
  });
  schedule();
}

/**
 * The graceful stop (SIGTERM), shared by the HTTP/1.1 and HTTP/2 sides of one server:
 * - every HTTP/2 connection is sent GOAWAY at once, with the last stream id it processed:
 *   calls it already took finish, and the client knows that later ones were not processed and
 *   may be sent elsewhere (gRPC clients retry them transparently);
 * - HTTP/1.1 has no GOAWAY: responses still to be written get `Connection: close` (Node then
 *   closes the socket after them), and an idle keep-alive connection is kept open while calls
 *   are in flight, so a request that reaches it gets an answer (UNAVAILABLE from the app, with
 *   `Connection: close`), never a socket closed under it;
 * - once no call is in flight (no HTTP/2 stream open, no HTTP/1.1 response open), idle
 *   HTTP/1.1 connections, HTTP/2 connections whose peer has not closed them yet and connections
 *   that have sent nothing yet are closed. A request sent
 *   on such a connection at that very moment can still meet the close: that race is inherent to
 *   HTTP/1.1 keep-alive (RFC 9112 §9.6), and Node's and browsers' clients retry a request that
 *   failed on a reused connection before any response byte.
 */
interface Drain {
  readonly sessions: Set<http2.ServerHttp2Session>;
  /** HTTP/1.1 responses not yet closed. */
  readonly h1Responses: Set<http.ServerResponse>;
  readonly active: boolean;
  start(): void;
  /** Called when a call or connection ends: closes the idle ones once nothing is in flight. */
  check(): void;
  /** What to close once nothing is in flight (set by addCloseHelpers). */
  onDrained: () => void;
}

function createDrain(): Drain {
  let active = false;
  let drained = false;
  const drain: Drain = {
    sessions: new Set(),
    h1Responses: new Set(),
    get active() {
      return active;
    },
    start() {
      if (active) return;
      active = true;
      for (const session of drain.sessions) if (!session.closed) session.close();
      for (const res of drain.h1Responses) if (!res.headersSent) res.setHeader("connection", "close");
      drain.check();
    },
    check() {
      if (!active || drained || drain.h1Responses.size > 0) return;
      // A session closed gracefully is destroyed once its streams are done, but emits 'close'
      // only when its peer's FIN comes: a peer that is gone would hold the drain.
      for (const session of drain.sessions) if (!session.destroyed) return;
      drained = true;
      drain.onDrained();
    },
    onDrained: () => {},
  };
  return drain;
}

/**
 * close() and closeIdleConnections() (Fastify calls both) start the drain (see Drain) and stop
 * accepting; closeAllConnections() is the hard stop after the grace period.
 */
function addCloseHelpers(
  server: http.Server | http2.Http2SecureServer,
  drain: Drain,
  peeking: Set<Socket> | undefined,
  /** Sockets the hard stop destroys: every TLS socket, or the cleartext HTTP/2 ones. */
  sockets: Set<Socket>,
): void {
  const s = server as http.Server;
  const origClose = s.close.bind(s);
  const origIdle = typeof s.closeIdleConnections === "function" ? s.closeIdleConnections.bind(s) : undefined;
  const origAll = typeof s.closeAllConnections === "function" ? s.closeAllConnections.bind(s) : undefined;
  // HTTP/1.1 connections that have carried a request, and when an HTTP/1.1 response last ended.
  const h1Sockets = new Set<Socket>();
  let lastH1End = 0;
  // HTTP/1.1 requests (the TLS server's 'request' also carries HTTP/2 compat requests).
  s.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.httpVersionMajor !== 1) return;
    const sock = req.socket;
    if (!h1Sockets.has(sock)) {
      h1Sockets.add(sock);
      sock.once("close", () => h1Sockets.delete(sock));
    }
    drain.h1Responses.add(res);
    if (drain.active && !res.headersSent) res.setHeader("connection", "close");
    res.once("close", () => {
      drain.h1Responses.delete(res);
      lastH1End = performance.now();
      // After Node has put the connection back to idle.
      if (drain.active) setImmediate(() => drain.check());
    });
  });
  const closeIdleH1 = () => {
    // Every HTTP/1.1 response written during the drain closes its connection: a client still
    // sending on keep-alive connections uses each up within moments and gets UNAVAILABLE. The
    // idle ones are closed once no HTTP/1.1 call has ended for H1_QUIET_MS, so that a client
    // that is busy sending (its next request about to leave on a connection it just got back)
    // is not the one that meets the close.
    const quietFor = performance.now() - lastH1End;
    if (drain.h1Responses.size > 0 || (h1Sockets.size > 0 && quietFor < H1_QUIET_MS)) {
      setTimeout(closeIdleH1, Math.max(1, H1_QUIET_MS - quietFor)).unref();
      return;
    }
    // http.Server.close() calls closeIdleConnections(), which is the drain's start below: the
    // prototype's own closes the idle HTTP/1.1 connections now (not one with a request begun).
    origIdle?.();
    if (peeking !== undefined) for (const sock of peeking) sock.destroy();
    // TLS: every socket left is an idle HTTP/1.1 one or an HTTP/2 one whose session is done.
    for (const sock of sockets) sock.destroy();
  };
  drain.onDrained = () => {
    // HTTP/2 sockets whose session is done (GOAWAY sent, nothing open) but whose peer has not
    // closed them yet: nothing can race these.
    for (const sock of sockets) if (!h1Sockets.has(sock) && !(peeking?.has(sock) ?? false)) sock.destroy();
    closeIdleH1();
  };
  s.close = ((cb?: (err?: Error) => void) => {
    drain.start();
    return origClose(cb);
  }) as typeof s.close;
  s.closeIdleConnections = () => drain.start();
  s.closeAllConnections = () => {
    for (const session of drain.sessions) session.destroy();
    if (peeking !== undefined) for (const sock of peeking) sock.destroy();
    for (const sock of sockets) sock.destroy();
    origAll?.();
  };
}
