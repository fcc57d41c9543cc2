import { VENUE_KINDS } from "../../src/adapters/venues/registry.js";
import { loadVenuesFile, parseVenuesFile, resolveVenueCredentials } from "../../src/config/venues-file.js";
import type { ResolvedVenuesFile, VenuesFile } from "../../src/config/venues-file.js";
import type { Result } from "../../src/domain/result.js";

/** parseVenuesFile with the gateway's venue kinds, as main.ts passes them. */
export function parseVenues(content: unknown, filePath: string): Result<VenuesFile, string> {
  return parseVenuesFile(content, filePath, VENUE_KINDS);
}

/** loadVenuesFile with the gateway's venue kinds, as main.ts passes them. */
export function loadVenues(filePath: string, readFile?: (p: string) => string): Result<VenuesFile, string> {
  return loadVenuesFile(filePath, VENUE_KINDS, readFile);
}

/** The file's credentials resolved from `env` (config/ does it before venues are built); throws the config error. */
export function resolveVenues(file: VenuesFile, env: Readonly<Record<string, string | undefined>>, readFile?: (p: string) => string): ResolvedVenuesFile {
  const r = resolveVenueCredentials(file, env, readFile);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
