import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { FillSchema, OrderSchema, OrderStatus, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Fill } from "../../gen/trading/v1/trading_gateway_pb.js";
import { principalKey } from "../../src/rpc/interceptors/context-keys.js";

/**
 * A TradingGateway test double for server tests (not the order pipeline).
 * Symbols steer it: "PANIC" throws a plain Error (recovery), "SLOW" waits
 * until release() (graceful shutdown with a call in flight). StreamFills
 * sends pushed fills until the client leaves or `shutdownSignal` aborts.
 */
export interface FakeTrading {
  readonly service: Pick<ServiceImpl<typeof TradingGateway>, "placeOrder" | "cancelOrder" | "getOrderStatus" | "streamFills">;
  /** Lets every waiting "SLOW" call finish. */
  release(): void;
  /** Calls of PlaceOrder currently waiting on release(). */
  readonly slowWaiting: number;
  pushFill(fill: MessageInitShape<typeof FillSchema>): void;
  /** Open StreamFills calls. */
  readonly openStreams: number;
  /** The principal key id PlaceOrder last saw. */
  readonly lastKeyId: string | undefined;
}

export function createFakeTradingService(opts: { shutdownSignal?: AbortSignal } = {}): FakeTrading {
  let releaseAll: () => void = () => {};
  let released = new Promise<void>((r) => (releaseAll = r));
  let slowWaiting = 0;
  let openStreams = 0;
  let lastKeyId: string | undefined;
  const subscribers = new Set<(f: Fill) => void>();
  const service: FakeTrading["service"] = {
    async placeOrder(req, ctx) {
      lastKeyId = ctx.values.get(principalKey).keyId;
      if (req.symbol === "PANIC") throw new Error("boom: secret internals /etc/passwd");
      if (req.symbol === "SLOW") {
        slowWaiting++;
        try {
          await Promise.race([
            released,
            new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ConnectError.from(ctx.signal.reason)), { once: true })),
          ]);
        } finally {
          slowWaiting--;
        }
      }
      return {
        order: create(OrderSchema, {
          orderId: `ord-${req.clientOrderId}`,
          clientOrderId: req.clientOrderId,
          account: req.account,
          venue: req.venue,
          symbol: req.symbol,
          side: req.side,
          type: req.type,
          quantity: req.quantity,
          price: req.price,
          status: OrderStatus.NEW,
        }),
      };
    },
    cancelOrder() {
      throw new ConnectError("order not found", Code.NotFound);
    },
    getOrderStatus(req) {
      throw new ConnectError(`order ${req.orderId} not found`, Code.NotFound);
    },
    async *streamFills(req, ctx) {
      openStreams++;
      const queue: Fill[] = [];
      let wake: (() => void) | undefined;
      const sub = (f: Fill) => {
        if (req.account === "" || f.account === req.account) {
          queue.push(f);
          wake?.();
        }
      };
      subscribers.add(sub);
      const stop = () => wake?.();
      ctx.signal.addEventListener("abort", stop);
      opts.shutdownSignal?.addEventListener("abort", stop);
      try {
        for (;;) {
          while (queue.length > 0) yield { fill: queue.shift()! };
          if (ctx.signal.aborted || opts.shutdownSignal?.aborted === true) return;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        subscribers.delete(sub);
        ctx.signal.removeEventListener("abort", stop);
        opts.shutdownSignal?.removeEventListener("abort", stop);
        openStreams--;
      }
    },
  };
  return {
    service,
    release() {
      releaseAll();
      released = new Promise<void>((r) => (releaseAll = r));
    },
    get slowWaiting() {
      return slowWaiting;
    },
    pushFill(fill) {
      const f = create(FillSchema, fill);
      for (const s of subscribers) s(f);
    },
    get openStreams() {
      return openStreams;
    },
    get lastKeyId() {
      return lastKeyId;
    },
  };
}
