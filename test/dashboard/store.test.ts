import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { FillSchema, OrderEventSchema, OrderEventType, OrderSchema, OrderStatus, PositionSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createStore } from "../../src/dashboard/store.js";

const order = (id: string, status: OrderStatus, updatedMs: number) =>
  create(OrderSchema, { orderId: id, clientOrderId: `c-${id}`, account: "a", venue: "paper", symbol: "BTC-USD", status, createdAt: timestampFromMs(1000), updatedAt: timestampFromMs(updatedMs) });
const event = (sequence: number, type: OrderEventType, init: object) => create(OrderEventSchema, { sequence: BigInt(sequence), type, ...init });

// The page's state, without a browser: the stream replays from the start after a snapshot, and
// an old replayed event must never roll the snapshot back.
test("store: live events update orders, fills and positions; a replay older than the snapshot changes nothing", () => {
  const s = createStore();
  s.loadOrders([order("1", OrderStatus.FILLED, 2000), order("2", OrderStatus.NEW, 1500)]);
  s.loadPositions([create(PositionSchema, { venue: "paper", symbol: "BTC-USD", quantity: "1", lastFillSequence: 7n })]);
  assert.deepEqual(s.openOrders().map((o) => o.orderId), ["2"]);

  // Replayed: order 1 accepted and acknowledged in the same millisecond it filled; an old position.
  assert.equal(s.apply(event(1, OrderEventType.ACCEPTED, { order: order("1", OrderStatus.PENDING_NEW, 2000) })).orders, false);
  assert.equal(s.apply(event(2, OrderEventType.NEW, { order: order("1", OrderStatus.NEW, 2000) })).orders, false);
  assert.equal(s.apply(event(3, OrderEventType.POSITION_UPDATED, { position: create(PositionSchema, { venue: "paper", symbol: "BTC-USD", quantity: "0.5", lastFillSequence: 6n }) })).positions, false);
  assert.equal(s.recentOrders().find((o) => o.orderId === "1")?.status, OrderStatus.FILLED);
  assert.equal(s.positions()[0]?.quantity, "1");

  // Live: order 2 fills (two events in one millisecond: the later sequence wins).
  const fill = create(FillSchema, { sequence: 8n, fillId: "f-8", orderId: "2", quantity: "1", price: "65000", time: timestampFromMs(3000) });
  assert.deepEqual(s.apply(event(4, OrderEventType.FILL, { order: order("2", OrderStatus.PARTIALLY_FILLED, 3000), fill })), { orders: true, fills: true, positions: false, tradingState: false });
  assert.equal(s.apply(event(5, OrderEventType.FILLED, { order: order("2", OrderStatus.FILLED, 3000) })).orders, true);
  assert.equal(s.apply(event(6, OrderEventType.POSITION_UPDATED, { position: create(PositionSchema, { venue: "paper", symbol: "BTC-USD", quantity: "2", lastFillSequence: 8n }) })).positions, true);
  assert.deepEqual(s.openOrders(), []);
  assert.deepEqual(s.fills().map((f) => f.fillId), ["f-8"]);
  assert.equal(s.positions()[0]?.quantity, "2");
  // The same fill again (a resumed stream overlapping) is not a second row.
  assert.equal(s.apply(event(4, OrderEventType.FILL, { fill })).fills, false);
  assert.equal(s.lastSequence, 6n);
  assert.equal(s.apply(event(7, OrderEventType.TRADING_STATE_CHANGED, {})).tradingState, true);
});
