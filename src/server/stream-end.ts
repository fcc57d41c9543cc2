import type { ContextValues } from "@connectrpc/connect";
import { streamEndKey, type StreamEnd } from "../rpc/interceptors/context-keys.js";

/**
 * For HTTP/2 calls: how the stream ended (StreamOrderEvents' cancel-on-disconnect tells a client's
 * cancel from a lost connection). When a client resets one stream, its session is still up as the
 * stream closes; when the connection is lost (client killed, network gone), node has destroyed the
 * session by then. Checked in test/rpc/stream-order-events-e2e.test.ts. `raw` is
 * the compat request (connect's path) or `{ stream }` (the gRPC stream fast path).
 */
export function withStreamEnd(values: ContextValues, raw: unknown): ContextValues {
  const stream = (raw as { stream?: { session?: { destroyed: boolean }; closed: boolean; once(ev: "close", fn: () => void): void } } | undefined)?.stream;
  const session = stream?.session;
  if (stream === undefined || session === undefined) return values;
  let ended: Promise<StreamEnd> | undefined;
  return values.set(streamEndKey, () =>
    (ended ??= new Promise<StreamEnd>((resolve) => {
      const decide = (): void => resolve(session.destroyed ? "connection_lost" : "client_cancel");
      if (stream.closed) decide();
      else stream.once("close", decide);
    })),
  );
}
