import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderStatus } from "../../../../src/domain/order.js";
import { alpacaAuthMessage, alpacaListenMessage, parseAlpacaStreamMessage } from "../../../../src/adapters/venues/alpaca/stream.js";
import { alpacaRules } from "../../../../src/adapters/venues/alpaca/describe.js";
import { decideStreamUpdate } from "../../../../src/adapters/venues/user-stream/stream-update.js";
import type { StreamOrderEvent } from "../../../../src/adapters/venues/user-stream/stream-spec.js";
import type { Order } from "../../../../src/domain/order.js";
import type { VenueOrderUpdate } from "../../../../src/use-cases/venue-adapter.js";
import { parseOrderAnswer, synthesizeFill } from "../../../../src/adapters/venues/translator.js";
import { makeOrder } from "../make-order.js";

/** The stream path: the framework's decision on the event against the order as the gateway holds it. */
function viaStream(view: Order, ev: StreamOrderEvent, t: number): VenueOrderUpdate {
  const d = decideStreamUpdate(view, { ...ev, eventTimeMs: t }, t);
  return d.kind === "apply" ? d.update : { ...ev.update, fills: [] };
}

/** The fill example of the streaming docs (order object trimmed to the fields they show). */
const DOC_FILL = {
  stream: "trade_updates",
  data: {
    event: "fill",
    execution_id: "2f63ea93-423d-4169-b3f6-3fdafc10c418",
    order: {
      id: "a5be8f5e-fdfa-41f5-a644-7a74fe947a8f",
      client_order_id: "4642fd68-d59a-47d7-a9ac-e22f536828d1",
      symbol: "SOLUSD",
      asset_class: "crypto",
      side: "sell",
      type: "market",
      qty: "1790.86",
      filled_qty: "1790.86",
      filled_avg_price: "105.8988475",
      status: "filled",
      filled_at: "2022-04-19T17:45:05.024916716Z",
    },
    position_qty: "0",
    price: "105.8988475",
    qty: "1790.86",
    timestamp: "2022-04-19T17:45:05.024916716Z",
  },
};

test("authenticate and listen messages are the documented ones", () => {
  assert.deepEqual(JSON.parse(alpacaAuthMessage({ keyId: "AK1", secretKey: "S1" })), { action: "authenticate", data: { key_id: "AK1", secret_key: "S1" } });
  assert.deepEqual(JSON.parse(alpacaListenMessage()), { action: "listen", data: { streams: ["trade_updates"] } });
});

test("authorization and listening answers", () => {
  assert.deepEqual(parseAlpacaStreamMessage('{"stream":"authorization","data":{"status":"authorized","action":"authenticate"}}'), { ok: true, value: { kind: "authorization", authorized: true, action: "authenticate" } });
  assert.deepEqual(parseAlpacaStreamMessage('{"stream":"authorization","data":{"status":"unauthorized","action":"listen"}}'), { ok: true, value: { kind: "authorization", authorized: false, action: "listen" } });
  assert.deepEqual(parseAlpacaStreamMessage('{"stream":"listening","data":{"streams":["trade_updates"]}}'), { ok: true, value: { kind: "listening", streams: ["trade_updates"] } });
});

test("the docs' fill, as a text frame and as the binary frame the paper endpoint sends, reads as the REST order answer", () => {
  const expected = {
    kind: "order",
    event: "fill",
    executionId: "2f63ea93-423d-4169-b3f6-3fdafc10c418",
    order: {
      venueOrderId: "a5be8f5e-fdfa-41f5-a644-7a74fe947a8f",
      venueClientOrderId: "4642fd68-d59a-47d7-a9ac-e22f536828d1",
      update: { status: OrderStatus.FILLED, venueOrderId: "a5be8f5e-fdfa-41f5-a644-7a74fe947a8f", filledQuantity: "1790.86", averageFillPrice: "105.8988475", fills: [] },
      eventTimeMs: Date.parse("2022-04-19T17:45:05.024Z"),
      cumulativeOnly: true,
    },
  };
  assert.deepEqual(parseAlpacaStreamMessage(JSON.stringify(DOC_FILL)), { ok: true, value: expected });
  assert.deepEqual(parseAlpacaStreamMessage(new TextEncoder().encode(JSON.stringify(DOC_FILL))), { ok: true, value: expected });
  const rest = parseOrderAnswer(DOC_FILL.data.order, alpacaRules);
  assert.deepEqual(rest, { ok: true, value: expected.order.update });
});

test("partial_fill then fill: each synthesized fill has the id the REST path gives the same progress", () => {
  const partial = structuredClone(DOC_FILL);
  partial.data.event = "partial_fill";
  Object.assign(partial.data.order, { filled_qty: "1000", filled_avg_price: "105", status: "partially_filled" });
  const view0 = makeOrder({ venueOrderId: DOC_FILL.data.order.id, symbol: "SOLUSD", status: OrderStatus.NEW, quantity: "1790.86" });
  const p = parseAlpacaStreamMessage(JSON.stringify(partial));
  assert.ok(p.ok && p.value.kind === "order");
  const first = viaStream(view0, p.value.order, 1);
  assert.equal(first.status, OrderStatus.PARTIALLY_FILLED);
  const restFirst = parseOrderAnswer(partial.data.order, alpacaRules);
  assert.ok(restFirst.ok);
  assert.deepEqual(first.fills, synthesizeFill(view0, restFirst.value, 1).fills);
  assert.deepEqual(first.fills, [{ venueTradeId: `${DOC_FILL.data.order.id}:1000`, quantity: "1000", price: "105", fee: "0", feeCurrency: "", timeMs: 1, fromTotals: true }]);

  const view1 = { ...view0, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "1000", averageFillPrice: "105" };
  const f = parseAlpacaStreamMessage(JSON.stringify(DOC_FILL));
  assert.ok(f.ok && f.value.kind === "order");
  const second = viaStream(view1, f.value.order, 2);
  // (1790.86 x 105.8988475 - 1000 x 105) / 790.86
  assert.equal(second.fills.length, 1);
  assert.equal(second.fills[0]!.venueTradeId, `${DOC_FILL.data.order.id}:1790.86`);
  assert.equal(second.fills[0]!.quantity, "790.86");
  assert.equal(second.fills[0]!.price, "107.03539189471");
  // The same message again: nothing new.
  assert.deepEqual(viaStream({ ...view1, filledQuantity: "1790.86" }, f.value.order, 3).fills, []);
});

test("non-fill events carry the order's state (canceled, replaced, new)", () => {
  for (const [event, status, want] of [["canceled", "canceled", OrderStatus.CANCELED], ["new", "new", OrderStatus.NEW], ["replaced", "replaced", OrderStatus.CANCELED], ["pending_cancel", "pending_cancel", OrderStatus.PENDING_CANCEL]] as const) {
    const m = { stream: "trade_updates", data: { event, timestamp: "2022-04-19T17:45:05Z", order: { id: "o-1", client_order_id: "c-1", status, filled_qty: "0", filled_avg_price: null } } };
    const r = parseAlpacaStreamMessage(JSON.stringify(m));
    assert.ok(r.ok && r.value.kind === "order", event);
    assert.equal(r.value.order.update.status, want, event);
    assert.equal(r.value.executionId, "");
  }
});

test("malformed frames are protocol errors; other streams are ignored", () => {
  const unknown = parseAlpacaStreamMessage(JSON.stringify({ stream: "trade_updates", data: { event: "fill", order: { id: "o", status: "teleported" } } }));
  assert.ok(!unknown.ok && unknown.error.kind === "protocol");
  const noOrder = parseAlpacaStreamMessage(JSON.stringify({ stream: "trade_updates", data: { event: "fill" } }));
  assert.ok(!noOrder.ok && noOrder.error.kind === "protocol");
  const notUtf8 = parseAlpacaStreamMessage(new Uint8Array([0xff, 0xfe, 0x7b]));
  assert.ok(!notUtf8.ok && notUtf8.error.kind === "protocol");
  const notJson = parseAlpacaStreamMessage("{");
  assert.ok(!notJson.ok && notJson.error.kind === "protocol");
  assert.deepEqual(parseAlpacaStreamMessage('{"stream":"account_updates","data":{}}'), { ok: true, value: { kind: "other" } });
});
