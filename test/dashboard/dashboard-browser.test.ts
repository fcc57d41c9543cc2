import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, OrderType, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { rpcError } from "../helpers/trading-core.js";
import { waitFor } from "../helpers/wait-for.js";
import { launchChromium, startDashboardGateway } from "./dashboard-gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ARTIFACT = `${ROOT}test-artifacts/dashboard.png`;
/** The README's screenshot: written when absent, or with UPDATE_DOCS_SCREENSHOT=1 (so a test run leaves the tree clean). */
const DOCS_SHOT = `${ROOT}docs/dashboard.png`;

// The dashboard in a real browser against a real gateway (embedded paper venue): what a person
// sees follows what API clients do, live, and what the person clicks reaches the gateway.
test("dashboard in headless Chromium: no console error, an API order in the blotter within 1 s, its fill, cancel, and HALT refuses the next PlaceOrder", async (t) => {
  const gw = await startDashboardGateway();
  t.after(() => gw.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // The event stream is aborted when the page closes; anything else failing is a problem.
    if (!r.url().includes("StreamOrderEvents")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });

  const api = createClient(TradingGateway, createGrpcTransport({ baseUrl: gw.baseUrl }));
  const account = "acct-1";

  await page.goto(`${gw.baseUrl}/`);
  // Loaded: the venues came from GetBalances, the state from GetTradingState, the stream is open.
  await page.waitForSelector("#o-venue option[value=paper]", { state: "attached", timeout: 10_000 });
  await page.waitForSelector('#state:text-is("ACTIVE")', { timeout: 10_000 });
  await page.waitForSelector("#health tr[data-key=paper] .s-SERVING", { timeout: 10_000 });

  // A resting order placed through the API shows in the open-orders blotter within 1 s.
  const resting = await api.placeOrder({ ...MARKET_ORDER_FIELDS, account, clientOrderId: "api-rest-1", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "64000", quantity: "0.1" });
  assert.equal(resting.order?.status, OrderStatus.NEW);
  await page.waitForSelector('#open-orders tr[data-key="api-rest-1"]', { timeout: 1000 });

  // A market order: its fill, its position and its final status show.
  const market = await api.placeOrder({ ...MARKET_ORDER_FIELDS, account, clientOrderId: "api-mkt-1", quantity: "0.25" });
  assert.equal(market.order?.status, OrderStatus.FILLED);
  await page.waitForSelector('#recent-orders tr[data-key="api-mkt-1"] .s-FILLED', { timeout: 1000 });
  const fillId = (await api.listFills({ account, orderId: market.order!.orderId })).fills[0]?.fillId;
  assert.ok(fillId !== undefined);
  await page.waitForSelector(`#fills tr[data-key="${fillId}"]`, { timeout: 1000 });
  await page.waitForSelector('#positions tr[data-key="paper/BTC-USD"]', { timeout: 1000 });
  assert.match((await page.textContent('#positions tr[data-key="paper/BTC-USD"]')) ?? "", /0\.25/);

  // The page's own order form places an order over Connect.
  await page.fill("#o-qty", "0.05");
  await page.click("#order-form button[type=submit]");
  await page.waitForSelector('#order-result:text-matches("FILLED")', { timeout: 5000 });

  // Its Cancel button cancels the resting order.
  await page.click('#open-orders tr[data-key="api-rest-1"] button');
  await waitFor(async () => (await api.getOrderStatus({ account, clientOrderId: "api-rest-1" })).order?.status === OrderStatus.CANCELED, { what: "the dashboard's cancel" });
  await page.waitForSelector('#open-orders tr[data-key="api-rest-1"]', { state: "detached", timeout: 1000 });

  // A resting order left working (the screenshot shows one); the halt does not cancel it.
  await api.placeOrder({ ...MARKET_ORDER_FIELDS, account, clientOrderId: "api-rest-2", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "64500", quantity: "0.2" });
  await page.waitForSelector('#open-orders tr[data-key="api-rest-2"]', { timeout: 1000 });

  // HALT (scope: this account): the next PlaceOrder is refused, with the reason typed in the page.
  await page.fill("#s-reason", "desk closed by the dashboard test");
  await page.click("#halt");
  await page.waitForSelector('#state:text-is("HALTED")', { timeout: 5000 });
  const halted = await rpcError(api.placeOrder({ ...MARKET_ORDER_FIELDS, account, clientOrderId: "api-after-halt" }));
  assert.equal(halted.code, Code.FailedPrecondition);
  assert.equal(halted.findDetails(ErrorInfoSchema)[0]?.reason, "TRADING_HALTED");
  assert.match(halted.rawMessage, /desk closed by the dashboard test/);
  await page.waitForSelector('#state-settings tr[data-key="acct-1/"] .s-HALTED', { timeout: 1000 });

  mkdirSync(`${ROOT}test-artifacts`, { recursive: true });
  await page.screenshot({ path: ARTIFACT, fullPage: true });
  if (!existsSync(DOCS_SHOT) || process.env["UPDATE_DOCS_SCREENSHOT"] === "1") copyFileSync(ARTIFACT, DOCS_SHOT);

  // ACTIVE again from the page: orders pass.
  await page.click("#activate");
  await page.waitForSelector('#state:text-is("ACTIVE")', { timeout: 5000 });
  assert.equal((await api.placeOrder({ ...MARKET_ORDER_FIELDS, account, clientOrderId: "api-after-active" })).order?.status, OrderStatus.FILLED);

  assert.deepEqual(problems, []);
});
