import assert from "node:assert/strict";
import { ConnectError, createClient, createRouterTransport, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import { principalKey, requestIdKey } from "../../src/rpc/interceptors/context-keys.js";
import { createCounterIds } from "./counter-ids.js";
import { createOrderPipeline, type OrderPipelineOptions } from "../../src/composition-root.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createManualClock, createMemoryAudit, createScriptedVenue } from "../use-cases/support.js";

export { MARKET_ORDER_FIELDS } from "./market-order.js";

/** Test stand-in for the auth interceptor: "x-accounts: a,b" restricts the principal; the request id is "rid-1". */
export const testAuth: Interceptor = (next) => async (req) => {
  const accounts = req.header.get("x-accounts");
  if (accounts !== null) req.contextValues.set(principalKey, { keyId: "test", accounts: new Set(accounts.split(",")) });
  req.contextValues.set(requestIdKey, "rid-1");
  return next(req);
};

export interface TestTradingCoreOptions extends Partial<OrderPipelineOptions> {
  /** The in-memory audit sink's mode; default buffered. Ignored when `audit` is given. */
  readonly auditMode?: "buffered" | "fsync";
}

/**
 * The trading core over a paper venue ("paper") and a scripted venue
 * ("scripted"), a manual clock, an in-memory audit sink and a real fill hub,
 * with an in-memory Connect client (no server). Any core option can be
 * overridden.
 */
export function createTestTradingCore(over: TestTradingCoreOptions = {}) {
  const { auditMode, ...options } = over;
  const clock = createManualClock();
  const audit = createMemoryAudit(auditMode ?? "buffered");
  const hub = createFillHub({ retain: 100, subscriberBuffer: 16 });
  const paper = createPaperVenue({ clock, ids: createCounterIds("p") });
  const scripted = createScriptedVenue();
  const venues = new Map<string, VenueAdapter>([["paper", paper], ["scripted", scripted]]);
  const core = createOrderPipeline({ venues, audit, fills: hub, signal: new AbortController().signal, clock, ...options });
  const routes = (router: ConnectRouter) => router.service(TradingGateway, core.service);
  const transport = createRouterTransport(routes, { router: { interceptors: [testAuth] } });
  const client = createClient(TradingGateway, transport);
  return { clock, audit, hub, paper, scripted, core, client };
}

/** The ConnectError a call fails with; fails the test when the call succeeds. */
export async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected an error");
}
