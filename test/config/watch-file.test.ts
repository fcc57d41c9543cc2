import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchFile } from "../../src/config/watch-file.js";
import { formatHelp } from "../../src/config/env.js";
import { waitFor } from "../helpers/wait-for.js";

test("watchFile: one call per burst of writes, also when the file is replaced by a rename", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-watch-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "limits.yaml");
  writeFileSync(file, "a: {}\n");
  let calls = 0;
  const w = watchFile(file, 50, () => calls++, (e) => assert.fail(String(e)));
  t.after(() => w.close());
  writeFileSync(file, "b: {}\n");
  writeFileSync(file, "c: {}\n");
  await waitFor(() => calls === 1, { what: "the debounced call" });
  // An editor's save: a new file renamed over the old one.
  writeFileSync(join(dir, "limits.yaml.tmp"), "d: {}\n");
  renameSync(join(dir, "limits.yaml.tmp"), file);
  await waitFor(() => calls === 2, { what: "the call after the rename" });
});

test("--help shows the built-in risk limits", () => {
  const help = formatHelp();
  assert.match(help, /Risk limits ON by default/);
  for (const line of [/maxQuantity = 10000/, /maxNotional = 100000/, /priceBandPercent = 10/, /maxOpenOrders = 1000/, /maxOrderRate = 100/, /orderRateBurst = 200/]) assert.match(help, line);
});
