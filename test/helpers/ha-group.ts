/**
 * A high-availability group of real gateway processes (src/main.ts) on one PostgreSQL table, a
 * fake Binance venue (in this process, so it outlives every replica and counts place requests per
 * venue client order id), and clients that place orders with retries to any replica.
 * Used by test/e2e/ha-failover.test.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { HealthCheckResponse_ServingStatus as Status, type Health } from "../../gen/health/v1/health_pb.js";
import { connectChildGateway, startChildGateway, stopChildGateway, type ChildGateway } from "./child-gateway.js";
import { binanceDialect } from "./fake-venues/binance.js";
import { startFakeVenue, type FakeVenue } from "./fake-venues/fake-venue-server.js";
import { venueEnv } from "./fake-venues/contract-venues.js";

export interface Replica {
  readonly gw: ChildGateway;
  readonly port: number;
  readonly trading: Client<typeof TradingGateway>;
  readonly health: Client<typeof Health>;
  close(): void;
  dead: boolean;
}

export interface HaGroup {
  readonly table: string;
  readonly venue: FakeVenue;
  readonly replicas: Replica[];
  start(extra?: Record<string, string>): Promise<Replica>;
  /** The replica answering SERVING for TradingGateway (polls until one does). */
  leader(timeoutMs?: number): Promise<Replica>;
  alive(): Replica[];
  /** Set by close(): load and stream loops end. */
  readonly closed: boolean;
  /** The last lines each replica printed: what a failed wait shows, so a CI failure can be read. */
  describe(lines?: number): string;
  close(): Promise<void>;
}

export async function startHaGroup(url: string, table: string, env: Record<string, string> = {}): Promise<HaGroup> {
  const venue = await startFakeVenue(binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-group-"));
  const venuesFile = path.join(dir, "venues.yaml");
  fs.writeFileSync(
    venuesFile,
    [
      "pollIntervalMs: 500",
      "venues:",
      "  - name: binance",
      "    kind: binance",
      `    baseUrl: ${venue.url}`,
      "    timeoutMs: 2000",
      "    credentials:",
      "      apiKey: { env: BINANCE_API_KEY }",
      "      apiSecret: { env: BINANCE_API_SECRET }",
      "    symbols: { BTC-USD: BTCUSDT }",
      "    recvWindowMs: 60000",
      "",
    ].join("\n"),
  );
  // The load is the point, not the default limits (bench/risk-limits.yaml); the fake venue gives no
  // reference price, so the notional limit of MARKET orders is off too.
  const limitsFile = path.join(dir, "risk-limits.yaml");
  fs.writeFileSync(limitsFile, '"*":\n  maxOrderRate: 100000000\n  orderRateBurst: 100000000\n  maxOpenOrders: off\n  priceBandPercent: 100\n  maxNotional: off\n');
  const replicas: Replica[] = [];
  const baseEnv: Record<string, string> = {
    AUDIT_MODE: "fsync",
    AUDIT_BACKEND: "postgres",
    AUDIT_PG_URL: url,
    AUDIT_PG_TABLE: table,
    AUDIT_PG_RECONNECT_MIN_MS: "50",
    AUDIT_PG_RECONNECT_MAX_MS: "500",
    VENUES_FILE: venuesFile,
    BINANCE_API_KEY: venueEnv["BINANCE_API_KEY"]!,
    BINANCE_API_SECRET: venueEnv["BINANCE_API_SECRET"]!,
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
    RISK_LIMITS_FILE: limitsFile,
    HA_POLL_MS: "50",
    LOG_LEVEL: "info",
    ...env,
  };
  let closed = false;
  /** Every process started, listening or not yet. */
  const spawned: import("node:child_process").ChildProcess[] = [];
  const group: HaGroup = {
    get closed() {
      return closed;
    },
    table,
    venue,
    replicas,
    async start(extra = {}) {
      const gw = await startChildGateway({ ...baseEnv, ...extra }, (child) => spawned.push(child));
      const c = connectChildGateway(gw.port);
      const r: Replica = { gw, port: gw.port, trading: c.trading, health: c.health, close: c.close, dead: false };
      replicas.push(r);
      return r;
    },
    alive: () => replicas.filter((r) => !r.dead && r.gw.alive),
    describe(lines = 40) {
      return replicas
        .map((r) => {
          const state = r.dead ? "killed" : r.gw.alive ? "alive" : "exited";
          // Not the access lines (one per call): what the member did.
          const tail = r.gw.output().trimEnd().split("\n").filter((l) => !l.includes('"msg":"rpc"')).slice(-lines).join("\n");
          return `--- replica on port ${r.port} (${state}), its last ${lines} lines other than access lines:\n${tail}`;
        })
        .join("\n");
    },
    async leader(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        for (const r of group.alive()) {
          try {
            const h = await r.health.check({ service: TradingGateway.typeName }, { timeoutMs: 1000 });
            if (h.status === Status.SERVING) return r;
          } catch {
            /* a replica starting or dying */
          }
        }
        if (Date.now() > until) throw new Error(`no leader within ${timeoutMs} ms`);
        await delay(20);
      }
    },
    async close() {
      closed = true;
      for (const r of replicas) {
        r.close();
        if (r.gw.alive) {
          // A stopped one must be continued to exit.
          r.gw.child.kill("SIGCONT");
          await stopChildGateway(r.gw, "SIGKILL");
        }
      }
      // Replicas still starting (never listening: their group is gone).
      for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await venue.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return group;
}

export interface Ack {
  readonly clientOrderId: string;
  readonly orderId: string;
  readonly port: number;
  /** performance.now() when the answer arrived. */
  readonly at: number;
  readonly replayed: boolean;
}

export const placeRequest = (clientOrderId: string) => ({
  clientOrderId,
  account: "acct-ha",
  venue: "binance",
  symbol: "BTC-USD",
  side: Side.BUY,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity: "0.01",
});

/**
 * `clients` loops placing new orders; each order is retried (same client order id) on a random
 * live replica until it is acknowledged. Stops when `stop` is called; resolves with every ack.
 */
export function runLoad(group: HaGroup, clients: number, pauseMs = 100, prefix = randomBytes(3).toString("hex")) {
  const acks: Ack[] = [];
  const errors = new Map<string, number>();
  const unexpected: string[] = [];
  let stopped = false;
  let paused: Promise<void> | undefined;
  let resume = (): void => {};
  async function client(i: number): Promise<void> {
    for (let n = 0; !stopped && !group.closed; n++) {
      if (paused !== undefined) await paused;
      const coid = `${prefix}-${i}-${n}`;
      for (let attempt = 0; ; attempt++) {
        const live = group.alive();
        const r = live[Math.floor(Math.random() * live.length)];
        if (r === undefined) {
          await delay(20);
          continue;
        }
        try {
          const res = await r.trading.placeOrder(placeRequest(coid), { timeoutMs: 5000 });
          acks.push({ clientOrderId: coid, orderId: res.order!.orderId, port: r.port, at: performance.now(), replayed: res.replayed });
          // Think time: the test is about what a failover does to orders, and the replicas that
          // start meanwhile need some of the two cores.
          await delay(pauseMs * (0.5 + Math.random()));
          break;
        } catch (e) {
          const code = e instanceof ConnectError ? Code[e.code] : "other";
          errors.set(code, (errors.get(code) ?? 0) + 1);
          if (e instanceof ConnectError && e.code !== Code.Unavailable && e.code !== Code.DeadlineExceeded && e.code !== Code.Canceled && e.code !== Code.Unknown && e.code !== Code.Internal) {
            // Recorded, and this client stops: the test fails on it after cleaning up.
            unexpected.push(`order ${coid}: unexpected ${code}: ${e.message}`);
            return;
          }
          // Once stopped, an order never acknowledged is given up (it may exist: the checks look at acks only).
          if ((stopped && attempt > 200) || group.closed) break;
          await delay(10 + Math.random() * 20);
        }
      }
    }
  }
  const done = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return {
    acks,
    errors,
    unexpected,
    /** New orders wait (orders in flight go on): a replica starting gets the cores. */
    pause(): void {
      paused ??= new Promise<void>((r) => (resume = r));
    },
    resume(): void {
      paused = undefined;
      resume();
    },
    async stop(): Promise<void> {
      stopped = true;
      this.resume();
      await done;
    },
  };
}

/**
 * StreamFills or StreamOrderEvents followed across replicas: whenever the stream ends it is resumed
 * on whichever replica leads, with after_sequence = the last sequence received.
 */
export function followStream(group: HaGroup, kind: "fills" | "events") {
  const seqs: bigint[] = [];
  const failures: string[] = [];
  const stop = new AbortController();
  const done = (async () => {
    while (!stop.signal.aborted && !group.closed) {
      const r = group.alive()[Math.floor(Math.random() * group.alive().length)];
      if (r === undefined) {
        await delay(20);
        continue;
      }
      const after = seqs.at(-1) ?? 0n;
      try {
        if (kind === "fills") {
          for await (const m of r.trading.streamFills({ afterSequence: after }, { signal: stop.signal })) seqs.push(m.fill!.sequence);
        } else {
          for await (const m of r.trading.streamOrderEvents({ afterSequence: after }, { signal: stop.signal })) seqs.push(m.event!.sequence);
        }
      } catch (e) {
        if (e instanceof ConnectError && e.code === Code.FailedPrecondition) failures.push(e.message);
      }
      await delay(20);
    }
  })();
  return {
    seqs,
    failures,
    async stop(): Promise<void> {
      stop.abort();
      await done;
    },
  };
}
