// A short trading-gateway client in Node with @grpc/grpc-js: place, replace, cancel, stream order
// events with resume, and decode google.rpc error details. Run from the repository root:
//
//   node examples/node/trading-client.mjs            # GATEWAY=127.0.0.1:50051 ACCOUNT=acct-1 API_KEY=...
//
// The stubs are made at run time from proto/ by @grpc/proto-loader (no generation step).
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
// google/rpc/*.proto come with the google-proto-files package (or any copy of googleapis).
const googleProtos = join(dirname(require.resolve("google-proto-files/google/rpc/status.proto")), "../..");

const target = process.env.GATEWAY ?? "127.0.0.1:50051";
const account = process.env.ACCOUNT ?? "acct-1";
const venue = process.env.VENUE ?? "paper";
const symbol = process.env.SYMBOL ?? "BTC-USD";
const run = process.env.RUN_ID ?? Date.now().toString(36);

const def = protoLoader.loadSync(join(root, "proto/trading/v1/trading_gateway.proto"), {
  includeDirs: [join(root, "proto"), googleProtos],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
});
const { trading } = grpc.loadPackageDefinition(def);
const client = new trading.v1.TradingGateway(target, grpc.credentials.createInsecure());
const metadata = () => {
  const md = new grpc.Metadata();
  if (process.env.API_KEY) md.set("authorization", `Bearer ${process.env.API_KEY}`);
  return md;
};
const call = (method, request) =>
  new Promise((resolve, reject) => client[method](request, metadata(), { deadline: Date.now() + 5000 }, (e, res) => (e ? reject(e) : resolve(res))));

// --- google.rpc.Status details (the grpc-status-details-bin trailer) ---------------------------
const rpcTypes = protobuf.loadSync([join(googleProtos, "google/rpc/status.proto"), join(googleProtos, "google/rpc/error_details.proto")]);
const Status = rpcTypes.lookupType("google.rpc.Status");
function describeError(e) {
  const lines = [`error ${grpc.status[e.code]}: ${e.details}`];
  const raw = e.metadata?.get("grpc-status-details-bin")?.[0];
  if (raw === undefined) return lines.join("\n");
  const status = Status.decode(raw);
  for (const any of status.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
    const detail = rpcTypes.lookupType(typeName).decode(any.value);
    if (typeName === "google.rpc.BadRequest") for (const v of detail.fieldViolations) lines.push(`  BadRequest field ${v.field}: ${v.description}`);
    else if (typeName === "google.rpc.ErrorInfo") lines.push(`  ErrorInfo reason ${detail.reason} domain ${detail.domain} ${JSON.stringify(detail.metadata)}`);
    else if (typeName === "google.rpc.RetryInfo") lines.push(`  RetryInfo retry after ${detail.retryDelay?.seconds ?? 0}s ${detail.retryDelay?.nanos ?? 0}ns`);
    else lines.push(`  ${typeName}`);
  }
  return lines.join("\n");
}

// --- StreamOrderEvents with resume ---------------------------------------------------------------
let lastSequence = "0";
const seen = [];
let generation = 0;
function openStream(afterSequence) {
  const gen = ++generation;
  const stream = client.streamOrderEvents({ account, afterSequence }, metadata());
  stream.on("data", (m) => {
    const ev = m.event;
    lastSequence = ev.sequence;
    seen.push({ ...ev, gen });
    console.log(`event #${ev.sequence} ${ev.type} ${ev.order?.clientOrderId ?? ""} ${ev.order?.status ?? ""}`);
  });
  stream.on("error", (e) => {
    if (e.code !== grpc.status.CANCELLED) console.log(describeError(e));
  });
  return stream;
}
const until = async (cond, what) => {
  for (const end = Date.now() + 5000; Date.now() < end; ) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let stream = openStream("0");

// A market order: its fill price tells us where the market is (prices are decimal strings).
const market = await call("placeOrder", { clientOrderId: `mkt-${run}`, account, venue, symbol, side: "SIDE_BUY", type: "ORDER_TYPE_MARKET", timeInForce: "TIME_IN_FORCE_IOC", quantity: "0.01" });
console.log(`placed ${market.order.clientOrderId}: ${market.order.status} at ${market.order.averageFillPrice}`);
// 5 % below the market, in integer arithmetic on the decimal string (never floats for prices).
const below = (pct) => (BigInt(market.order.averageFillPrice.split(".")[0]) * BigInt(100 - pct)) / 100n;
const limit = await call("placeOrder", { clientOrderId: `lmt-${run}`, account, venue, symbol, side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", quantity: "0.01", price: below(5).toString() });
console.log(`placed ${limit.order.clientOrderId}: ${limit.order.status} at limit ${limit.order.price}`);

await until(() => seen.some((e) => e.order?.clientOrderId === `lmt-${run}`), "the limit order's events");
// Drop the stream and resume after the last sequence received: nothing is lost or repeated.
stream.removeAllListeners("data");
stream.cancel();
const resumeAfter = lastSequence;
console.log(`stream closed after sequence ${resumeAfter}; resuming`);
stream = openStream(resumeAfter);

const replaced = await call("replaceOrder", { orderId: limit.order.orderId, account, newClientOrderId: `lmt2-${run}`, quantity: "0.02", price: below(6).toString() });
console.log(`replaced ${replaced.order.clientOrderId}: ${replaced.order.status} quantity ${replaced.order.quantity} price ${replaced.order.price} (${replaced.method})`);
const canceled = await call("cancelOrder", { orderId: replaced.order.orderId, account });
console.log(`canceled ${canceled.order.clientOrderId}: ${canceled.order.status}`);
await until(() => seen.some((e) => e.order?.orderId === replaced.order.orderId && /CANCELED/.test(e.order.status) && BigInt(e.sequence) > BigInt(resumeAfter)), "the cancel's event after the resume");
// Everything the resumed stream delivered: it must start right after resumeAfter, without gap or repeat.
const afterResume = seen.filter((e) => e.gen === 2).map((e) => BigInt(e.sequence));
const gapless = afterResume.every((s, i) => i === 0 ? s === BigInt(resumeAfter) + 1n : s === afterResume[i - 1] + 1n);
console.log(`resumed after sequence ${resumeAfter}: ${afterResume.length} events, ${gapless ? "no gap, no repeat" : "GAP OR REPEAT"}`);

// A refused order: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
try {
  await call("placeOrder", { clientOrderId: `bad-${run}`, account, venue, symbol, side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", quantity: "-1", price: "1" });
  console.log("the bad order was accepted?");
  process.exitCode = 1;
} catch (e) {
  console.log(describeError(e));
}
stream.cancel();
client.close();
