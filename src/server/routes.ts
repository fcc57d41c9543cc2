import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { Health, createHealthService } from "./health.js";
import type { HealthRegistry } from "./health.js";
import { ReflectionV1, ReflectionV1alpha, createReflection } from "./reflection.js";

/** A TradingGateway implementation; a method left out answers UNIMPLEMENTED (test doubles implement only what they test). */
export type TradingImpl = Partial<ServiceImpl<typeof TradingGateway>>;

export interface RoutesDeps {
  /** The TradingGateway implementation (src/rpc/trading-service.ts, or a test double). */
  readonly trading: TradingImpl;
  readonly health: HealthRegistry;
}

/** Every service we serve, in the order reflection lists them. */
export const SERVED_SERVICES = [TradingGateway, Health, ReflectionV1, ReflectionV1alpha] as const;

/** Services callable without an API key: load balancers and tooling. */
export const PUBLIC_SERVICES: ReadonlySet<string> = new Set([Health.typeName, ReflectionV1.typeName, ReflectionV1alpha.typeName]);

/** Services never rate limited, so health checks keep answering under a flood. */
export const RATE_LIMIT_EXEMPT_SERVICES: ReadonlySet<string> = new Set([Health.typeName]);

/**
 * The one routes function: production (fastify-connect) and in-memory tests
 * (createRouterTransport) register exactly the same services.
 */
export function createRoutes(deps: RoutesDeps): (router: ConnectRouter) => void {
  const reflection = createReflection(SERVED_SERVICES);
  const health = createHealthService(deps.health);
  return (router) => {
    router.service(TradingGateway, deps.trading);
    router.service(Health, health);
    router.service(ReflectionV1, reflection.v1);
    router.service(ReflectionV1alpha, reflection.v1alpha);
  };
}
