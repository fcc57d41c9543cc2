import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import type { HealthCheckResponse } from "../../gen/health/v1/health_pb.js";

export { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";

/** The most services List answers with; more is RESOURCE_EXHAUSTED, as the protocol allows. */
const MAX_LIST = 1000;

/**
 * Serving status per service name ("" = the whole server). Others set
 * entries (the venue registry adds one per venue); Watch streams see every
 * change. shutdown() flips everything to NOT_SERVING and ends the Watch
 * streams so that graceful close is not held up by them.
 */
export interface HealthRegistry {
  set(service: string, status: Status.SERVING | Status.NOT_SERVING): void;
  get(service: string): Status | undefined;
  list(): ReadonlyMap<string, Status>;
  /** Current status, then every change, until `signal` aborts or shutdown. */
  watch(service: string, signal: AbortSignal): AsyncIterable<Status>;
  /** NOT_SERVING for everything; later set() calls are ignored. */
  shutdown(): void;
  readonly shuttingDown: boolean;
}

interface Watcher {
  readonly service: string;
  push(s: Status): void;
  end(): void;
}

export function createHealthRegistry(initial: Readonly<Record<string, Status.SERVING | Status.NOT_SERVING>> = { "": Status.SERVING }): HealthRegistry {
  const statuses = new Map<string, Status>(Object.entries(initial));
  const watchers = new Set<Watcher>();
  let shuttingDown = false;
  const notify = (service: string, s: Status) => {
    for (const w of watchers) if (w.service === service) w.push(s);
  };
  return {
    get shuttingDown() {
      return shuttingDown;
    },
    set(service, status) {
      if (shuttingDown) return;
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      notify(service, status);
    },
    get: (service) => statuses.get(service),
    list: () => new Map(statuses),
    shutdown() {
      if (shuttingDown) return;
      for (const [service, s] of statuses) {
        if (s === Status.NOT_SERVING) continue;
        statuses.set(service, Status.NOT_SERVING);
        notify(service, Status.NOT_SERVING);
      }
      shuttingDown = true;
      for (const w of watchers) w.end();
    },
    watch(service, signal) {
      // Only the latest unsent status matters to a watcher; a slow client
      // never makes this queue grow past a few entries.
      const queue: Status[] = [statuses.get(service) ?? Status.SERVICE_UNKNOWN];
      let ended = shuttingDown;
      let wake: (() => void) | undefined;
      const watcher: Watcher = {
        service,
        push(s) {
          if (queue.length > 0 && queue[queue.length - 1] === s) return;
          if (queue.length >= 4) queue.splice(0, queue.length - 1);
          queue.push(s);
          wake?.();
        },
        end() {
          ended = true;
          wake?.();
        },
      };
      return {
        async *[Symbol.asyncIterator]() {
          watchers.add(watcher);
          const onAbort = () => watcher.end();
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            for (;;) {
              while (queue.length > 0) yield queue.shift()!;
              if (ended || signal.aborted) return;
              await new Promise<void>((r) => (wake = r));
              wake = undefined;
            }
          } finally {
            watchers.delete(watcher);
            signal.removeEventListener("abort", onAbort);
          }
        },
      };
    },
  };
}

const response = (status: Status): HealthCheckResponse => create(HealthCheckResponseSchema, { status });

/** grpc.health.v1.Health over a registry. */
export function createHealthService(registry: HealthRegistry): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const s = registry.get(req.service);
      if (s === undefined) throw new ConnectError(`unknown service "${req.service.slice(0, 200)}"`, Code.NotFound);
      return response(s);
    },
    async *watch(req, ctx) {
      for await (const s of registry.watch(req.service, ctx.signal)) yield response(s);
      // Ended by shutdown, after NOT_SERVING was sent: UNAVAILABLE tells the client to watch
      // another instance (an OK end would say nothing about why).
      if (registry.shuttingDown && !ctx.signal.aborted) throw new ConnectError("server is shutting down", Code.Unavailable);
    },
    list() {
      const all = registry.list();
      if (all.size > MAX_LIST) throw new ConnectError(`more than ${MAX_LIST} services`, Code.ResourceExhausted);
      return { statuses: Object.fromEntries([...all].map(([k, s]) => [k, response(s)])) };
    },
  };
}

export { Health };
