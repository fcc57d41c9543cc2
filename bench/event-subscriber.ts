/**
 * One StreamOrderEvents subscriber for a benchmark run (issue 20: PlaceOrder throughput with a
 * subscriber attached). Waits for the gateway on 127.0.0.1:$PORT, subscribes to every event,
 * reads them as fast as they come, resumes from the last sequence if the stream ends (a slow
 * subscriber is cut off with RESOURCE_EXHAUSTED) and prints how many it read when stopped.
 *
 * Why raw HTTP/2 and not a connect client: it shares the load generator's core (two cores in
 * all), and a client decoding every event into a message object (about 25,000 a second) took a
 * good part of that core, so the benchmark measured the client as much as the gateway. This one
 * counts gRPC messages by their 5-byte prefixes and decodes only the last one it read, for its
 * sequence, when the stream ends.
 *
 * FROM=live starts at the gateway's last event instead of replaying what it still has.
 *
 *   compare.sh -- 'bench/with-event-subscriber.sh <gateway command>'
 */
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { StreamOrderEventsRequestSchema, StreamOrderEventsResponseSchema } from "../gen/trading/v1/trading_gateway_pb.js";

const port = Number(process.env["PORT"]);
if (!Number.isInteger(port) || port <= 0) throw new Error("PORT must be set");
const stop = new AbortController();
let read = 0;
let after = 0n;
let cutOff = 0;
let streaming = false;
/** The grpc-message of the last stream that ended with one. */
let message = "";
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => stop.abort());
process.on("exit", () => process.stderr.write(`event-subscriber: ${read} events read, cut off ${cutOff} times\n`));

/** One stream from `after`; resolves with its grpc-status ("" if none came) once it ends. */
function once(session: http2.ClientHttp2Session): Promise<string> {
  return new Promise((resolve) => {
    const body = toBinary(StreamOrderEventsRequestSchema, create(StreamOrderEventsRequestSchema, { afterSequence: after }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const req = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/StreamOrderEvents", "content-type": "application/grpc", te: "trailers" });
    let status = "";
    req.on("trailers", (t) => {
      status = String(t["grpc-status"] ?? "");
      message = String(t["grpc-message"] ?? "");
    });
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = String(h["grpc-message"] ?? "");
      }
      else if (!streaming) {
        // bench/subscriber-cost.sh waits for this line before it measures.
        streaming = true;
        process.stderr.write("event-subscriber: streaming\n");
      }
    });
    // Only the bytes still owed to the current message, and the last whole message, are kept.
    let need = 0;
    let header: Buffer | undefined;
    let last: Buffer[] = [];
    let current: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (need === 0) {
          // A message prefix, possibly split across chunks.
          const take = Math.min(5 - (header?.length ?? 0), chunk.length - at);
          header = header === undefined ? chunk.subarray(at, at + take) : Buffer.concat([header, chunk.subarray(at, at + take)]);
          at += take;
          if (header.length < 5) break;
          need = header.readUInt32BE(1);
          header = undefined;
          current = [];
          if (need === 0) {
            read++;
            last = [];
          }
          continue;
        }
        const take = Math.min(need, chunk.length - at);
        current.push(chunk.subarray(at, at + take));
        at += take;
        need -= take;
        if (need === 0) {
          read++;
          last = current;
        }
      }
    });
    const done = (): void => {
      if (last.length > 0) after = fromBinary(StreamOrderEventsResponseSchema, Buffer.concat(last)).event?.sequence ?? after;
      resolve(status);
    };
    req.on("close", done);
    req.on("error", () => {});
    req.end(frame);
    stop.signal.addEventListener("abort", () => req.close(http2.constants.NGHTTP2_CANCEL), { once: true });
  });
}

/** `once` on a connection of its own, closed after it. */
async function onceOnNewSession(): Promise<string> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const status = await once(session);
  session.close();
  return status;
}

if (process.env["FROM"] === "live") {
  // Only events published from now on (bench/subscriber-cost.sh: the live cost, not a catch-up
  // from the audit log): the gateway refuses an after_sequence past its last one and names that one.
  after = 2n ** 63n - 1n;
  for (;;) {
    const status = await onceOnNewSession();
    const last = /last order event sequence (\d+)/.exec(decodeURIComponent(message));
    if (status === "9" && last !== null) {
      after = BigInt(last[1]!);
      break;
    }
    if (stop.signal.aborted) process.exit(1);
    await new Promise((r) => setTimeout(r, 50));
  }
}

while (!stop.signal.aborted) {
  const status = await onceOnNewSession();
  if (stop.signal.aborted) break;
  if (status === "8") cutOff++;
  // Not up yet, or cut off: try again shortly, from the last sequence read.
  await new Promise((r) => setTimeout(r, 50));
}
