/**
 * A client process for cancel-on-disconnect tests: opens StreamOrderEvents with
 * cancel_on_disconnect over gRPC (HTTP/2), prints "ready" once the first event arrives, and keeps
 * reading until it is killed. Usage: node --import tsx guarded-stream-client.ts <baseUrl> <account> <sessionId>
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";

const [baseUrl, account, sessionId] = process.argv.slice(2) as [string, string, string];
const client = createClient(TradingGateway, createGrpcTransport({ baseUrl }));
let first = true;
for await (const r of client.streamOrderEvents({ account, cancelOnDisconnect: { sessionId, graceMs: 1000 } })) {
  if (first) process.stdout.write(`ready ${r.event!.sequence}\n`);
  first = false;
}
