/**
 * One StreamOrderEvents subscriber for a benchmark run (issue 20: PlaceOrder throughput with a
 * subscriber attached). Waits for the gateway on 127.0.0.1:$PORT, subscribes to every event,
 * reads them as fast as they come, resumes from the last sequence if the stream ends (a slow
 * subscriber is cut off with RESOURCE_EXHAUSTED) and prints how many it read when stopped.
 *
 *   compare.sh -- 'bench/with-event-subscriber.sh <gateway command>'
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";

const port = Number(process.env["PORT"]);
if (!Number.isInteger(port) || port <= 0) throw new Error("PORT must be set");
const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
const stop = new AbortController();
let read = 0;
let after = 0n;
let cutOff = 0;
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => stop.abort());
process.on("exit", () => process.stderr.write(`event-subscriber: ${read} events read, cut off ${cutOff} times\n`));

while (!stop.signal.aborted) {
  try {
    for await (const m of client.streamOrderEvents({ afterSequence: after }, { signal: stop.signal })) {
      read++;
      after = m.event?.sequence ?? after;
    }
  } catch (e) {
    if (stop.signal.aborted) break;
    if ((e as { code?: number }).code === 8) cutOff++;
    // Not up yet, or cut off: try again shortly, from the last sequence read.
    await new Promise((r) => setTimeout(r, 50));
  }
}
