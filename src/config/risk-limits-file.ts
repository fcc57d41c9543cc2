import { readFileSync } from "node:fs";
import * as v from "valibot";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";
import type { RiskLimitsConfig } from "../use-cases/risk.js";
import { decimalField } from "../shared/decimal-field.js";
import { strictFields } from "../shared/strict-fields.js";
import { parseYamlExact } from "./parse-yaml-exact.js";

// Limits may be written as YAML numbers too (maxNotional: 1e6); they become exact decimal strings.
const decimal = decimalField();
const symbolLimits = strictFields({ maxQuantity: v.optional(decimal), maxNotional: v.optional(decimal), maxPosition: v.optional(decimal) });
const riskLimitsSchema = v.record(
  v.pipe(v.string(), v.minLength(1)),
  strictFields({
    maxQuantity: v.optional(decimal),
    maxNotional: v.optional(decimal),
    allowedSymbols: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    symbols: v.optional(v.record(v.pipe(v.string(), v.minLength(1)), symbolLimits)),
    maxPosition: v.optional(decimal),
    maxGrossExposure: v.optional(decimal),
    dailyLossLimit: v.optional(decimal),
  }),
);

/**
 * RISK_LIMITS_FILE (YAML or JSON): account (or "*") -> { maxQuantity, maxNotional, maxPosition,
 * maxGrossExposure, dailyLossLimit, allowedSymbols, symbols: { SYMBOL: { maxQuantity, maxNotional,
 * maxPosition } } }.
 * Errors name the file and the path of the bad field.
 */
export function parseRiskLimits(text: string, path: string): Result<RiskLimitsConfig, string> {
  let doc: unknown;
  try {
    doc = parseYamlExact(text);
  } catch (e) {
    return err(`RISK_LIMITS_FILE ${path}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(riskLimitsSchema, doc ?? {});
  if (!r.success) {
    const i = r.issues[0]!;
    const at = v.getDotPath(i) ?? "(top level)";
    return err(`RISK_LIMITS_FILE ${path}: ${at}: ${i.message}`);
  }
  return ok(r.output as RiskLimitsConfig);
}

/** Reads and validates RISK_LIMITS_FILE. */
export function loadRiskLimitsFile(path: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): Result<RiskLimitsConfig, string> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    return err(`RISK_LIMITS_FILE ${path} cannot be read: ${(e as Error).message}`);
  }
  return parseRiskLimits(text, path);
}
