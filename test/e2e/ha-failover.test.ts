/**
 * Issue 23: high availability on PostgreSQL, with real processes (src/main.ts) and the shared
 * server (a private cluster for the restart). Every replica gets the same settings; nothing but
 * HA_POLL_MS (and HA_LEASE_MS for the stall) is tuned, and only to keep the test short.
 *
 *   1. two and three replicas, 32 clients placing orders with retries to any replica, the leader
 *      SIGKILLed five times in a row: no acknowledged order missing from the table, no venue
 *      client order id placed twice at the fake venue, every acknowledged order answered
 *      `replayed` (same order id) by the last leader, StreamFills / StreamOrderEvents resumed on
 *      each new leader with no gap and no duplicate; takeover times printed (median, max);
 *   2. a leader stopped (SIGSTOP) past its lease and continued after a standby took over commits
 *      nothing and acknowledges nothing, and steps down;
 *   3. the database restarted under load: nothing acknowledged that is not committed, and the
 *      group serves again by itself;
 *   4. a leader whose audit guard trips for good (a batch the database refused) steps down, and
 *      the group serves again by itself once the table takes rows;
 *   5. a takeover that hangs gives its lease up within its limit, and leads once it can.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { followStream, placeRequest, runLoad, startHaGroup, type Ack, type HaGroup } from "../helpers/ha-group.js";
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
const skip = await sharedUnavailable();

const uniqueTable = (what: string) => `ha_${what}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function dropTable(db: pg.Client, table: string): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS "${table}", "${table}_leader"`).catch(() => {});
}

/** Every acknowledged order is in the table; no venue client order id was placed twice. */
async function checkNothingLostOrDoubled(db: pg.Client, group: HaGroup, acks: readonly Ack[]): Promise<void> {
  const rows = await db.query<{ order_id: string }>(`SELECT DISTINCT order_id FROM "${group.table}" WHERE order_id IS NOT NULL`);
  const inTable = new Set(rows.rows.map((r) => r.order_id));
  const missing = acks.filter((a) => !inTable.has(a.orderId));
  assert.equal(missing.length, 0, `acknowledged orders missing from the table: ${missing.slice(0, 5).map((a) => a.clientOrderId).join(", ")}`);
  const doubled = [...group.venue.engine.placeAttempts].filter(([, n]) => n > 1);
  assert.equal(doubled.length, 0, `venue client order ids placed more than once: ${doubled.slice(0, 5).join("; ")}`);
  // The fence: terms never go down in row order (no deposed leader wrote after its successor began).
  const back = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT term, lag(term) OVER (ORDER BY id) AS prev FROM "${group.table}") x WHERE term < prev`);
  assert.equal(back.rows[0]!.n, 0, "a row of an older term follows a row of a newer one");
}

/** Every acknowledged order, asked again of the leader, is a replay of the same order. */
async function checkReplays(group: HaGroup, acks: readonly Ack[]): Promise<void> {
  const byCoid = new Map<string, string>();
  for (const a of acks) {
    const prev = byCoid.get(a.clientOrderId);
    assert.ok(prev === undefined || prev === a.orderId, `${a.clientOrderId} acknowledged as two orders: ${prev} and ${a.orderId}`);
    byCoid.set(a.clientOrderId, a.orderId);
  }
  const leader = await group.leader();
  const all = [...byCoid];
  let bad = 0;
  for (let i = 0; i < all.length; i += 64) {
    await Promise.all(
      all.slice(i, i + 64).map(async ([coid, orderId]) => {
        const r = await leader.trading.placeOrder(placeRequest(coid), { timeoutMs: 10_000 });
        if (!r.replayed || r.order!.orderId !== orderId) bad++;
      }),
    );
  }
  assert.equal(bad, 0, `${bad} of ${all.length} retries of acknowledged orders were not replays of the same order`);
}

/** A resumed stream: each sequence exactly one more than the previous, from 1, up to the table's last. */
function checkContiguous(what: string, seqs: readonly bigint[], last: bigint): void {
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== BigInt(i + 1)) assert.fail(`${what}: position ${i} holds sequence ${seqs[i]} (previous ${seqs[i - 1]}): a gap or a duplicate`);
  }
  assert.equal(seqs.at(-1), last, `${what}: the stream ends at ${seqs.at(-1)}, the table at ${last}`);
}

async function lastSequences(db: pg.Client, table: string): Promise<{ fill: bigint; event: bigint }> {
  const f = await db.query<{ n: string }>(`SELECT coalesce(max(fill_seq), 0)::text AS n FROM "${table}"`);
  // es/en on the line (order-events.ts): the last number a line reserved.
  const e = await db.query<{ n: string }>(
    `SELECT coalesce(max((line::json->>'es')::bigint + coalesce((line::json->>'en')::bigint, 1) - 1), 0)::text AS n FROM "${table}" WHERE line::json->>'es' IS NOT NULL`,
  );
  return { fill: BigInt(f.rows[0]!.n), event: BigInt(e.rows[0]!.n) };
}

async function killLeaderRepeatedly(t: import("node:test").TestContext, replicas: number, kills: number): Promise<void> {
  const db = new pg.Client({ connectionString: sharedUrl });
  await db.connect();
  const table = uniqueTable(`kill${replicas}`);
  const group = await startHaGroup(sharedUrl, table);
  try {
    // The first replica leads (it starts alone); the others follow it.
    await group.start();
    await group.leader();
    await Promise.all(Array.from({ length: replicas - 1 }, () => group.start()));
    const load = runLoad(group, 32);
    const fills = followStream(group, "fills");
    const events = followStream(group, "events");
    const takeovers: number[] = [];
    const starting: Promise<unknown>[] = [];
    for (let k = 0; k < kills; k++) {
      const leader = await group.leader();
      // Some orders on this leader first.
      const before = load.acks.length;
      await waitFor(() => load.unexpected.length > 0 || (load.acks.filter((a) => a.port === leader.port).length > 0 && load.acks.length >= before + 40), { timeoutMs: 30_000, what: "orders on the leader" });
      assert.deepEqual(load.unexpected, []);
      // With three replicas the replacements start in the background: at least one must be up.
      await waitFor(() => group.alive().some((r) => r !== leader), { timeoutMs: 60_000, what: "a standby to take over" });
      const standbys = group.alive().filter((r) => r !== leader);
      // Standbys ready: following the table.
      await waitFor(() => standbys.every((s) => s.gw.output().includes("ha: standby; following the leader")), { timeoutMs: 30_000, what: "standbys following" });
      const killedAt = performance.now();
      const killedWall = Date.now();
      leader.gw.child.kill("SIGKILL");
      leader.dead = true;
      leader.close();
      const first = await waitFor(() => load.acks.find((a) => a.at > killedAt && a.port !== leader.port && !a.replayed), { timeoutMs: 30_000, what: "an order accepted by the new leader" });
      takeovers.push(first!.at - killedAt);
      // A replacement joins as a standby (the group stays at `replicas`).
      const t0 = performance.now();
      if (replicas === 2) {
        // The new leader is alone until a replacement follows it: the load waits, the start gets the cores.
        load.pause();
        await group.start();
        load.resume();
      } else {
        // Another standby is there already: the replacement starts while the next leader works.
        starting.push(group.start());
      }
      const next = group.alive().find((r) => r.port === first!.port);
      const took = next?.gw.logs().findLast((l) => l["msg"] === "ha: this gateway took leadership");
      const served = next?.gw.logs().findLast((l) => l["msg"] === "ha: leader: serving TradingGateway");
      console.log(
        `kill ${k + 1}: first new order accepted ${(first!.at - killedAt).toFixed(0)} ms after the kill (leadership taken at +${Number(took?.["time"]) - killedWall} ms, ` +
          `serving at +${Number(served?.["time"]) - killedWall} ms, build ${String(served?.["buildMs"])} ms); replacement started in ${(performance.now() - t0).toFixed(0)} ms; ${load.acks.length} acks`,
      );
    }
    await Promise.all(starting);
    await delay(300);
    await load.stop();
    assert.deepEqual(load.unexpected, []);
    const leader = await group.leader();
    assert.ok(leader.gw.alive);
    await checkNothingLostOrDoubled(db, group, load.acks);
    await checkReplays(group, load.acks);
    // Venue polls may still record fills of orders whose answer was lost: wait until the streams and the table agree.
    const last = await waitFor(
      async () => {
        const l = await lastSequences(db, table);
        return fills.seqs.at(-1) === l.fill && events.seqs.at(-1) === l.event ? l : undefined;
      },
      { timeoutMs: 20_000, what: "streams caught up with the table" },
    ).catch(() => lastSequences(db, table));
    await fills.stop();
    await events.stop();
    assert.deepEqual(fills.failures, []);
    assert.deepEqual(events.failures, []);
    checkContiguous("StreamFills", fills.seqs, last!.fill);
    checkContiguous("StreamOrderEvents", events.seqs, last!.event);
    const msg =
      `${replicas} replicas, ${kills} SIGKILLs of the leader: takeover (kill -> first new order accepted) median ${median(takeovers).toFixed(0)} ms, ` +
      `max ${Math.max(...takeovers).toFixed(0)} ms [${takeovers.map((x) => x.toFixed(0)).join(", ")}]; ${load.acks.length} orders acknowledged, ` +
      `${fills.seqs.length} fills and ${events.seqs.length} order events streamed across leaders; client retries by code ${JSON.stringify(Object.fromEntries(load.errors))}`;
    t.diagnostic(msg);
    console.log(msg);
  } finally {
    await group.close();
    await dropTable(db, table);
    await db.end();
  }
}

test("HA: two replicas, the leader SIGKILLed five times under 32 clients: nothing lost, nothing sent twice, replays, streams without gaps", { skip }, async (t) => {
  await killLeaderRepeatedly(t, 2, 5);
});

test("HA: three replicas, the leader SIGKILLed five times under 32 clients: nothing lost, nothing sent twice, replays, streams without gaps", { skip }, async (t) => {
  await killLeaderRepeatedly(t, 3, 5);
});

test("HA: a leader stopped past its lease (SIGSTOP) and continued after a takeover commits nothing, acknowledges nothing and steps down", { skip }, async (t) => {
  const db = new pg.Client({ connectionString: sharedUrl });
  await db.connect();
  const table = uniqueTable("stop");
  const leaseMs = 1500;
  const group = await startHaGroup(sharedUrl, table, { HA_LEASE_MS: String(leaseMs) });
  try {
    const old = await group.start();
    await group.leader();
    const standby = await group.start();
    await waitFor(() => standby.gw.output().includes("ha: standby; following the leader"), { timeoutMs: 30_000, what: "standby following" });
    const load = runLoad(group, 8);
    await waitFor(() => load.acks.length >= 20, { timeoutMs: 30_000, what: "orders" });
    const oldTerm = (await db.query<{ term: string }>(`SELECT term::text AS term FROM "${table}_leader"`)).rows[0]!.term;
    const stoppedAt = performance.now();
    old.gw.child.kill("SIGSTOP");
    const first = await waitFor(() => load.acks.find((a) => a.at > stoppedAt && a.port === standby.port && !a.replayed), { timeoutMs: 20_000, what: "the standby taking over" });
    const takeoverMs = first!.at - stoppedAt;
    // Let the new leader work a little, then wake the old one up in the middle of it.
    await waitFor(() => load.acks.filter((a) => a.port === standby.port).length >= 10, { timeoutMs: 30_000, what: "orders on the new leader" });
    const continuedAt = performance.now();
    old.gw.child.kill("SIGCONT");
    await waitFor(() => old.gw.output().includes("stepping down to standby"), { timeoutMs: 20_000, what: "the old leader stepping down" });
    const h = await old.health.check({ service: TradingGateway.typeName });
    assert.equal(h.status, Status.NOT_SERVING);
    await waitFor(() => old.gw.output().includes("ha: standby; following the leader"), { timeoutMs: 20_000, what: "the old leader following again" });
    await delay(300);
    await load.stop();
    assert.deepEqual(load.unexpected, []);
    // Nothing acknowledged by the old leader once it was continued.
    const late = load.acks.filter((a) => a.port === old.port && a.at > continuedAt);
    assert.equal(late.length, 0, `the deposed leader acknowledged ${late.length} order(s) after waking up`);
    // Nothing committed by the old term after the new term began.
    const after = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}" WHERE term = $1 AND id > (SELECT min(id) FROM "${table}" WHERE term > $1)`,
      [oldTerm],
    );
    assert.equal(after.rows[0]!.n, 0, "the deposed leader committed rows after the new leader began");
    await checkNothingLostOrDoubled(db, group, load.acks);
    await checkReplays(group, load.acks);
    const msg = `SIGSTOP of the leader with HA_LEASE_MS=${leaseMs}: takeover (stop -> first new order accepted) ${takeoverMs.toFixed(0)} ms; ${load.acks.length} orders acknowledged`;
    t.diagnostic(msg);
    console.log(msg);
  } finally {
    await group.close();
    await dropTable(db, table);
    await db.end();
  }
});

test("HA: a leader whose audit guard trips for good (the database refused a batch) steps down, and the group serves again once the table takes rows", { skip }, async (t) => {
  const db = new pg.Client({ connectionString: sharedUrl });
  await db.connect();
  const table = uniqueTable("refuse");
  const group = await startHaGroup(sharedUrl, table);
  const refuse = `${table}_refuse`;
  try {
    const first = await group.start();
    await group.leader();
    const standby = await group.start();
    await waitFor(() => standby.gw.output().includes("ha: standby; following the leader"), { timeoutMs: 30_000, what: "standby following" });
    const load = runLoad(group, 8);
    await waitFor(() => load.acks.length >= 20, { timeoutMs: 30_000, what: "orders" });
    // Not a lost connection (the sink would keep its events and reconnect): a definite refusal, as
    // a full disk or a constraint gives. Events may be lost, so a lone gateway would wait for a restart.
    await db.query(`CREATE FUNCTION "${refuse}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await db.query(`CREATE TRIGGER "${refuse}" BEFORE INSERT ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "${refuse}"()`);
    await waitFor(() => first.gw.output().includes("stepping down: a member rebuilt from the audit table takes over"), { timeoutMs: 30_000, what: "the leader tripping" });
    await waitFor(() => first.gw.output().includes("ha: deposed; stepping down to standby"), { timeoutMs: 30_000, what: "the leader stepping down" });
    await db.query(`DROP TRIGGER "${refuse}" ON "${table}"`);
    const fixedAt = performance.now();
    const explain = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\nclient errors: ${JSON.stringify([...load.errors])}; unexpected: ${JSON.stringify(load.unexpected.slice(0, 5))}\n${group.describe()}`);
    };
    await waitFor(() => load.unexpected.length > 0 || load.acks.filter((a) => a.at > fixedAt && !a.replayed).length >= 20, { timeoutMs: 30_000, what: "orders after the table takes rows again" }).catch(explain);
    await load.stop();
    assert.deepEqual(load.unexpected, []);
    // Whoever leads now, acknowledged orders are on record and replayed.
    await checkNothingLostOrDoubled(db, group, load.acks);
    await checkReplays(group, load.acks);
  } finally {
    await group.close();
    await dropTable(db, table);
    await db.query(`DROP FUNCTION IF EXISTS "${refuse}"()`).catch(() => {});
    await db.end();
  }
});

test("HA: a takeover that hangs (its catch-up blocked by a lock) gives the lease up within its limit, then leads once it can", { skip }, async (t) => {
  const db = new pg.Client({ connectionString: sharedUrl });
  await db.connect();
  const locker = new pg.Client({ connectionString: sharedUrl });
  await locker.connect();
  const table = uniqueTable("hang");
  const leaseMs = 1000;
  const group = await startHaGroup(sharedUrl, table, { HA_LEASE_MS: String(leaseMs) });
  let locked = false;
  try {
    const old = await group.start();
    await group.leader();
    const next = await group.start();
    await waitFor(() => next.gw.output().includes("ha: standby; following the leader"), { timeoutMs: 30_000, what: "standby following" });
    // Every read of the audit table waits behind this lock: the standby's catch-up can never end.
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
    locked = true;
    old.gw.child.kill("SIGKILL");
    old.dead = true;
    old.close();
    await waitFor(() => next.gw.output().includes("ha: this gateway took leadership"), { timeoutMs: 30_000, what: "the standby winning a term" });
    const wonAt = performance.now();
    await waitFor(() => next.gw.output().includes("ha: the takeover did not serve within its limit"), { timeoutMs: 30_000, what: "the takeover's limit" }).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${group.describe()}`);
    });
    const gaveUpMs = performance.now() - wonAt;
    // The lease is free while the lock is still held: another member could lead now.
    const row = await db.query<{ holder_pid: number | null }>(`SELECT holder_pid FROM "${table}_leader"`);
    assert.equal(row.rows[0]!.holder_pid, null, "the member still holds the lease");
    await locker.query("COMMIT");
    locked = false;
    const leader = await group.leader(60_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${group.describe()}`);
    });
    assert.equal(leader.port, next.port);
    const r = await leader.trading.placeOrder(placeRequest(`hang-${randomBytes(3).toString("hex")}`), { timeoutMs: 10_000 });
    assert.equal(r.replayed, false);
    const msg = `takeover blocked by a lock (HA_LEASE_MS=${leaseMs}): lease given up ${gaveUpMs.toFixed(0)} ms after the term was won`;
    t.diagnostic(msg);
    console.log(msg);
  } finally {
    if (locked) await locker.query("ROLLBACK").catch(() => {});
    await locker.end();
    await group.close();
    await dropTable(db, table);
    await db.end();
  }
});

const privateSkip = skip ?? privatePostgresUnavailable();

test("HA: PostgreSQL restarted under load: no acknowledgement without a committed event, and the group serves again by itself", { skip: privateSkip }, async (t) => {
  const pgPrivate = await startPrivatePostgres();
  const url = `postgres://postgres@127.0.0.1:${pgPrivate.port}/postgres`;
  const table = uniqueTable("restart");
  const group = await startHaGroup(url, table);
  const db = new pg.Client({ connectionString: url });
  try {
    await group.start();
    await group.leader();
    await group.start();
    const load = runLoad(group, 16);
    await waitFor(() => load.acks.length >= 60, { timeoutMs: 30_000, what: "orders" });
    const downAt = performance.now();
    await pgPrivate.stop("immediate");
    await delay(500);
    await pgPrivate.start();
    const explain = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\nclient errors: ${JSON.stringify([...load.errors])}; unexpected: ${JSON.stringify(load.unexpected.slice(0, 5))}\n${group.describe()}`);
    };
    // A client that met an unexpected code has stopped: that ends the wait at once, with the code.
    const first = await waitFor(() => load.unexpected.length > 0 || load.acks.find((a) => a.at > downAt + 500 && !a.replayed), { timeoutMs: 60_000, what: "an order accepted after the restart" }).catch(explain);
    assert.deepEqual(load.unexpected, []);
    await waitFor(() => load.acks.filter((a) => a.at > (first as Ack).at).length >= 40, { timeoutMs: 30_000, what: "orders after the restart" }).catch(explain);
    await load.stop();
    assert.deepEqual(load.unexpected, []);
    await db.connect();
    await checkNothingLostOrDoubled(db, group, load.acks);
    await checkReplays(group, load.acks);
    const msg = `PostgreSQL restarted (immediate stop, 0.5 s down): first new order accepted ${((first as Ack).at - downAt).toFixed(0)} ms after the stop; ${load.acks.length} orders acknowledged`;
    t.diagnostic(msg);
    console.log(msg);
  } finally {
    await group.close();
    await db.end().catch(() => {});
    await pgPrivate.destroy();
  }
});
