/** Small DOM helpers: elements built with textContent only (no innerHTML), so nothing a venue or a client sends is parsed as markup. */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`#${id} missing from index.html`);
  return e as T;
}

export type Cell = string | Node | { text: string; cls: string };

export function el(tag: string, cls?: string, ...children: Cell[]): HTMLElement {
  const e = document.createElement(tag);
  if (cls !== undefined && cls !== "") e.className = cls;
  for (const c of children) e.append(cell(c));
  return e;
}

function cell(c: Cell): Node {
  if (typeof c === "string" || c instanceof Node) return typeof c === "string" ? document.createTextNode(c) : c;
  return el("span", c.cls, c.text);
}

/** Replaces the rows of `table`'s body; each row is a list of cells, `key` goes to data-key. */
export function fillTable(table: string, rows: ReadonlyArray<{ key: string; cells: Cell[] }>, empty = "none"): void {
  const body = $(table).querySelector("tbody")!;
  const trs = rows.map((r) => {
    const tr = el("tr");
    tr.dataset["key"] = r.key;
    for (const c of r.cells) tr.append(el("td", undefined, c));
    return tr;
  });
  if (trs.length === 0) {
    const td = el("td", "note", empty);
    td.setAttribute("colspan", String($(table).querySelectorAll("th").length));
    trs.push(el("tr", undefined, td));
  }
  body.replaceChildren(...trs);
}

export function time(t: Timestamp | undefined): string {
  if (t === undefined) return "";
  const d = new Date(timestampMs(t));
  return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

/** A status word styled by its class (s-FILLED, s-HALTED, ...). */
export const badge = (word: string): Cell => ({ text: word, cls: `badge s-${word}` });

/** A signed decimal string, coloured by its sign; kept as the server's string (no float). */
export const signed = (s: string): Cell => ({ text: s, cls: s.startsWith("-") ? "neg" : /^0(\.0*)?$/.test(s) || s === "" ? "" : "pos" });

export function note(id: string, text: string, error = false): void {
  const e = $(id);
  e.textContent = text;
  e.classList.toggle("error", error);
}
