import { generateKeyPairSync } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createGateway, type Gateway } from "../../src/composition-root.js";
import { createHealthRegistry } from "../../src/server/health.js";
import { alpacaDialect } from "./fake-venues/alpaca.js";
import { startFakeAlpacaStream } from "./fake-venues/alpaca-stream.js";
import { coinbaseDialect } from "./fake-venues/coinbase.js";
import { startFakeCoinbaseStream } from "./fake-venues/coinbase-stream.js";
import type { FakeStream } from "./fake-venues/fake-stream-server.js";
import { startFakeVenue, type FakeVenue } from "./fake-venues/fake-venue-server.js";
import { gatewayConfig } from "./gateway-config.js";
import { createLogCapture, type LogCapture } from "./log-capture.js";
import { startServer, type StartedServer } from "./start-server.js";

export interface AlpacaCoinbaseGatewayOptions {
  /** Poll interval while the stream is down or absent (venue file pollIntervalMs). Default 100. */
  readonly pollIntervalMs?: number;
  /** Poll interval while it is live. Default 600000 (so what arrives came by push). */
  readonly streamPollIntervalMs?: number;
  /** false: the venue entry has no streamUrl (polling only). */
  readonly stream?: boolean;
  /** The venue entry's rateLimit (default: the venue's documented budget). */
  readonly rateLimit?: { readonly capacity: number; readonly refillPerSecond: number };
}

export interface AlpacaCoinbaseGateway {
  readonly kind: "alpaca" | "coinbase";
  readonly fake: FakeVenue;
  readonly stream: FakeStream;
  readonly core: Gateway;
  readonly client: Client<typeof TradingGateway>;
  readonly server: StartedServer;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

/**
 * What streaming-gateway.ts is for Binance/Kraken, for Alpaca and Coinbase: a whole gateway
 * (createGateway, audit off) with one venue on its fake REST venue and its fake stream server
 * (alpaca-stream.ts / coinbase-stream.ts), which here pushes every engine event as it happens
 * (followEngine), so `fake.fill()` alone reaches the gateway by push, as on the real venue.
 */
export async function startAlpacaCoinbaseGateway(kind: "alpaca" | "coinbase", opts: AlpacaCoinbaseGatewayOptions = {}): Promise<AlpacaCoinbaseGateway> {
  // A fresh key per gateway: the fake checks each subscribe's ES256 JWT against it.
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const env: Record<string, string> = {
    ALPACA_KEY_ID: "PKBENCH",
    ALPACA_SECRET_KEY: "alpaca-bench-secret",
    COINBASE_KEY_NAME: "organizations/org-b/apiKeys/key-b",
    COINBASE_PRIVATE_KEY: privateKey.export({ type: "sec1", format: "pem" }).toString(),
  };
  const fake = await startFakeVenue(kind === "alpaca" ? alpacaDialect(env["ALPACA_KEY_ID"]!, env["ALPACA_SECRET_KEY"]!) : coinbaseDialect(env["COINBASE_KEY_NAME"]!, publicKey));
  const stream =
    kind === "alpaca"
      ? await startFakeAlpacaStream(fake.engine, env["ALPACA_KEY_ID"]!, env["ALPACA_SECRET_KEY"]!, { followEngine: true })
      : await startFakeCoinbaseStream(fake.engine, env["COINBASE_KEY_NAME"]!, publicKey, { followEngine: true });
  const yaml = [
    `pollIntervalMs: ${opts.pollIntervalMs ?? 100}`,
    "venues:",
    `  - name: ${kind}`,
    `    kind: ${kind}`,
    `    baseUrl: ${fake.url}`,
    ...(opts.stream === false ? [] : [`    streamUrl: ${stream.url}`]),
    `    streamPollIntervalMs: ${opts.streamPollIntervalMs ?? 600_000}`,
    kind === "alpaca"
      ? "    credentials: { keyId: { env: ALPACA_KEY_ID }, secretKey: { env: ALPACA_SECRET_KEY } }"
      : "    credentials: { keyName: { env: COINBASE_KEY_NAME }, privateKey: { env: COINBASE_PRIVATE_KEY } }",
    ...(kind === "alpaca" ? ["    symbols: { BTC-USD: BTC/USD }"] : []),
    ...(opts.rateLimit !== undefined ? [`    rateLimit: { capacity: ${opts.rateLimit.capacity}, refillPerSecond: ${opts.rateLimit.refillPerSecond} }`] : []),
    "",
  ].join("\n");
  const metrics = createRpcMetrics();
  const shutdown = new AbortController();
  const logs = createLogCapture();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "off", venuesFile: "/virtual/venues.yaml", reconcileIntervalMs: 0 }, { env, readFile: () => yaml }),
    logger: logs.logger,
    health: createHealthRegistry(),
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
    userStreamSettings: { minBackoffMs: 20, maxBackoffMs: 100 },
  });
  const server = await startServer({ trading: core.trading, metrics });
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: server.baseUrl }));
  return {
    kind,
    fake,
    stream,
    core,
    client,
    server,
    logs,
    async close() {
      shutdown.abort();
      await server.close();
      await core.close();
      await stream.close();
      await fake.close();
    },
  };
}
