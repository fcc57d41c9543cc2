import assert from "node:assert/strict";
import { test } from "node:test";
import type { Order } from "../../../src/domain/order.js";
import { OrderStatus } from "../../../src/domain/order.js";
import type { Result } from "../../../src/domain/result.js";
import { err, ok } from "../../../src/domain/result.js";
import type { OrderUpdateSink, VenueAdapter, VenueError, VenueOrderUpdate } from "../../../src/use-cases/venue-adapter.js";
import { createVenuePoller } from "../../../src/adapters/venues/reconciler.js";
import { makeOrder } from "./make-order.js";

function stubAdapter(name: string, kind: string, answer: (o: Order) => Result<VenueOrderUpdate, VenueError>): VenueAdapter & { queried: string[] } {
  const queried: string[] = [];
  return {
    name,
    kind,
    queried,
    checkSymbol: () => undefined,
    checkOrderShape: () => undefined,
    placeOrder: async () => err({ kind: "unavailable", reason: "no" }),
    cancelOrder: async () => err({ kind: "unavailable", reason: "no" }),
    async queryOrder(o) {
      queried.push(o.orderId);
      return answer(o);
    },
    close: async () => {},
  };
}

function sink(orders: Order[]): OrderUpdateSink & { updates: Array<[string, VenueOrderUpdate, string]> } {
  const updates: Array<[string, VenueOrderUpdate, string]> = [];
  return {
    updates,
    openOrders: (venue) => orders.filter((o) => o.venue === venue),
    applyVenueUpdate: async (id, u, src) => {
      updates.push([id, u, src]);
    },
  };
}

const now = 1_000_000;
const clock = { nowMs: () => now };

test("unknown outcomes are reconciled, working orders polled; paper venues skipped", async () => {
  const venue = stubAdapter("x", "binance", (o) => ok({ status: OrderStatus.NEW, venueOrderId: `V-${o.orderId}`, fills: [] }));
  const paper = stubAdapter("p", "paper", () => ok({ status: OrderStatus.NEW, venueOrderId: "P", fills: [] }));
  const s = sink([
    makeOrder({ orderId: "a", venue: "x", status: OrderStatus.PENDING_NEW }),
    makeOrder({ orderId: "b", venue: "x", status: OrderStatus.NEW, venueOrderId: "V-b" }),
    makeOrder({ orderId: "c", venue: "p", status: OrderStatus.NEW }),
  ]);
  const poller = createVenuePoller({ adapters: new Map([["x", venue], ["p", paper]]), sink: s, intervalMs: 1000, clock });
  await poller.pollOnce();
  await poller.stop();
  assert.deepEqual(s.updates.map(([id, u, src]) => [id, u.venueOrderId, src]), [["a", "V-a", "reconcile"], ["b", "V-b", "poll"]]);
  assert.deepEqual(paper.queried, []);
});

test("not found: keep waiting, then settle as REJECTED after giveUpAfterMs (never re-send)", async () => {
  const venue = stubAdapter("x", "kraken", () => err({ kind: "not_found", reason: "none" }));
  const young = makeOrder({ orderId: "young", venue: "x", createdAtMs: now - 1000 });
  const old = makeOrder({ orderId: "old", venue: "x", createdAtMs: now - 200_000 });
  const s = sink([young, old]);
  const poller = createVenuePoller({ adapters: new Map([["x", venue]]), sink: s, intervalMs: 1000, clock, giveUpAfterMs: 120_000 });
  await poller.pollOnce();
  await poller.stop();
  assert.equal(s.updates.length, 1);
  const [id, u, src] = s.updates[0]!;
  assert.equal(id, "old");
  assert.equal(u.status, OrderStatus.REJECTED);
  assert.match(u.rejectReason ?? "", /no record of the order 200 s after submission/);
  assert.equal(src, "reconcile");
});

test("a rate-limited venue is not asked again in the same sweep; bounded per sweep", async () => {
  const limited = stubAdapter("x", "alpaca", () => err({ kind: "rate_limited", reason: "429", retryAfterMs: 1000 }));
  const many = Array.from({ length: 5 }, (_, i) => makeOrder({ orderId: `o${i}`, venue: "x" }));
  const poller = createVenuePoller({ adapters: new Map([["x", limited]]), sink: sink(many), intervalMs: 1000, clock });
  await poller.pollOnce();
  assert.deepEqual(limited.queried, ["o0"]);
  const fine = stubAdapter("y", "alpaca", () => ok({ status: OrderStatus.NEW, venueOrderId: "V", fills: [] }));
  const many2 = Array.from({ length: 5 }, (_, i) => makeOrder({ orderId: `o${i}`, venue: "y" }));
  const p2 = createVenuePoller({ adapters: new Map([["y", fine]]), sink: sink(many2), intervalMs: 1000, clock, maxOrdersPerSweep: 3 });
  await p2.pollOnce();
  assert.equal(fine.queried.length, 3);
  await poller.stop();
  await p2.stop();
});

test("start/stop: the timer sweeps on its own and stop() ends it", async () => {
  const venue = stubAdapter("x", "binance", () => ok({ status: OrderStatus.NEW, venueOrderId: "V", fills: [] }));
  const s = sink([makeOrder({ orderId: "a", venue: "x" })]);
  const poller = createVenuePoller({ adapters: new Map([["x", venue]]), sink: s, intervalMs: 5, clock });
  poller.start();
  const deadline = Date.now() + 5000;
  while (venue.queried.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  await poller.stop();
  assert.ok(venue.queried.length >= 2);
  const after = venue.queried.length;
  await new Promise((r) => setImmediate(r));
  assert.equal(venue.queried.length, after);
});
