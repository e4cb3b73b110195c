/**
 * JSON for Zarr metadata. Two departures from JSON.stringify/parse, both for the Python ecosystem:
 * - output is canonical (keys sorted recursively, fixed indent) so the same bundle always gives the
 *   same bytes, which content addressing depends on;
 * - NaN / Infinity / -Infinity are written and read as bare tokens, as Python's json module (and so
 *   zarr and xarray) does, instead of being silently turned into null;
 * - non-ASCII characters are written as \uXXXX escapes (Python's ensure_ascii), because zarr 2.13
 *   (Debian 12) decodes metadata as ASCII.
 */

const INDENT = "  ";

export function canonicalJson(value: unknown): string {
  return write(value, "");
}

function write(value: unknown, indent: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return asciiString(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isNaN(value)) return "NaN";
      if (value === Infinity) return "Infinity";
      if (value === -Infinity) return "-Infinity";
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new TypeError(`cannot write ${typeof value} as JSON`);
  }
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item: unknown) => inner + write(item, inner)).join(",\n")}\n${indent}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort(compareCodePoints);
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((key) => `${inner}${asciiString(key)}: ${write(record[key], inner)}`).join(",\n")}\n${indent}}`;
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Code point order (what Python's sort_keys does), not UTF-16 code unit order. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const pa = ca.value.codePointAt(0) ?? 0;
    const pb = cb.value.codePointAt(0) ?? 0;
    if (pa !== pb) return pa - pb;
  }
}

const MARKER = "\u0000maelstrom-json:";
const SPECIAL: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** JSON.parse that also accepts the bare NaN / Infinity / -Infinity tokens Python writes. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const replaced = replaceSpecialTokens(text);
    if (replaced === text) throw error;
    return JSON.parse(replaced, (_key, value: unknown) =>
      typeof value === "string" && value.startsWith(MARKER) ? SPECIAL[value.slice(MARKER.length)] : value,
    ) as unknown;
  }
}

function replaceSpecialTokens(text: string): string {
  let out = "";
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      // Skip the string, honouring backslash escapes.
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    const token = text.startsWith("-Infinity", i) ? "-Infinity" : text.startsWith("Infinity", i) ? "Infinity" : text.startsWith("NaN", i) ? "NaN" : undefined;
    if (token !== undefined) {
      out += text.slice(last, i) + JSON.stringify(MARKER + token);
      i += token.length;
      last = i;
      continue;
    }
    i++;
  }
  return out + text.slice(last);
}
