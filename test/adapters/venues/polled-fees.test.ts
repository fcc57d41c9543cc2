import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Decimal } from "decimal.js";
import { Registry } from "prom-client";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { decodeAuditLine, encodeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import type { AuditEvent, AuditSink } from "../../../src/use-cases/audit-sink.js";
import { createFillHub } from "../../../src/use-cases/fill-hub.js";
import { ANONYMOUS } from "../../../src/domain/principal.js";
import { recoverState, type RecoveredState } from "../../../src/use-cases/recover.js";
import { systemClock } from "../../../src/domain/ports.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { createOrderPipeline } from "../../../src/composition-root.js";
import { createVenuePoller } from "../../../src/adapters/venues/reconciler.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import { coinbaseFee } from "../../helpers/fake-venues/coinbase.js";
import { startFakeVenues, venueEnv, type FakeVenues } from "../../helpers/fake-venues/contract-venues.js";
import { krakenFee } from "../../helpers/fake-venues/kraken.js";
import { resolveVenues } from "../../helpers/venue-config.js";

/**
 * Kraken (QueryOrders `fee`) and Coinbase (`total_fees`) report an order's running fee total,
 * not per-execution fees: each fill the gateway synthesizes from a poll carries the increase of
 * that total, so an order's fills add up to the venue's total, also across a restart.
 */

let fakes: FakeVenues;
let venues: ReturnType<typeof createVenues>;
const shutdown = new AbortController();
const metrics = createVenueMetrics(new Registry());

before(async () => {
  fakes = await startFakeVenues();
  venues = createVenues(resolveVenues(fakes.file, venueEnv), { clock: systemClock, ids: createCounterIds("p"), metrics });
});

after(async () => {
  shutdown.abort();
  await closeVenues(venues);
  await fakes.close();
});

/** Keeps every appended event, through the real line codec (what a restart reads back). */
function recordingSink(): AuditSink & { readonly lines: string[]; events(): AuditEvent[] } {
  const lines: string[] = [];
  return {
    mode: "buffered",
    lines,
    append(events) {
      for (const e of events) lines.push(encodeAuditEvent(e));
      return null;
    },
    close: async () => {},
    events: () =>
      lines.map((l) => {
        const d = decodeAuditLine(l.trimEnd());
        assert.ok(d.ok, d.ok ? "" : d.error);
        return d.value;
      }),
  };
}

function boot(audit: AuditSink, recovered?: RecoveredState) {
  const core = createOrderPipeline({
    venues,
    audit,
    fills: createFillHub({ retain: 1000, subscriberBuffer: 64, ...(recovered !== undefined ? { startAfterSequence: recovered.lastFillSequence } : {}) }),
    signal: shutdown.signal,
    clock: systemClock,
    ...(recovered !== undefined ? { recovered } : {}),
  });
  // Driven by pollOnce(); the timer never starts.
  const poller = createVenuePoller({ adapters: venues, sink: core.orders, intervalMs: 60_000, clock: systemClock, metrics });
  return { core, poller };
}

let n = 0;
const cases = [
  { venue: "kraken", venueFee: krakenFee },
  { venue: "coinbase", venueFee: coinbaseFee },
] as const;

for (const c of cases) {
  describe(`${c.venue}: polled fills carry the increase of the venue's running fee total`, () => {
    test("three partial fills, then a restart from the audit log, then the last fill: fees add up to the venue's total", async () => {
      n++;
      const audit = recordingSink();
      const first = boot(audit);
      const placed = await first.core.placeOrder(
        {
          clientOrderId: `fee-${c.venue}-${n}`,
          account: "acct-1",
          venue: c.venue,
          symbol: "BTC-USD",
          side: Side.BUY,
          type: OrderType.LIMIT,
          timeInForce: TimeInForce.GTC,
          quantity: "1",
          price: "101",
          stopPrice: "",
          idempotencyKey: `idem-fee-${c.venue}-${n}`,
        },
        { requestId: "r-1", principal: ANONYMOUS },
      );
      assert.ok(placed.ok, placed.ok ? "" : placed.error.message);
      const orderId = placed.value.order.orderId;
      const fake = fakes.fakes.get(c.venue)!;
      const venueOrder = [...fake.engine.orders.values()].at(-1)!;

      // The venue's running fee total after each execution, from its cost so far (exact decimals).
      const slices: [string, string][] = [["0.25", "99"], ["0.3", "98.5"], ["0.15", "100.25"]];
      const totals: string[] = [];
      let cost = new Decimal(0);
      for (const [qty, price] of slices) {
        fake.fill(venueOrder.clientOrderId, qty, price);
        cost = cost.plus(new Decimal(qty).times(price));
        totals.push(c.venueFee(cost.toFixed()));
        await first.poller.pollOnce();
      }
      await first.poller.pollOnce(); // nothing new: no fill, no fee counted twice
      await first.poller.stop();

      // Restart: the order and its recorded fee total come back from the log alone.
      const recovered = await recoverState(audit.events(), {
        nowMs: Date.now(),
        idempotencyTtlMs: 86_400_000,
        idempotencyMaxEntries: 1000,
        orderRetentionMs: 600_000,
        maxTerminalOrders: 1000,
      });
      assert.equal(recovered.orders.get(orderId)?.order.venueFeeTotal, totals.at(-1));
      const second = boot(audit, recovered);
      fake.fill(venueOrder.clientOrderId, "0.3", "97.75");
      cost = cost.plus(new Decimal("0.3").times("97.75"));
      totals.push(c.venueFee(cost.toFixed()));
      await second.poller.pollOnce();
      await second.poller.stop();

      const fills = audit
        .events()
        .filter((e) => e.type === "fill" && e.fill?.orderId === orderId)
        .map((e) => e.fill!);
      assert.deepEqual(
        fills.map((f) => f.quantity),
        ["0.25", "0.3", "0.15", "0.3"],
      );
      // Each fill's fee is exactly the increase of the venue's total since the previous fill.
      const expected = totals.map((t, i) => new Decimal(t).minus(i === 0 ? "0" : totals[i - 1]!).toFixed());
      assert.deepEqual(
        fills.map((f) => f.fee),
        expected,
      );
      assert.ok(fills.every((f) => f.feeCurrency === "USD"), "quote currency of BTC-USD");
      const sum = fills.reduce((s, f) => s.plus(f.fee), new Decimal(0));
      assert.equal(sum.toFixed(), new Decimal(totals.at(-1)!).toFixed(), "fees add up to the venue's total");
      assert.ok(sum.gt(0));
      const final = second.core.orders.get(orderId);
      assert.equal(final?.status, OrderStatus.FILLED);
      assert.equal(final?.venueFeeTotal, totals.at(-1));
    });
  });
}
