import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus } from "../../../../src/domain/order.js";
import { err, ok } from "../../../../src/domain/result.js";
import type { OrderUpdateSink, VenueAdapter } from "../../../../src/use-cases/venue-adapter.js";
import { createVenuePoller } from "../../../../src/adapters/venues/reconciler.js";
import { makeOrder } from "../make-order.js";

function adapter(name: string): VenueAdapter & { queried: number } {
  const a = {
    name,
    kind: "binance",
    queried: 0,
    checkSymbol: () => undefined,
    checkOrderShape: () => undefined,
    placeOrder: async () => err({ kind: "unavailable" as const, reason: "no" }),
    cancelOrder: async () => err({ kind: "unavailable" as const, reason: "no" }),
    async queryOrder() {
      a.queried++;
      return ok({ status: OrderStatus.NEW, venueOrderId: "V", fills: [] });
    },
    close: async () => {},
  };
  return a;
}

test("poller: a venue with a live stream is swept only every streamPollIntervalMs; the others every sweep; a catch-up sweeps it at once", async () => {
  const live = adapter("live");
  const down = adapter("down");
  const orders = [makeOrder({ venue: "live", status: OrderStatus.NEW }), makeOrder({ venue: "down", orderId: "ord-2", status: OrderStatus.NEW })];
  const sink: OrderUpdateSink = { openOrders: (v) => orders.filter((o) => o.venue === v), applyVenueUpdate: async () => {} };
  const poller = createVenuePoller({
    adapters: new Map([["live", live], ["down", down]]),
    sink,
    intervalMs: 60_000,
    clock: { nowMs: () => 1 },
    streams: { isLive: (v) => v === "live", slowIntervalMs: new Map([["live", 3_600_000]]) },
  });
  await poller.pollOnce();
  await poller.pollOnce();
  await poller.pollOnce();
  assert.equal(down.queried, 3, "the venue on polling fallback: every sweep");
  assert.equal(live.queried, 1, "the live venue: once, then not before its long interval");
  assert.equal(await poller.pollVenue("live"), true);
  assert.equal(live.queried, 2, "the catch-up sweep queries at once");
  await poller.stop();
});
