/**
 * Bundles the browser dashboard (src/dashboard/) with esbuild into dist/dashboard/: one script and
 * one stylesheet with content-hashed names (served immutable), the favicon likewise, and
 * index.html naming them (served no-cache, so a new build is picked up on the next load). The
 * page has no inline script or style, so the gateway's Content-Security-Policy can say 'self'.
 *
 * Run by `npm run build` (and so by `npm start`), by `npm run dev`, and by the dashboard tests
 * (into a temporary directory). A tree already built from unchanged sources is left alone, like
 * `tsc -b`; `--force` rebuilds.
 *
 *   node --import tsx src/dashboard/build/build-dashboard.ts [--out dir] [--force]
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const SOURCE = join(ROOT, "src", "dashboard");
export const DEFAULT_OUT = join(ROOT, "dist", "dashboard");

export interface BuiltDashboard {
  readonly outDir: string;
  /** File names written (index.html and the hashed assets). */
  readonly files: readonly string[];
  /** False when the tree was up to date and nothing was written. */
  readonly built: boolean;
}

/** Builds the dashboard into `outDir` (emptied first). */
export async function buildDashboard(opts: { outDir?: string; force?: boolean } = {}): Promise<BuiltDashboard> {
  const outDir = resolve(opts.outDir ?? DEFAULT_OUT);
  const index = join(outDir, "index.html");
  if (opts.force !== true && upToDate(index)) return { outDir, files: readdirSync(outDir), built: false };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(SOURCE, "main.ts"), join(SOURCE, "styles.css")],
    bundle: true,
    format: "esm",
    target: ["es2022"],
    platform: "browser",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    outdir: outDir,
    entryNames: "[name]-[hash]",
    write: true,
    metafile: true,
    tsconfig: join(SOURCE, "tsconfig.json"),
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
  const js = outputs.find((f) => f.endsWith(".js"));
  const css = outputs.find((f) => f.endsWith(".css"));
  if (js === undefined || css === undefined) throw new Error(`esbuild wrote no script or stylesheet: ${outputs.join(", ")}`);
  const icon = hashedCopy(join(SOURCE, "favicon.svg"), outDir);
  const html = readFileSync(join(SOURCE, "index.html"), "utf8")
    .replaceAll("{{script}}", `/assets/${js}`)
    .replaceAll("{{style}}", `/assets/${css}`)
    .replaceAll("{{icon}}", `/assets/${icon}`);
  if (/\{\{\w+\}\}/.test(html)) throw new Error("index.html has a placeholder the build does not fill");
  writeFileSync(index, html);
  return { outDir, files: ["index.html", js, css, icon], built: true };
}

/** Copies `file` into `outDir` as name-<hash>.ext; returns the new name. */
function hashedCopy(file: string, outDir: string): string {
  const body = readFileSync(file);
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 10).toUpperCase().replace(/[-_]/g, "0");
  const name = `${basename(file, extname(file))}-${hash}${extname(file)}`;
  writeFileSync(join(outDir, name), body);
  return name;
}

/** True when index.html is newer than every input: the dashboard sources, the generated code, this script, the lockfile. */
function upToDate(index: string): boolean {
  const built = statSync(index, { throwIfNoEntry: false });
  if (built === undefined) return false;
  const inputs = [SOURCE, join(ROOT, "gen"), fileURLToPath(import.meta.url), join(ROOT, "package-lock.json")];
  // A file index.html names and that was deleted (`npm run build -- --force` forces tsc only) is rebuilt too.
  const named = [...readFileSync(index, "utf8").matchAll(/"\/assets\/([^"/]+)"/g)].map((m) => join(dirname(index), m[1]!));
  return named.length > 0 && named.every((f) => statSync(f, { throwIfNoEntry: false }) !== undefined) && inputs.every((p) => newestMtime(p) < built.mtimeMs);
}

function newestMtime(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (s === undefined) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, f) => Math.max(m, newestMtime(join(path, f))), s.mtimeMs);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const out = await buildDashboard({ ...(outAt >= 0 && args[outAt + 1] !== undefined ? { outDir: args[outAt + 1] } : {}), force: args.includes("--force") });
  process.stdout.write(out.built ? `dashboard: built ${out.files.join(", ")} in ${out.outDir}\n` : "");
}
