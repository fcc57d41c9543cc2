import type * as v from "valibot";

/**
 * The contract between the venue file (src/config/venues-file.ts) and the venues
 * (src/adapters/venues/<venue>/config.ts): each venue kind describes what its entry in the
 * file may hold, and config/ validates the file with the kinds it is given (main.ts passes
 * the registry's list) without importing any venue. It lives on the shared floor because
 * both sides use it and neither may import the other.
 */

/** Where a secret comes from: an environment variable or a file (e.g. a mounted secret). */
export type CredentialSource = { readonly env: string } | { readonly file: string };

/**
 * One venue of the file as the envelope validated it; the kind's own options are in the same
 * mapping. `Credential` is where each secret comes from (CredentialSource) in the file, and
 * its value (string) once config/ has resolved it.
 */
export interface VenueEntryOf<Credential> {
  readonly name: string;
  readonly kind: string;
  /** Required for every kind that talks to a venue over HTTP. */
  readonly baseUrl?: string;
  readonly credentials: Readonly<Record<string, Credential>>;
  /** Gateway symbol -> venue symbol; empty = pass through. */
  readonly symbols: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly connections?: number;
  /** Outbound budget of this venue's credential; default: the venue's documented limit. */
  readonly rateLimit?: { readonly capacity: number; readonly refillPerSecond: number };
  /** The kind's options (VenueKindSchema.options), validated by their schemas. */
  readonly [option: string]: unknown;
}

export type VenueEntry = VenueEntryOf<CredentialSource>;

/** A problem with one of a kind's options: a message, or valibot issues the venue file words like its own. */
export interface VenueOptionIssue {
  /** Path below the venue, e.g. "rules.query.path" or "auth.secret". */
  readonly field: string;
  readonly message?: string;
  readonly issues?: readonly v.BaseIssue<unknown>[];
}

export interface VenueOption {
  readonly schema: v.GenericSchema;
  /** What the file is told when a venue of another kind sets this option. */
  readonly otherKinds: (kind: string) => string;
}

export interface VenueKindSchema {
  readonly kind: string;
  /** False for a kind that runs in the gateway (paper) and so takes no baseUrl. */
  readonly needsBaseUrl: boolean;
  /** Credential names the kind needs; the first one identifies the account (shared outbound budget). */
  readonly requiredCredentials: readonly string[];
  /** Options only this kind takes. Two kinds may declare the same option with the same schema. */
  readonly options: Readonly<Record<string, VenueOption>>;
  /** Checks across the entry's fields once it parsed; may complete it (built-in rules merged with overrides). */
  readonly check?: (entry: VenueEntry) => { readonly entry: VenueEntry } | { readonly issue: VenueOptionIssue };
  /** The credential that identifies the account when requiredCredentials names none (rest-json's auth rules). */
  readonly mainCredential?: (entry: VenueEntry) => string | undefined;
}
