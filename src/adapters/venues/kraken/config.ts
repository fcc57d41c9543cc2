import type { VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { builtInVenueKind, exclusiveKeyOption } from "../translator-schema.js";
import { krakenRules } from "./describe.js";

/** What a `kind: kraken` entry of the venue file takes (registered in ../registry.ts). */
export const krakenConfig: VenueKindSchema = builtInVenueKind("kraken", ["apiKey", "apiSecret"], krakenRules, { exclusiveKey: exclusiveKeyOption });
