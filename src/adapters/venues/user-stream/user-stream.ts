// The `ws` package rather than Node 24's global WebSocket: ws gives the client control frames
// (ping() and the 'pong' event, needed to check Binance's connection is alive from our side; the
// WHATWG WebSocket exposes neither), answers server pings with the same payload as Binance
// requires, has a handshake timeout, and is the same library the test fakes use as a server.
import WebSocket from "ws";
import type { Logger } from "pino";
import type { Order } from "../../../domain/order.js";
import type { Clock } from "../../../domain/ports.js";
import type { Result } from "../../../domain/result.js";
import type { OrderUpdateSink, VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { StreamAuth, StreamOrderEvent, VenueStreamSpec } from "./stream-spec.js";
import { decideStreamUpdate } from "./stream-update.js";
import type { UserStreamMetrics } from "./stream-metrics.js";

/**
 * One venue's user stream supervisor: connects, authenticates, subscribes, keeps the connection
 * alive, renews before expiry, reconnects with exponential back-off and jitter, and feeds order
 * events into the one state machine (sink.applyVenueUpdate, source "stream"), after a REST
 * catch-up on every (re)connect.
 *
 * States: "connecting" (socket, auth, subscribe), "catching-up" (subscribed; the REST catch-up
 * runs, events are queued), "connected" (caught up: the stream is trusted, polling slows down),
 * "down" (waiting to reconnect: polling is the fallback). Only "connected" is live.
 *
 * Events are applied one at a time in arrival order from a bounded queue; an overflow closes the
 * connection (the reconnect's catch-up recovers what was dropped) rather than growing memory.
 */
export type UserStreamState = "down" | "connecting" | "catching-up" | "connected";

export interface UserStreamSettings {
  /** First reconnect delay; doubles per failed attempt up to maxBackoffMs, with full jitter. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Most order events waiting to be applied; more closes the connection (catch-up recovers). */
  readonly queueLimit: number;
  /** WebSocket opening handshake timeout. */
  readonly connectTimeoutMs: number;
  /** Overrides of the venue's own figures (VenueStreamSpec), for tests and odd deployments. */
  readonly renewAfterMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
}

export const DEFAULT_USER_STREAM_SETTINGS: UserStreamSettings = {
  minBackoffMs: 250,
  maxBackoffMs: 30_000,
  queueLimit: 10_000,
  connectTimeoutMs: 10_000,
};

export interface UserStreamDeps {
  /** The venue's name (venue file), for the sink, health, metrics and logs. */
  readonly venue: string;
  readonly spec: VenueStreamSpec;
  /** Where order updates go: the order manager (wrap it with createFillGuardSink, stream-update.ts). */
  readonly sink: OrderUpdateSink;
  /**
   * The REST catch-up, run after every subscription before the stream is trusted: the gateway's
   * open orders of this venue queried (their fills and state), the same path polling takes.
   * false = it failed; the connection is dropped and retried.
   */
  catchUp(signal: AbortSignal): Promise<boolean>;
  /** One order's REST query, for an event that shows a gap (an execution the stream skipped). */
  queryOrder(order: Order, signal: AbortSignal): Promise<Result<VenueOrderUpdate, VenueError>>;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly metrics?: UserStreamMetrics | undefined;
  /** Told of every state change (health details). */
  readonly onState?: ((venue: string, state: UserStreamState) => void) | undefined;
  readonly settings?: Partial<UserStreamSettings> | undefined;
  /** [0, 1) for the jitter; tests make it predictable. */
  readonly random?: (() => number) | undefined;
}

/** A stream's state as health and /readyz show it. */
export interface UserStreamStatus {
  readonly venue: string;
  readonly state: UserStreamState;
  /** Epoch ms of the last state change. */
  readonly sinceMs: number;
  /** Epoch ms of the last frame received; 0 = none yet. */
  readonly lastEventAtMs: number;
  readonly reconnects: number;
  /** True while the venue is on polling fallback (every state but "connected"). */
  readonly degraded: boolean;
}

export interface UserStream {
  readonly venue: string;
  start(): void;
  /** Closes the connection and waits for events being applied. */
  stop(): Promise<void>;
  state(): UserStreamState;
  /** Connected and caught up: polling may slow down. */
  isLive(): boolean;
  status(): UserStreamStatus;
}

/**
 * The wait before reconnect attempt `attempt` (0 = the first after a failure): exponential from
 * minBackoffMs, capped at maxBackoffMs, with jitter over its upper half (`random` in [0, 1)), so
 * gateways that lost the venue together do not all come back at the same instant.
 */
export function reconnectDelayMs(attempt: number, settings: Pick<UserStreamSettings, "minBackoffMs" | "maxBackoffMs">, random: number): number {
  const cap = Math.min(settings.maxBackoffMs, settings.minBackoffMs * 2 ** Math.min(attempt, 20));
  return Math.round(cap / 2 + (random * cap) / 2);
}

export function createUserStream(deps: UserStreamDeps): UserStream {
  const settings: UserStreamSettings = { ...DEFAULT_USER_STREAM_SETTINGS, ...deps.settings };
  const random = deps.random ?? Math.random;
  const { venue, spec } = deps;
  const log = deps.logger?.child({ venue, component: "user-stream" });
  const stopController = new AbortController();
  let state: UserStreamState = "down";
  let sinceMs = deps.clock.nowMs();
  let lastEventAtMs = 0;
  let reconnects = 0;
  let started = false;
  let loop: Promise<void> | undefined;
  let socket: WebSocket | undefined;
  let wakeSleep: (() => void) | undefined;
  // Order events waiting to be applied, in arrival order.
  const queue: StreamOrderEvent[] = [];
  let paused = true;
  let draining: Promise<void> | undefined;
  // venue client order id / venue order id -> gateway order id, rebuilt from the sink on a miss.
  const byClientId = new Map<string, string>();
  const byVenueId = new Map<string, string>();

  function setState(next: UserStreamState): void {
    if (next === state) return;
    const from = state;
    state = next;
    sinceMs = deps.clock.nowMs();
    deps.metrics?.setConnected(venue, next === "connected");
    log?.info({ from, to: next }, next === "connected" ? "venue stream live" : next === "down" ? "venue stream down; polling is the fallback" : `venue stream ${next}`);
    deps.onState?.(venue, next);
  }

  const backoffMs = (attempt: number): number => reconnectDelayMs(attempt, settings, random());

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wakeSleep = undefined;
        resolve();
      }
      wakeSleep = done;
    });
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopController.signal.aborted) {
      setState("connecting");
      const outcome = await session();
      if (stopController.signal.aborted) break;
      setState("down");
      reconnects++;
      deps.metrics?.countReconnect(venue, outcome.reason);
      // A session that went live starts the back-off again; a renewal reconnects at once.
      if (outcome.live) attempt = 0;
      const delay = outcome.reason === "renew" ? 0 : backoffMs(attempt++);
      log?.info({ reason: outcome.reason, retryInMs: delay }, "venue stream closed");
      if (delay > 0) await sleep(delay);
    }
    setState("down");
  }

  interface SessionOutcome {
    readonly reason: string;
    readonly live: boolean;
  }

  /** One connection, from authentication to close. Never throws. */
  async function session(): Promise<SessionOutcome> {
    let auth: StreamAuth = {};
    if (spec.authenticate !== undefined) {
      let r: Result<StreamAuth, VenueError>;
      try {
        r = await spec.authenticate(stopController.signal);
      } catch (e) {
        r = { ok: false, error: { kind: "protocol", reason: (e as Error).message } };
      }
      if (!r.ok) {
        // The reason only: a token or signature never reaches the logs.
        log?.warn({ error: { kind: r.error.kind, reason: r.error.reason } }, "venue stream authentication failed");
        return { reason: "auth", live: false };
      }
      auth = r.value;
    }
    if (stopController.signal.aborted) return { reason: "stopped", live: false };
    return new Promise<SessionOutcome>((resolve) => {
      let live = false;
      let subscribed = false;
      let closedReason = "closed";
      // Liveness on the monotonic clock: timers are real whatever clock the gateway is given.
      let lastFrameAt = performance.now();
      let reqId = 0;
      const timers: NodeJS.Timeout[] = [];
      const ws = new WebSocket(spec.url, { handshakeTimeout: settings.connectTimeoutMs, perMessageDeflate: false });
      socket = ws;
      const close = (reason: string): void => {
        closedReason = reason;
        // terminate(): no closing handshake to wait for on a connection we no longer trust.
        ws.terminate();
      };
      const onStop = (): void => close("stopped");
      stopController.signal.addEventListener("abort", onStop, { once: true });
      const subscribeTimer = setTimeout(() => {
        if (!subscribed) close("subscribe_timeout");
      }, spec.subscribeTimeoutMs ?? 10_000);
      timers.push(subscribeTimer);

      ws.on("open", () => {
        for (const frame of spec.subscribe(auth, deps.clock.nowMs())) ws.send(frame);
        const hb = spec.heartbeat;
        const timeoutMs = settings.heartbeatTimeoutMs ?? hb.timeoutMs;
        const iv = setInterval(() => {
          if (performance.now() - lastFrameAt > timeoutMs) {
            close("heartbeat_timeout");
            return;
          }
          if (hb.ping !== undefined) ws.send(hb.ping(deps.clock.nowMs(), ++reqId));
          else ws.ping();
        }, settings.heartbeatIntervalMs ?? hb.intervalMs);
        timers.push(iv);
      });
      ws.on("pong", () => {
        lastFrameAt = performance.now();
      });
      ws.on("ping", () => {
        // ws answers with a pong carrying the same payload by itself (Binance requires the echo).
        lastFrameAt = performance.now();
      });
      ws.on("message", (data: WebSocket.RawData) => {
        const now = deps.clock.nowMs();
        lastFrameAt = performance.now();
        lastEventAtMs = now;
        const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8");
        let messages;
        try {
          messages = spec.parse(text);
        } catch (e) {
          log?.warn({ err: (e as Error).message }, "venue stream frame could not be parsed");
          return;
        }
        for (const m of messages) {
          switch (m.kind) {
            case "order":
              if (queue.length >= settings.queueLimit) {
                deps.metrics?.countEvent(venue, "overflow");
                log?.warn({ queueLimit: settings.queueLimit }, "venue stream queue full; reconnecting (the catch-up recovers what was dropped)");
                close("queue_overflow");
                return;
              }
              if (m.event.eventTimeMs > 0) deps.metrics?.observeLag(venue, Math.max(0, now - m.event.eventTimeMs) / 1000);
              queue.push(m.event);
              if (!paused) void drain();
              break;
            case "subscribed":
              if (subscribed) break;
              subscribed = true;
              clearTimeout(subscribeTimer);
              void caughtUp();
              break;
            case "send":
              for (const f of m.frames) ws.send(f);
              break;
            case "reconnect":
              close(`venue: ${m.reason}`.slice(0, 120));
              return;
            case "error":
              log?.warn({ reason: m.reason.slice(0, 200), auth: m.auth === true }, "venue stream refused");
              close(m.auth === true ? "auth_refused" : "venue_error");
              return;
            default:
              break;
          }
        }
      });
      ws.on("error", (e: Error) => {
        closedReason = closedReason === "closed" ? `error: ${e.message}`.slice(0, 120) : closedReason;
      });
      ws.on("close", () => {
        for (const t of timers) clearTimeout(t);
        stopController.signal.removeEventListener("abort", onStop);
        if (socket === ws) socket = undefined;
        paused = false;
        // Events already received are still facts: applied while polling takes over.
        void drain();
        resolve({ reason: closedReason, live });
      });

      /** Subscribed: REST catch-up with events held, then live. */
      async function caughtUp(): Promise<void> {
        setState("catching-up");
        paused = true;
        await draining;
        let done = false;
        try {
          done = await deps.catchUp(stopController.signal);
        } catch (e) {
          log?.warn({ err: (e as Error).message }, "venue stream catch-up threw");
        }
        if (ws.readyState !== WebSocket.OPEN) return;
        if (!done) {
          close("catch_up_failed");
          return;
        }
        live = true;
        paused = false;
        setState("connected");
        void drain();
        const renew = spec.renew;
        if (renew !== undefined) {
          const schedule = (): void => {
            const t = setTimeout(() => {
              if (renew.frames === undefined) {
                close("renew");
                return;
              }
              for (const f of renew.frames(auth, deps.clock.nowMs())) ws.send(f);
              schedule();
            }, settings.renewAfterMs ?? renew.afterMs);
            timers.push(t);
          };
          schedule();
        }
      }
    });
  }

  function rebuildIndex(): void {
    byClientId.clear();
    byVenueId.clear();
    for (const o of deps.sink.openOrders(venue)) {
      if (o.venueClientOrderId !== "") byClientId.set(o.venueClientOrderId, o.orderId);
      if (o.venueOrderId !== "") byVenueId.set(o.venueOrderId, o.orderId);
    }
  }

  function lookup(ev: StreamOrderEvent): string | undefined {
    const find = (): string | undefined =>
      (ev.venueClientOrderId !== "" ? byClientId.get(ev.venueClientOrderId) : undefined) ?? (ev.venueOrderId !== "" ? byVenueId.get(ev.venueOrderId) : undefined);
    let id = find();
    if (id === undefined) {
      rebuildIndex();
      id = find();
    }
    return id;
  }

  function currentOrder(orderId: string): Order | undefined {
    const viaView = deps.sink.venueView?.(orderId);
    if (viaView !== undefined) return viaView;
    for (const o of deps.sink.openOrders(venue)) if (o.orderId === orderId) return o;
    return undefined;
  }

  async function applyOne(ev: StreamOrderEvent): Promise<void> {
    const orderId = lookup(ev);
    if (orderId === undefined) {
      // Not a gateway order (placed elsewhere with the same key) or one long settled: reconciliation's business.
      deps.metrics?.countEvent(venue, "unknown_order");
      return;
    }
    const order = currentOrder(orderId);
    if (order === undefined) {
      deps.metrics?.countEvent(venue, "unknown_order");
      return;
    }
    const d = decideStreamUpdate(order, ev, deps.clock.nowMs());
    if (d.kind === "skip") {
      deps.metrics?.countEvent(venue, d.why);
      return;
    }
    if (d.kind === "apply") {
      deps.metrics?.countEvent(venue, "applied");
      await deps.sink.applyVenueUpdate(orderId, d.update, "stream");
      return;
    }
    // A gap (an execution the stream did not show) or an event the table refuses with fills in
    // it: the venue's REST answer settles the order, exactly as a poll would.
    deps.metrics?.countEvent(venue, "gap_query");
    log?.info({ orderId, why: d.why }, "venue stream event needs a REST query");
    const r = await deps.queryOrder(order, stopController.signal);
    if (r.ok) await deps.sink.applyVenueUpdate(orderId, r.value, "reconcile");
    else log?.info({ orderId, error: r.error }, "venue stream gap query failed; polling will retry");
  }

  function drain(): Promise<void> {
    if (draining !== undefined) return draining;
    if (queue.length === 0 || paused) return Promise.resolve();
    const run = async (): Promise<void> => {
      while (queue.length > 0 && !paused) {
        const ev = queue.shift()!;
        try {
          await applyOne(ev);
        } catch (e) {
          deps.metrics?.countEvent(venue, "error");
          log?.error({ err: e }, "applying a venue stream event failed");
        }
      }
    };
    // Cleared when done (not in a finally inside run: that could run before the assignment).
    const p = run().then(() => {
      if (draining === p) draining = undefined;
    });
    draining = p;
    return p;
  }

  return {
    venue,
    start() {
      if (started) return;
      started = true;
      deps.metrics?.setConnected(venue, false);
      loop = run();
    },
    async stop() {
      stopController.abort();
      wakeSleep?.();
      socket?.terminate();
      await loop;
      await draining;
    },
    state: () => state,
    isLive: () => state === "connected",
    status: () => ({ venue, state, sinceMs, lastEventAtMs, reconnects, degraded: state !== "connected" }),
  };
}
