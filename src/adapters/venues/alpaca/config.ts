import type { VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { builtInVenueKind, exclusiveKeyOption } from "../translator-schema.js";
import { alpacaRules } from "./describe.js";

/** What a `kind: alpaca` entry of the venue file takes (registered in ../registry.ts). */
export const alpacaConfig: VenueKindSchema = builtInVenueKind("alpaca", ["keyId", "secretKey"], alpacaRules, { exclusiveKey: exclusiveKeyOption });
