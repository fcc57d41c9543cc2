import { Code, ConnectError, cors as connectCors, createContextValues } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import underPressure from "@fastify/under-pressure";
import Fastify, { LogController } from "fastify";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Http2Server } from "node:http2";
import type { Logger } from "pino";
import type { ServerSettings } from "./server-settings.js";
import { peerKey } from "../rpc/interceptors/context-keys.js";
import { withStreamEnd } from "./stream-end.js";
import { createInterceptors } from "../rpc/interceptors/index.js";
import type { Tracer } from "../use-cases/tracing.js";
import type { RpcMetrics } from "../adapters/metrics/metrics.js";
import { PUBLIC_SERVICES, RATE_LIMIT_EXEMPT_SERVICES, SERVED_SERVICES, createRoutes, type TradingImpl } from "./routes.js";
import { createDualProtocolServer } from "./dual-protocol-server.js";
import { formatPeer } from "./format-peer.js";
import type { HealthRegistry } from "./health.js";
import { sendProtocolError } from "./protocol-error-reply.js";
import { withProtocolEdge } from "./protocol-edge.js";
import { createRpcRequestGuard } from "./rpc-request-guard.js";
import { registerDashboardRoutes, type DashboardBundle } from "./dashboard-route.js";

/** Everything buildApp needs; main.ts makes the real ones, tests pass doubles. */
export interface AppDeps {
  readonly config: ServerSettings;
  readonly logger: Logger;
  /** The TradingGateway implementation: createTradingService(...) or a test double. */
  readonly trading: TradingImpl;
  readonly health: HealthRegistry;
  readonly metrics: RpcMetrics;
  /** TLS material read by main from TLS_*_FILE (buildApp does no file I/O). */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string; readonly ca?: Buffer | string };
  /** OpenTelemetry tracing (the gateway's, createGateway().tracer); absent = off. */
  readonly tracer?: Tracer | undefined;
  /** Monotonic clock in ms for interceptors (tests). */
  readonly now?: () => number;
  /**
   * Called when SHUTDOWN_GRACE_MS has run out, GRACE_SETTLE_MS before calls still running are
   * aborted: the pipeline cancels its venue calls there, so an order still waiting on its venue is
   * answered with what the gateway knows (PENDING_NEW, on record, settled by reconciliation)
   * instead of an UNAVAILABLE that would leave its client unsure whether it went through.
   */
  readonly onGraceEnd?: () => void;
  /** The built dashboard, served at / (DASHBOARD=on, read by main from config/dashboard-files.ts); absent: / is the RPC 404. */
  readonly dashboard?: DashboardBundle;
}

/**
 * How long calls get, once their venue calls are cancelled at the end of the grace period, to
 * record and send their answer before they are aborted: an audit commit and a write, well under it.
 */
export const GRACE_SETTLE_MS = 500;

export type App = FastifyInstance<Http2Server>;

/**
 * Builds the gateway's Fastify instance with every route, interceptor, CORS,
 * load shedding and graceful-close behaviour. Never listens: main.ts (or a
 * test) calls app.listen. app.close() is graceful: health goes NOT_SERVING,
 * HTTP/2 connections get GOAWAY, new calls get UNAVAILABLE (HTTP/1.1 with
 * Connection: close), open streams end at once with UNAVAILABLE, in-flight
 * unary calls get SHUTDOWN_GRACE_MS to finish, then they are aborted and
 * connections are dropped (the drain: src/server/dual-protocol-server.ts).
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger } = deps;
  const app = Fastify({
    http2: true,
    serverFactory: ((handler: Parameters<typeof createDualProtocolServer>[0]) =>
      createDualProtocolServer(handler, {
        ...(deps.tls !== undefined ? { tls: deps.tls } : {}),
        maxConcurrentStreams: config.http2MaxConcurrentStreams,
        headersTimeoutMs: config.headersTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
        keepAliveTimeoutMs: config.keepAliveTimeoutMs,
        connectionTimeoutMs: config.connectionTimeoutMs,
        http2SessionIdleMs: config.http2SessionIdleMs,
        keepaliveIntervalMs: config.http2KeepaliveIntervalMs,
        keepaliveTimeoutMs: config.http2KeepaliveTimeoutMs,
        onKeepaliveTimeout: (peer) =>
          logger.warn(
            { peer: formatPeer(peer.address, peer.port), timeoutMs: config.http2KeepaliveTimeoutMs },
            "HTTP/2 peer did not answer a keepalive PING: connection closed, its calls canceled",
          ),
      })) as never,
    loggerInstance: logger.child({ component: "http" }),
    // One line per RPC comes from the logging interceptor; Fastify's own request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's closing 503 is an HTML-ish reply gRPC clients cannot read; our onRequest hook answers instead.
    return503OnClosing: false,
    // Bodies go to Connect unparsed; its readMaxBytes gives RESOURCE_EXHAUSTED. This only guards other routes.
    bodyLimit: config.maxMessageBytes + 1024,
    // A path that is no valid percent-encoding: refused in the caller's protocol, not with Fastify's JSON.
    frameworkErrors: (error, req, reply) => {
      sendProtocolError(req, reply as unknown as FastifyReply, new ConnectError(`invalid request path: ${error.message}`, Code.InvalidArgument));
    },
  }) as unknown as App;

  let closing = false;
  const inFlight = new AbortController();
  const guard = createRpcRequestGuard({ services: SERVED_SERVICES.map((s) => s.typeName) });
  // Aborted when shutdown begins: open streaming calls end at once with this (stream-shutdown.ts).
  const streams = new AbortController();

  if (config.corsOrigins.length > 0) {
    await app.register(fastifyCors, {
      origin: config.corsOrigins.includes("*") ? true : config.corsOrigins,
      methods: [...connectCors.allowedMethods],
      allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"],
      exposedHeaders: [...connectCors.exposedHeaders, "X-Request-Id", "Retry-After"],
      maxAge: 7200,
    });
  }

  // Registered after CORS so refused browser calls still carry CORS headers and are readable.
  app.addHook("onRequest", async (req, reply) => {
    if (closing || deps.health.shuttingDown) {
      return sendProtocolError(req, reply, new ConnectError("server is shutting down", Code.Unavailable), 1);
    }
    // Connect builds each call's URL from the authority; one no URL can hold (":authority: [x")
    // made its handler throw and answer HTTP 200 with an empty body, which no client can read.
    const authority = req.headers[":authority"] ?? req.headers.host;
    if (typeof authority === "string" && !URL.canParse(req.url, `http://${authority}`)) {
      const field = req.headers[":authority"] !== undefined ? ":authority" : "host";
      return sendProtocolError(req, reply, new ConnectError(`invalid ${field} header: ${JSON.stringify(authority.slice(0, 100))}`, Code.InvalidArgument));
    }
    // Every route of this port but the dashboard's GETs is an RPC, and what is refused here is refused in the caller's
    // protocol before any body is read (Fastify's own answers are JSON no RPC client reads):
    // no such RPC is UNIMPLEMENTED (HTTP 404 for Connect), a POST without one of the protocols'
    // content types INVALID_ARGUMENT (HTTP 415).
    if (req.is404) return sendProtocolError(req, reply, guard.unknownRpcError(req.method, req.url), undefined, 404);
    if (req.method === "POST") {
      const e = guard.contentTypeError(req.headers["content-type"]);
      if (e !== undefined) return sendProtocolError(req, reply, e, undefined, 415);
    }
    return undefined;
  });

  await app.register(underPressure, {
    maxEventLoopDelay: config.underPressureMaxEventLoopDelayMs,
    maxEventLoopUtilization: config.underPressureMaxEventLoopUtilization,
    maxHeapUsedBytes: config.underPressureMaxHeapUsedBytes,
    maxRssBytes: config.underPressureMaxRssBytes,
    sampleInterval: config.underPressureSampleIntervalMs,
    retryAfter: config.underPressureRetryAfterS,
    pressureHandler(req, reply, type) {
      sendProtocolError(req, reply, new ConnectError(`server overloaded (${type}); retry later`, Code.Unavailable), config.underPressureRetryAfterS);
      // Returning nothing: under-pressure then calls next(), and Fastify stops because the reply is sent.
    },
  });

  const peerContextValues = (peer: string) => createContextValues().set(peerKey, peer);
  const connectOptions = {
    // The edge answers as the gateway does where connect-es differs (decode failures, grpc-message).
    routes: withProtocolEdge(createRoutes({ trading: deps.trading, health: deps.health })),
    interceptors: createInterceptors({
      logger,
      metrics: deps.metrics,
      apiKeys: config.apiKeys,
      rateLimit: {
        ratePerSecond: config.rateLimitRps,
        burst: config.rateLimitBurst,
        maxBuckets: config.rateLimitMaxBuckets,
        idleMs: config.rateLimitIdleMs,
      },
      publicServices: PUBLIC_SERVICES,
      rateLimitExemptServices: RATE_LIMIT_EXEMPT_SERVICES,
      streamShutdownSignal: streams.signal,
      ...(deps.now !== undefined ? { now: deps.now } : {}),
      ...(deps.tracer !== undefined ? { tracer: deps.tracer } : {}),
    }),
    // Requests only: a response is the gateway's own, and refusing it would throw away work done
    // (an order placed). Clients limit what they receive themselves.
    readMaxBytes: config.maxMessageBytes,
    maxTimeoutMs: config.maxDeadlineMs,
    // Aborted after the grace period (below): handlers see ctx.signal abort, clients get UNAVAILABLE.
    shutdownSignal: inFlight.signal,
    contextValues: (req: { socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }; raw?: unknown }) =>
      withStreamEnd(peerContextValues(formatPeer(req.socket.remoteAddress, req.socket.remotePort)), req.raw),
  };
  // FAST_PATH: unary calls served on the HTTP/2 stream event, in front of Fastify, with these same
  // options (same interceptor instances, so rate-limit buckets and metrics are shared); calls the
  // hooks above would refuse (closing, under pressure) are left to Fastify, which answers them.
  // This line is the fast path's only tie to the gateway (test/server/fast-path/removable.test.ts):
  // without it every call goes through connect. Imported only when on, so FAST_PATH=off loads none of it.
  if (config.fastPath) (await import("./fast-path/install-fast-path.js")).installFastPath(app, { ...connectOptions, batchCalls: config.callBatching, peerContextValues, logger, bypass: () => closing || deps.health.shuttingDown || app.isUnderPressure() });
  await app.register(fastifyConnectPlugin, connectOptions);
  if (deps.dashboard !== undefined) registerDashboardRoutes(app, deps.dashboard);

  // Shutdown: the grace timers live here (not in the Connect plugin, whose timer
  // is never cleared and would hold a test process open).
  app.addHook("preClose", (done) => {
    closing = true;
    deps.health.shutdown();
    streams.abort(new ConnectError("server is shutting down", Code.Unavailable));
    const server = app.server as unknown as import("node:http").Server;
    let abortTimer: NodeJS.Timeout | undefined;
    const graceTimer = setTimeout(() => {
      deps.onGraceEnd?.();
      abortTimer = setTimeout(() => inFlight.abort(new ConnectError("server is shutting down", Code.Unavailable)), GRACE_SETTLE_MS);
    }, config.shutdownGraceMs);
    // Give aborted calls a moment to send their UNAVAILABLE before sockets go.
    const killTimer = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs + GRACE_SETTLE_MS + 1000);
    server.once("close", () => {
      clearTimeout(graceTimer);
      clearTimeout(abortTimer);
      clearTimeout(killTimer);
    });
    done();
  });

  return app;
}
