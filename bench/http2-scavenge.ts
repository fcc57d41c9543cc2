/**
 * How much of a bare node:http2 server's per-stream garbage survives young-generation GCs.
 * This has nothing of the gateway in it: one Node process answers every stream the way the fast
 * path does (headers, one 5-byte gRPC envelope, trailers), another sends unary calls at a fixed
 * rate. It prints what V8's --trace-gc-nvp reports for the server's scavenges.
 *
 * Why it exists: since Node 24.15.0 each finished stream's objects outlive scavenges and are
 * promoted until the next mark-compact (the cause, in pure JavaScript: bench/closure-retention.ts).
 * At 1,000 calls/s about 450 KB is promoted per scavenge and a scavenge pauses 3-4 ms; Node 22.23
 * to 24.14.1 promote 5-15 KB and pause about 0.4 ms. Run this again after a Node upgrade, with
 * `--node` pointing at another runtime, to see whether the floor moved. `--import MODULE` preloads
 * modules into the server: with the gateway's fast path imported, 24.14.1 sometimes falls into
 * promoting 500-650 KB per scavenge too (docs/performance.md, "GC flags and the latency tail").
 *
 * `--node-flag FLAG` (repeatable) passes a V8 or Node flag to the server.
 *
 * `--seed-gc S` runs one full GC in the server S seconds into the load and reports the scavenges
 * before and after it apart: a mark-compact moves the live young objects to the old generation,
 * and on 24.15+ that starts (or restarts) the promotion, while on 24.14.1 it does not.
 *
 *   node_modules/.bin/node --import tsx bench/http2-scavenge.ts [--node PATH] [--import MODULE]
 *     [--seed-gc S] [--node-flag FLAG]... [--rate 1000] [--duration 10]
 */
import { spawn, spawnSync } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const self = fileURLToPath(import.meta.url);

function serve(seedAfterS: number): void {
  const server = http2.createServer();
  let first = true;
  server.on("stream", (stream) => {
    if (first && seedAfterS > 0) {
      first = false;
      setTimeout(() => {
        (globalThis as { gc?: () => void }).gc?.();
        process.stdout.write("seeded\n");
      }, seedAfterS * 1000);
    }
    stream.on("error", () => {});
    stream.resume();
    stream.once("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    if (addr !== null && typeof addr === "object") process.stdout.write(`port ${addr.port}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}

async function load(port: number, rate: number, seconds: number): Promise<void> {
  const sessions = Array.from({ length: 4 }, () => http2.connect(`http://127.0.0.1:${port}`));
  const body = Buffer.from([0, 0, 0, 0, 0]);
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < total; i++) {
      // Scheduled sends, not a closed loop: the rate does not depend on the server's speed.
      const at = start + (i * 1000) / rate;
      setTimeout(() => {
        const req = sessions[i % sessions.length]!.request({ ":method": "POST", ":path": "/x.Y/Z", "content-type": "application/grpc", te: "trailers" });
        req.on("error", reject);
        req.resume();
        req.on("close", () => {
          if (++done === total) resolve();
        });
        req.end(body);
      }, Math.max(0, at - performance.now()));
    }
  });
  for (const s of sessions) s.close();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: "main" },
      port: { type: "string", default: "0" },
      node: { type: "string", default: process.execPath },
      rate: { type: "string", default: "1000" },
      duration: { type: "string", default: "10" },
      import: { type: "string", multiple: true, default: [] },
      "seed-gc": { type: "string", default: "0" },
      "node-flag": { type: "string", multiple: true, default: [] },
    },
  });
  const seedAfterS = Number(values["seed-gc"]);
  if (values.role === "server") return serve(seedAfterS);
  const rate = Number(values.rate);
  const seconds = Number(values.duration);
  if (values.role === "client") return load(Number(values.port), rate, seconds);

  const pin = spawnSync("taskset", ["-V"]).status === 0;
  const run = (cpu: string, args: string[]) => (pin ? spawn("taskset", ["-c", cpu, ...args]) : spawn(args[0]!, args.slice(1)));
  // The server runs as plain JavaScript on the chosen Node: strip-types needs no loader on Node >= 22.18.
  const preload = values.import.flatMap((m) => ["--import", m.startsWith(".") ? pathToFileURL(m).href : m]);
  const gcFlags = ["--trace-gc-nvp", "--max-semi-space-size=8", ...(seedAfterS > 0 ? ["--expose-gc"] : []), ...values["node-flag"]];
  const serverArgs = [self, "--role=server", `--seed-gc=${seedAfterS}`];
  const server = run("0", [values.node, "--experimental-strip-types", "--no-warnings", ...gcFlags, ...preload, ...serverArgs]);
  let out = "";
  server.stdout.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.on("data", (d: string) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    server.once("exit", (code) => reject(new Error(`server exited (${String(code)}): ${out}`)));
  });
  const mark = out.length;
  const client = run("1", [process.execPath, "--import", "tsx", self, "--role=client", `--port=${port}`, `--rate=${rate}`, `--duration=${seconds}`]);
  await new Promise<void>((resolve, reject) => client.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`client exited ${String(code)}`)))));
  server.kill("SIGTERM");
  const field = (l: string, k: string) => Number(new RegExp(`\\b${k}=([\\d.]+)`).exec(l)?.[1] ?? "0");
  const version = spawnSync(values.node, ["-v"], { encoding: "utf8" }).stdout.trim();
  const report = (label: string, text: string) => {
    const lines = text.split("\n").filter((l) => l.includes(" gc=s "));
    const mean = (k: string) => lines.reduce((a, l) => a + field(l, k), 0) / Math.max(1, lines.length);
    process.stdout.write(
      `node ${version}${label}: ${rate} calls/s, ${lines.length} scavenges, ` +
        `promoted ${(mean("promoted") / 1024).toFixed(0)} KB and pause ${mean("pause").toFixed(2)} ms per scavenge (mean), ` +
        `allocated ${(mean("allocated") / 1024).toFixed(0)} KB between scavenges\n`,
    );
  };
  const served = out.slice(mark);
  const seeded = served.indexOf("seeded\n");
  if (seeded < 0) {
    report(` (${seconds} s)`, served);
  } else {
    report(" (before the full GC)", served.slice(0, seeded));
    report(" (after the full GC)", served.slice(seeded));
  }
}

await main();
