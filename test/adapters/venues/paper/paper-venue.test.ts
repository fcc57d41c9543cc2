import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../../../src/domain/order.js";
import { createCounterIds } from "../../../helpers/counter-ids.js";
import { makeOrder } from "../make-order.js";
import { createPaperVenue, type PaperVenueOptions } from "../../../../src/adapters/venues/paper/paper-venue.js";
import { parseReferencePrices } from "../../../../src/config/paper-prices.js";

const clock = { nowMs: () => 1_000 };
const ctx = { signal: new AbortController().signal };
let n = 0;
/** A fresh MARKET IOC BUY of 2 BTC-USD on paper (unique ids per call). */
function order(over: Partial<Order> = {}): Order {
  n++;
  const ids = { clientOrderId: `c-${n}`, orderId: `o-${n}`, venueClientOrderId: `v-${n}`, idempotencyKey: "" };
  return makeOrder({ ...ids, account: "a", venue: "paper", type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "2", price: "", ...over });
}
function venue(over: Partial<PaperVenueOptions> = {}) {
  return createPaperVenue({ clock, ids: createCounterIds("x"), referencePrices: { "BTC-USD": "100", "ETH-USD": "10" }, feeRate: "0.001", ...over });
}

test("MARKET fills completely at the reference price with a fee in the quote currency", async () => {
  const r = await venue().placeOrder(order({ quantity: "1.5" }), ctx);
  assert.ok(r.ok);
  assert.equal(r.value.status, OrderStatus.FILLED);
  assert.equal(r.value.filledQuantity, "1.5");
  assert.equal(r.value.averageFillPrice, "100");
  assert.equal(r.value.fills.length, 1);
  const f = r.value.fills[0]!;
  assert.deepEqual({ q: f.quantity, p: f.price, fee: f.fee, cur: f.feeCurrency, t: f.timeMs }, { q: "1.5", p: "100", fee: "0.15", cur: "USD", t: 1_000 });
  assert.ok(f.venueTradeId !== "" && r.value.venueOrderId !== "");
});

test("LIMIT: crossing fills at the reference, else rests NEW (GTC), is CANCELED (IOC) or EXPIRED (FOK)", async () => {
  const v = venue();
  const buyCross = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "101" }), ctx);
  assert.equal(buyCross.ok && buyCross.value.status, OrderStatus.FILLED);
  assert.equal(buyCross.ok && buyCross.value.fills[0]!.price, "100");
  const sellCross = await v.placeOrder(order({ type: OrderType.LIMIT, side: Side.SELL, timeInForce: TimeInForce.GTC, price: "99.5" }), ctx);
  assert.equal(sellCross.ok && sellCross.value.status, OrderStatus.FILLED);
  const rest = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "99" }), ctx);
  assert.equal(rest.ok && rest.value.status, OrderStatus.NEW);
  assert.equal(rest.ok && rest.value.fills.length, 0);
  assert.equal(v.workingCount, 1);
  const ioc = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.IOC, price: "99" }), ctx);
  assert.equal(ioc.ok && ioc.value.status, OrderStatus.CANCELED);
  const fok = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.FOK, price: "99" }), ctx);
  assert.equal(fok.ok && fok.value.status, OrderStatus.EXPIRED);
  assert.equal(v.workingCount, 1);
});

test("limited liquidity: IOC fills part and cancels the rest, FOK fills nothing, GTC rests PARTIALLY_FILLED", async () => {
  const v = venue({ liquidity: { "BTC-USD": "0.5" } });
  const ioc = await v.placeOrder(order({ quantity: "2" }), ctx);
  assert.ok(ioc.ok);
  assert.equal(ioc.value.status, OrderStatus.CANCELED);
  assert.equal(ioc.value.filledQuantity, "0.5");
  const fok = await v.placeOrder(order({ timeInForce: TimeInForce.FOK }), ctx);
  assert.ok(fok.ok);
  assert.equal(fok.value.status, OrderStatus.EXPIRED);
  assert.equal(fok.value.fills.length, 0);
  const fokSmall = await v.placeOrder(order({ timeInForce: TimeInForce.FOK, quantity: "0.50" }), ctx);
  assert.equal(fokSmall.ok && fokSmall.value.status, OrderStatus.FILLED);
  const gtc = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "100" }), ctx);
  assert.equal(gtc.ok && gtc.value.status, OrderStatus.PARTIALLY_FILLED);
});

test("STOP orders rest as NEW; cancel and query work; cancel of a finished order is rejected, unknown is not_found", async () => {
  const v = venue();
  const stop = order({ type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPrice: "120" });
  const placed = await v.placeOrder(stop, ctx);
  assert.equal(placed.ok && placed.value.status, OrderStatus.NEW);
  const q = await v.queryOrder(stop, ctx);
  assert.equal(q.ok && q.value.status, OrderStatus.NEW);
  const c = await v.cancelOrder(stop, ctx);
  assert.equal(c.ok && c.value.status, OrderStatus.CANCELED);
  const again = await v.cancelOrder(stop, ctx);
  assert.deepEqual(again.ok ? undefined : again.error.kind, "rejected");
  const filled = order();
  await v.placeOrder(filled, ctx);
  const qf = await v.queryOrder(filled, ctx);
  assert.equal(qf.ok && qf.value.status, OrderStatus.FILLED);
  assert.equal(qf.ok && qf.value.fills.length, 1, "a query repeats the fills (the gateway de-duplicates them)");
  const unknown = await v.cancelOrder(order(), ctx);
  assert.equal(unknown.ok ? undefined : unknown.error.kind, "not_found");
});

test("a reused venue client order id is rejected like a real venue would", async () => {
  const v = venue();
  const o = order();
  await v.placeOrder(o, ctx);
  const dup = await v.placeOrder(o, ctx);
  assert.equal(dup.ok ? undefined : dup.error.kind, "rejected");
});

test("bounded: too many resting orders are rejected", async () => {
  const v = venue({ maxWorkingOrders: 2 });
  for (let i = 0; i < 2; i++) await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }), ctx);
  const third = await v.placeOrder(order({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }), ctx);
  assert.equal(third.ok ? undefined : third.error.kind, "rejected");
});

test("checkSymbol and checkOrderShape; default prices include BTC-USD", () => {
  const v = venue();
  assert.equal(v.checkSymbol("BTC-USD"), undefined);
  assert.match(v.checkSymbol("XRP-USD") ?? "", /not traded on paper/);
  assert.match(v.checkOrderShape(OrderType.MARKET, TimeInForce.GTC) ?? "", /MARKET/);
  assert.equal(v.checkOrderShape(OrderType.MARKET, TimeInForce.IOC), undefined);
  assert.equal(v.checkOrderShape(OrderType.LIMIT, TimeInForce.GTC), undefined);
  assert.match(v.checkOrderShape(OrderType.STOP, TimeInForce.IOC) ?? "", /stop orders/);
  const d = createPaperVenue({ clock, ids: createCounterIds("d") });
  assert.equal(d.checkSymbol("BTC-USD"), undefined);
  assert.ok(d.referencePrice?.("BTC-USD"));
});

test("parseReferencePrices", () => {
  assert.deepEqual(parseReferencePrices(""), { ok: true, value: undefined });
  assert.deepEqual(parseReferencePrices("BTC-USD=65000, ETH-USD=3500.5"), { ok: true, value: { "BTC-USD": "65000", "ETH-USD": "3500.5" } });
  const bad = parseReferencePrices("BTC-USD=abc");
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error, /BTC-USD=abc/);
});
