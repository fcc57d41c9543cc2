import { test } from "node:test";
import assert from "node:assert/strict";
import { ORDER_TUPLE_FIELDS, createOrderTupleJson, orderFromTuple, orderToTuple } from "../../src/domain/order-tuple.js";
import { everyField } from "../helpers/every-field-order.js";

test("an order survives the tuple and JSON, every field in place, with and without the optional fee total", () => {
  assert.deepEqual(new Set(ORDER_TUPLE_FIELDS), new Set(Object.keys(everyField)), "the tuple lists every Order field");
  assert.deepEqual(orderFromTuple(JSON.parse(JSON.stringify(orderToTuple(everyField)))), everyField);
  const { venueFeeTotal: _fee, ...noFee } = everyField;
  const back = orderFromTuple(JSON.parse(JSON.stringify(orderToTuple(noFee))));
  assert.deepEqual(back, noFee);
  assert.equal("venueFeeTotal" in back, false, "an absent optional field stays absent");
});

test("orderTupleJson is the tuple's JSON, for each order object it is given; two packers keep their own memo", () => {
  const orderTupleJson = createOrderTupleJson();
  const other = createOrderTupleJson();
  const a = everyField;
  const b = { ...everyField, status: everyField.status === 4 ? 6 : 4, filledQuantity: "0.25" } as typeof everyField;
  assert.equal(orderTupleJson(a), JSON.stringify(orderToTuple(a)));
  assert.equal(orderTupleJson(b), JSON.stringify(orderToTuple(b)));
  assert.notEqual(orderTupleJson(a), orderTupleJson(b));
  assert.equal(orderTupleJson(a), JSON.stringify(orderToTuple(a)), "asked again after another order");
  assert.equal(orderTupleJson(a), orderTupleJson(a));
  assert.equal(other(b), JSON.stringify(orderToTuple(b)));
  assert.equal(orderTupleJson(a), JSON.stringify(orderToTuple(a)), "another packer's work changes nothing here");
});

test("an absent optional field stays absent, and a trailing one takes no room in the tuple", () => {
  const { venueFeeTotal: _fee, ...noFee } = everyField;
  const t = orderToTuple(noFee);
  const lastPresent = ORDER_TUPLE_FIELDS.findLastIndex((k) => (noFee as Record<string, unknown>)[k] !== undefined);
  assert.equal(t.length, lastPresent + 1, "trailing absent fields are dropped");
  assert.deepEqual(orderFromTuple(JSON.parse(JSON.stringify(t))), noFee);
});
