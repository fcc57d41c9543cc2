/**
 * What the ListOrders index of a JSONL gateway (src/adapters/audit/memory-order-history.ts) keeps
 * in memory per order: records N filled market orders with one fill each, shaped like the
 * benchmark's (16 accounts, ten orders a millisecond), as the gateway's appends do, and prints
 * RSS, heap and memory outside the heap per order, measured after full GCs (and after V8's sweeper
 * has freed the Buffers it collected). `--spill` gives the index a spill file in a temp directory,
 * as the gateway does beside its audit log.
 *
 *   node_modules/.bin/node --import tsx bench/history-memory.ts [--orders 1000000] [--spill]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createMemoryOrderHistory } from "../src/adapters/audit/memory-order-history.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Fill, type Order } from "../src/domain/order.js";

const { values } = parseArgs({ options: { orders: { type: "string", default: "1000000" }, spill: { type: "boolean", default: false } } });
const N = Number(values.orders);
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const dir = mkdtempSync(join(tmpdir(), "history-memory-"));
const history = createMemoryOrderHistory(values.spill ? { spillDir: dir } : {});

function record(i: number): void {
  const at = 1_796_629_092_474 + Math.floor(i / 10);
  const o: Order = {
    clientOrderId: `client-${i}`, account: `acct-${i % 16}`, venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET,
    timeInForce: TimeInForce.IOC, quantity: "1.5", price: "", stopPrice: "", idempotencyKey: `acct-${i % 16}|c:client-${i}`,
    orderId: `o-a8b697f3-${i}`, venueClientOrderId: `acct-${i % 16}|c:client-${i}`, venueOrderId: "", status: OrderStatus.PENDING_NEW,
    filledQuantity: "0", averageFillPrice: "", rejectReason: "", createdAtMs: at, updatedAtMs: at,
  };
  const done: Order = { ...o, status: OrderStatus.FILLED, venueOrderId: `paper-pv-115816f2-${i}`, filledQuantity: "1.5", averageFillPrice: "65000" };
  const fill: Fill = {
    sequence: BigInt(i + 1), fillId: `f-3ac9da0b-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: "paper",
    symbol: "BTC-USD", side: Side.BUY, quantity: "1.5", price: "65000", fee: "97.5", feeCurrency: "USD", timeMs: at, venueTradeId: `paper-t-pv-115816f2-${i}`,
  };
  history.record([
    { ts: at, type: "order_accepted", requestId: "r", order: o },
    { ts: at, type: "fill", requestId: "r", order: done, fill },
    { ts: at, type: "order_filled", requestId: "r", order: done },
  ]);
}

async function settle(): Promise<NodeJS.MemoryUsage> {
  await history.spillSettled();
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage();
}

const m0 = await settle();
for (let i = 0; i < N; i++) {
  record(i);
  // Let the spill writes end as they do between calls.
  if (i % 2_000 === 1_999) await new Promise((resolve) => setImmediate(resolve));
}
const m1 = await settle();
const per = (k: keyof NodeJS.MemoryUsage): number => Math.round((m1[k] - m0[k]) / N);
console.log(JSON.stringify({ orders: N, spill: values.spill, rssPerOrder: per("rss"), heapPerOrder: per("heapUsed"), outsideHeapPerOrder: per("arrayBuffers"), heapTotalPerOrder: per("heapTotal"), externalPerOrder: per("external"), chunks: history.spillStats() }));
await history.close();
rmSync(dir, { recursive: true });
