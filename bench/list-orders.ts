/**
 * ListOrders over 10,000 open orders of one account: the time to answer a 100-order page, in
 * process (the use-case, the order history, the proto mapping and the binary encoding of the
 * response; no network). Issue 20's target: p99 under 10 ms. Pages are the first one and pages
 * deep in the list (walked with next_page_token), unfiltered and filtered by symbol (a third
 * match) and by status.
 *
 *   node_modules/.bin/node --import tsx bench/list-orders.ts [--orders 10000] [--iterations 3000]
 *     [--backend memory|postgres] [--pg-url postgres://postgres@127.0.0.1:5432/test]
 *
 * memory is the JSONL gateway's index; postgres writes the orders to a scratch audit table (dropped
 * at the end) and queries it.
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { ListOrdersResponseSchema } from "../gen/trading/v1/trading_gateway_pb.js";
import { createMemoryOrderHistory } from "../src/adapters/audit/memory-order-history.js";
import { createPostgresOrderHistory } from "../src/adapters/audit/postgres-order-history.js";
import { createPostgresAuditSink } from "../src/adapters/audit/postgres-sink.js";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../src/domain/order.js";
import { ANONYMOUS } from "../src/domain/principal.js";
import { toProtoOrder } from "../src/rpc/proto-mapping.js";
import type { AuditEvent } from "../src/use-cases/audit-sink.js";
import { createListOrders, type ListOrdersInput } from "../src/use-cases/list-orders.js";
import type { OrderHistory } from "../src/use-cases/order-history.js";
import { summarize } from "./stats.js";

const { values: args } = parseArgs({
  options: {
    orders: { type: "string", default: "10000" },
    iterations: { type: "string", default: "3000" },
    backend: { type: "string", default: "memory" },
    "pg-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/test" },
  },
});
const ORDERS = Number(args.orders);
const ITERATIONS = Number(args.iterations);
const SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD"];

function order(n: number): Order {
  const t = 1_700_000_000_000 + n;
  return {
    clientOrderId: `c-${n}`,
    account: "acct-1",
    venue: "paper",
    symbol: SYMBOLS[n % 3]!,
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "1.25",
    price: "50000.5",
    stopPrice: "",
    idempotencyKey: `k-${n}`,
    orderId: `o-bench-${n}`,
    venueClientOrderId: `v-${n}`,
    venueOrderId: `pv-${n}`,
    status: n % 2 === 0 ? OrderStatus.NEW : OrderStatus.PARTIALLY_FILLED,
    filledQuantity: n % 2 === 0 ? "0" : "0.5",
    averageFillPrice: n % 2 === 0 ? "" : "50000.5",
    rejectReason: "",
    createdAtMs: t,
    updatedAtMs: t,
  };
}

async function setup(): Promise<{ history: OrderHistory; done: () => Promise<void> }> {
  const events: AuditEvent[] = [];
  for (let n = 0; n < ORDERS; n++) {
    const o = order(n);
    events.push({ ts: o.createdAtMs, type: "order_accepted", requestId: `r-${n}`, order: o });
  }
  if (args.backend === "memory") {
    const history = createMemoryOrderHistory();
    history.record(events);
    return { history, done: () => history.close() };
  }
  const url = args["pg-url"];
  const table = `bench_list_orders_${process.pid}`;
  const sink = await createPostgresAuditSink({ connectionString: url, table, mode: "buffered", batchMaxLines: 2000 });
  for (let i = 0; i < events.length; i += 1000) await sink.append(events.slice(i, i + 1000));
  await sink.close();
  const history = await createPostgresOrderHistory({ connectionString: url, table });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`ANALYZE "${table}"`);
  return {
    history,
    done: async () => {
      await history.close();
      await c.query(`DROP TABLE IF EXISTS "${table}"; DROP FUNCTION IF EXISTS "${table}_append_only"`);
      await c.end();
    },
  };
}

const { history, done } = await setup();
const list = createListOrders({ history, live: () => undefined });

const shapes: Array<[string, Partial<ListOrdersInput>]> = [
  ["all", {}],
  ["symbol=ETH-USD", { symbol: "ETH-USD" }],
  ["status=PARTIALLY_FILLED", { statuses: [OrderStatus.PARTIALLY_FILLED] }],
];

async function page(q: ListOrdersInput): Promise<string> {
  const r = await list(q, ANONYMOUS);
  if (!r.ok) throw new Error(r.error.message);
  const bytes = toBinary(ListOrdersResponseSchema, { $typeName: "trading.v1.ListOrdersResponse", orders: r.value.items.map(toProtoOrder), nextPageToken: r.value.nextPageToken });
  if (r.value.items.length === 0 || bytes.length === 0) throw new Error("empty page");
  return r.value.nextPageToken;
}

console.log(`ListOrders, ${ORDERS} open orders of one account, ${args.backend} history, pages of 100, ${ITERATIONS} pages per shape (ms)`);
// CPU time per page (process.cpuUsage over the run) is shown too: on a loaded machine the wall-clock
// tail is mostly waiting for a core, which the CPU time does not count.
console.log("shape                      n      p50     p90     p99     max  cpu/page");
for (const [name, filter] of shapes) {
  const base: ListOrdersInput = { account: "acct-1", venue: "", symbol: "", statuses: [], openOnly: false, pageSize: 100, pageToken: "", ...filter };
  // Warm-up, then measure: each page follows the previous one's token, starting over at the end.
  let token = "";
  for (let i = 0; i < 200; i++) token = await page({ ...base, pageToken: token });
  const samples: number[] = [];
  token = "";
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    token = await page({ ...base, pageToken: token });
    samples.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const s = summarize(samples);
  const f = (x: number): string => x.toFixed(3).padStart(7);
  console.log(`${name.padEnd(24)} ${String(s.n).padStart(5)} ${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${f(s.max)}   ${f((cpu.user + cpu.system) / 1000 / ITERATIONS)}`);
}
await done();
