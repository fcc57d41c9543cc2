import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../..", import.meta.url);
const read = (f: string) => readFileSync(new URL(f, root), "utf8");

/**
 * `npm start` compiles only what changed: a start on a built tree runs the
 * built code without compiling again (the whole project takes 25-35 s to
 * compile on a small machine, a start must not). Checked on a one-file
 * project that has this package's own start/build scripts and tsconfig files,
 * so the test compiles in seconds; "did not compile" is observed as outputs
 * (the emitted main.js and tsc's build info) left untouched, not timed.
 */
test("npm start compiles once, then runs the built tree until a source changes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-start-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = JSON.parse(read("package.json")) as { type: string; scripts: Record<string, string> };
  const scripts = Object.fromEntries(Object.entries(pkg.scripts).filter(([k]) => ["build", "build:dashboard", "prestart", "start", "poststart"].includes(k)));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "start-fixture", private: true, type: pkg.type, scripts }));
  for (const f of ["tsconfig.json", "tsconfig.build.json"]) writeFileSync(join(dir, f), read(f));
  symlinkSync(new URL("node_modules", root).pathname, join(dir, "node_modules"), "dir");
  // The dashboard step of the build (src/dashboard/build/build-dashboard.ts has its own test): a stub here.
  mkdirSync(join(dir, "src", "dashboard", "build"), { recursive: true });
  writeFileSync(join(dir, "src", "dashboard", "build", "build-dashboard.ts"), "");
  const main = join(dir, "src", "main.ts");
  writeFileSync(main, 'process.stdout.write(`started v1 ${process.argv.slice(2).join(" ")}\\n`);\n');
  const start = () => run("npm", ["start", "--silent", "--", "--help"], { cwd: dir, encoding: "utf8" });
  const built = join(dir, "dist", "src", "main.js");
  const outputs = () => {
    const info = statSync(join(dir, "dist", "tsconfig.build.tsbuildinfo"), { throwIfNoEntry: false });
    return { mainJs: statSync(built).mtimeMs, buildInfo: info?.mtimeMs };
  };

  // A fresh tree (no dist/): the first start builds.
  assert.match((await start()).stdout, /^started v1 --help$/m);
  const first = outputs();

  // Built and unchanged: nothing is compiled or rewritten.
  assert.match((await start()).stdout, /^started v1 --help$/m);
  assert.deepEqual(outputs(), first, "a start on a built tree compiled again");

  // A changed source is compiled before the start.
  writeFileSync(main, 'process.stdout.write(`started v2 ${process.argv.slice(2).join(" ")}\\n`);\n');
  assert.match((await start()).stdout, /^started v2 --help$/m);
  assert.notDeepEqual(outputs(), first);
});
