import { InputError } from "@maelstrom/errors";
import { parseIsoDatetime, NAT } from "./datetime.js";
import { INT_RANGES, NATURAL_DTYPE, NUMERIC_DTYPES, isDType, typedArrayName, ALL_DTYPES } from "./dtype.js";
import type { AttrValue, Attrs, DType, Variable, VariableData, VariableInput } from "./types.js";

export function bundleError(message: string, details: Record<string, string | number | boolean | null | readonly string[]> = {}, cause?: unknown): InputError {
  return new InputError(message, cause === undefined ? { code: "BUNDLE_INVALID", details } : { code: "BUNDLE_INVALID", details, cause });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (ArrayBuffer.isView(value)) return `a ${typedArrayName(value)}`;
  if (typeof value === "object") {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    const name = typeof ctor?.name === "string" ? ctor.name : "";
    return name !== "" && name !== "Object" ? `a ${name}` : "an object";
  }
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)})`;
  if (typeof value === "bigint") return `a bigint (${value}n)`;
  return `a ${typeof value} (${String(value)})`;
}

/** Variable and coordinate names become directory names on disk and keys in xarray. */
function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw bundleError(`${what} name must be a non-empty string, got ${describe(name)}`, { name: typeof name === "string" ? name : null });
  }
  if (name.includes("/") || name.includes("\\") || name.includes("\u0000")) {
    throw bundleError(`${what} name '${name}' must not contain '/', '\\' or NUL (it becomes a directory name in the Zarr store)`, { name });
  }
  if (name.startsWith(".")) {
    throw bundleError(`${what} name '${name}' must not start with '.' (names like '.zattrs' are Zarr metadata files)`, { name });
  }
}

const MAX_ATTR_DEPTH = 64;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Deep-copies and freezes attrs, so a bundle cannot change behind its back. Only JSON-like values
 * are accepted because attrs are stored as JSON; NaN and ±Infinity are kept (written as Python does).
 */
export function normalizeAttrs(attrs: unknown, where: string, reserved: readonly string[]): Attrs {
  if (attrs === undefined) return Object.freeze({});
  if (!isPlainObject(attrs)) {
    throw bundleError(`${where}: attrs must be a plain object of JSON-like values, got ${describe(attrs)}`);
  }
  for (const key of reserved) {
    if (Object.hasOwn(attrs, key)) {
      throw bundleError(`${where}: attribute '${key}' is reserved (Maelstrom writes it for xarray); rename it`, { attribute: key });
    }
  }
  return copyAttr(attrs, `${where}: attrs`, 0) as Attrs;
}

function copyAttr(value: unknown, path: string, depth: number): AttrValue {
  if (depth > MAX_ATTR_DEPTH) throw bundleError(`${path}: attrs nest deeper than ${MAX_ATTR_DEPTH} levels (a cycle?)`);
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) {
    const out: AttrValue[] = [];
    for (let i = 0; i < value.length; i++) out.push(copyAttr(value[i], `${path}[${i}]`, depth + 1));
    return Object.freeze(out) as AttrValue[];
  }
  if (isPlainObject(value)) {
    const out: Record<string, AttrValue> = {};
    for (const [key, item] of Object.entries(value)) out[key] = copyAttr(item, `${path}.${key}`, depth + 1);
    return Object.freeze(out);
  }
  const hint = ArrayBuffer.isView(value) ? " (convert it with Array.from)" : typeof value === "bigint" ? " (convert it to a number or string)" : "";
  throw bundleError(`${path} is ${describe(value)}; attrs must be JSON-like: string, number, boolean, null, arrays or plain objects${hint}`);
}

type Kind = "number" | "string" | "boolean" | "bigint";

function convertArray(label: string, data: readonly unknown[], dtype: DType | undefined): { dtype: DType; data: VariableData } {
  let kind: Kind | undefined;
  let firstIndex = 0;
  for (let i = 0; i < data.length; i++) {
    const item = data[i];
    const t = typeof item;
    if (t !== "number" && t !== "string" && t !== "boolean" && t !== "bigint") {
      const extra = Array.isArray(item) || ArrayBuffer.isView(item) ? "; nested (ragged) arrays are not supported: pass flat data in C order and give shape" : "";
      throw bundleError(`${label}: element ${i} is ${describe(item)}; expected numbers, strings, booleans or bigints${extra}`, { index: i });
    }
    if (kind === undefined) {
      kind = t;
      firstIndex = i;
    } else if (kind !== t) {
      throw bundleError(`${label}: mixes types: element ${firstIndex} is a ${kind} but element ${i} is ${describe(item)}; all elements must have one type`, { index: i });
    }
  }
  const effective: DType = dtype ?? (kind === "string" ? "string" : kind === "boolean" ? "bool" : kind === "bigint" ? "int64" : "float64");
  const n = data.length;
  if (n === 0) return { dtype: effective, data: effective === "string" ? [] : new NUMERIC_DTYPES[effective].ctor(0) };

  if (kind === "string") {
    if (effective === "string") return { dtype: effective, data: (data as readonly string[]).slice() };
    if (effective === "datetime64[ns]") {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const s = data[i] as string;
        const ns = s === "" || s === "NaT" ? NAT : parseIsoDatetime(s);
        if (ns === undefined) {
          throw bundleError(`${label}: element ${i} (${JSON.stringify(s)}) is not an ISO date or timestamp (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]) within datetime64[ns]'s range 1678–2262`, { index: i });
        }
        out[i] = ns;
      }
      return { dtype: effective, data: out };
    }
    throw bundleError(`${label}: string data cannot have dtype ${effective}; use dtype "string" (or "datetime64[ns]" for ISO dates)`);
  }
  if (kind === "boolean") {
    if (effective !== "bool") throw bundleError(`${label}: boolean data needs dtype "bool", got dtype ${effective}`);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[i] === true ? 1 : 0;
    return { dtype: effective, data: out };
  }
  if (effective === "string") throw bundleError(`${label}: ${kind} data cannot have dtype "string"; pass strings`);
  const info = NUMERIC_DTYPES[effective];
  if (kind === "bigint") {
    const range = INT_RANGES[effective];
    if (range === undefined || (effective !== "int64" && effective !== "uint64" && effective !== "datetime64[ns]")) {
      throw bundleError(`${label}: bigint data needs dtype int64, uint64 or datetime64[ns], got dtype ${effective}`);
    }
    const out = new info.ctor(n) as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const v = data[i] as bigint;
      if (v < range[0] || v > range[1]) throw bundleError(`${label}: element ${i} (${v}n) is outside ${effective}'s range ${range[0]}..${range[1]}`, { index: i });
      out[i] = v;
    }
    return { dtype: effective, data: out };
  }
  // numbers
  if (info.kind === "float") {
    const numbers = data as readonly number[];
    return { dtype: effective, data: effective === "float32" ? Float32Array.from(numbers) : Float64Array.from(numbers) };
  }
  if (info.kind === "bool") {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = data[i] as number;
      if (v !== 0 && v !== 1) throw bundleError(`${label}: element ${i} (${v}) is not a bool; expected 0 or 1 (or pass true/false)`, { index: i });
      out[i] = v;
    }
    return { dtype: effective, data: out };
  }
  const range = INT_RANGES[effective] ?? [0n, 0n];
  if (info.itemsize === 8) {
    const out = new info.ctor(n) as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const v = data[i] as number;
      if (!Number.isSafeInteger(v) || BigInt(v) < range[0]) {
        throw bundleError(`${label}: element ${i} (${v}) is not a valid ${effective}: numbers for 64-bit dtypes must be safe integers${range[0] === 0n ? " >= 0" : ""} (pass bigints for larger values)`, { index: i });
      }
      out[i] = BigInt(v);
    }
    return { dtype: effective, data: out };
  }
  const lo = Number(range[0]);
  const hi = Number(range[1]);
  const out = new info.ctor(n) as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw bundleError(`${label}: element ${i} (${v}) is not a valid ${effective}; expected integers from ${lo} to ${hi}`, { index: i });
    }
    out[i] = v;
  }
  return { dtype: effective, data: out };
}

/** Checks the data against the dtype and brings it to its stored form; typed arrays are kept, not copied. */
function normalizeData(label: string, data: unknown, dtype: unknown): { dtype: DType; data: VariableData } {
  if (dtype !== undefined && !isDType(dtype)) {
    throw bundleError(`${label}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${ALL_DTYPES.join(", ")}`);
  }
  if (ArrayBuffer.isView(data)) {
    const arrayName = typedArrayName(data);
    const natural = NATURAL_DTYPE[arrayName];
    if (natural === undefined) {
      throw bundleError(`${label}: ${arrayName} is not supported; use one of ${Object.keys(NATURAL_DTYPE).join(", ")}`);
    }
    const effective = dtype ?? natural;
    if (effective === "string" || NUMERIC_DTYPES[effective].arrayName !== arrayName) {
      const needed = effective === "string" ? "a string[]" : `a ${NUMERIC_DTYPES[effective].arrayName}`;
      throw bundleError(`${label}: dtype ${effective} needs ${needed}, got a ${arrayName}`);
    }
    if (effective === "bool") {
      const bytes = data as Uint8Array;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i]! > 1) throw bundleError(`${label}: element ${i} (${bytes[i]}) is not a bool; bool data must hold 0 or 1`, { index: i });
      }
    }
    return { dtype: effective, data: data as VariableData };
  }
  if (Array.isArray(data)) return convertArray(label, data as readonly unknown[], dtype);
  throw bundleError(`${label}: data must be a typed array or an array of numbers, strings, booleans or bigints, got ${describe(data)}`);
}

function checkShape(label: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
    throw bundleError(`${label}: shape must be an array of non-negative integers, got ${JSON.stringify(shape) ?? describe(shape)}`);
  }
  return shape as number[];
}

const VARIABLE_RESERVED_ATTRS = ["_ARRAY_DIMENSIONS", "coordinates"] as const;
export const BUNDLE_RESERVED_ATTRS = ["coordinates", "_maelstrom_order"] as const;

/** Validates one variable on its own; consistency across variables is checked by the bundle. */
export function normalizeVariable(name: string, input: unknown, what: "variable" | "coordinate"): Variable {
  checkName(name, what === "variable" ? "variable" : "coordinate");
  const label = `${what} '${name}'`;
  if (!isPlainObject(input) && !(typeof input === "object" && input !== null && "dims" in input && "data" in input)) {
    throw bundleError(`${label} must be an object { dims, shape?, dtype?, data, attrs? }, got ${describe(input)}`, { variable: name });
  }
  const spec = input as Partial<VariableInput>;
  const dims = spec.dims;
  if (!Array.isArray(dims) || !dims.every((d) => typeof d === "string" && d !== "")) {
    throw bundleError(`${label}: dims must be an array of non-empty strings like ["time", "lat"], got ${JSON.stringify(dims) ?? describe(dims)}`, { variable: name });
  }
  const duplicate = dims.find((d, i) => dims.indexOf(d) !== i);
  if (duplicate !== undefined) throw bundleError(`${label}: dimension '${duplicate}' appears twice in dims [${dims.join(", ")}]`, { variable: name });
  const { dtype, data } = normalizeData(label, spec.data, spec.dtype);
  let shape: readonly number[];
  if (spec.shape !== undefined) shape = checkShape(label, spec.shape);
  else if (dims.length <= 1) shape = dims.length === 0 ? [] : [data.length];
  else throw bundleError(`${label}: shape is required for ${dims.length}-d data (dims [${dims.join(", ")}])`, { variable: name });
  if (shape.length !== dims.length) {
    throw bundleError(`${label}: dims [${dims.join(", ")}] have ${dims.length} entries but shape [${shape.join(", ")}] has ${shape.length}; give one size per dimension`, { variable: name });
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw bundleError(`${label}: shape [${shape.join(", ")}] holds ${size} values but data has ${data.length}`, { variable: name, expected: size, actual: data.length });
  }
  const attrs = normalizeAttrs(spec.attrs, label, VARIABLE_RESERVED_ATTRS);
  return Object.freeze({ name, dims: Object.freeze([...dims]), shape: Object.freeze([...shape]), dtype, data, attrs });
}
