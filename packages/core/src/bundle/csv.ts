/**
 * CSV -> table bundle. RFC 4180 (quoted fields with "" escapes, commas and newlines inside quotes,
 * CRLF or LF), header row required. Column types are inferred predictably, per column:
 *   every non-empty value a number (also NaN / inf)  -> float64, empty -> NaN
 *   every non-empty value an ISO date or timestamp   -> datetime64[ns], empty -> NaT
 *   every value true/false (any case), none empty    -> bool
 *   anything else                                    -> string (values kept verbatim)
 * A column with no values at all is float64. Blank lines are skipped (as pandas does).
 */
import { Bundle, TABLE_DIM } from "./bundle.js";
import { NAT, parseIsoDatetime } from "./datetime.js";
import { bundleError } from "./validate.js";
import type { VariableInput } from "./types.js";

interface CsvRecord {
  readonly fields: string[];
  /** 1-based line on which the record starts. */
  readonly line: number;
}

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

function parseRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      // One field.
      if (text.charCodeAt(i) === QUOTE) {
        blank = false;
        const quoteLine = line;
        let value = "";
        i++;
        for (;;) {
          const next = text.indexOf('"', i);
          if (next < 0) throw bundleError(`${source}: line ${quoteLine}: a quoted field is never closed (missing '"')`, { source, line: quoteLine });
          const chunk = text.slice(i, next);
          value += chunk;
          for (let j = 0; j < chunk.length; j++) {
            const c = chunk.charCodeAt(j);
            if (c === LF || (c === CR && chunk.charCodeAt(j + 1) !== LF)) line++;
          }
          if (text.charCodeAt(next + 1) === QUOTE) {
            value += '"';
            i = next + 2;
          } else {
            i = next + 1;
            break;
          }
        }
        fields.push(value);
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== CR && c !== LF) {
          throw bundleError(`${source}: line ${line}: unexpected ${JSON.stringify(text[i])} after the closing quote of field ${fields.length}; inside a quoted field write a quote as ""`, {
            source,
            line,
          });
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === CR || c === LF) break;
          j++;
        }
        if (j > i) blank = false;
        fields.push(text.slice(i, j));
        i = j;
      }
      // After a field: a comma, a line end or the end of the text.
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        blank = false;
        i++;
        continue;
      }
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    if (!blank) records.push({ fields, line: start });
  }
  return records;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_NUMBER = /^[+-]?(?:nan|inf|infinity)$/i;
const BOOLEAN = /^(?:true|false)$/i;

function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (SPECIAL_NUMBER.test(t)) {
    const lower = t.toLowerCase().replace(/^\+/, "");
    return lower.endsWith("nan") ? NaN : lower.startsWith("-") ? -Infinity : Infinity;
  }
  return undefined;
}

function inferColumn(values: readonly string[]): VariableInput {
  const nonEmpty = values.filter((v) => v.trim() !== "");
  if (nonEmpty.every((v) => parseNumber(v) !== undefined)) {
    const out = new Float64Array(values.length);
    values.forEach((v, i) => (out[i] = v.trim() === "" ? NaN : parseNumber(v)!));
    return { dims: [TABLE_DIM], dtype: "float64", data: out };
  }
  const dates = values.map((v) => (v.trim() === "" ? NAT : parseIsoDatetime(v.trim())));
  if (dates.every((d) => d !== undefined)) return { dims: [TABLE_DIM], dtype: "datetime64[ns]", data: BigInt64Array.from(dates as bigint[]) };
  if (values.every((v) => BOOLEAN.test(v.trim()))) {
    return { dims: [TABLE_DIM], dtype: "bool", data: Uint8Array.from(values, (v) => (v.trim().toLowerCase() === "true" ? 1 : 0)) };
  }
  return { dims: [TABLE_DIM], dtype: "string", data: [...values] };
}

/** Parses CSV text into a table bundle (1-d variables on dim "row"); `source` names the file in errors. */
export function bundleFromCsv(text: string, options: { source?: string } = {}): Bundle {
  const source = options.source ?? "CSV";
  if (typeof text !== "string") throw bundleError(`${source}: expected CSV text, got ${typeof text}`, { source });
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = parseRecords(body, source);
  const header = records[0];
  if (header === undefined) throw bundleError(`${source}: the file is empty; expected a header row of column names like "date,temp_max"`, { source });
  const names = header.fields;
  names.forEach((name, i) => {
    if (name.trim() === "") {
      throw bundleError(`${source}: line ${header.line}: column ${i + 1} of the header has no name; the first line must be a header of column names`, { source, line: header.line });
    }
    const first = names.indexOf(name);
    if (first !== i) throw bundleError(`${source}: line ${header.line}: duplicate column name '${name}' (columns ${first + 1} and ${i + 1})`, { source, line: header.line });
    if (name === TABLE_DIM) throw bundleError(`${source}: column '${TABLE_DIM}' clashes with the table dimension '${TABLE_DIM}'; rename the column`, { source });
  });
  const columns: string[][] = names.map(() => []);
  for (let r = 1; r < records.length; r++) {
    const { fields, line } = records[r]!;
    if (fields.length !== names.length) {
      throw bundleError(`${source}: line ${line}: expected ${names.length} fields (as in the header) but found ${fields.length}`, {
        source,
        line,
        expected: names.length,
        actual: fields.length,
      });
    }
    fields.forEach((value, c) => columns[c]!.push(value));
  }
  const variables: Record<string, VariableInput> = {};
  names.forEach((name, c) => (variables[name] = inferColumn(columns[c]!)));
  try {
    return Bundle.fromVariables(variables);
  } catch (error) {
    if (error instanceof Error) throw bundleError(`${source}: ${error.message}`, { source }, error);
    throw error;
  }
}
