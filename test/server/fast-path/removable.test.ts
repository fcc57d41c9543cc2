/**
 * The fast path is one folder, tied to the gateway by one statement: src/server/app.ts imports
 * src/server/fast-path/install-fast-path.ts (dynamically, only with FAST_PATH=on) and calls it.
 * Deleting that statement and the folder leaves a gateway that serves every call through connect
 * (the end-to-end suites run with FAST_PATH=off too). These tests keep it so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { registerHooks } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../helpers/start-server.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const folder = join(root, "src/server/fast-path");

// Every module resolved from here on, to see what buildApp loads.
const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    resolved.push(r.url);
    return r;
  },
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Static (`from "x"`, `import "x"`) and dynamic (`import("x")`) imports of a source file, with their line. */
function importsOf(file: string): { specifier: string; dynamic: boolean; line: number }[] {
  const text = readFileSync(file, "utf8");
  const found: { specifier: string; dynamic: boolean; line: number }[] = [];
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  for (const m of text.matchAll(/\bfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm)) {
    found.push({ specifier: (m[1] ?? m[2])!, dynamic: false, line: lineAt(m.index) });
  }
  for (const m of text.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push({ specifier: m[1]!, dynamic: true, line: lineAt(m.index) });
  }
  return found;
}

test("only src/server/app.ts imports the fast path, once, dynamically", () => {
  const ties: string[] = [];
  for (const file of sourceFiles(join(root, "src"))) {
    if (file.startsWith(folder + "/")) continue;
    for (const i of importsOf(file)) {
      if (!i.specifier.startsWith(".")) continue;
      const target = resolve(dirname(file), i.specifier);
      if (target === folder || target.startsWith(folder + "/")) {
        ties.push(`${relative(root, file)}:${i.line} ${i.dynamic ? "import()" : "import"} ${i.specifier}`);
      }
    }
  }
  assert.equal(ties.length, 1, `one tie to src/server/fast-path/ expected, found:\n${ties.join("\n")}`);
  assert.match(ties[0]!, /^src\/server\/app\.ts:\d+ import\(\) \.\/fast-path\/install-fast-path\.js$/);
  // And the call is on that same line: the code of app.ts names the fast path nowhere else.
  const code = readFileSync(join(root, "src/server/app.ts"), "utf8").split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l));
  const naming = code.filter((l) => /fast.?path/i.test(l));
  assert.equal(naming.length, 1, naming.join("\n"));
  assert.match(naming[0]!, /import\("\.\/fast-path\/install-fast-path\.js"\)\)\.installFastPath\(app, /);
});

test("the fast path's modules import nothing of the app that installs them", () => {
  for (const file of sourceFiles(folder)) {
    for (const i of importsOf(file)) {
      assert.notEqual(resolve(dirname(file), i.specifier), join(root, "src/server/app.js"), relative(root, file));
    }
  }
});

test("FAST_PATH=off loads none of the fast path's modules; FAST_PATH=on loads them", async (t) => {
  const fastPathModules = () => resolved.filter((url) => url.includes("/src/server/fast-path/"));
  const off = await startServer({ config: { fastPath: false } });
  t.after(() => off.close());
  assert.deepEqual(fastPathModules(), []);
  const on = await startServer({ config: { fastPath: true } });
  t.after(() => on.close());
  assert.ok(fastPathModules().some((url) => url.endsWith("/src/server/fast-path/install-fast-path.ts")), fastPathModules().join("\n"));
});
