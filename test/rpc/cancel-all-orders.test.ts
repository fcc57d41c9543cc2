import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelOutcome } from "../../gen/trading/v1/trading_gateway_pb.js";
import { toProtoCancelResult } from "../../src/rpc/cancel-all-orders.js";
import { grpcCodeName } from "../../src/rpc/to-connect-error.js";
import { makeOrder } from "../adapters/venues/make-order.js";

test("each outcome maps to its proto value; code and message only for FAILED, the code named as gRPC names it", () => {
  const order = makeOrder();
  const err = { kind: "unavailable", message: "venue unavailable: down" } as const;
  const rows = [
    [toProtoCancelResult({ order, outcome: "canceled" }), CancelOutcome.CANCELED, ""],
    [toProtoCancelResult({ order, outcome: "already_terminal" }), CancelOutcome.ALREADY_TERMINAL, ""],
    // An error attached to a non-FAILED result is not reported as a failure.
    [toProtoCancelResult({ order, outcome: "pending", error: err }), CancelOutcome.PENDING, ""],
    [toProtoCancelResult({ order, outcome: "failed", error: err }), CancelOutcome.FAILED, "UNAVAILABLE"],
  ] as const;
  for (const [r, outcome, code] of rows) {
    assert.equal(r.outcome, outcome);
    assert.equal(r.code, code);
    assert.equal(r.message, code === "" ? "" : err.message);
    assert.equal(r.order?.orderId, order.orderId);
  }
  assert.deepEqual(
    (["invalid_argument", "failed_precondition", "resource_exhausted", "permission_denied", "deadline_exceeded", "not_found"] as const).map(grpcCodeName),
    ["INVALID_ARGUMENT", "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED", "PERMISSION_DENIED", "DEADLINE_EXCEEDED", "NOT_FOUND"],
  );
});
