import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  TradingGateway,
  type CancelOrderResponse,
  type GetOrderStatusResponse,
  type PlaceOrderResponse,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { AuditSink } from "../use-cases/audit-sink.js";
import { principalKey, requestIdKey } from "./interceptors/context-keys.js";
import { createMemoryIdempotencyStore } from "../adapters/stores/memory-store.js";
import type { IdempotencyStore } from "../use-cases/idempotency-store.js";
import { createCancelOrder, type CancelOrder } from "../use-cases/cancel-order.js";
import { findOrder } from "../use-cases/find-order.js";
import { createOrderManager, type OrderManager } from "../use-cases/order-manager.js";
import { applyRecoveredState, type RecoveredState } from "../use-cases/recover.js";
import { createAuditGuard, type AuditFailureListener, type AuditGuard } from "../use-cases/audit-guard.js";
import { createPlaceOrder, type CallInfo, type PlaceOrder } from "../use-cases/place-order.js";
import { createRiskCheck, type RiskLimitsConfig } from "../use-cases/risk.js";
import { createIdSource, systemClock, type Clock, type IdSource } from "../domain/ports.js";
import type { FillHub } from "../use-cases/fill-hub.js";
import { createStreamFillsHandler } from "./stream-fills.js";
import { createOrderValidator } from "../use-cases/validate.js";
import type { VenueAdapter } from "../use-cases/venue-adapter.js";
import { toConnectError } from "./to-connect-error.js";
import { toProtoOrder } from "./proto-mapping.js";

type StreamFillsHandler = ServiceImpl<typeof TradingGateway>["streamFills"];

export interface TradingServiceDeps {
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  readonly orders: OrderManager;
  /** The StreamFills handler: the fill hub's (src/rpc/stream-fills.ts). */
  readonly streamFills: StreamFillsHandler;
}

// Derived from the field declaration (src/domain/order-fields.ts); re-exported for existing importers.
export { toProtoOrder } from "./proto-mapping.js";

function callInfo(ctx: HandlerContext): CallInfo {
  const t = ctx.timeoutMs();
  return {
    requestId: ctx.values.get(requestIdKey),
    principal: ctx.values.get(principalKey),
    deadlineMs: t === undefined ? undefined : Date.now() + t,
  };
}

/**
 * TradingGateway, thin: proto -> domain, run the pipeline, domain -> proto.
 * Errors are values until here and become ConnectErrors only through
 * toConnectError.
 */
export function createTradingService(deps: TradingServiceDeps): ServiceImpl<typeof TradingGateway> {
  const { placeOrder, cancelOrder, orders } = deps;
  return {
    async placeOrder(req, ctx): Promise<PlaceOrderResponse> {
      // The generated request has exactly the PlaceOrderInput fields; enums arrive as numbers.
      const r = await placeOrder(req, callInfo(ctx));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.PlaceOrderResponse", order: toProtoOrder(r.value.order), replayed: r.value.replayed };
    },
    async cancelOrder(req, ctx): Promise<CancelOrderResponse> {
      const r = await cancelOrder(req, callInfo(ctx));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.CancelOrderResponse", order: toProtoOrder(r.value) };
    },
    getOrderStatus(req, ctx): GetOrderStatusResponse {
      const r = findOrder(orders, req, ctx.values.get(principalKey));
      if (!r.ok) throw toConnectError(r.error);
      return { $typeName: "trading.v1.GetOrderStatusResponse", order: toProtoOrder(r.value) };
    },
    streamFills: deps.streamFills,
  };
}

export interface TradingCoreOptions {
  /** Configured venues by name (the paper venue included if wanted). */
  readonly venues: ReadonlyMap<string, VenueAdapter>;
  readonly audit: AuditSink;
  /** The fill hub (src/use-cases/fill-hub.ts): sequences, publish after durability, subscriptions. */
  readonly fills: FillHub;
  /** The StreamFills handler; default createStreamFillsHandler({ hub: fills }). */
  readonly streamFills?: StreamFillsHandler;
  /** Aborted on shutdown; passed to venue calls. */
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  /** Order ids; default: random boot tag + counter. Fill ids use a second source. */
  readonly orderIds?: IdSource;
  readonly fillIds?: IdSource;
  /** IDEMPOTENCY_TTL_MS; default 24 h. */
  readonly idempotencyTtlMs?: number;
  /** IDEMPOTENCY_MAX_ENTRIES; default 100,000. */
  readonly idempotencyMaxEntries?: number;
  /** Take the memory of the idempotency and terminal-order rings at creation (record-ring.ts); default false. */
  readonly prefaultRetention?: boolean;
  /** ORDER_RETENTION_MS; default 10 min. */
  readonly orderRetentionMs?: number;
  /** Most terminal orders kept in memory; default 100,000. */
  readonly maxTerminalOrders?: number;
  /** Pre-trade risk limits; default none. */
  readonly riskLimits?: RiskLimitsConfig;
  /** State rebuilt from the audit log at start-up (src/use-cases/recover.ts). */
  readonly recovered?: RecoveredState;
  /** Venue answers that could not be applied, audit failures of background updates. */
  readonly onError?: (message: string, detail: unknown) => void;
  /**
   * Called once, on the first failed audit append: from then on PlaceOrder
   * and CancelOrder answer UNAVAILABLE "audit log unavailable" until restart
   * (or, `transient`, until the sink is back: see audit-guard.ts).
   * The server flips health to NOT_SERVING here.
   */
  readonly onAuditFailure?: AuditFailureListener;
  /**
   * A guard made by the caller (createAuditGuard(listener)), for failures only
   * the sink sees, e.g. a buffered-mode write error reported by its error hook.
   * When given, `onAuditFailure` is not used.
   */
  readonly auditGuard?: AuditGuard;
}

export interface TradingCore {
  readonly service: ServiceImpl<typeof TradingGateway>;
  readonly placeOrder: PlaceOrder;
  readonly cancelOrder: CancelOrder;
  /** Also the OrderUpdateSink for venue pollers / reconcilers. */
  readonly orders: OrderManager;
  readonly idempotency: IdempotencyStore;
  /** `healthy` is false once an audit append failed. */
  readonly auditGuard: AuditGuard;
}

/** Builds the whole order pipeline from plain settings: main.ts wiring is one call. */
export function createTradingCore(options: TradingCoreOptions): TradingCore {
  const clock = options.clock ?? systemClock;
  const { venues, audit, signal } = options;
  const orderIds = options.orderIds ?? createIdSource("o-");
  const fillIds = options.fillIds ?? createIdSource("f-");
  const idempotency = createMemoryIdempotencyStore({
    ...(options.idempotencyTtlMs !== undefined ? { ttlMs: options.idempotencyTtlMs } : {}),
    ...(options.idempotencyMaxEntries !== undefined ? { maxEntries: options.idempotencyMaxEntries } : {}),
    prefault: options.prefaultRetention === true,
  });
  const onError = options.onError ?? (() => {});
  const auditGuard = options.auditGuard ?? createAuditGuard(options.onAuditFailure);
  // Fill ids come from their own source; the manager's `ids` names fills, createPending names orders.
  const orders = createOrderManager({
    clock,
    ids: fillIds,
    orderIds,
    audit,
    fills: options.fills,
    onError,
    auditGuard,
    ...(options.orderRetentionMs !== undefined ? { retentionMs: options.orderRetentionMs } : {}),
    ...(options.maxTerminalOrders !== undefined ? { maxTerminalOrders: options.maxTerminalOrders } : {}),
    prefault: options.prefaultRetention === true,
  });
  if (options.recovered !== undefined) applyRecoveredState(options.recovered, { orders, idempotency }, clock.nowMs());
  const risk = createRiskCheck(options.riskLimits ?? {}, (venue, symbol) => venues.get(venue)?.referencePrice?.(symbol));
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk,
    venues,
    idempotency,
    orders,
    audit,
    signal,
    onError,
    auditGuard,
  });
  const cancelOrder = createCancelOrder({ clock, orders, venues, signal, onError, auditGuard });
  const streamFills = options.streamFills ?? createStreamFillsHandler({ hub: options.fills });
  const service = createTradingService({ placeOrder, cancelOrder, orders, streamFills });
  return { service, placeOrder, cancelOrder, orders, idempotency, auditGuard };
}
