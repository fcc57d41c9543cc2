/**
 * toProtoOrderEvent builds every event in one shape, an absent payload as an own `undefined`
 * (src/rpc/order-event-mapping.ts). Held here: for events of every payload combination, the wire
 * bytes and the JSON are those of the same message made by protobuf-es's create() with the
 * absent payloads left out, and no absent payload reads as set.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { OrderEventSchema, StreamOrderEventsResponseSchema } from "../../gen/trading/v1/trading_gateway_pb.js";
import { toProtoOrderEvent } from "../../src/rpc/order-event-mapping.js";
import type { OrderEvent } from "../../src/use-cases/order-events.js";
import type { Position } from "../../src/domain/position.js";
import { createStreamMessageEncoder, Writer } from "../../src/server/fast-path/stream-message-encoder.js";
import { sampleFill, sampleOrder } from "../adapters/audit/fixtures.js";

const position: Position = {
  account: "acct-1",
  venue: "paper",
  symbol: "BTC-USD",
  quantity: "-1.5",
  averageEntryPrice: "65000.5",
  realizedPnl: "12.25",
  fees: "0.1",
  otherFees: { BNB: "0.001" },
  updatedAtMs: 1_796_611_223_397,
  lastFillSequence: 42n,
  openCost: "97500.75",
  openQuantity: "1.5",
};
const tradingState = { account: "", venue: "kraken", state: "HALTED", reason: "maintenance", setBy: "ops", setAtMs: 1_796_611_223_000 } as const;

function events(): OrderEvent[] {
  const base = { timeMs: 1_796_611_223_397, account: "acct-1", venue: "paper", symbol: "BTC-USD", reason: "", sequence: 7n } as const;
  const order = sampleOrder();
  const fill = sampleFill(3n);
  return [
    { ...base, kind: "accepted", order },
    { ...base, kind: "fill", order, fill },
    { ...base, kind: "position_updated", position },
    { ...base, kind: "trading_state_changed", account: "", tradingState, reason: "maintenance" },
    { ...base, kind: "reconciled", reason: "venue says canceled" },
    { ...base, kind: "filled", order, fill, position, tradingState },
  ];
}

test("every payload combination: the same bytes and JSON as the message without the absent payloads", () => {
  const encoder = createStreamMessageEncoder(StreamOrderEventsResponseSchema)!;
  const w = new Writer();
  for (const e of events()) {
    const mapped = toProtoOrderEvent(e);
    const present = Object.fromEntries(Object.entries(mapped).filter(([, v]) => v !== undefined));
    const reference = create(OrderEventSchema, present as never);
    assert.equal(Buffer.from(toBinary(OrderEventSchema, mapped)).toString("hex"), Buffer.from(toBinary(OrderEventSchema, reference)).toString("hex"), e.kind);
    assert.deepEqual(toJson(OrderEventSchema, mapped), toJson(OrderEventSchema, reference), e.kind);
    for (const k of ["order", "fill", "position", "tradingState"] as const) {
      const domainKey = k;
      assert.equal(mapped[k] === undefined, e[domainKey] === undefined, `${e.kind}: ${k} set exactly when the domain event has it`);
    }
    // The fast path's hand encoder agrees (it reads an own undefined as unset too).
    const message = { $typeName: "trading.v1.StreamOrderEventsResponse", event: mapped } as never;
    w.pos = 0;
    assert.ok(encoder.appendEnvelope(w, message), e.kind);
    assert.equal(w.buf.subarray(5, w.pos).toString("hex"), Buffer.from(toBinary(StreamOrderEventsResponseSchema, message)).toString("hex"), e.kind);
  }
});
