import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/domain/order.js";
import { err, ok, type Result } from "../../src/domain/result.js";
import type { AuditEvent, AuditSink } from "../../src/use-cases/audit-sink.js";
import { deriveVenueClientOrderId } from "../../src/use-cases/client-order-id.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { createReconciler } from "../../src/use-cases/reconcile-venues.js";
import type { VenueAdapter, VenueError, VenueOpenOrder, VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";
import { createCounterIds } from "../helpers/counter-ids.js";

const clock = { nowMs: () => 1_000_000 };

function recordingAudit(): AuditSink & { events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return { mode: "buffered", events, append: (e) => (events.push(...e), null), close: async () => {} };
}

function manager(audit: AuditSink) {
  return createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills: createFillHub({ retain: 10, subscriberBuffer: 10 }) });
}

function listed(over: Partial<VenueOpenOrder>): VenueOpenOrder {
  return {
    venueOrderId: "V1",
    venueClientOrderId: "",
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "10",
    stopPrice: "",
    status: OrderStatus.NEW,
    filledQuantity: "0",
    averageFillPrice: "",
    createdAtMs: 5,
    ...over,
  };
}

function stubVenue(kind: string, list: () => Result<VenueOpenOrder[], VenueError>, query: (o: Order) => Result<VenueOrderUpdate, VenueError>): VenueAdapter & { queried: string[] } {
  const queried: string[] = [];
  return {
    name: "x",
    kind,
    queried,
    checkSymbol: () => undefined,
    checkOrderShape: () => undefined,
    placeOrder: async () => err({ kind: "unavailable", reason: "no" }),
    cancelOrder: async () => err({ kind: "unavailable", reason: "no" }),
    async queryOrder(o) {
      queried.push(o.orderId);
      return query(o);
    },
    listOpenOrders: async () => list(),
    close: async () => {},
  };
}

function working(orders: ReturnType<typeof manager>, n: number, status = OrderStatus.NEW): Order {
  const spec = { clientOrderId: `c${n}`, account: "a", venue: "x", symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "1", price: "10", stopPrice: "", idempotencyKey: `k${n}` };
  const o = orders.createPending(spec, deriveVenueClientOrderId("binance", `a|k${n}`), 1);
  if (status === OrderStatus.PENDING_NEW) return o;
  const r = orders.applyUpdate(o.orderId, { status, venueOrderId: `V-${n}`, fills: [] }, "r", 2);
  assert.ok(r.ok);
  return r.value.order;
}

test("never guessed: an open order the venue neither lists nor knows is left as it is, and an unknown-outcome order is the poller's", async () => {
  const audit = recordingAudit();
  const orders = manager(audit);
  const acked = working(orders, 1);
  const unknown = working(orders, 2, OrderStatus.PENDING_NEW);
  const venue = stubVenue("binance", () => ok([]), () => err({ kind: "not_found", reason: "none" }));
  const r = createReconciler({ adapters: new Map([["x", venue]]), orders, clock, intervalMs: 0 });
  await r.reconcileOnce();
  assert.deepEqual(venue.queried, [acked.orderId]);
  assert.equal(orders.get(acked.orderId)!.status, OrderStatus.NEW);
  assert.equal(orders.get(unknown.orderId)!.status, OrderStatus.PENDING_NEW);
  assert.equal(audit.events.length, 0);
  assert.equal(r.lastSuccessMs("x"), 1_000_000);
});

test("a cancel in flight is not a difference; a listing that lags (the query says still working) changes nothing", async () => {
  const audit = recordingAudit();
  const orders = manager(audit);
  const a = working(orders, 1);
  const pc = orders.requestCancel(a.orderId, "r", 3);
  assert.ok(pc.ok);
  const b = working(orders, 2);
  const venue = stubVenue(
    "binance",
    () => ok([listed({ venueOrderId: a.venueOrderId, venueClientOrderId: a.venueClientOrderId })]),
    (o) => ok({ status: OrderStatus.NEW, venueOrderId: o.venueOrderId, filledQuantity: "0", fills: [] }),
  );
  await createReconciler({ adapters: new Map([["x", venue]]), orders, clock, intervalMs: 0 }).reconcileOnce();
  assert.deepEqual(venue.queried, [b.orderId]);
  assert.equal(orders.get(a.orderId)!.status, OrderStatus.PENDING_CANCEL);
  assert.equal(orders.get(b.orderId)!.status, OrderStatus.NEW);
  assert.deepEqual(audit.events, []);
});

test("external orders: adopted with the settings' account; one with the gateway's client id shape never is", async () => {
  const audit = recordingAudit();
  const orders = manager(audit);
  const ours = deriveVenueClientOrderId("binance", "a|gone");
  const venue = stubVenue(
    "binance",
    () => ok([listed({ venueOrderId: "E1", venueClientOrderId: "web_123", side: Side.SELL, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.5", averageFillPrice: "10" }), listed({ venueOrderId: "G1", venueClientOrderId: ours })]),
    () => err({ kind: "not_found", reason: "none" }),
  );
  const r = createReconciler({
    adapters: new Map([["x", venue]]),
    orders,
    clock,
    intervalMs: 0,
    settings: new Map([["x", { adoptExternalOrders: true, externalAccount: "desk" }]]),
  });
  await r.reconcileOnce();
  await r.reconcileOnce();
  const adopted = audit.events.filter((e) => e.type === "order_reconciled");
  assert.equal(adopted.length, 1);
  const o = adopted[0]!.order!;
  assert.deepEqual(
    { account: o.account, clientOrderId: o.clientOrderId, external: o.external, status: o.status, filled: o.filledQuantity, side: o.side, vcid: o.venueClientOrderId },
    { account: "desk", clientOrderId: "ext-x-E1", external: true, status: OrderStatus.PARTIALLY_FILLED, filled: "0.5", side: Side.SELL, vcid: "web_123" },
  );
  assert.equal(adopted[0]!.reconciliation?.kind, "external_adopted");
  assert.equal(orders.getByClientOrderId("desk", "ext-x-E1")?.orderId, o.orderId);
  assert.equal(orders.openCount("x"), 1);
});

test("a venue whose listing fails is left alone and counted as a failed pass; a rate-limited query stops the venue's pass", async () => {
  const audit = recordingAudit();
  const orders = manager(audit);
  working(orders, 1);
  working(orders, 2);
  const passes: string[] = [];
  const observer = { corrected: () => {}, passEnded: (v: string, okPass: boolean) => passes.push(`${v}:${okPass}`) };
  const down = stubVenue("binance", () => err({ kind: "unavailable", reason: "503" }), () => err({ kind: "unavailable", reason: "503" }));
  const r = createReconciler({ adapters: new Map([["x", down]]), orders, clock, intervalMs: 0, observer });
  await r.reconcileOnce();
  assert.deepEqual(down.queried, []);
  assert.equal(r.lastSuccessMs("x"), undefined);
  const limited = stubVenue("binance", () => ok([]), () => err({ kind: "rate_limited", reason: "429", retryAfterMs: 1000 }));
  await createReconciler({ adapters: new Map([["x", limited]]), orders, clock, intervalMs: 0, observer }).reconcileOnce();
  assert.equal(limited.queried.length, 1);
  assert.deepEqual(passes, ["x:false", "x:true"]);
  assert.equal(audit.events.length, 0);
});

test("an adopted order closed in the gateway but still listed by a lagging venue is not adopted again; nor is one past the query budget", async () => {
  const audit = recordingAudit();
  const orders = manager(audit);
  // Two orders of ours that differ (more than the budget of one query) and one external order.
  const a = working(orders, 1);
  const b = working(orders, 2);
  const list = [
    listed({ venueOrderId: a.venueOrderId, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.1" }),
    listed({ venueOrderId: b.venueOrderId, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.2" }),
    listed({ venueOrderId: "E9", venueClientOrderId: "manual" }),
  ];
  const venue = stubVenue("binance", () => ok(list), () => err({ kind: "rate_limited", reason: "429", retryAfterMs: 1 }));
  const r = createReconciler({ adapters: new Map([["x", venue]]), orders, clock, intervalMs: 0, maxQueriesPerPass: 1 });
  await r.reconcileOnce();
  const ext = orders.getByClientOrderId("external", "ext-x-E9")!;
  assert.ok(ext !== undefined);
  // The next pass stops asking at the first (rate-limited) query; the adopted order is still matched.
  await r.reconcileOnce();
  assert.equal(audit.events.filter((e) => e.reconciliation?.kind === "external_adopted").length, 1);
  const closed = orders.applyUpdate(ext.orderId, { status: OrderStatus.CANCELED, venueOrderId: "E9", fills: [] }, "r", 3);
  assert.ok(closed.ok);
  await r.reconcileOnce();
  assert.equal(audit.events.filter((e) => e.reconciliation?.kind === "external_adopted").length, 1);
  assert.equal(orders.openCount("x"), 2);
});
