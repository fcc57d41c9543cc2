import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuditDecoder, encodeAuditEvent } from "../../src/adapters/audit/audit-codec.js";
import type { AuditEvent } from "../../src/use-cases/audit-sink.js";
import { recoverState } from "../../src/use-cases/recover.js";

test("trading_state_set and risk_limits_reloaded lines round-trip; recovery keeps the last non-ACTIVE setting per scope", async () => {
  const at = Date.parse("2026-12-06T15:00:00.000Z");
  const set = (account: string, venue: string, state: "ACTIVE" | "REDUCE_ONLY" | "HALTED", ts: number): AuditEvent => ({
    ts,
    type: "trading_state_set",
    requestId: `r${ts}`,
    tradingState: { account, venue, state, reason: `why "${state}"`, setBy: "key-abc", setAtMs: ts },
  });
  const events: AuditEvent[] = [
    set("", "", "HALTED", at),
    set("acct-1", "paper", "REDUCE_ONLY", at + 1),
    { ts: at + 2, type: "risk_limits_reloaded", requestId: "risk-limits-reload", riskLimits: { source: "l.yaml", digest: "ab".repeat(32), summary: "defaults maxQuantity=2; 0 account entries" } },
    set("", "", "ACTIVE", at + 3),
    set("acct-1", "paper", "HALTED", at + 4),
  ];
  const decoder = createAuditDecoder();
  const decoded = events.map((e) => {
    const r = decoder.line(encodeAuditEvent(e));
    assert.ok(r.ok, r.ok ? "" : r.error);
    return r.value;
  });
  assert.deepEqual(decoded, events);
  const state = await recoverState(decoded, { nowMs: at + 10, idempotencyTtlMs: 1000, idempotencyMaxEntries: 10, orderRetentionMs: 1000, maxTerminalOrders: 10 });
  assert.deepEqual(state.tradingStates, [events[4]!.tradingState]);
});
