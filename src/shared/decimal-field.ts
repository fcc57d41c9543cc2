import * as v from "valibot";
// decimal.js itself, not the domain clone: only construction and toFixed are used (no precision or rounding matters), and src/shared imports nothing of ours.
import { Decimal } from "decimal.js";

/** A plain decimal as written in a file: digits, an optional fraction, no sign or exponent. */
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

export interface DecimalFieldOptions {
  /** Zero is refused too (a price); otherwise zero is allowed (a fee rate, a limit). */
  readonly positive?: boolean;
  /** At most this many fraction digits (a risk limit: the risk arithmetic is exact to 18). */
  readonly maxFractionDigits?: number;
}

/**
 * A decimal setting in a YAML/JSON file, as a decimal string. Written either
 * as a string ("100", "0.001") or as a number (100, 1e6, 0.001), because
 * YAML makes a number of anything that looks like one and users should not
 * have to quote their limits. A number is rendered with decimal.js, exactly as
 * the file wrote it (0.1 stays "0.1", 1e6 becomes "1000000"); see
 * parseYamlExact for numbers with more digits than a double holds. NaN,
 * infinities and negative values are refused with a message the caller
 * prefixes with the field's path.
 */
export function decimalField(options: DecimalFieldOptions = {}): v.GenericSchema<unknown, string> {
  const example = options.positive ? `such as "100" or 0.5` : `such as "100", 0.5 or 0`;
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      let d: Decimal;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) {
          addIssue({ message: `must be a finite decimal ${example}, got ${String(value)}` });
          return NEVER;
        }
        d = new Decimal(value);
      } else if (typeof value === "string" && PLAIN_DECIMAL.test(value)) {
        d = new Decimal(value);
      } else if (typeof value === "string" && /^-\d+(\.\d+)?$/.test(value)) {
        addIssue({ message: `must not be negative, got "${value}"` });
        return NEVER;
      } else {
        addIssue({ message: `must be a decimal ${example}, got ${JSON.stringify(value) ?? String(value)}` });
        return NEVER;
      }
      if (d.isNegative() && !d.isZero()) {
        addIssue({ message: `must not be negative, got ${String(value)}` });
        return NEVER;
      }
      if (options.positive && d.isZero()) {
        addIssue({ message: `must be greater than zero, got ${JSON.stringify(value)}` });
        return NEVER;
      }
      if (options.maxFractionDigits !== undefined && d.decimalPlaces() > options.maxFractionDigits) {
        addIssue({ message: `must have at most ${options.maxFractionDigits} fraction digits, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}` });
        return NEVER;
      }
      // Strings are kept as written; numbers become their exact decimal ("-0" becomes "0").
      return typeof value === "string" ? value : d.isZero() ? "0" : d.toFixed();
    }),
  );
}
