import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * The layer rules of docs/architecture.md as CI runs them (npm run lint:deps,
 * .dependency-cruiser.cjs): the tree keeps them, and each rule really fails on the import it
 * forbids (a rule that cannot fail checks nothing).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const depcruise = join(root, "node_modules", ".bin", "depcruise");
const config = join(root, ".dependency-cruiser.cjs");
const run = promisify(execFile);

async function cruise(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(depcruise, ["--config", config, "src"], { cwd });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout + x.stderr };
  }
}

test("the source tree keeps the layer rules", async () => {
  const r = await cruise(root);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test("each layer rule fails on the import it forbids", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "layers-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true }, include: ["src"] }));
  const files: Record<string, string> = {
    // An upward import: a use-case reaching into rpc (what place-order.ts did for Principal).
    "src/use-cases/place.ts": 'import { principalKey } from "../rpc/keys.js";\nexport const p = principalKey;\n',
    "src/rpc/keys.ts": "export const principalKey = 1;\n",
    // config/ importing a venue (what venues-file.ts did for every venue's rules).
    "src/config/venues.ts": 'import { rules } from "../adapters/venues/binance.js";\nexport const r = rules;\n',
    "src/adapters/venues/binance.ts": "export const rules = 1;\n",
    // A venue reading a file while it is built (what registry.ts did for secret files).
    "src/adapters/venues/registry.ts": 'import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n',
    // Transport in the domain.
    "src/domain/principal.ts": 'import { createContextKey } from "@connectrpc/connect";\nexport const k = createContextKey;\n',
    // The shared floor importing a layer.
    "src/shared/util.ts": 'import { k } from "../domain/principal.js";\nexport const u = k;\n',
    // A cycle.
    "src/use-cases/a.ts": 'import { b } from "./b.js";\nexport const a = (): unknown => b;\n',
    "src/use-cases/b.ts": 'import { a } from "./a.js";\nexport const b = (): unknown => a;\n',
    // src importing a test helper.
    "src/server/app.ts": 'import { helper } from "../../test/helper.js";\nexport const h = helper;\n',
    "test/helper.ts": "export const helper = 1;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = await cruise(dir);
  assert.notEqual(r.code, 0, r.out);
  for (const [rule, from, to] of [
    ["use-cases-looks-down-only", "src/use-cases/place.ts", "src/rpc/keys.ts"],
    ["config-imports-no-adapter", "src/config/venues.ts", "src/adapters/venues/binance.ts"],
    ["only-config-reads-files-and-env", "src/adapters/venues/registry.ts", "fs"],
    ["use-cases-know-no-transport", "src/domain/principal.ts", "node_modules/@connectrpc/connect/"],
    ["shared-is-a-floor", "src/shared/util.ts", "src/domain/principal.ts"],
    ["no-cycles", "src/use-cases/a.ts", "src/use-cases/b.ts"],
    ["src-never-imports-test", "src/server/app.ts", "test/helper.ts"],
  ] as const) {
    const line = r.out.split("\n").find((l) => l.includes(`${rule}: ${from} →`));
    // A cycle is reported over several lines; every other rule on one.
    const reported = line !== undefined && (rule === "no-cycles" ? r.out.includes(`${to} →`) : line.includes(to));
    assert.ok(reported, `${rule} should fire on ${from} → ${to}:\n${r.out}`);
  }
});
