import { createClient, createRouterTransport } from "@connectrpc/connect";
import type { Client, ServiceImpl } from "@connectrpc/connect";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import type { ApiKeyEntry } from "../../src/domain/principal.js";
import { peerKey } from "../../src/rpc/interceptors/context-keys.js";
import { createInterceptors } from "../../src/rpc/interceptors/index.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import type { RpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { PUBLIC_SERVICES, RATE_LIMIT_EXEMPT_SERVICES, createRoutes } from "../../src/server/routes.js";
import { createHealthRegistry } from "../../src/server/health.js";
import type { HealthRegistry } from "../../src/server/health.js";
import { createFakeTradingService } from "./fake-trading-service.js";
import type { FakeTrading } from "./fake-trading-service.js";
import { createLogCapture } from "./log-capture.js";
import type { LogCapture } from "./log-capture.js";

/** Test-only header carrying the fake peer address. */
const TEST_PEER_HEADER = "x-test-peer";

export interface InMemoryGatewayOptions {
  readonly apiKeys?: readonly ApiKeyEntry[];
  readonly rateLimit?: { ratePerSecond: number; burst: number; maxBuckets?: number; idleMs?: number };
  readonly trading?: Partial<ServiceImpl<typeof TradingGateway>>;
  /** Fake monotonic clock (ms) shared by logging, metrics and rate limiting. */
  readonly now?: () => number;
  readonly newRequestId?: () => string;
}

export interface InMemoryGateway {
  readonly trading: Client<typeof TradingGateway>;
  readonly health: Client<typeof Health>;
  readonly registry: HealthRegistry;
  readonly metrics: RpcMetrics;
  readonly logs: LogCapture;
  readonly fake: FakeTrading;
  /** Call options that make the server see `peer` as the caller's address. */
  peer(peer: string): { headers: Record<string, string> };
}

/**
 * The production routes and interceptor chain behind createRouterTransport:
 * no sockets, same code path as the server (minus HTTP).
 */
export function createInMemoryGateway(opts: InMemoryGatewayOptions = {}): InMemoryGateway {
  const logs = createLogCapture();
  const fake = createFakeTradingService();
  const metrics = createRpcMetrics();
  const registry = createHealthRegistry();
  const transport = createRouterTransport(createRoutes({ trading: opts.trading ?? fake.service, health: registry }), {
    router: {
      interceptors: [
        // In production the fastify plugin seeds peerKey from the socket; in memory
        // there is no socket (and client contextValues do not cross), so a test header does it.
        (next) => async (req) => {
          req.contextValues.set(peerKey, req.header.get(TEST_PEER_HEADER) ?? "");
          return next(req);
        },
        ...createInterceptors({
        logger: logs.logger,
        metrics,
        apiKeys: opts.apiKeys ?? [],
        rateLimit: { ratePerSecond: 0, burst: 1, maxBuckets: 1000, idleMs: 60_000, ...opts.rateLimit },
        publicServices: PUBLIC_SERVICES,
        rateLimitExemptServices: RATE_LIMIT_EXEMPT_SERVICES,
        ...(opts.now !== undefined ? { now: opts.now } : {}),
        ...(opts.newRequestId !== undefined ? { newRequestId: opts.newRequestId } : {}),
        }),
      ],
    },
  });
  return {
    trading: createClient(TradingGateway, transport),
    health: createClient(Health, transport),
    registry,
    metrics,
    logs,
    fake,
    peer: (peer) => ({ headers: { [TEST_PEER_HEADER]: peer } }),
  };
}
