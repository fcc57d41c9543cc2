import { VENUE_KINDS } from "../../src/adapters/venues/registry.js";
import { defaultConfig } from "../../src/config/env.js";
import type { Config } from "../../src/config/env.js";
import { loadGatewayConfig } from "../../src/config/gateway-config.js";
import type { GatewayConfig, GatewayConfigSources } from "../../src/config/gateway-config.js";

/**
 * What main.ts does before composing: the settings' files and variables read and validated; throws the config errors.
 * The paper venue's prices stay fixed (PAPER_MARKET=fixed) unless a test asks for the walk: tests count on them.
 */
export function gatewayConfig(settings: Partial<Config> = {}, sources: Partial<GatewayConfigSources> = {}): GatewayConfig {
  const r = loadGatewayConfig({ ...defaultConfig(), paperMarket: "fixed", ...settings }, { env: {}, venueKinds: VENUE_KINDS, ...sources });
  if (!r.ok) throw new Error(r.error.join("\n"));
  return r.value;
}
