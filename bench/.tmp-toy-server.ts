// TEMPORARY toy server to validate bench plumbing; deleted before hand-off.
import Fastify from "fastify";
import http2 from "node:http2";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { ConnectRouter } from "@connectrpc/connect";
import { TradingGateway, OrderStatus } from "../gen/trading/v1/trading_gateway_pb.js";
import { createUnaryFastPath } from "../src/server/unary-fast-path.js";
function routes(router: ConnectRouter) {
  router.service(TradingGateway, {
    async placeOrder(req) {
      return { order: { orderId: "x", clientOrderId: req.clientOrderId, account: req.account, status: OrderStatus.FILLED, quantity: req.quantity } };
    },
  });
}
const fast = process.env.FAST_PATH === "on" ? createUnaryFastPath({ routes }) : undefined;
const app = Fastify({
  http2: true,
  serverFactory: ((handler: any) => {
    const s = http2.createServer(handler);
    if (fast) {
      const emit = s.emit.bind(s) as any;
      s.emit = ((ev: any, ...args: any[]) => (ev === "stream" && fast(args[0], args[1])) || emit(ev, ...args)) as any;
    }
    return s;
  }) as any,
});
await app.register(fastifyConnectPlugin, { routes });
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT) });
process.on("SIGTERM", () => process.exit(0));
