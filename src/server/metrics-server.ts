import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { ServingStatus, type HealthRegistry } from "./health.js";

export interface MetricsServer {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface MetricsServerDeps {
  readonly registry: Registry;
  /** The gRPC health registry; /readyz mirrors its overall ("") status. */
  readonly health: HealthRegistry;
  /**
   * More of /readyz's body: the trading states in force (the kill switch). They never change its
   * status code: a halted gateway is ready, it must still answer cancels and GetTradingState.
   */
  readonly details?: () => Record<string, unknown>;
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const;

/** What /readyz answers: the overall status and the named services that are not SERVING. */
export function readiness(health: HealthRegistry): { readonly ready: boolean; readonly body: { status: string; notServing: string[] } } {
  const overall = health.get("") ?? ServingStatus.UNKNOWN;
  const notServing: string[] = [];
  for (const [service, s] of health.list()) if (service !== "" && s !== ServingStatus.SERVING) notServing.push(service);
  return { ready: overall === ServingStatus.SERVING, body: { status: ServingStatus[overall] ?? "UNKNOWN", notServing } };
}

/**
 * Prometheus scrapes a separate listener so that /metrics is never exposed on
 * the RPC port (which may face clients) and never competes with RPC routing.
 *
 * The same listener answers plain-HTTP probes, for what cannot speak gRPC
 * health (Docker HEALTHCHECK, HTTP load balancers, Kubernetes httpGet, curl):
 * - /healthz: 200 while the process answers at all (liveness);
 * - /readyz: 200 when the gRPC health overall status ("") is SERVING, else
 *   503 (audit log failed, shutting down), with a small JSON body naming the
 *   status and every service (venue, TradingGateway) that is not SERVING, plus `details`
 *   (the trading states in force: `tradingStates`, empty when everything is ACTIVE).
 */
export function createMetricsServer(deps: MetricsServerDeps): MetricsServer {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const head = req.method === "HEAD";
    if (path === "/healthz") {
      res.writeHead(200, JSON_HEADERS).end(head ? undefined : '{"status":"alive"}\n');
      return;
    }
    if (path === "/readyz") {
      const r = readiness(deps.health);
      const body = deps.details === undefined ? r.body : { ...r.body, ...deps.details() };
      res.writeHead(r.ready ? 200 : 503, JSON_HEADERS).end(head ? undefined : `${JSON.stringify(body)}\n`);
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics, /healthz or /readyz\n");
      return;
    }
    deps.registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": deps.registry.contentType });
        res.end(head ? undefined : text);
      },
      () => {
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port }, () => {
          server.removeListener("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
