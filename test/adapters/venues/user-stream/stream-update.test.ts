import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OrderStatus } from "../../../../src/domain/order.js";
import type { Order } from "../../../../src/domain/order.js";
import type { OrderUpdateSink, VenueOrderUpdate } from "../../../../src/use-cases/venue-adapter.js";
import { createFillGuardSink, decideStreamUpdate } from "../../../../src/adapters/venues/user-stream/stream-update.js";
import type { StreamOrderEvent } from "../../../../src/adapters/venues/user-stream/stream-spec.js";
import { synthesizeFill } from "../../../../src/adapters/venues/translator.js";
import { makeOrder } from "../make-order.js";

const fill = (id: string, quantity: string, price = "100", fee = "0.1") => ({ venueTradeId: id, quantity, price, fee, feeCurrency: "USD", timeMs: 1 });
const ev = (update: Partial<VenueOrderUpdate>, over: Partial<StreamOrderEvent> = {}): StreamOrderEvent => ({
  venueClientOrderId: "cid-1",
  venueOrderId: "V1",
  update: { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V1", fills: [], ...update },
  eventTimeMs: 5,
  ...over,
});
const working = (over: Partial<Order> = {}) => makeOrder({ status: OrderStatus.NEW, venueOrderId: "V1", ...over });

describe("decideStreamUpdate (pure)", () => {
  test("a new execution that explains the cumulative rise is applied, with the running fee total", () => {
    const d = decideStreamUpdate(working(), ev({ filledQuantity: "0.4", fills: [fill("t1", "0.4")] }), 9);
    assert.equal(d.kind, "apply");
    assert.ok(d.kind === "apply" && d.update.fills.length === 1 && d.update.cumulativeFee === "0.1");
  });

  test("an execution already counted (cumulative not above what the order has) is a duplicate, whatever its id", () => {
    const order = working({ status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4" });
    assert.deepEqual(decideStreamUpdate(order, ev({ filledQuantity: "0.4", fills: [fill("T-exec-id", "0.4")] }), 9), { kind: "skip", why: "duplicate" });
  });

  test("a gap (more filled than this event's executions explain) asks REST", () => {
    const d = decideStreamUpdate(working(), ev({ filledQuantity: "1", fills: [fill("t2", "0.6")] }), 9);
    assert.equal(d.kind, "query");
  });

  test("an old status the table refuses, with nothing new in it, is stale; the order is left alone", () => {
    const filled = working({ status: OrderStatus.FILLED, filledQuantity: "1" });
    assert.deepEqual(decideStreamUpdate(filled, ev({ status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4", fills: [fill("t1", "0.4")] }), 9), { kind: "skip", why: "duplicate" });
    assert.deepEqual(decideStreamUpdate(working({ status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4" }), ev({ status: OrderStatus.NEW, filledQuantity: "0" }), 9), { kind: "skip", why: "stale" });
  });

  test("a status change without fills is applied (FILLED completion after the trade, cancel)", () => {
    const order = working({ status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "1" });
    const d = decideStreamUpdate(order, ev({ status: OrderStatus.FILLED, filledQuantity: "1" }), 9);
    assert.ok(d.kind === "apply" && d.update.status === OrderStatus.FILLED);
    const c = decideStreamUpdate(working({ status: OrderStatus.PENDING_CANCEL }), ev({ status: OrderStatus.CANCELED, filledQuantity: "0" }), 9);
    assert.ok(c.kind === "apply" && c.update.status === OrderStatus.CANCELED);
  });

  test("cumulative-only events (no trade id) become the same synthesized fill as a REST answer with totals", () => {
    const order = working();
    const update = { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V1", filledQuantity: "0.4", averageFillPrice: "100", fills: [] };
    const d = decideStreamUpdate(order, ev(update, { cumulativeOnly: true }), 9);
    const rest = synthesizeFill(order, update, 5);
    assert.ok(d.kind === "apply");
    assert.equal(d.update.fills[0]!.venueTradeId, rest.fills[0]!.venueTradeId, "named alike, so whichever comes second is a duplicate");
  });
});

describe("createFillGuardSink", () => {
  test("a totals-only answer computed before the stream counted an execution is re-derived: only the rest is a new fill", async () => {
    // The order when the poll left: nothing filled. Meanwhile the stream applied 0.4.
    const before = working();
    const answer = synthesizeFill(before, { status: OrderStatus.FILLED, venueOrderId: "V1", filledQuantity: "1", averageFillPrice: "101.2", fills: [] }, 7);
    assert.equal(answer.fills[0]!.quantity, "1");
    const now = working({ status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4", averageFillPrice: "100" });
    const applied: VenueOrderUpdate[] = [];
    const sink: OrderUpdateSink = { openOrders: () => [now], venueView: () => now, applyVenueUpdate: async (_id, u) => void applied.push(u) };
    await createFillGuardSink(sink).applyVenueUpdate("ord-1", answer, "poll");
    assert.equal(applied[0]!.fills.length, 1);
    assert.equal(applied[0]!.fills[0]!.quantity, "0.6");
    assert.equal(applied[0]!.fills[0]!.price, "102");
  });

  test("answers with the venue's own trade ids pass unchanged", async () => {
    const applied: VenueOrderUpdate[] = [];
    const sink: OrderUpdateSink = { openOrders: () => [], venueView: () => working({ filledQuantity: "0.4" }), applyVenueUpdate: async (_id, u) => void applied.push(u) };
    const u = { status: OrderStatus.FILLED, venueOrderId: "V1", filledQuantity: "1", fills: [fill("28457", "1")] };
    await createFillGuardSink(sink).applyVenueUpdate("ord-1", u, "poll");
    assert.equal(applied[0], u);
  });
});
