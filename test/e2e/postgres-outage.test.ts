/**
 * Issue 18 item 2, end to end: the real gateway process (src/main.ts) with AUDIT_BACKEND=postgres
 * survives losing its database. Before, pg_terminate_backend on an idle pooled connection raised
 * an unhandled 'error' on the pool and the process exited 1. Now, while the database is away:
 * health NOT_SERVING and calls UNAVAILABLE; a call whose batch was cut off is named and its key
 * stays claimed (its retry is a replay); once the database is back the gateway reconnects, re-takes
 * its table lock and serves again by itself; every acknowledged order is in the table.
 *   1. the shared server: the gateway's own sessions (found by application_name) terminated,
 *      idle and under load;
 *   2. a private cluster (initdb on a free port): stopped and started under load, cleanly and as
 *      a crash.
 */
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import pg from "pg";
import { OrderType, Side, TimeInForce, type TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { HealthCheckResponse_ServingStatus as Status, type Health } from "../../gen/health/v1/health_pb.js";
import { connectChildGateway, startChildGateway, stopChildGateway, type ChildGateway } from "../helpers/child-gateway.js";
import { privatePostgresUnavailable, startPrivatePostgres } from "../helpers/private-postgres.js";
import { waitFor } from "../helpers/wait-for.js";

const sharedUrl = process.env.AUDIT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function sharedUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: sharedUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return undefined;
  } catch (e) {
    return `PostgreSQL unreachable at ${sharedUrl} (${(e as Error).message}): skipped`;
  } finally {
    await c.end().catch(() => {});
  }
}

function withAppName(base: string, name: string): string {
  const u = new URL(base);
  u.searchParams.set("application_name", name);
  return u.toString();
}

const gatewayEnv = (url: string, table: string): Record<string, string> => ({
  AUDIT_MODE: "fsync",
  AUDIT_BACKEND: "postgres",
  AUDIT_PG_URL: url,
  AUDIT_PG_TABLE: table,
  AUDIT_PG_RECONNECT_MIN_MS: "50",
  AUDIT_PG_RECONNECT_MAX_MS: "500",
  // A busy test machine must not shed calls: every UNAVAILABLE here is the audit log's.
  UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
  // The load is the point here, not the default per-account order rate (100/s).
  RISK_LIMITS_FILE: path.join(import.meta.dirname, "../../bench/risk-limits.yaml"),
});

const order = (prefix: string, i: number) => ({
  clientOrderId: `${prefix}-${i}`,
  account: "acct-pg",
  venue: "paper",
  symbol: "BTC-USD",
  side: i % 2 === 0 ? Side.BUY : Side.SELL,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity: "0.01",
});

/** Every status the gateway's overall health goes through, from a Watch stream. */
function watchHealth(health: Client<typeof Health>) {
  const seen: Status[] = [];
  const stop = new AbortController();
  void (async () => {
    try {
      for await (const r of health.watch({ service: "" }, { signal: stop.signal })) seen.push(r.status);
    } catch {
      /* aborted at the end */
    }
  })();
  const outages = () => seen.filter((s, k) => s === Status.NOT_SERVING && seen[k - 1] === Status.SERVING).length;
  return { seen, outages, serving: () => seen.at(-1) === Status.SERVING, stop: () => stop.abort() };
}

/**
 * Clients placing orders in a loop. A call answered UNAVAILABLE is retried with the same
 * request (and key) after a short back-off until it is answered, as a trading client would.
 */
function startLoad(client: Client<typeof TradingGateway>, prefix: string, workers = 16) {
  let stopping = false;
  let aborted = false;
  let next = 0;
  const acked = new Map<number, string>();
  /** Calls answered UNAVAILABLE naming their order ("... for order X was not recorded"). */
  const named = new Map<number, string>();
  const refusals: string[] = [];
  const problems: string[] = [];
  const worker = async (): Promise<void> => {
    while (!stopping) {
      const i = next++;
      for (;;) {
        try {
          const r = await client.placeOrder(order(prefix, i), { timeoutMs: 20_000 });
          acked.set(i, r.order!.orderId);
          const was = named.get(i);
          if (was !== undefined && (r.replayed !== true || r.order?.orderId !== was)) {
            problems.push(`${prefix}-${i}: named ${was} when refused, then answered ${r.order?.orderId} replayed=${r.replayed}`);
          }
          break;
        } catch (e) {
          const ce = ConnectError.from(e);
          if (ce.code !== Code.Unavailable || !/^audit log unavailable/.test(ce.rawMessage)) {
            // Anything else (the process gone, a bug): the load stops and the test reports it.
            problems.push(`${prefix}-${i}: ${Code[ce.code]} ${ce.rawMessage}`);
            stopping = true;
            aborted = true;
            break;
          }
          if (aborted) break;
          refusals.push(ce.rawMessage);
          const m = /for order (\S+) was not recorded/.exec(ce.rawMessage);
          if (m !== null) named.set(i, m[1]!);
          await delay(10); // the client's back-off
        }
      }
    }
  };
  const running = Array.from({ length: workers }, worker);
  return {
    acked,
    named,
    refusals,
    problems,
    /** Stops after the calls being retried are answered. */
    stop: async () => {
      stopping = true;
      await Promise.all(running);
    },
    /** Stops now (test clean-up after a failure). */
    abort: async () => {
      stopping = true;
      aborted = true;
      await Promise.all(running);
    },
  };
}

async function storedOrderIds(url: string, table: string): Promise<Set<string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ order_id: string }>(`SELECT DISTINCT order_id FROM ${table} WHERE order_id IS NOT NULL`);
    return new Set(r.rows.map((x) => x.order_id));
  } finally {
    await c.end();
  }
}

/** waitFor, failing at once (with its output) if the gateway process is gone. */
function until(g: ChildGateway, cond: () => boolean, what: string, timeoutMs = 20_000): Promise<unknown> {
  return waitFor(
    () => {
      if (!g.alive) throw new Error(`the gateway exited (${g.child.exitCode ?? g.child.signalCode}) while waiting for ${what}:\n${g.output().slice(-3000)}`);
      return cond();
    },
    { what, timeoutMs },
  );
}

/** Load until `n` more orders are acknowledged (the gateway serves again). */
async function moreAcked(g: ChildGateway, load: ReturnType<typeof startLoad>, n: number, what: string): Promise<void> {
  const from = load.acked.size;
  await until(g, () => load.problems.length > 0 || load.acked.size >= from + n, what, 30_000);
  assert.deepEqual(load.problems, []);
}

async function finish(g: ChildGateway, load: ReturnType<typeof startLoad>, url: string, table: string): Promise<void> {
  await load.stop();
  assert.ok(g.alive, `the gateway process is alive:\n${g.output().slice(-3000)}`);
  assert.deepEqual(load.problems, []);
  assert.ok(load.refusals.length > 0, "calls during the outage were refused");
  const stored = await storedOrderIds(url, table);
  const missing = [...load.acked.values()].filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], "acknowledged orders missing from the audit table");
  for (const id of load.named.values()) assert.ok(stored.has(id), `order ${id} refused as not recorded is on record once the database is back`);
  const logs = g.logs();
  assert.ok(logs.some((l) => l["level"] === 50 && /^audit log unavailable: .*health NOT_SERVING until the audit database is back/.test(String(l["msg"]))));
  assert.ok(logs.some((l) => l["msg"] === "audit log available again; health SERVING"));
  assert.ok(!logs.some((l) => l["level"] === 60), "nothing fatal: the outage is not the permanent kind");
}

const skipShared = await sharedUnavailable();

test("shared server: the gateway's sessions terminated while idle and under load; the process lives, refuses, recovers by itself", { skip: skipShared, timeout: 120_000 }, async (t) => {
  const admin = new pg.Client({ connectionString: sharedUrl });
  await admin.connect();
  const schema = `audit_e2e_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  t.after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const app = `tg-e2e-${randomBytes(4).toString("hex")}`;
  const table = `${schema}.audit_log`;
  const terminate = async (): Promise<number> =>
    (await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [app])).rowCount ?? 0;

  const g = await startChildGateway(gatewayEnv(withAppName(sharedUrl, app), table));
  t.after(() => stopChildGateway(g, "SIGKILL"));
  const c = connectChildGateway(g.port);
  t.after(() => c.close());
  const health = watchHealth(c.health);
  t.after(() => health.stop());
  await c.trading.placeOrder(order("warm", 0), { timeoutMs: 20_000 });
  await until(g, () => health.serving(), "health SERVING");

  // 1. Idle: the writer and the idle pooled session are terminated.
  assert.ok((await terminate()) >= 2, "the gateway's sessions are found by application_name");
  await until(g, () => health.outages() === 1 && health.serving(), "NOT_SERVING, then SERVING again");
  assert.ok(g.alive, `the process survived an idle terminated session:\n${g.output().slice(-3000)}`);
  await c.trading.placeOrder(order("after-idle", 0), { timeoutMs: 20_000 });

  // 2. Under load.
  const load = startLoad(c.trading, "load");
  t.after(() => load.abort());
  await moreAcked(g, load, 100, "load before the outage");
  await terminate();
  await until(g, () => health.outages() === 2, "NOT_SERVING under load");
  await moreAcked(g, load, 100, "orders accepted again after the outage");
  assert.ok(health.serving());
  await finish(g, load, sharedUrl, table);

  await stopChildGateway(g, "SIGTERM");
  assert.equal(g.child.exitCode, 0, "a clean shutdown afterwards");
});

test("private cluster: the database server restarted under load (fast, then a crash); the gateway rides through", { skip: privatePostgresUnavailable(), timeout: 180_000 }, async (t) => {
  const db = await startPrivatePostgres();
  t.after(() => db.destroy());
  const table = "audit_log";
  const g = await startChildGateway(gatewayEnv(db.url, table));
  t.after(() => stopChildGateway(g, "SIGKILL"));
  const c = connectChildGateway(g.port);
  t.after(() => c.close());
  const health = watchHealth(c.health);
  t.after(() => health.stop());
  await c.trading.placeOrder(order("warm", 0), { timeoutMs: 20_000 });

  const load = startLoad(c.trading, "restart");
  t.after(() => load.abort());
  let round = 0;
  for (const mode of ["fast", "immediate"] as const) {
    round++;
    await moreAcked(g, load, 100, `load before the ${mode} stop`);
    await db.stop(mode);
    await until(g, () => health.outages() === round && !health.serving(), `NOT_SERVING after the ${mode} stop`);
    const refusedBefore = load.refusals.length;
    await until(g, () => load.refusals.length > refusedBefore, "calls refused while the server is down");
    await db.start();
    await until(g, () => health.serving(), `SERVING again after the ${mode} restart`, 30_000);
    await moreAcked(g, load, 100, `orders accepted again after the ${mode} restart`);
  }
  await finish(g, load, db.url, table);
});
