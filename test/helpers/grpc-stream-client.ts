/**
 * A @grpc/grpc-js client in its own process, for tests that kill (SIGKILL) or freeze (SIGSTOP)
 * a client mid-stream: `node --import tsx test/helpers/grpc-stream-client.ts <host:port>
 * <server|bidi> <path> <request hex>`. It opens one call with the request bytes as they are
 * (no schema needed), prints `started` once the call is sent, `data <bytes>` per response
 * message and `error <code> <details>` if the call fails, and then just keeps the call open.
 */
import * as grpc from "@grpc/grpc-js";

const [address, kind, path, hex] = process.argv.slice(2);
if (address === undefined || path === undefined || (kind !== "server" && kind !== "bidi")) {
  process.stderr.write("usage: grpc-stream-client.ts <host:port> <server|bidi> <path> <request hex>\n");
  process.exit(2);
}
const client = new grpc.Client(address, grpc.credentials.createInsecure());
const request = Buffer.from(hex ?? "", "hex");
const same = (b: Buffer): Buffer => b;
const call = kind === "server" ? client.makeServerStreamRequest(path, same, same, request) : client.makeBidiStreamRequest(path, same, same);
if (kind === "bidi") (call as grpc.ClientDuplexStream<Buffer, Buffer>).write(request);
call.on("data", (d: Buffer) => process.stdout.write(`data ${d.length}\n`));
call.on("error", (e: grpc.ServiceError) => process.stdout.write(`error ${e.code} ${e.details}\n`));
process.stdout.write("started\n");
