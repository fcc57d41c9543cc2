import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/domain/order.js";
import { ANONYMOUS } from "../../src/domain/principal.js";
import { createMemoryIdempotencyStore } from "../../src/adapters/stores/memory-store.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { createPlaceOrder } from "../../src/use-cases/place-order.js";
import { createCancelOrder } from "../../src/use-cases/cancel-order.js";
import { createRiskCheck } from "../../src/use-cases/risk.js";
import { createCounterIds, createLocalFillSequence } from "./counter-ids.js";
import { createOrderValidator } from "../../src/use-cases/validate.js";
import type { VenueAdapter } from "../../src/use-cases/venue-adapter.js";
import type { AuditSink } from "../../src/use-cases/audit-sink.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createManualClock, createScriptedVenue, limitOrder, marketOrder } from "../use-cases/support.js";

/**
 * The audit fixture's scenario (test/fixtures/audit/README.md), through the real pipeline into
 * `audit`, deterministic (manual clock, counter ids): a filled market order, a partially filled
 * limit order, a canceled order, venue and risk rejections (non-ASCII text), a venue fee total,
 * a released key, an unknown outcome, a refused cancel, an IOC that did not cross.
 * Returns the clock's time at the end (recovery's "now" in the expected state).
 */
export async function runAuditScenario(audit: AuditSink): Promise<number> {
  const clock = createManualClock(1_767_225_600_000); // 2026-01-01T00:00:00.000Z
  const paper = createPaperVenue({ clock, ids: createCounterIds("pt-") });
  const scripted = createScriptedVenue();
  const venues = new Map<string, VenueAdapter>([["paper", paper], ["scripted", scripted]]);
  const orders = createOrderManager({ clock, ids: createCounterIds("fill-"), orderIds: createCounterIds("ord-"), audit, fills: createLocalFillSequence() });
  const idempotency = createMemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 1000 });
  const signal = new AbortController().signal;
  const placeOrder = createPlaceOrder({
    clock,
    validate: createOrderValidator(venues),
    risk: createRiskCheck({ "*": { maxQuantity: "100" } }, () => undefined),
    venues,
    idempotency,
    orders,
    audit,
    signal,
  });
  const cancelOrder = createCancelOrder({ clock, orders, venues, signal });
  const call = (requestId: string) => ({ requestId, principal: ANONYMOUS });
  const step = () => {
    // Every scripted answer must have been used by the step that queued it.
    if (scripted.next.length !== 0 || scripted.cancelNext.length !== 0) throw new Error("a scripted venue answer was not used");
    clock.advance(7);
  };
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
    if (!r.ok) throw new Error(`unexpected: ${JSON.stringify(r.error)}`);
    return r.value;
  };

  // 1. A market order filled on the paper venue (one fill with a fee).
  must(await placeOrder(marketOrder({ clientOrderId: "mkt-1", idempotencyKey: "idem-mkt-1" }), call("req-1")));
  step();
  // 2. A limit order partially filled at once, then a second partial fill from a poll (fees on both).
  scripted.next.push({
    ok: true,
    value: { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-LIM-2", fills: [{ venueTradeId: "T-2a", quantity: "0.4", price: "100.5", fee: "0.0402", feeCurrency: "USD", timeMs: 1_767_225_600_010 }] },
  });
  const lim = must(await placeOrder(limitOrder({ clientOrderId: "lim-2", venue: "scripted", quantity: "1.5", price: "101" }), call("req-2")));
  step();
  await orders.applyVenueUpdate(lim.order.orderId, {
    status: OrderStatus.PARTIALLY_FILLED,
    venueOrderId: "V-LIM-2",
    fills: [
      { venueTradeId: "T-2a", quantity: "0.4", price: "100.5", fee: "0.0402", feeCurrency: "USD", timeMs: 1_767_225_600_010 },
      { venueTradeId: "T-2b", quantity: "0.35", price: "100.75", fee: "0.0352625", feeCurrency: "USD", timeMs: 1_767_225_600_015 },
    ],
  }, "poll");
  step();
  // 3. A limit order resting on the paper venue, then canceled.
  paper.setReferencePrice("BTC-USD", "100");
  const rest = must(await placeOrder(limitOrder({ clientOrderId: "rest-3", side: Side.BUY, price: "50", timeInForce: TimeInForce.GTC }), call("req-3")));
  step();
  must(await cancelOrder({ orderId: rest.order.orderId, clientOrderId: "", account: "" }, call("req-3c")));
  step();
  // 4. Rejected by the venue, with non-ASCII text (and a quote) in the reason: ids are ASCII by validation.
  scripted.next.push({ ok: false, error: { kind: "rejected", reason: "Ordre refusé — 价格超出范围 ✓ \"quoted\"" } });
  await placeOrder(marketOrder({ clientOrderId: "rej-4", venue: "scripted" }), call("req-4"));
  step();
  // 5. Refused by risk before any order exists (an error-only event under an idempotency key).
  await placeOrder(marketOrder({ clientOrderId: "risk-5", quantity: "101" }), call("req-5"));
  step();
  // 6. A venue reporting only a running fee total (venueFeeTotal), filled over two answers.
  scripted.next.push({
    ok: true,
    value: { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-FEE-6", cumulativeFee: "0.25", fills: [{ venueTradeId: "T-6a", quantity: "1", price: "99.5", fee: "0.25", feeCurrency: "USD", timeMs: 1_767_225_600_030 }] },
  });
  const fee = must(await placeOrder(marketOrder({ clientOrderId: "fee-6", venue: "scripted", quantity: "3" }), call("req-6")));
  step();
  await orders.applyVenueUpdate(fee.order.orderId, {
    status: OrderStatus.FILLED,
    venueOrderId: "V-FEE-6",
    cumulativeFee: "0.75",
    fills: [{ venueTradeId: "T-6b", quantity: "2", price: "99.25", fee: "0.5", feeCurrency: "USD", timeMs: 1_767_225_600_040 }],
  }, "poll");
  step();
  // 7. A transient venue failure: rejected, key released (clientOrderIdReleased on recovery).
  scripted.next.push({ ok: false, error: { kind: "unavailable", reason: "venue down" } });
  await placeOrder(marketOrder({ clientOrderId: "down-7", venue: "scripted" }), call("req-7"));
  step();
  // 8. Unknown outcome: stays PENDING_NEW (open after recovery).
  scripted.next.push({ ok: false, error: { kind: "unknown_outcome", reason: "timeout" } });
  must(await placeOrder(marketOrder({ clientOrderId: "unk-8", venue: "scripted", type: OrderType.MARKET }), call("req-8")));
  step();
  // 9. A cancel the venue refuses: back to working (cancel_rejected with an error).
  scripted.next.push({ ok: true, value: { status: OrderStatus.NEW, venueOrderId: "V-9", fills: [] } });
  const cr = must(await placeOrder(limitOrder({ clientOrderId: "cxr-9", venue: "scripted", price: "90" }), call("req-9")));
  step();
  scripted.cancelNext.push({ ok: false, error: { kind: "rejected", reason: "too late to cancel" } });
  await cancelOrder({ orderId: cr.order.orderId, clientOrderId: "", account: "" }, call("req-9c"));
  step();
  // 10. An IOC limit that does not cross on paper: expired/canceled at once.
  await placeOrder(limitOrder({ clientOrderId: "ioc-10", side: Side.BUY, price: "1", timeInForce: TimeInForce.IOC }), call("req-10"));
  step();
  return clock.nowMs();
}
