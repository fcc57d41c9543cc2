import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { VenuesFile } from "../../../src/config/venues-file.js";
import { alpacaDialect } from "./alpaca.js";
import { binanceDialect } from "./binance.js";
import { coinbaseDialect } from "./coinbase.js";
import type { FakeDialect, FakeVenue } from "./fake-venue-server.js";
import { startFakeVenue } from "./fake-venue-server.js";
import { krakenDialect } from "./kraken.js";
import { restJsonDialect } from "./rest-json.js";
import { loadVenues } from "../venue-config.js";

/**
 * Every fake venue plus test/fixtures/venues/contract-venues.yaml pointed at
 * them: shared by the contract suite and the end-to-end tests.
 */

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });

/** Credentials as the gateway reads them (env var name -> value). Binance's are the documented example keys. */
export const venueEnv: Readonly<Record<string, string>> = {
  BINANCE_API_KEY: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
  BINANCE_API_SECRET: "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
  KRAKEN_API_KEY: "kraken-key",
  KRAKEN_API_SECRET: randomBytes(64).toString("base64"),
  ALPACA_KEY_ID: "PKTEST",
  ALPACA_SECRET_KEY: "alpaca-secret",
  COINBASE_KEY_NAME: "organizations/org-1/apiKeys/key-1",
  COINBASE_PRIVATE_KEY: privateKey.export({ type: "sec1", format: "pem" }).toString(),
  ACME_API_KEY: "acme-key",
  ACME_SIGNED_KEY: "acme-signed-key",
  ACME_SIGNED_SECRET: randomBytes(32).toString("base64"),
  ACME_SIGNED_PASSPHRASE: "acme-passphrase",
};

export interface VenueCase {
  readonly venue: string;
  readonly kind: string;
  readonly dialect: () => FakeDialect;
  readonly urlVar: string;
  /** The venue symbol BTC-USD maps to. */
  readonly venueSymbol: string;
  /** Whether the venue signals rate limits with HTTP 429 (else in the body). */
  readonly http429: boolean;
  /** The credential variable whose absence the contract checks. */
  readonly credentialVar: string;
  /** Credentials the venue refuses (a wrong secret where the venue checks a signature). */
  readonly wrongCredentials: Readonly<Record<string, string>>;
}

export const venueCases: readonly VenueCase[] = [
  {
    venue: "binance",
    kind: "binance",
    dialect: () => binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!),
    urlVar: "BINANCE_URL",
    venueSymbol: "BTCUSDT",
    http429: true,
    credentialVar: "BINANCE_API_KEY",
    wrongCredentials: { BINANCE_API_SECRET: "wrong" },
  },
  {
    venue: "kraken",
    kind: "kraken",
    dialect: () => krakenDialect(venueEnv["KRAKEN_API_KEY"]!, venueEnv["KRAKEN_API_SECRET"]!),
    urlVar: "KRAKEN_URL",
    venueSymbol: "XBTUSD",
    http429: false,
    credentialVar: "KRAKEN_API_KEY",
    wrongCredentials: { KRAKEN_API_SECRET: randomBytes(64).toString("base64") },
  },
  {
    venue: "alpaca",
    kind: "alpaca",
    dialect: () => alpacaDialect(venueEnv["ALPACA_KEY_ID"]!, venueEnv["ALPACA_SECRET_KEY"]!),
    urlVar: "ALPACA_URL",
    venueSymbol: "BTC/USD",
    http429: true,
    credentialVar: "ALPACA_KEY_ID",
    wrongCredentials: { ALPACA_SECRET_KEY: "wrong" },
  },
  {
    venue: "coinbase",
    kind: "coinbase",
    dialect: () => coinbaseDialect(venueEnv["COINBASE_KEY_NAME"]!, publicKey),
    urlVar: "COINBASE_URL",
    venueSymbol: "BTC-USD",
    http429: true,
    credentialVar: "COINBASE_KEY_NAME",
    wrongCredentials: { COINBASE_PRIVATE_KEY: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString() },
  },
  {
    venue: "acme",
    kind: "rest-json",
    dialect: () => restJsonDialect(venueEnv["ACME_API_KEY"]!),
    urlVar: "ACME_URL",
    venueSymbol: "BTC_USD",
    http429: true,
    credentialVar: "ACME_API_KEY",
    wrongCredentials: { ACME_API_KEY: "wrong" },
  },
  {
    venue: "acme-signed",
    kind: "rest-json",
    dialect: () => restJsonDialect(venueEnv["ACME_SIGNED_KEY"]!, { secretBase64: venueEnv["ACME_SIGNED_SECRET"]!, passphrase: venueEnv["ACME_SIGNED_PASSPHRASE"]! }),
    urlVar: "ACME_SIGNED_URL",
    venueSymbol: "BTC_USD",
    http429: true,
    credentialVar: "ACME_SIGNED_SECRET",
    // A well-formed key, just not the venue's: only the signature check can refuse it.
    wrongCredentials: { ACME_SIGNED_SECRET: randomBytes(32).toString("base64") },
  },
];

export const contractFixturePath = new URL("../../fixtures/venues/contract-venues.yaml", import.meta.url).pathname;

export interface FakeVenues {
  readonly fakes: ReadonlyMap<string, FakeVenue>;
  readonly file: VenuesFile;
  close(): Promise<void>;
}

/** Starts every fake venue and loads the contract venue file pointed at them. */
export async function startFakeVenues(): Promise<FakeVenues> {
  const fakes = new Map<string, FakeVenue>();
  for (const c of venueCases) fakes.set(c.venue, await startFakeVenue(c.dialect()));
  const urls = Object.fromEntries(venueCases.map((c) => [c.urlVar, fakes.get(c.venue)!.url]));
  const loaded = loadVenues(contractFixturePath, (p) => readFileSync(p, "utf8").replace(/\$\{(\w+)\}/g, (_, n: string) => urls[n] ?? ""));
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.error);
  return {
    fakes,
    file: loaded.value,
    close: async () => {
      await Promise.all([...fakes.values()].map((f) => f.close()));
    },
  };
}
