import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, verify } from "node:crypto";
import { test } from "node:test";
import { OrderStatus } from "../../../../src/domain/order.js";
import { coinbaseSequenceGap, coinbaseSubscribeMessage, parseCoinbaseStreamMessage } from "../../../../src/adapters/venues/coinbase/stream.js";
import { coinbaseRules } from "../../../../src/adapters/venues/coinbase/describe.js";
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

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const key = createPrivateKey(privateKey.export({ type: "sec1", format: "pem" }).toString());
const keyName = "organizations/org-1/apiKeys/key-1";
const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

/** A `user` message as the AsyncAPI / channels page show it (envelope, events[], orders[]). */
function userMessage(sequence: number, type: "snapshot" | "update", orders: Array<Record<string, unknown>>): string {
  return JSON.stringify({ channel: "user", client_id: "", timestamp: "2026-04-07T14:30:06.000000Z", sequence_num: sequence, events: [{ type, orders }] });
}
function cbOrder(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_id: "cb-1",
    client_order_id: "cid-1",
    cumulative_quantity: "0",
    leaves_quantity: "1",
    avg_price: "0",
    total_fees: "0",
    status: "OPEN",
    product_id: "BTC-USD",
    creation_time: "2026-04-07T14:29:55.123456Z",
    order_side: "BUY",
    order_type: "Limit",
    cancel_reason: "",
    reject_reason: "",
    time_in_force: "GOOD_UNTIL_CANCELLED",
    ...over,
  };
}

test("subscribe: one channel per message, a JWT without the uri claim, ES256 over the P-256 key, 2 minutes", () => {
  const msg = JSON.parse(coinbaseSubscribeMessage("user", { keyName, key }, 1_700_000_000_500, "n-1")) as Record<string, unknown>;
  assert.equal(msg["type"], "subscribe");
  assert.equal(msg["channel"], "user");
  assert.equal("product_ids" in msg, false, "all products: product_ids omitted");
  const [h, c, s] = String(msg["jwt"]).split(".");
  assert.deepEqual(decode(h!), { alg: "ES256", kid: keyName, nonce: "n-1", typ: "JWT" });
  assert.deepEqual(decode(c!), { sub: keyName, iss: "cdp", nbf: 1_700_000_000, exp: 1_700_000_120 });
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s!, "base64url")));
  const hb = JSON.parse(coinbaseSubscribeMessage("heartbeats", { keyName, key }, 1_700_000_000_500, "n-2", ["BTC-USD"])) as Record<string, unknown>;
  assert.equal(hb["channel"], "heartbeats");
  assert.deepEqual(hb["product_ids"], ["BTC-USD"]);
  assert.notEqual(hb["jwt"], msg["jwt"], "a different JWT for each message");
});

test("a snapshot lists the open orders in REST terms (status, cumulative figures, client id)", () => {
  const r = parseCoinbaseStreamMessage(userMessage(1, "snapshot", [cbOrder()]));
  assert.ok(r.ok && r.value.kind === "orders");
  assert.equal(r.value.snapshot, true);
  assert.equal(r.value.sequence, 1);
  assert.deepEqual(r.value.orders, [
    { venueOrderId: "cb-1", venueClientOrderId: "cid-1", update: { status: OrderStatus.NEW, venueOrderId: "cb-1", filledQuantity: "0", cumulativeFee: "0", fills: [] }, eventTimeMs: Date.parse("2026-04-07T14:30:06Z"), cumulativeOnly: true },
  ]);
});

test("an update with progress: OPEN with something filled is PARTIALLY_FILLED, totals are cumulative", () => {
  const r = parseCoinbaseStreamMessage(userMessage(7, "update", [cbOrder({ cumulative_quantity: "0.4", leaves_quantity: "0.6", avg_price: "100", total_fees: "0.24" })]));
  assert.ok(r.ok && r.value.kind === "orders");
  assert.equal(r.value.snapshot, false);
  assert.deepEqual(r.value.orders[0]!.update, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "cb-1", filledQuantity: "0.4", averageFillPrice: "100", cumulativeFee: "0.24", fills: [] });
});

test("no trade id: the synthetic fill of a stream message and of a REST answer for the same progress is the same fill", () => {
  const view = makeOrder({ venueOrderId: "cb-1", status: OrderStatus.NEW });
  const s = parseCoinbaseStreamMessage(userMessage(2, "update", [cbOrder({ cumulative_quantity: "0.4", avg_price: "100", total_fees: "0.24" })]));
  assert.ok(s.ok && s.value.kind === "orders");
  const fromStream = viaStream(view, s.value.orders[0]!, 5);
  // GET .../historical/{id} for the same progress.
  const rest = parseOrderAnswer({ order: { order_id: "cb-1", client_order_id: "cid-1", status: "OPEN", filled_size: "0.4", average_filled_price: "100", total_fees: "0.24", reject_reason: "" } }, coinbaseRules);
  assert.ok(rest.ok);
  const fromRest = synthesizeFill(view, rest.value, 5);
  assert.deepEqual(fromStream.fills, [{ venueTradeId: "cb-1:0.4", quantity: "0.4", price: "100", fee: "0.24", feeCurrency: "USD", timeMs: 5, fromTotals: true }]);
  assert.deepEqual(fromRest.fills, fromStream.fills);
});

test("the next progress is the difference: delta quantity, delta fee, the slice's price from the two averages", () => {
  const view = makeOrder({ venueOrderId: "cb-1", status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4", averageFillPrice: "100", venueFeeTotal: "0.24" });
  const s = parseCoinbaseStreamMessage(userMessage(3, "update", [cbOrder({ status: "FILLED", cumulative_quantity: "1", leaves_quantity: "0", avg_price: "101.2", total_fees: "0.6072" })]));
  assert.ok(s.ok && s.value.kind === "orders");
  const u = viaStream(view, s.value.orders[0]!, 9);
  assert.equal(u.status, OrderStatus.FILLED);
  // (1 x 101.2 - 0.4 x 100) / 0.6 = 102; fee 0.6072 - 0.24.
  assert.deepEqual(u.fills, [{ venueTradeId: "cb-1:1", quantity: "0.6", price: "102", fee: "0.3672", feeCurrency: "USD", timeMs: 9, fromTotals: true }]);
});

test("a duplicated or late message (no more filled than the view holds) yields no fill", () => {
  const view = makeOrder({ venueOrderId: "cb-1", status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.4", averageFillPrice: "100", venueFeeTotal: "0.24" });
  for (const q of ["0.4", "0.2"]) {
    const s = parseCoinbaseStreamMessage(userMessage(4, "update", [cbOrder({ cumulative_quantity: q, avg_price: "100", total_fees: "0.12" })]));
    assert.ok(s.ok && s.value.kind === "orders");
    assert.deepEqual(viaStream(view, s.value.orders[0]!, 1).fills, [], q);
  }
});

test("an order with an undocumented status is reported and does not hide the rest of its batch", () => {
  const r = parseCoinbaseStreamMessage(userMessage(5, "snapshot", [cbOrder({ order_id: "bad", status: "TELEPORTED" }), cbOrder({ order_id: "cb-2" })]));
  assert.ok(r.ok && r.value.kind === "orders");
  assert.deepEqual(r.value.orders.map((o) => o.venueOrderId), ["cb-2"]);
  assert.equal(r.value.errors.length, 1);
  assert.equal(r.value.errors[0]!.kind, "protocol");
  assert.match(r.value.errors[0]!.reason, /TELEPORTED/);
});

test("heartbeats (integer or string counter), subscriptions, errors, unknown channels, garbage", () => {
  const hb = parseCoinbaseStreamMessage(JSON.stringify({ channel: "heartbeats", timestamp: "2023-06-23T20:31:26.122969572Z", sequence_num: 8, events: [{ current_time: "2023-06-23 20:31:25.215323212 +0000 UTC m=+91717.525857105", heartbeat_counter: 3049 }] }));
  assert.deepEqual(hb, { ok: true, value: { kind: "heartbeat", sequence: 8, counter: 3049 } });
  const hb2 = parseCoinbaseStreamMessage(JSON.stringify({ channel: "heartbeats", sequence_num: 9, events: [{ heartbeat_counter: "3050" }] }));
  assert.ok(hb2.ok && hb2.value.kind === "heartbeat" && hb2.value.counter === 3050);
  const subs = parseCoinbaseStreamMessage(JSON.stringify({ channel: "subscriptions", sequence_num: 0, events: [{ subscriptions: { user: ["BTC-USD"], heartbeats: ["heartbeats"] } }] }));
  assert.deepEqual(subs, { ok: true, value: { kind: "subscriptions", sequence: 0, channels: { user: ["BTC-USD"], heartbeats: ["heartbeats"] } } });
  assert.deepEqual(parseCoinbaseStreamMessage(JSON.stringify({ type: "error", message: "authentication failure" })), { ok: true, value: { kind: "error", reason: "authentication failure" } });
  assert.deepEqual(parseCoinbaseStreamMessage(JSON.stringify({ channel: "futures_balance_summary", sequence_num: 4, events: [] })), { ok: true, value: { kind: "other", sequence: 4 } });
  const bad = parseCoinbaseStreamMessage("{not json");
  assert.ok(!bad.ok && bad.error.kind === "protocol");
  const noEvents = parseCoinbaseStreamMessage(JSON.stringify({ channel: "user", sequence_num: 1 }));
  assert.ok(!noEvents.ok && noEvents.error.kind === "protocol");
});

test("sequence gaps: only a skipped number counts", () => {
  assert.equal(coinbaseSequenceGap(3, 4), false);
  assert.equal(coinbaseSequenceGap(3, 5), true);
  assert.equal(coinbaseSequenceGap(3, 3), true);
  assert.equal(coinbaseSequenceGap(-1, 7), false);
  assert.equal(coinbaseSequenceGap(7, -1), false);
});
