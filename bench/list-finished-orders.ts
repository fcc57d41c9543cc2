/**
 * ListOrders pages deep in the history of finished orders, from the JSONL gateway's index
 * (src/adapters/audit/memory-order-history.ts), all in memory and spilled to a file: 200,000
 * filled orders of `--accounts` accounts (default 16: one account's records are then a few KB apart
 * in the file), then 200 pages of 100 and of 1,000 orders at random depths (the
 * history port alone: no mapping, no encoding), and 200 ListFills by the order_id of an order at a
 * random depth (each order has one fill: the account's fills are scanned, newest first, to the end),
 * then 5,000 late events of old orders (recorded as an append records them).
 * Prints p50 and p99 per page. With the spill file a page's finished orders and the older rows are
 * read back from it (the OS's page cache has them here).
 *
 *   node_modules/.bin/node --import tsx bench/list-finished-orders.ts [--accounts 16]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createMemoryOrderHistory } from "../src/adapters/audit/memory-order-history.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../src/domain/order.js";
const { values } = parseArgs({ options: { accounts: { type: "string", default: "16" } } });
const ACCOUNTS = Number(values.accounts);
const ORDERS = 200_000;
for (const spill of [false, true]) {
  const h = createMemoryOrderHistory(spill ? { spillDir: mkdtempSync(join(tmpdir(), "p-")) } : {});
  const finished: Order[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const o: Order = { clientOrderId: `c-${i}`, account: `acct-${i % ACCOUNTS}`, venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1.5", price: "", stopPrice: "", idempotencyKey: `k-${i}`, orderId: `o-a8b697f3-${i}`, venueClientOrderId: `v-${i}`, venueOrderId: `pv-${i}`, status: OrderStatus.FILLED, filledQuantity: "1.5", averageFillPrice: "65000", rejectReason: "", createdAtMs: 1e12 + i, updatedAtMs: 1e12 + i };
    const f: Fill = { sequence: BigInt(i + 1), fillId: `f-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: "paper", symbol: "BTC-USD", side: Side.BUY, quantity: "1.5", price: "65000", fee: "97.5", feeCurrency: "USD", timeMs: 1e12 + i, venueTradeId: `t-${i}` };
    h.record([{ ts: 1, type: "fill", requestId: "r", order: o, fill: f }, { ts: 1, type: "order_filled", requestId: "r", order: o }]);
    finished.push({ ...o, updatedAtMs: o.updatedAtMs + 1 });
    if (i % 5000 === 0) await h.spillSettled();
  }
  await h.spillSettled();
  for (const limit of [100, 1000]) {
    const times: number[] = [];
    for (let k = 0; k < 200; k++) {
      const t0 = performance.now();
      const r = await h.listOrders({ account: `acct-${k % ACCOUNTS}`, venue: "", symbol: "", statuses: [], openOnly: false, limit, after: { createdAtMs: 1e12 + 1_000 * ACCOUNTS + 1_000 + ((k * 7919) % (ORDERS - 1_000 * ACCOUNTS - 1_000)), orderId: "" } });
      times.push(performance.now() - t0);
      if (!r.ok || r.value.length !== limit) throw new Error("short page");
    }
    times.sort((a, b) => a - b);
    console.log(spill ? "spilled" : "memory ", "page", limit, "p50", times[100]!.toFixed(2), "ms p99", times[198]!.toFixed(2), "ms");
  }
  const times: number[] = [];
  for (let k = 0; k < 200; k++) {
    const i = (k * 7919) % ORDERS;
    const t0 = performance.now();
    const r = await h.listFills({ account: `acct-${i % ACCOUNTS}`, orderId: `o-a8b697f3-${i}`, venue: "", symbol: "", limit: 100 });
    times.push(performance.now() - t0);
    if (!r.ok || r.value.length !== 1) throw new Error("no fill");
  }
  times.sort((a, b) => a - b);
  console.log(spill ? "spilled" : "memory ", "ListFills by order_id p50", times[100]!.toFixed(2), "ms p99", times[198]!.toFixed(2), "ms");
  // A late event of an old finished order (a cancel that lost the race to a fill, a correction),
  // recorded on the append path: the order's row is found in its segment, on disk when spilled.
  const late = 5_000;
  const t0 = performance.now();
  for (let k = 0; k < late; k++) h.record([{ ts: 1, type: "cancel_rejected", requestId: "r", order: finished[(k * 7919) % (ORDERS - 10_000)]! }]);
  console.log(spill ? "spilled" : "memory ", "a late event of an old order:", ((performance.now() - t0) * 1_000 / late).toFixed(1), "µs each");
  await h.close();
}
