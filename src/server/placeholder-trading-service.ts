import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import type { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";

/**
 * PLACEHOLDER, not a feature: answers every TradingGateway call with
 * UNIMPLEMENTED so the server, health, reflection and metrics can run before
 * the order pipeline is wired into src/main.ts. Remove once main uses
 * createTradingCore (src/rpc/trading-service.ts).
 */
export function createPlaceholderTradingService(): ServiceImpl<typeof TradingGateway> {
  const no = (): never => {
    throw new ConnectError("the order pipeline is not wired into this build", Code.Unimplemented);
  };
  return { placeOrder: no, cancelOrder: no, getOrderStatus: no, streamFills: no };
}
