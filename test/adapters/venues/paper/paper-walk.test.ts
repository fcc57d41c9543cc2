import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../../src/domain/order.js";
import { OrderStatus as PbStatus, OrderType as PbType, TimeInForce as PbTif, TradingGateway } from "../../../../gen/trading/v1/trading_gateway_pb.js";
import { asPaperVenue, createPaperVenue, type PaperVenueOptions } from "../../../../src/adapters/venues/paper/paper-venue.js";
import { createPriceWalk, roundToTick } from "../../../../src/adapters/venues/paper/price-walk.js";
import { compare, dec } from "../../../../src/domain/decimal.js";
import type { VenueOrderUpdate } from "../../../../src/use-cases/venue-adapter.js";
import { createGateway } from "../../../../src/composition-root.js";
import { createRpcMetrics } from "../../../../src/adapters/metrics/metrics.js";
import { createHealthRegistry } from "../../../../src/server/health.js";
import { createCounterIds } from "../../../helpers/counter-ids.js";
import { createManualTimers } from "../../../helpers/manual-timers.js";
import { gatewayConfig } from "../../../helpers/gateway-config.js";
import { createLogCapture } from "../../../helpers/log-capture.js";
import { startServer } from "../../../helpers/start-server.js";
import { waitFor } from "../../../helpers/wait-for.js";
import { makeOrder } from "../make-order.js";

const ctx = { signal: new AbortController().signal };
const WALK = { volatility: "0.01", tickSize: "0.05", intervalMs: 100, seed: 7 } as const;
let n = 0;
function order(over: Partial<Order> = {}): Order {
  n++;
  return makeOrder({ clientOrderId: `c-${n}`, orderId: `o-${n}`, venueClientOrderId: `v-${n}`, account: "a", venue: "paper", ...over });
}
/** A walking venue whose timer never fires on its own (manual timers); tests call step(). */
function walking(over: Partial<PaperVenueOptions> = {}) {
  const updates: { orderId: string; update: VenueOrderUpdate; ref: string }[] = [];
  const v = createPaperVenue({
    clock: { nowMs: () => 5 },
    ids: createCounterIds("x"),
    referencePrices: { "BTC-USD": "100", "ETH-USD": "10" },
    walk: WALK,
    timers: createManualTimers(),
    ...over,
  });
  v.onOrderUpdate((orderId, update) => updates.push({ orderId, update, ref: v.referencePrice!("BTC-USD")! }));
  return { v, updates };
}
/** Steps until `done` or 5,000 steps (a walk of 1 % steps reaches ±5 % long before). */
function stepUntil(v: { step(): void }, done: () => boolean): number {
  for (let i = 1; i <= 5_000; i++) {
    v.step();
    if (done()) return i;
  }
  throw new Error("the walk never got there");
}

function path(seed: number, steps: number): string[] {
  const w = createPriceWalk({ ...WALK, seed });
  let prices = new Map([["BTC-USD", "65000"], ["ETH-USD", "3500"]]);
  const out: string[] = [];
  for (let i = 0; i < steps; i++) {
    prices = w.step(prices);
    out.push(`${prices.get("BTC-USD")}/${prices.get("ETH-USD")}`);
  }
  return out;
}

test("the walk is deterministic given the seed, and another seed takes another path", () => {
  const a = path(42, 200);
  assert.deepEqual(a, path(42, 200));
  assert.notDeepEqual(a, path(43, 200));
  // It moves: most steps change the price.
  assert.ok(new Set(a).size > 150, `only ${new Set(a).size} distinct prices`);
});

test("walked prices are multiples of the tick and never below one tick", () => {
  const w = createPriceWalk({ volatility: "0.5", tickSize: { "BTC-USD": "0.25", "X": "1" }, intervalMs: 1, seed: 1 });
  let prices = new Map([["BTC-USD", "3"], ["X", "2"]]);
  for (let i = 0; i < 300; i++) {
    prices = w.step(prices);
    assert.ok(dec(prices.get("BTC-USD")!).mod("0.25").isZero(), prices.get("BTC-USD"));
    assert.ok(compare(prices.get("BTC-USD")!, "0.25") >= 0);
    assert.ok(dec(prices.get("X")!).isInteger() && compare(prices.get("X")!, "1") >= 0, prices.get("X"));
  }
  assert.equal(roundToTick(dec("100.124"), dec("0.05")).toString(), "100.1");
  assert.equal(roundToTick(dec("100.126"), dec("0.05")).toString(), "100.15");
  assert.equal(roundToTick(dec("0.01"), dec("0.05")).toString(), "0.05");
});

test("a resting LIMIT fills at its price once the walk crosses it, and is reported to the listener", async () => {
  const { v, updates } = walking();
  const o = order({ type: OrderType.LIMIT, side: Side.BUY, timeInForce: TimeInForce.GTC, quantity: "2", price: "97" });
  const r = await v.placeOrder(o, ctx);
  assert.equal(r.ok && r.value.status, OrderStatus.NEW);
  stepUntil(v, () => updates.length > 0);
  const { orderId, update, ref } = updates[0]!;
  assert.equal(orderId, o.orderId);
  assert.equal(update.status, OrderStatus.FILLED);
  assert.equal(update.filledQuantity, "2");
  assert.equal(update.fills.length, 1);
  assert.equal(update.fills[0]!.price, "97", "a resting limit fills at its own price");
  assert.equal(update.fills[0]!.fee, "0.194");
  assert.ok(compare(ref, "97") <= 0, `the reference ${ref} reached the limit`);
  assert.equal(v.workingCount, 0);
  const q = await v.queryOrder(o, ctx);
  assert.equal(q.ok && q.value.status, OrderStatus.FILLED);
});

test("a resting order is not matched in the step it rested in nor the next (the gateway records the placement first)", async () => {
  const { v, updates } = walking();
  // A buy stop at the lowest possible price triggers on any step it is matched in.
  v.step();
  const o = order({ type: OrderType.STOP, side: Side.BUY, quantity: "1", price: "", stopPrice: "0.05" });
  await v.placeOrder(o, ctx);
  v.step();
  assert.equal(updates.length, 0);
  v.step();
  assert.equal(updates.length, 1, "filled from the second step on");
});

test("a STOP triggers when the walk reaches the stop price and fills at the reference; a STOP_LIMIT then works as a LIMIT", async () => {
  const { v, updates } = walking();
  const stop = order({ type: OrderType.STOP, side: Side.SELL, quantity: "1", price: "", stopPrice: "96" });
  const r = await v.placeOrder(stop, ctx);
  assert.equal(r.ok && r.value.status, OrderStatus.NEW);
  stepUntil(v, () => updates.length > 0);
  const u = updates[0]!;
  assert.equal(u.orderId, stop.orderId);
  assert.equal(u.update.status, OrderStatus.FILLED);
  assert.equal(u.update.fills[0]!.price, u.ref, "a triggered stop fills at the market");
  assert.ok(compare(u.ref, "96") <= 0);

  const { v: v2, updates: up2 } = walking({ walk: { ...WALK, seed: 99 } });
  const sl = order({ type: OrderType.STOP_LIMIT, side: Side.BUY, quantity: "1", price: "104", stopPrice: "103" });
  await v2.placeOrder(sl, ctx);
  stepUntil(v2, () => up2.length > 0);
  assert.equal(up2[0]!.update.fills[0]!.price, "104");
  assert.ok(compare(up2[0]!.ref, "103") >= 0 && compare(up2[0]!.ref, "104") <= 0, `triggered and crossing at ${up2[0]!.ref}`);
});

test("a large resting order fills partially, at most depthNotional per step, until filled", async () => {
  const { v, updates } = walking({ walk: { ...WALK, depthNotional: "150" } });
  const o = order({ type: OrderType.LIMIT, side: Side.BUY, quantity: "5", price: "99" });
  await v.placeOrder(o, ctx);
  stepUntil(v, () => updates.at(-1)?.update.status === OrderStatus.FILLED);
  assert.ok(updates.length >= 4, `${updates.length} fills`);
  assert.equal(updates[0]!.update.status, OrderStatus.PARTIALLY_FILLED);
  // 150 / 99 = 1.51515151 (8 decimals, rounded down)
  assert.equal(updates[0]!.update.fills[0]!.quantity, "1.51515151");
  const total = updates.reduce((s, u) => s.plus(u.update.fills[0]!.quantity), dec("0"));
  assert.equal(total.toString(), "5");
  assert.equal(updates.at(-1)!.update.filledQuantity, "5");
  assert.equal(updates.at(-1)!.update.averageFillPrice, "99");
  assert.equal(new Set(updates.map((u) => u.update.fills[0]!.venueTradeId)).size, updates.length);
});

test("fixed prices (no walk) never move, and the timer steps the walk and stops at close", async () => {
  const fixed = createPaperVenue({ clock: { nowMs: () => 0 }, ids: createCounterIds("f"), referencePrices: { "BTC-USD": "100" } });
  fixed.step();
  assert.equal(fixed.referencePrice!("BTC-USD"), "100");
  const timers = createManualTimers();
  const v = createPaperVenue({ clock: { nowMs: () => 0 }, ids: createCounterIds("w"), referencePrices: { "BTC-USD": "100" }, walk: WALK, timers });
  timers.fireAll();
  const p1 = v.referencePrice!("BTC-USD");
  assert.notEqual(p1, "100", "the timer stepped the walk");
  timers.fireAll();
  const before = v.referencePrice!("BTC-USD");
  await v.close();
  timers.fireAll();
  assert.equal(v.referencePrice!("BTC-USD"), before, "no step after close");
  // The same seed replays the same path through the venue too.
  const again = createPaperVenue({ clock: { nowMs: () => 0 }, ids: createCounterIds("w"), referencePrices: { "BTC-USD": "100" }, walk: WALK, timers: createManualTimers() });
  again.step();
  assert.equal(again.referencePrice!("BTC-USD"), p1);
});

test("wired: PAPER_MARKET=walk makes the embedded paper venue walk, and its fills reach GetOrderStatus", async (t) => {
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "off", paperMarket: "walk", paperWalkVolatility: "0.01", paperWalkIntervalMs: 3_600_000, paperWalkSeed: 5, paperWalkDepth: "0" }),
    logger: createLogCapture().logger,
    health,
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
  });
  const srv = await startServer({ trading: core.trading, metrics, health });
  t.after(async () => {
    shutdown.abort();
    await srv.close();
    await core.close();
  });
  const paper = asPaperVenue(core.venues.get("paper")!);
  assert.ok(paper, "the embedded venue is a paper venue");
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  const ref = paper.referencePrice!("BTC-USD")!;
  const limit = dec(ref).times("0.99").toDecimalPlaces(0).toString();
  const placed = await client.placeOrder({ clientOrderId: "walk-1", account: "acct-1", venue: "paper", symbol: "BTC-USD", side: 1, type: PbType.LIMIT, timeInForce: PbTif.GTC, quantity: "0.01", price: limit });
  assert.equal(placed.order?.status, PbStatus.NEW);
  let steps = 0;
  await waitFor(async () => {
    paper.step();
    steps++;
    const s = await client.getOrderStatus({ orderId: placed.order!.orderId });
    return s.order?.status === PbStatus.FILLED;
  }, { timeoutMs: 30_000, intervalMs: 0, what: "the walk to fill the resting order" });
  assert.ok(steps >= 2);
  const s = await client.getOrderStatus({ orderId: placed.order!.orderId });
  assert.equal(s.order?.averageFillPrice, limit);
});

test("the test helpers keep fixed prices unless asked (tests count on them)", () => {
  const c = gatewayConfig({});
  const paper = c.venues.venues.find((v) => v.kind === "paper") as unknown as { paper?: { walk?: unknown } };
  assert.equal(paper.paper?.walk, undefined);
  const w = gatewayConfig({ paperMarket: "walk", paperWalkSeed: 3 });
  const pw = w.venues.venues.find((v) => v.kind === "paper") as unknown as { paper: { walk: { seed: number; intervalMs: number; depthNotional?: string } } };
  assert.equal(pw.paper.walk.seed, 3);
  assert.equal(pw.paper.walk.intervalMs, 500);
  assert.equal(pw.paper.walk.depthNotional, "50000");
});
