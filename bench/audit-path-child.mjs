// The measured child of bench/audit-path-instructions.ts: `node bench/audit-path-child.mjs DIST N`
// appends the three audit events of N filled market orders through the ListOrders index and the
// order-event numbering of the build in DIST. Plain JavaScript, so no loader runs under valgrind.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dist, count] = process.argv.slice(2);
const n = Number(count);
const imp = (p) => import(pathToFileURL(join(dist, "src", p)).href);
const { createMemoryOrderHistory } = await imp("adapters/audit/memory-order-history.js");
const { createOrderEventLog, createOrderEventHub } = await imp("use-cases/order-events.js");
const { recordingAudit } = await imp("use-cases/order-history.js");
const { livePositionEvents } = await imp("use-cases/position-events.js");
const { createPositionBook } = await imp("use-cases/position-book.js");
const { createOrderTupleJson } = await imp("domain/order-tuple.js");
const hub = createOrderEventHub({ retain: 1000, subscriberBuffer: 100 });
const book = createPositionBook();
let lines = 0;
const inner = { mode: "buffered", append: (b) => ((lines += b.length), null), close: async () => {} };
const history = createMemoryOrderHistory({ orderTupleJson: createOrderTupleJson() });
const audit = recordingAudit(createOrderEventLog({ inner, hub, derive: livePositionEvents(book) }), history);
for (let i = 0; i < n; i++) {
  const t = 1_767_000_000_000 + i;
  // Field for field what the pipeline makes (order-manager.ts createPending, then the venue's fill).
  const o = {
    clientOrderId: `c-${i}`, account: "acct-1", venue: "paper", symbol: "BTC-USD", side: 1, type: 1, timeInForce: 3, quantity: "0.01", price: "",
    stopPrice: "", idempotencyKey: `k-${i}`, orderId: `o-${i}`, venueClientOrderId: `acct-1\nk-${i}`, venueOrderId: "", status: 1, filledQuantity: "0",
    averageFillPrice: "", rejectReason: "", createdAtMs: t, updatedAtMs: t,
  };
  const done = { ...o, venueOrderId: `p-${i}`, status: 4, filledQuantity: "0.01", averageFillPrice: "65000" };
  const fill = {
    sequence: BigInt(i + 1), fillId: `f-${i}`, orderId: o.orderId, clientOrderId: o.clientOrderId, account: o.account, venue: o.venue, symbol: o.symbol,
    side: 1, quantity: "0.01", price: "65000", fee: "0", feeCurrency: "USD", timeMs: t, venueTradeId: `t-${i}`,
  };
  // As the order manager's commit: the book applies the fill before its line is appended.
  book.applyFill(fill);
  const idempotency = { key: `k-${i}`, fingerprint: "f" };
  audit.append([
    { ts: t, type: "order_received", requestId: `r-${i}`, idempotency, order: o },
    { ts: t, type: "fill", requestId: `r-${i}`, order: done, fill },
    { ts: t, type: "order_filled", requestId: `r-${i}`, order: done, idempotency },
  ]);
}
if (lines !== 3 * n) throw new Error(`${lines} lines appended for ${n} orders`);
