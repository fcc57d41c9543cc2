/**
 * SIGTERM while an order waits on a venue that does not answer within SHUTDOWN_GRACE_MS, against
 * the real gateway process: the order was accepted by the venue, so an UNAVAILABLE (or a reset
 * stream) would leave its client unsure whether it went through. At the end of the grace period
 * the gateway cancels its venue calls; the order settles as PENDING_NEW (outcome unknown, on
 * record, reconciled later) and the client gets that answer before the connections go.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../gen/trading/v1/trading_gateway_pb.js";
import { binanceDialect } from "../helpers/fake-venues/binance.js";
import { startFakeVenue } from "../helpers/fake-venues/fake-venue-server.js";
import { venueEnv } from "../helpers/fake-venues/contract-venues.js";
import { connectChildGateway, startChildGateway } from "../helpers/child-gateway.js";
import { waitFor } from "../helpers/wait-for.js";

test("SIGTERM with an order waiting on a silent venue: answered PENDING_NEW and on record, never UNAVAILABLE or a reset", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-slow-venue-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fake = await startFakeVenue(binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!));
  t.after(() => fake.close());
  const venuesFile = join(dir, "venues.yaml");
  writeFileSync(
    venuesFile,
    [
      // No poll during the test: the order's outcome must come from the shutdown alone.
      "pollIntervalMs: 600000",
      "venues:",
      "  - name: binance",
      "    kind: binance",
      `    baseUrl: ${fake.url}`,
      // Far longer than the grace period: only the shutdown can end the venue call.
      "    timeoutMs: 60000",
      "    credentials:",
      "      apiKey: { env: BINANCE_API_KEY }",
      "      apiSecret: { env: BINANCE_API_SECRET }",
      "    symbols: { BTC-USD: BTCUSDT }",
      "",
    ].join("\n"),
  );
  const auditFile = join(dir, "audit.jsonl");
  const gw = await startChildGateway({
    VENUES_FILE: venuesFile,
    AUDIT_FILE: auditFile,
    SHUTDOWN_GRACE_MS: "300",
    BINANCE_API_KEY: venueEnv["BINANCE_API_KEY"]!,
    BINANCE_API_SECRET: venueEnv["BINANCE_API_SECRET"]!,
  });
  t.after(() => gw.child.kill("SIGKILL"));
  const client = connectChildGateway(gw.port);
  t.after(() => client.close());

  fake.failNext("place", "slow-after-accept");
  const answer = client.trading
    .placeOrder({ clientOrderId: "slow-1", account: "acct-1", venue: "binance", symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "1", price: "100" })
    .then(
      (r) => ({ ok: true as const, status: r.order?.status, orderId: r.order?.orderId ?? "" }),
      (e: unknown) => ({ ok: false as const, error: String(e) }),
    );
  await waitFor(() => fake.engine.placeAttempts.get([...fake.engine.placeAttempts.keys()][0] ?? "") === 1, { timeoutMs: 10_000, what: "the venue to receive the order" });
  const exited = new Promise<number | null>((resolve) => gw.child.once("exit", (code) => resolve(code)));
  gw.child.kill("SIGTERM");

  const r = await answer;
  assert.ok(r.ok, `the client must learn the order's state, got ${JSON.stringify(r)}`);
  assert.equal(r.status, OrderStatus.PENDING_NEW);
  assert.equal(await exited, 0, gw.output());
  const events = readFileSync(auditFile, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; order_id?: string });
  const mine = events.filter((e) => e.order_id === r.orderId).map((e) => e.event);
  assert.deepEqual(mine, ["order_received", "order_pending"], "the order is on record as sent, outcome unknown");
});
