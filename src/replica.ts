/**
 * One member of a high-availability group (docs/high-availability.md): gateways started with the
 * same AUDIT_BACKEND=postgres table. The member serves health, reflection and metrics from its
 * start; TradingGateway only while it leads. Its life is a loop:
 *
 *   standby: follow the audit table (postgres-follower.ts) into a start-up recovery kept open
 *            (use-cases/recover.ts createStateRecovery), positions too; TradingGateway NOT_SERVING,
 *            its calls UNAVAILABLE;
 *   takeover: win a term (postgres-leadership.ts), read what the old leader committed last,
 *            build the gateway from the followed state with every audit INSERT fenced by the term
 *            (composition-root.ts `takeover`), query every open order (PENDING_NEW included) at its
 *            venue by its venue client order id (never re-sent), then SERVING;
 *   leader:  until the fence or the lease renewal says another term exists, or the audit guard
 *            trips for good (what a lone gateway needs a restart for): NOT_SERVING, calls
 *            UNAVAILABLE, the gateway closed (what it kept unwritten is dropped: the new leader
 *            reconciles those orders), and back to standby with a fresh follower.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { hostname } from "node:os";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import { createAuditFollower } from "./adapters/audit/postgres-follower.js";
import { createLeadership } from "./adapters/audit/postgres-leadership.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import { createGateway, MAX_TERMINAL_ORDERS, type Gateway } from "./composition-root.js";
import { ServingStatus, type HealthRegistry } from "./server/health.js";
import { createStateRecovery } from "./use-cases/recover.js";
import { createPositionBook } from "./use-cases/position-book.js";
import { decimalMathNamed } from "./domain/decimal-math-named.js";
import type { TradingStateSetting } from "./domain/trading-state.js";

export interface ReplicaDeps {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  readonly registry: Registry;
  readonly shutdownSignal: AbortSignal;
  readonly prefaultRetention?: boolean;
}

export interface Replica {
  /** TradingGateway: the leader's, or UNAVAILABLE on a standby. */
  readonly trading: ServiceImpl<typeof TradingGateway>;
  /** The gateway while this member leads. */
  current(): Gateway | undefined;
  tradingStates(): readonly TradingStateSetting[];
  /** Starts the standby/leader loop; resolves once the member leads and serves, or follows a leader. */
  start(): Promise<void>;
  /** Stops following or leading; a leader's gateway is closed (its events written). */
  close(): Promise<void>;
}

/** Longest a takeover waits for its first venue poll before serving (the poll goes on). */
const RECONCILE_WAIT_MS = 500;

/**
 * Longest a takeover may take from the term won to serving: a normal one takes well under a second
 * (docs/high-availability.md); the floor leaves room for a loaded machine.
 */
const takeoverLimitMsFor = (leaseMs: number): number => Math.max(10_000, 4 * leaseMs);

const NOT_LEADER = "this gateway is a standby of its high-availability group (not the leader): try another replica";

export function createReplica(deps: ReplicaDeps): Replica {
  const { logger, health } = deps;
  const settings = deps.config.settings;
  const url = settings.auditPgUrl ?? "";
  const table = settings.auditPgTable;
  const me = `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
  const leadership = createLeadership({ connectionString: url, table, holder: me, leaseMs: settings.haLeaseMs, pollMs: settings.haPollMs, logger });
  const takeoverLimitMs = takeoverLimitMsFor(settings.haLeaseMs);
  const stop = new AbortController();
  const stopped = new Promise<void>((r) => stop.signal.addEventListener("abort", () => r(), { once: true }));
  let gateway: Gateway | undefined;
  let running: Promise<void> | undefined;
  /** Resolved once this member first serves as leader or first follows one (start-up). */
  let settled: () => void = () => {};
  const ready = new Promise<void>((r) => (settled = r));

  function notServing(): void {
    health.set("", ServingStatus.NOT_SERVING);
    health.set(TradingGateway.typeName, ServingStatus.NOT_SERVING);
  }

  // From the start: nothing may route orders here before this member leads.
  notServing();

  // Every method: the leader's handler, or UNAVAILABLE (a client retries on another replica).
  // A unary answer is given only if this member still leads when it is ready: a leader that was
  // paused past its lease (and is deposed, or about to learn it) acknowledges nothing, even a
  // write that committed before the takeover (the new leader has it: the retry is a replay).
  const trading: Record<string, unknown> = {};
  const deposedError = () => new ConnectError(`${NOT_LEADER}; the answer is withheld: retry (an order already recorded is answered replayed)`, Code.Unavailable);
  for (const m of TradingGateway.methods) {
    const name = m.localName;
    const of = (): { g: Gateway; impl: Record<string, (...a: unknown[]) => unknown> } => {
      const g = gateway;
      if (g === undefined) throw new ConnectError(NOT_LEADER, Code.Unavailable);
      return { g, impl: g.trading as unknown as Record<string, (...a: unknown[]) => unknown> };
    };
    trading[name] =
      m.methodKind === "server_streaming"
        ? async function* (req: unknown, ctx: unknown) {
            yield* of().impl[name]!(req, ctx) as AsyncIterable<unknown>;
          }
        : async (req: unknown, ctx: unknown) => {
            const { g, impl } = of();
            const answer = await impl[name]!(req, ctx);
            if (gateway !== g || !(leadership.leaseValid() || (await leadership.confirm())) || gateway !== g) throw deposedError();
            return answer;
          };
  }

  async function once(): Promise<void> {
    notServing();
    const positions = createPositionBook({ math: decimalMathNamed(settings.decimalMath) });
    const recovery = createStateRecovery({
      idempotencyTtlMs: settings.idempotencyTtlMs,
      idempotencyMaxEntries: settings.idempotencyMaxEntries,
      orderRetentionMs: settings.orderRetentionMs,
      maxTerminalOrders: MAX_TERMINAL_ORDERS,
      onFill: (f) => positions.applyFill(f),
    });
    const follower = createAuditFollower({ connectionString: url, table, onEvent: recovery.apply, onCorrupt: settings.auditOnCorrupt, logger });
    let term: bigint;
    try {
      await follower.start(stop.signal);
      term = await leadership.campaign(stop.signal, () => settled());
    } catch (e) {
      await follower.close();
      throw e;
    }
    const t0 = performance.now();
    const takeOver = async () => {
      try {
        // Holding the term, nobody else commits: read what the old leader committed last.
        await follower.catchUp();
      } finally {
        await follower.close();
      }
      let deposedWhy: (why: string) => void = () => {};
      const sinkDeposed = new Promise<string>((resolve) => (deposedWhy = resolve));
      const g = await createGateway({
        config: deps.config,
        logger,
        health,
        registry: deps.registry,
        shutdownSignal: deps.shutdownSignal,
        // No prefault (about 1.3 s for the rings on a busy machine): a takeover serves first, the
        // rings' pages are taken as they fill.
        prefaultRetention: false,
        takeover: {
          recovered: recovery.finish(Date.now()),
          positions,
          fence: { leaderTable: leadership.leaderTable, term, onDeposed: (why) => deposedWhy(why) },
          leads: () => leadership.leaseValid(),
          confirm: () => leadership.confirm(),
          // What a restart does for a lone gateway: state rebuilt from what the table holds.
          onAuditFailed: (why) => deposedWhy(`the audit log failed for good (${why})`),
        },
      });
      const built = performance.now();
      // Orders whose venue outcome the old leader never learnt: asked of the venue by their venue
      // client order id (one poll; nothing is sent again). Serving waits for it at most
      // RECONCILE_WAIT_MS: the poll asks one order at a time and records each answer, and a retry
      // of such an order is a replay of it (PENDING_NEW until its answer is in) either way.
      let reconcileTimer: NodeJS.Timeout | undefined;
      await Promise.race([g.reconcileNow().catch(() => {}), new Promise<void>((r) => (reconcileTimer = setTimeout(r, RECONCILE_WAIT_MS)))]);
      clearTimeout(reconcileTimer);
      return { g, sinkDeposed, built };
    };
    const taken = await bounded(term, takeOver());
    if (taken === undefined) return;
    const { g, sinkDeposed, built } = taken;
    gateway = g;
    if (leadership.term === term) {
      health.set("", ServingStatus.SERVING);
      health.set(TradingGateway.typeName, ServingStatus.SERVING);
    }
    settled();
    logger.warn(
      { term: term.toString(), events: follower.events, takeoverMs: Math.round(performance.now() - t0), buildMs: Math.round(built - t0) },
      "ha: leader: serving TradingGateway",
    );
    const why = await Promise.race([leadership.deposed(), sinkDeposed, new Promise<string>((r) => stop.signal.addEventListener("abort", () => r("shutdown"), { once: true }))]);
    if (why === "shutdown") return;
    // Deposed: answer nothing more, drop the gateway, follow again.
    gateway = undefined;
    notServing();
    logger.error({ term: term.toString(), why }, "ha: deposed; stepping down to standby");
    g.abortVenueCalls();
    await leadership.resign();
    await g.close().catch((e: unknown) => logger.warn({ err: e }, "ha: closing the deposed gateway failed"));
  }

  /**
   * The takeover, bounded: a member that won a term renews its lease while it builds, so a step
   * that never ends (a database call that hangs) would hold the whole group without a leader. Past
   * the limit the lease is given up at once (another member takes over), the late work's gateway
   * is closed whenever it ends, and this member waits a lease before it campaigns again.
   */
  async function bounded<T extends { readonly g: Gateway }>(term: bigint, work: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(r, takeoverLimitMs, undefined)));
    let r: T | undefined;
    try {
      r = await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
    if (r !== undefined) return r;
    logger.error({ term: term.toString(), limitMs: takeoverLimitMs }, "ha: the takeover did not serve within its limit; giving the lease up so that another member leads");
    await leadership.resign();
    work.then(
      (t) => void t.g.close().catch(() => {}),
      () => {},
    );
    await sleep(settings.haLeaseMs, undefined, { signal: stop.signal }).catch(() => {});
    return undefined;
  }

  async function loop(): Promise<void> {
    while (!stop.signal.aborted) {
      try {
        await once();
      } catch (e) {
        if (stop.signal.aborted) return;
        gateway = undefined;
        notServing();
        logger.error({ err: e }, "ha: takeover failed; standing by again");
        // A term won but not served must not be renewed: another member may take it.
        await leadership.resign();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  return {
    trading: trading as unknown as ServiceImpl<typeof TradingGateway>,
    current: () => gateway,
    tradingStates: () => gateway?.tradingStates() ?? [],
    start() {
      running ??= loop();
      return Promise.race([ready, stopped]);
    },
    async close() {
      stop.abort();
      await running?.catch(() => {});
      const g = gateway;
      gateway = undefined;
      if (g !== undefined) await g.close();
      await leadership.resign();
      await leadership.close();
    },
  };
}
