import { parseDocument, visit } from "yaml";
import { Decimal } from "../domain/decimal.js";

/** A YAML/JSON decimal number literal: what decimal.js can read exactly. */
const NUMBER_LITERAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * YAML (of which JSON is a subset) to plain values, like yaml's `parse`,
 * except that a number a double cannot hold exactly
 * (0.12345678901234567891, 12345678901234567890) becomes the decimal string
 * the file wrote instead of a rounded double: a decimal setting then gets
 * the user's digits, and an integer setting refuses the value instead of
 * silently using another one. Numbers a double holds stay numbers.
 * Throws the first syntax error, as `parse` does.
 */
export function parseYamlExact(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw doc.errors[0];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "number" || !Number.isFinite(node.value)) return;
      const source = node.source;
      if (source === undefined || !NUMBER_LITERAL.test(source)) return;
      const exact = new Decimal(source);
      if (!exact.equals(node.value)) node.value = exact.toFixed();
    },
  });
  return doc.toJS();
}
