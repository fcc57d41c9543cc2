import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OrderEventType, OrderStatus, OrderType, Side, TimeInForce } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { startStreamingGateway, type StreamingGateway, type StreamVenueKind } from "../../helpers/streaming-gateway.js";
import { waitFor } from "../../helpers/wait-for.js";

/**
 * gRPC client -> whole gateway (createGateway) -> fake venue REST + the venue's fake user push
 * stream (real sockets on port 0), per streaming venue. Polling while the stream is live is set
 * to 10 minutes, so what arrives does so by push, unless a test says otherwise.
 */

let n = 0;
function order(over: Record<string, unknown> = {}) {
  n++;
  return {
    clientOrderId: `us-${n}`,
    account: "acct-1",
    symbol: "BTC-USD",
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1",
    price: "100",
    idempotencyKey: `us-idem-${n}`,
    ...over,
  };
}

async function live(g: StreamingGateway): Promise<void> {
  await waitFor(() => g.core.userStreams()[0]?.state === "connected", { what: `${g.kind} stream live` });
}

/** The venue order (fake side) of the newest gateway order. */
function newestVenueOrder(g: StreamingGateway) {
  return [...g.fake.engine.orders.values()].at(-1)!;
}

function fillsOf(g: StreamingGateway, orderId: string): Array<[string, string]> {
  return g.fills.filter((f) => f.orderId === orderId).map((f) => [f.quantity, f.price]);
}

/** Venue REST queries of orders (the poll path), to tell push from polling. */
function queries(g: StreamingGateway): number {
  return g.fake.requests.filter((r) => (g.kind === "kraken" ? r.path === "/0/private/QueryOrders" : r.path === "/api/v3/order" && r.method === "GET")).length;
}

/** StreamOrderEvents: one FILL event per execution and one FILLED event. */
function assertEventsOnce(g: StreamingGateway, orderId: string, executions: number): void {
  const mine = g.events.filter((e) => e.order?.orderId === orderId);
  const seen = JSON.stringify(mine.map((e) => [OrderEventType[e.type], e.order?.filledQuantity]));
  assert.equal(mine.filter((e) => e.type === OrderEventType.FILL).length, executions, `one FILL event per execution: ${seen}`);
  assert.equal(mine.filter((e) => e.type === OrderEventType.FILLED).length, 1, `one FILLED event: ${seen}`);
}

/** Lets late duplicates arrive before asserting "exactly once" (bounded; no fixed sleep in the logic). */
async function settle(g: StreamingGateway, what: () => boolean): Promise<void> {
  await waitFor(what, { what: "settled" });
  // One more round trip through the stream: anything sent before it has been applied.
  await g.client.getOrderStatus({ orderId: g.fills[0]?.orderId ?? "none", account: "acct-1" }).catch(() => undefined);
}

for (const kind of ["binance", "kraken"] as StreamVenueKind[]) {
  describe(`venue user stream e2e: ${kind}`, () => {
    test("a fill pushed on the stream reaches StreamFills and StreamOrderEvents exactly once, without polling", async (t) => {
      const g = await startStreamingGateway(kind);
      t.after(() => g.close());
      await live(g);
      const placed = await g.client.placeOrder({ ...order(), venue: kind });
      assert.equal(placed.order?.status, OrderStatus.NEW);
      const orderId = placed.order!.orderId;
      const queriesBefore = queries(g);
      g.fake.fill(newestVenueOrder(g).clientOrderId, "0.4", "101");
      await waitFor(() => fillsOf(g, orderId).length === 1, { what: "first fill by push" });
      g.fake.fill(newestVenueOrder(g).clientOrderId, "0.6", "102");
      await waitFor(async () => (await g.client.getOrderStatus({ orderId, account: "acct-1" })).order?.status === OrderStatus.FILLED, { what: "filled by push" });
      await settle(g, () => fillsOf(g, orderId).length >= 2);
      assert.deepEqual(fillsOf(g, orderId), [["0.4", "101"], ["0.6", "102"]]);
      assert.equal(queries(g), queriesBefore, "no REST query: the stream brought both fills");
      assertEventsOnce(g, orderId, 2);
      const final = await g.client.getOrderStatus({ orderId, account: "acct-1" });
      assert.equal(final.order?.filledQuantity, "1");
      assert.equal(final.order?.averageFillPrice, "101.6");
    });

    test("the stream drops mid-fill: the reconnect's REST catch-up recovers the missed fill, no loss, no duplicate", async (t) => {
      // Polling off (10 min): only the catch-up can find the missed fill.
      const g = await startStreamingGateway(kind, { pollIntervalMs: 600_000 });
      t.after(() => g.close());
      await live(g);
      const placed = await g.client.placeOrder({ ...order(), venue: kind });
      const orderId = placed.order!.orderId;
      const vo = newestVenueOrder(g);
      g.fake.fill(vo.clientOrderId, "0.4", "101");
      await waitFor(() => fillsOf(g, orderId).length === 1, { what: "first fill by push" });
      // The connection dies and the venue refuses new ones; the second execution happens meanwhile.
      g.stream.down = true;
      g.stream.drop();
      await waitFor(() => g.core.userStreams()[0]?.degraded === true, { what: "stream degraded" });
      g.fake.fill(vo.clientOrderId, "0.6", "102");
      const connectionsBefore = g.stream.stats.subscriptions;
      g.stream.down = false;
      await waitFor(() => g.stream.stats.subscriptions > connectionsBefore && g.core.userStreams()[0]?.state === "connected", { what: "resubscribed and caught up" });
      await waitFor(() => fillsOf(g, orderId).length >= 2, { what: "missed fill recovered" });
      await settle(g, () => true);
      assert.deepEqual(fillsOf(g, orderId), [["0.4", "101"], ["0.6", "102"]]);
      assertEventsOnce(g, orderId, 2);
      const final = await g.client.getOrderStatus({ orderId, account: "acct-1" });
      assert.equal(final.order?.status, OrderStatus.FILLED);
      assert.equal(final.order?.filledQuantity, "1");
    });

    test("events arrive out of order and duplicated: each execution is applied once, the order ends FILLED", async (t) => {
      const g = await startStreamingGateway(kind);
      t.after(() => g.close());
      await live(g);
      const placed = await g.client.placeOrder({ ...order(), venue: kind });
      const orderId = placed.order!.orderId;
      await waitFor(async () => (await g.client.getOrderStatus({ orderId, account: "acct-1" })).order?.status === OrderStatus.NEW);
      const vo = newestVenueOrder(g);
      g.stream.hold = true;
      g.fake.fill(vo.clientOrderId, "0.4", "101");
      g.fake.fill(vo.clientOrderId, "0.6", "102");
      g.stream.hold = false;
      g.stream.flush({ reverse: true, duplicate: true });
      await waitFor(async () => (await g.client.getOrderStatus({ orderId, account: "acct-1" })).order?.status === OrderStatus.FILLED, { what: "filled" });
      await settle(g, () => fillsOf(g, orderId).length >= 1);
      const got = fillsOf(g, orderId);
      if (kind === "binance") {
        // Binance: the first event seen (the second trade) shows a gap; the REST query's myTrades
        // gives both executions by trade id; the late stream copies are the same trades.
        assert.deepEqual([...got].sort(([a], [b]) => a.localeCompare(b)), [["0.4", "101"], ["0.6", "102"]]);
      } else {
        // Kraken: the first event seen (filled) shows a gap; QueryOrders has totals only, so the
        // REST answer is one fill of the whole quantity at the average price; the late trade
        // events are below what is counted and add nothing.
        assert.deepEqual(got, [["1", "101.6"]]);
      }
      assertEventsOnce(g, orderId, got.length);
      const final = await g.client.getOrderStatus({ orderId, account: "acct-1" });
      assert.equal(final.order?.filledQuantity, "1");
      assert.equal(final.order?.averageFillPrice, "101.6");
    });

    test("the stream reports the fill before the REST answer to PlaceOrder arrives: one fill, and the answer shows it", async (t) => {
      const g = await startStreamingGateway(kind);
      t.after(() => g.close());
      await live(g);
      g.fake.failNext("place", "delay-after-accept");
      const ordersBefore = g.fake.engine.orders.size;
      const answer = g.client.placeOrder({ ...order(), venue: kind });
      // The venue has the order and executes it while its answer is held back (150 ms): pushed first.
      await waitFor(() => g.fake.engine.orders.size > ordersBefore, { what: "order at the venue" });
      g.fake.fill(newestVenueOrder(g).clientOrderId, "1", "100");
      await waitFor(() => g.fills.length === 1, { what: "fill by push before the answer" });
      const placed = await answer;
      const orderId = placed.order!.orderId;
      assert.equal(g.fills[0]!.orderId, orderId);
      assert.equal(placed.order?.status, OrderStatus.FILLED, "the answer is the order as the stream left it");
      await settle(g, () => true);
      assert.deepEqual(fillsOf(g, orderId), [["1", "100"]]);
      assertEventsOnce(g, orderId, 1);
      assert.equal(g.logs.lines.filter((l) => l["level"] === 50).length, 0, "no error logged");
    });

    test("a cancel: the stream's CANCELED before the REST answer; the answer shows the order as it stands, nothing logged as an error", async (t) => {
      const g = await startStreamingGateway(kind);
      t.after(() => g.close());
      await live(g);
      const placed = await g.client.placeOrder({ ...order(), venue: kind });
      const orderId = placed.order!.orderId;
      await waitFor(() => g.events.some((e) => e.order?.orderId === orderId && e.type === OrderEventType.NEW), { what: "NEW" });
      g.fake.failNext("cancel", "delay-after-accept");
      const canceled = await g.client.cancelOrder({ orderId, account: "acct-1" });
      assert.equal(canceled.order?.status, OrderStatus.CANCELED);
      await settle(g, () => true);
      assert.equal(g.events.filter((e) => e.order?.orderId === orderId && e.type === OrderEventType.CANCELED).length, 1);
      assert.equal(g.logs.lines.filter((l) => l["level"] === 50).length, 0, "no error logged");
    });

    test("the stream is down for the whole test: polling carries on, the stream is reported degraded", async (t) => {
      const g = await startStreamingGateway(kind, { streamDown: true });
      t.after(() => g.close());
      const placed = await g.client.placeOrder({ ...order(), venue: kind });
      const orderId = placed.order!.orderId;
      g.fake.fill(newestVenueOrder(g).clientOrderId, "1", "101");
      await waitFor(() => fillsOf(g, orderId).length === 1, { what: "fill by polling" });
      await settle(g, () => true);
      assert.deepEqual(fillsOf(g, orderId), [["1", "101"]]);
      // It keeps trying (refused each time) and stays degraded.
      await waitFor(() => g.core.userStreams()[0]!.reconnects >= 2, { what: "reconnect attempts" });
      const status = g.core.userStreams()[0]!;
      assert.equal(status.degraded, true);
      assert.notEqual(status.state, "connected");
      assert.equal(g.stream.stats.subscriptions, 0);
    });
  });
}

describe("venue user stream e2e: expiry and renewal", () => {
  test("binance: the subscription is renewed before the connection's lifetime ends; fills after the renewal arrive once", async (t) => {
    const g = await startStreamingGateway("binance", { settings: { renewAfterMs: 250 } });
    t.after(() => g.close());
    await live(g);
    await waitFor(() => g.stream.stats.subscriptions >= 3 && g.core.userStreams()[0]?.state === "connected", { what: "two renewals" });
    const placed = await g.client.placeOrder({ ...order(), venue: "binance" });
    const orderId = placed.order!.orderId;
    g.fake.fill(newestVenueOrder(g).clientOrderId, "1", "101");
    await waitFor(() => fillsOf(g, orderId).length === 1, { what: "fill after renewal" });
    await settle(g, () => true);
    assert.deepEqual(fillsOf(g, orderId), [["1", "101"]]);
    assert.equal(g.stream.stats.refused, 0, "every re-subscription was signed afresh and accepted");
  });

  test("binance: the venue ends the connection (serverShutdown) and the gateway subscribes again with a fresh signature", async (t) => {
    const g = await startStreamingGateway("binance");
    t.after(() => g.close());
    g.stream.maxConnectionMs = 200;
    await live(g);
    await waitFor(() => g.stream.stats.subscriptions >= 3, { what: "resubscribed after the venue ended connections" });
    g.stream.maxConnectionMs = undefined;
    await waitFor(() => g.core.userStreams()[0]?.state === "connected");
    const placed = await g.client.placeOrder({ ...order(), venue: "binance" });
    g.fake.fill(newestVenueOrder(g).clientOrderId, "1", "101");
    await waitFor(() => fillsOf(g, placed.order!.orderId).length === 1, { what: "fill" });
    assert.equal(g.stream.stats.refused, 0);
  });

  test("kraken: the token expires unused, the connection ends: each connection gets a fresh token; fills keep arriving once", async (t) => {
    const g = await startStreamingGateway("kraken", { tokenTtlMs: 5_000 });
    t.after(() => g.close());
    g.stream.maxConnectionMs = 200;
    await live(g);
    await waitFor(() => g.stream.stats.subscriptions >= 3, { what: "resubscribed" });
    g.stream.maxConnectionMs = undefined;
    await waitFor(() => g.core.userStreams()[0]?.state === "connected");
    // Every subscription used its own token (the fake refuses a token used before).
    assert.ok(g.tokens.size >= g.stream.stats.subscriptions);
    assert.equal(g.stream.stats.refused, 0);
    const placed = await g.client.placeOrder({ ...order(), venue: "kraken" });
    g.fake.fill(newestVenueOrder(g).clientOrderId, "1", "101");
    await waitFor(() => fillsOf(g, placed.order!.orderId).length === 1, { what: "fill" });
    await settle(g, () => true);
    assert.deepEqual(fillsOf(g, placed.order!.orderId), [["1", "101"]]);
  });
});
