import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

// The V8 flags decide the latency tail (docs/performance.md); the container
// must run the gateway with exactly the flags `npm start` and `npm run bench` use.
test("the Dockerfile ENTRYPOINT passes the same Node flags as npm start", () => {
  const read = (f: string) => readFileSync(new URL(`../../${f}`, import.meta.url), "utf8");
  const start = (JSON.parse(read("package.json")) as { scripts: { start: string } }).scripts.start;
  const startFlags = start.split(/\s+/).filter((t) => t.startsWith("--"));
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(read("Dockerfile"));
  assert.ok(entry, "Dockerfile has no exec-form ENTRYPOINT");
  const argv = JSON.parse(entry[1]!) as string[];
  assert.deepEqual(argv.filter((t) => t.startsWith("--")), startFlags);
  assert.ok(startFlags.includes("--max-semi-space-size=8"), "npm start lost --max-semi-space-size=8");
  assert.ok(startFlags.includes("--v8-pool-size=1"), "npm start lost --v8-pool-size=1");
  assert.ok(startFlags.includes("--use-largepages=silent"), "npm start lost --use-largepages=silent");
  assert.equal(argv.at(-1), "dist/src/main.js");
});
