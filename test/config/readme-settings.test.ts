import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { formatSettingsMarkdown, settings } from "../../src/config/env.js";

// The README's settings table is generated from the settings rows; this keeps
// the document from drifting when a setting is added or a default changes.
test("README lists every setting exactly as the settings table describes it", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  assert.ok(
    readme.includes(formatSettingsMarkdown()),
    "README.md settings table is stale: paste the output of " +
      "`npx tsx -e \"import('./src/config/env.ts').then((m) => process.stdout.write(m.formatSettingsMarkdown()))\"`",
  );
  for (const s of Object.values(settings)) assert.ok(readme.includes(`\`${s.env}\``), `README.md does not mention ${s.env}`);
});
