/**
 * The dashboard's only way to the gateway: Connect (binary) from the browser, through
 * @connectrpc/connect-web and the generated service descriptors, to the page's own origin (the
 * CSP's connect-src 'self'). An API key, when the gateway asks for one, is sent as the bearer
 * token its auth interceptor reads (src/rpc/interceptors/auth.ts) and kept in sessionStorage:
 * gone when the tab closes.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { Health } from "../../gen/health/v1/health_pb.js";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";

const KEY_ITEM = "trading-gateway.apiKey";

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY_ITEM),
  set: (key: string): void => sessionStorage.setItem(KEY_ITEM, key),
  clear: (): void => sessionStorage.removeItem(KEY_ITEM),
};

const bearer: Interceptor = (next) => (req) => {
  const key = apiKey.get();
  if (key !== null) req.header.set("authorization", `Bearer ${key}`);
  return next(req);
};

export interface Clients {
  readonly trading: Client<typeof TradingGateway>;
  readonly health: Client<typeof Health>;
}

export function createClients(origin: string): Clients {
  const transport = createConnectTransport({ baseUrl: origin, useBinaryFormat: true, interceptors: [bearer] });
  return { trading: createClient(TradingGateway, transport), health: createClient(Health, transport) };
}
