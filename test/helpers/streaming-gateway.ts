import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Fill, OrderEvent } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createGateway, type Gateway } from "../../src/composition-root.js";
import type { UserStreamSettings } from "../../src/adapters/venues/user-stream/user-stream.js";
import { createHealthRegistry } from "../../src/server/health.js";
import { binanceDialect } from "./fake-venues/binance.js";
import { venueEnv } from "./fake-venues/contract-venues.js";
import { startFakeVenue, type FakeVenue } from "./fake-venues/fake-venue-server.js";
import { binanceStreamDialect, krakenStreamDialect, startFakeUserStream, type FakeUserStream } from "./fake-venues/fake-user-stream.js";
import { krakenDialect } from "./fake-venues/kraken.js";
import { gatewayConfig } from "./gateway-config.js";
import { createLogCapture, type LogCapture } from "./log-capture.js";
import { startServer, type StartedServer } from "./start-server.js";

export type StreamVenueKind = "binance" | "kraken";

export interface StreamingGatewayOptions {
  /** Poll interval while a stream is down (venue file pollIntervalMs). Default 100. */
  readonly pollIntervalMs?: number;
  /** Poll interval while it is live. Default 600000 (so a test sees push alone). */
  readonly streamPollIntervalMs?: number;
  /** The fake stream refuses connections from the start. */
  readonly streamDown?: boolean;
  /** Kraken: how long a token may wait before its first use. */
  readonly tokenTtlMs?: number;
  readonly settings?: Partial<UserStreamSettings>;
  /** false: the venue entry has no streamUrl (polling only). */
  readonly stream?: boolean;
  /** false: no StreamFills / StreamOrderEvents collectors (the bench subscribes its own). Default true. */
  readonly collect?: boolean;
  /** The venue entry's rateLimit (default: the venue's documented budget). */
  readonly rateLimit?: { readonly capacity: number; readonly refillPerSecond: number };
}

export interface StreamingGateway {
  readonly kind: StreamVenueKind;
  readonly venueSymbol: string;
  readonly fake: FakeVenue;
  readonly stream: FakeUserStream;
  readonly core: Gateway;
  readonly client: Client<typeof TradingGateway>;
  readonly server: StartedServer;
  readonly logs: LogCapture;
  /** Every fill StreamFills delivered so far (subscribed before anything was placed). */
  readonly fills: Fill[];
  /** Every order event StreamOrderEvents delivered so far. */
  readonly events: OrderEvent[];
  /** Kraken: the fake's issued WebSocket tokens. */
  readonly tokens: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/**
 * A whole gateway (createGateway, audit off) with one venue of `kind` on a fake REST venue and
 * its fake user stream, a gRPC server and client, and StreamFills / StreamOrderEvents collected.
 */
export async function startStreamingGateway(kind: StreamVenueKind, opts: StreamingGatewayOptions = {}): Promise<StreamingGateway> {
  const kraken = kind === "kraken" ? krakenDialect(venueEnv["KRAKEN_API_KEY"]!, venueEnv["KRAKEN_API_SECRET"]!) : undefined;
  const fake = await startFakeVenue(kraken ?? binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!));
  const stream = await startFakeUserStream(
    fake,
    kraken !== undefined ? krakenStreamDialect(kraken.wsTokens, opts.tokenTtlMs !== undefined ? { tokenTtlMs: opts.tokenTtlMs } : {}) : binanceStreamDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!),
  );
  stream.down = opts.streamDown === true;
  const venueSymbol = kind === "kraken" ? "XBTUSD" : "BTCUSDT";
  const dir = mkdtempSync(join(tmpdir(), "gw-streams-"));
  const venuesFile = join(dir, "venues.yaml");
  const creds = kind === "kraken" ? "{ apiKey: { env: KRAKEN_API_KEY }, apiSecret: { env: KRAKEN_API_SECRET } }" : "{ apiKey: { env: BINANCE_API_KEY }, apiSecret: { env: BINANCE_API_SECRET } }";
  writeFileSync(
    venuesFile,
    [
      `pollIntervalMs: ${opts.pollIntervalMs ?? 100}`,
      "venues:",
      `  - name: ${kind}`,
      `    kind: ${kind}`,
      `    baseUrl: ${fake.url}`,
      ...(opts.stream === false ? [] : [`    streamUrl: ${stream.url}`]),
      `    streamPollIntervalMs: ${opts.streamPollIntervalMs ?? 600_000}`,
      `    credentials: ${creds}`,
      `    symbols: { BTC-USD: ${venueSymbol} }`,
      ...(opts.rateLimit !== undefined ? [`    rateLimit: { capacity: ${opts.rateLimit.capacity}, refillPerSecond: ${opts.rateLimit.refillPerSecond} }`] : []),
      "",
    ].join("\n"),
  );
  const metrics = createRpcMetrics();
  const shutdown = new AbortController();
  const logs = createLogCapture();
  const core = await createGateway({
    config: gatewayConfig({ auditMode: "off", venuesFile, reconcileIntervalMs: 0 }, { env: venueEnv }),
    logger: logs.logger,
    health: createHealthRegistry(),
    registry: metrics.registry,
    shutdownSignal: shutdown.signal,
    userStreamSettings: { minBackoffMs: 20, maxBackoffMs: 100, ...opts.settings },
  });
  const server = await startServer({ trading: core.trading, metrics });
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: server.baseUrl }));
  const fills: Fill[] = [];
  const events: OrderEvent[] = [];
  const subs = new AbortController();
  const collecting = opts.collect === false ? [] : [
    (async () => {
      try {
        for await (const m of client.streamFills({}, { signal: subs.signal })) if (m.fill !== undefined) fills.push(m.fill);
      } catch {
        // ended by close()
      }
    })(),
    (async () => {
      try {
        for await (const m of client.streamOrderEvents({}, { signal: subs.signal })) if (m.event !== undefined) events.push(m.event);
      } catch {
        // ended by close()
      }
    })(),
  ];
  return {
    kind,
    venueSymbol,
    fake,
    stream,
    core,
    client,
    server,
    logs,
    fills,
    events,
    tokens: kraken?.wsTokens ?? new Map(),
    async close() {
      subs.abort();
      await Promise.all(collecting);
      shutdown.abort();
      await server.close();
      await core.close();
      await stream.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
