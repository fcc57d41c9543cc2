import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { createRpcMetrics } from "../src/adapters/metrics/metrics.js";
import { createGateway } from "../src/composition-root.js";
import { createHealthRegistry } from "../src/server/health.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";
import { startServer } from "./helpers/start-server.js";
import { waitFor } from "./helpers/wait-for.js";

// createGateway wires the balance cache: BALANCE_REFRESH_MS, the paper wallet from the venue
// file, the refresh after a fill, and close() (timers cleared, nothing fetched afterwards).
test("createGateway: GetBalances from the venue file's paper wallet, refreshed after a fill", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-balances-"));
  const venuesFile = join(dir, "venues.yaml");
  writeFileSync(venuesFile, "venues:\n  - name: paper\n    kind: paper\n    paper: { referencePrices: { BTC-USD: 100 }, feeRate: 0, balances: { USD: 1000 } }\n");
  const metrics = createRpcMetrics();
  const shutdown = new AbortController();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "off", venuesFile, balanceRefreshMs: 3_600_000 }),
    logger: createLogCapture().logger,
    health: createHealthRegistry(),
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
  });
  const srv = await startServer({ trading: core.trading, metrics });
  t.after(async () => {
    shutdown.abort();
    await srv.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = createClient(TradingGateway, createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", useBinaryFormat: false }));
  const first = await client.getBalances({ account: "acct-1" });
  assert.deepEqual(first.venues[0]!.balances.map((b) => [b.asset, b.free]), [["USD", "1000"]]);
  await client.placeOrder({ ...MARKET_ORDER_FIELDS, quantity: "2" });
  // The hourly interval cannot have run: this is the refresh the fill scheduled.
  await waitFor(async () => (await client.getBalances({ account: "acct-1" })).venues[0]!.balances.some((b) => b.asset === "BTC"), { what: "balances after the fill" });
  const after = await client.getBalances({ account: "acct-1", venue: "paper" });
  assert.deepEqual(after.venues[0]!.balances.map((b) => [b.asset, b.free]), [["USD", "800"], ["BTC", "2"]]);
});
