import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { matchesGlob } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { createHealthRegistry, ServingStatus as S } from "../../src/server/health.js";
import { createMetricsServer } from "../../src/server/metrics-server.js";

// No Docker engine in CI: these check the Dockerfile's and .dockerignore's
// lines that decide whether the image works for its users, and run the
// HEALTHCHECK's probe for real against a metrics listener.

const read = (f: string) => readFileSync(new URL(`../../${f}`, import.meta.url), "utf8");

/** Instructions of the Dockerfile, continuation lines joined and comments dropped, per stage. */
function stages(): { from: string; lines: string[] }[] {
  const joined = read("Dockerfile")
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ");
  const out: { from: string; lines: string[] }[] = [];
  for (const line of joined.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const finalStage = () => stages().at(-1)!;
const find = (lines: string[], re: RegExp) => lines.filter((l) => re.test(l));

test("the image runs as the distroless non-root user", () => {
  const { from, lines } = finalStage();
  assert.match(from, /^FROM gcr\.io\/distroless\/nodejs24-debian12:nonroot\b/);
  const users = find(lines, /^USER\s/);
  assert.deepEqual(users, ["USER nonroot"], "exactly one USER, the non-root one");
});

test("/data exists in the image, belongs to the non-root user, and is the volume the audit log goes to", () => {
  const [build] = stages();
  const { lines } = finalStage();
  const copy = find(lines, /^COPY\s.*\s\/data\/?$/);
  assert.equal(copy.length, 1, "one COPY creates /data (distroless has no shell to mkdir it)");
  const m = /^COPY\s+--from=(\S+)\s+--chown=(\S+)\s+(\S+)\s+\/data\/?$/.exec(copy[0]!);
  assert.ok(m, `unexpected form: ${copy[0]}`);
  const [, stage, owner, source] = m;
  assert.equal(owner, "nonroot:nonroot", "owned by the user the gateway runs as");
  assert.match(build!.from, new RegExp(`\\sAS\\s+${stage}$`, "i"));
  assert.ok(
    build!.lines.some((l) => /^RUN\s/.test(l) && new RegExp(`mkdir -p ${source!.replace(/\/$/, "")}(\\s|$)`).test(l)),
    `the ${stage} stage makes ${source}`,
  );
  const volume = lines.findIndex((l) => /^VOLUME\s/.test(l));
  assert.equal(lines[volume], 'VOLUME ["/data"]');
  assert.ok(volume > lines.indexOf(copy[0]!), "VOLUME after the COPY: later changes to a volume path are discarded");
  assert.ok(lines.some((l) => /^ENV\s.*\bAUDIT_FILE=\/data\//.test(l)), "the audit log is on the volume");
});

/** The HEALTHCHECK's exec-form argv. */
function healthcheck(): string[] {
  const hc = find(finalStage().lines, /^HEALTHCHECK\s/);
  assert.equal(hc.length, 1);
  const m = /\sCMD\s+(\[.*\])$/.exec(hc[0]!);
  assert.ok(m, "HEALTHCHECK uses the exec form (the image has no shell)");
  const argv = JSON.parse(m[1]!) as string[];
  assert.equal(argv[0], "/nodejs/bin/node", "the probe is the image's own Node (no curl in distroless)");
  assert.match(argv.join(" "), /\/readyz/);
  return argv;
}

async function probe(argv: string[], metricsPort: number): Promise<number> {
  const child = spawn(process.execPath, argv.slice(1), { env: { METRICS_PORT: String(metricsPort) }, stdio: "ignore" });
  const [code] = (await once(child, "exit")) as [number];
  return code;
}

test("the HEALTHCHECK probe exits 0 on a ready gateway and 1 when it is not ready or not listening", async (t) => {
  const argv = healthcheck();
  const health = createHealthRegistry({ "": S.SERVING });
  const ms = createMetricsServer({ registry: new Registry(), health });
  const { port } = await ms.listen("127.0.0.1", 0);
  t.after(() => ms.close());
  assert.equal(await probe(argv, port), 0);
  health.set("", S.NOT_SERVING);
  assert.equal(await probe(argv, port), 1);

  // Nothing listening there (a port just freed).
  const spare = createServer();
  await new Promise<void>((r) => spare.listen(0, "127.0.0.1", r));
  const free = (spare.address() as AddressInfo).port;
  await new Promise((r) => spare.close(r));
  assert.equal(await probe(argv, free), 1);
});

test(".dockerignore keeps local state out of the build context, and nothing the build copies", () => {
  const patterns = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  assert.ok(!patterns.some((p) => p.startsWith("!")), "no exceptions (this check does not model them)");
  // Docker's matching: a pattern excludes a path it matches, and everything below it.
  const excluded = (path: string) => patterns.some((p) => path.split("/").some((_, i, parts) => matchesGlob(parts.slice(0, i + 1).join("/"), p.replace(/\/$/, ""))));
  for (const path of [".git", "node_modules", "node_modules/typescript/package.json", "data/audit.jsonl", "dist/src/main.js", "bench/results/x.json", "x.log", ".env"]) {
    assert.ok(excluded(path), `${path} is sent to the builder`);
  }
  const sources = stages()
    .flatMap((s) => s.lines)
    .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
    .flatMap((l) => l.split(/\s+/).slice(1, -1).filter((a) => !a.startsWith("--")));
  assert.ok(sources.includes("src") && sources.includes("package-lock.json") && sources.includes("LICENSE"));
  for (const s of sources) assert.ok(!excluded(s), `the Dockerfile copies ${s}, which .dockerignore excludes`);
});
