import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The real gateway process (src/main.ts), for tests about process behaviour (it must not exit). */
export interface ChildGateway {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything it wrote to stdout and stderr so far (JSON log lines). */
  output(): string;
  /** Its log lines so far, parsed (lines that are not JSON are skipped). */
  logs(): Record<string, unknown>[];
  readonly alive: boolean;
}

/** Starts `node --import tsx src/main.ts` with `env` on top of the test's, once it logs its port. */
export async function startChildGateway(env: Record<string, string>, onSpawn?: (child: ChildProcess) => void): Promise<ChildGateway> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "off", LOG_FORMAT: "json", LOG_LEVEL: "info", RATE_LIMIT_RPS: "0", API_KEYS: "", PAPER_MARKET: "fixed", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The caller can kill a child that never gets to listen (a test ending while it starts).
  onSpawn?.(child);
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (out += d));
  child.stdout!.on("data", (d: string) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gateway did not start within 60 s:\n${out}`));
    }, 60_000);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited early (${code ?? signal}):\n${out}`));
    };
    child.on("exit", onExit);
    const onData = () => {
      const m = /"port":(\d+)[^\n]*"msg":"trading-gateway listening/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout!.off("data", onData);
      resolve(Number(m[1]));
    };
    child.stdout!.on("data", onData);
  });
  return {
    child,
    port,
    output: () => out,
    logs: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
  };
}

export function stopChildGateway(g: ChildGateway, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!g.alive) return Promise.resolve();
  return new Promise((resolve) => {
    g.child.once("exit", () => resolve());
    g.child.kill(signal);
  });
}

/** gRPC clients for TradingGateway and Health on one HTTP/2 session. */
export function connectChildGateway(port: number): { trading: Client<typeof TradingGateway>; health: Client<typeof Health>; close: () => void } {
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return { trading: createClient(TradingGateway, transport), health: createClient(Health, transport), close: () => sessionManager.abort() };
}
