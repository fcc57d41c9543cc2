import { decimalJsMath, type DecimalMath, type DecimalMathName } from "./decimal-math.js";
import { scaledDecimalMath } from "./scaled-decimal-math.js";

/** The implementation a DECIMAL_MATH setting names. */
export function decimalMathNamed(name: DecimalMathName): DecimalMath {
  return name === "decimal.js" ? decimalJsMath : scaledDecimalMath;
}
