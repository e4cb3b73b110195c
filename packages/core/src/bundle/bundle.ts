import { dataBytes } from "./dtype.js";
import { BUNDLE_RESERVED_ATTRS, bundleError, normalizeAttrs, normalizeVariable } from "./validate.js";
import type { Attrs, DType, TableInput, Variable, VariableData, VariableInput } from "./types.js";

/** Registered symbol, so that two copies of this module (two installs of core) recognise each other's bundles. */
const BUNDLE_BRAND: unique symbol = Symbol.for("maelstrom.bundle") as typeof BUNDLE_BRAND;

/** The dimension of tables made by Bundle.fromTable (and bundleFromCsv). */
export const TABLE_DIM = "row";

function describeDims(v: Variable): string {
  return `[${v.dims.join(", ")}]`;
}

/**
 * The data passed between pipeline steps: named N-d variables with dims, coordinates and attrs,
 * after xarray's Dataset. Immutable: every "change" returns a new bundle sharing the unchanged
 * arrays (so do not write into a variable's data array; copy it first).
 */
export class Bundle {
  readonly #variables: ReadonlyMap<string, Variable>;
  readonly #coords: ReadonlyMap<string, Variable>;
  readonly #attrs: Attrs;
  readonly #dims: Readonly<Record<string, number>>;
  #nbytes: number | undefined;

  private constructor(variables: ReadonlyMap<string, Variable>, coords: ReadonlyMap<string, Variable>, attrs: Attrs) {
    const sizes = new Map<string, { size: number; from: string }>();
    for (const v of [...variables.values(), ...coords.values()]) {
      v.dims.forEach((dim, i) => {
        const size = v.shape[i] ?? 0;
        const seen = sizes.get(dim);
        if (seen === undefined) sizes.set(dim, { size, from: v.name });
        else if (seen.size !== size) {
          throw bundleError(`dimension '${dim}' has size ${seen.size} in '${seen.from}' but size ${size} in '${v.name}'; a dimension has one size across the bundle`, {
            dimension: dim,
            variable: v.name,
          });
        }
      });
    }
    for (const name of variables.keys()) {
      if (coords.has(name)) throw bundleError(`'${name}' is given both as a data variable and as a coordinate; use one name once`, { variable: name });
      // xarray would silently turn such a variable into the dimension's coordinate (its index).
      if (sizes.has(name)) {
        throw bundleError(`data variable '${name}' has the same name as a dimension; xarray treats it as that dimension's coordinate: pass it in options.coords (1-d on '${name}') or rename it`, { variable: name });
      }
    }
    for (const c of coords.values()) {
      if (sizes.has(c.name) && (c.dims.length !== 1 || c.dims[0] !== c.name)) {
        throw bundleError(`coordinate '${c.name}' has the same name as a dimension, so it must be 1-d along '${c.name}' (dims [${c.name}]), but it has dims ${describeDims(c)}`, { variable: c.name });
      }
      if (!(c.dims.length === 1 && c.dims[0] === c.name) && /\s/.test(c.name)) {
        // Non-dimension coordinates are listed in the space-separated `coordinates` attribute.
        throw bundleError(`coordinate '${c.name}' must not contain whitespace (xarray lists coordinates in a space-separated attribute)`, { variable: c.name });
      }
    }
    this.#variables = variables;
    this.#coords = coords;
    this.#attrs = attrs;
    this.#dims = Object.freeze(Object.fromEntries([...sizes].map(([dim, { size }]) => [dim, size])));
  }

  /** Columns become 1-d variables on dim "row"; all columns must have the same length. */
  /** `dtypes` gives a column a dtype its data does not imply, e.g. `{ date: "datetime64[ns]" }` for a BigInt64Array. */
  static fromTable(columns: TableInput, options: { attrs?: Attrs; dtypes?: Readonly<Record<string, DType>> } = {}): Bundle {
    if (typeof columns !== "object" || columns === null || Array.isArray(columns) || ArrayBuffer.isView(columns)) {
      throw bundleError(`fromTable expects an object of columns like { temp_max: [...], weather: [...] }, got ${Array.isArray(columns) ? "an array" : String(columns)}`);
    }
    let first: { name: string; length: number } | undefined;
    const variables: Record<string, VariableInput> = {};
    for (const [name, data] of Object.entries(columns)) {
      if (name === TABLE_DIM) throw bundleError(`column '${TABLE_DIM}' clashes with the table dimension '${TABLE_DIM}'; rename the column`, { variable: name });
      const length = (data as { length?: unknown } | null)?.length;
      if (typeof length === "number") {
        if (first === undefined) first = { name, length };
        else if (first.length !== length) {
          throw bundleError(`column '${name}' has ${length} values but column '${first.name}' has ${first.length}; all columns of a table must have the same length`, {
            variable: name,
            expected: first.length,
            actual: length,
          });
        }
      }
      const dtype = options.dtypes?.[name];
      variables[name] = dtype === undefined ? { dims: [TABLE_DIM], data } : { dims: [TABLE_DIM], data, dtype };
    }
    for (const name of Object.keys(options.dtypes ?? {})) {
      if (!(name in columns)) throw bundleError(`fromTable: dtypes names column '${name}', which the table does not have`, { variable: name });
    }
    return Bundle.fromVariables(variables, options.attrs === undefined ? {} : { attrs: options.attrs });
  }

  static fromVariables(variables: Record<string, VariableInput>, options: { coords?: Record<string, VariableInput>; attrs?: Attrs } = {}): Bundle {
    const vars = new Map<string, Variable>();
    for (const [name, input] of entries(variables, "variables")) vars.set(name, normalizeVariable(name, input, "variable"));
    const coords = new Map<string, Variable>();
    for (const [name, input] of entries(options.coords ?? {}, "coords")) coords.set(name, normalizeVariable(name, input, "coordinate"));
    return new Bundle(vars, coords, normalizeAttrs(options.attrs, "bundle", BUNDLE_RESERVED_ATTRS));
  }

  /** Data variable names, in insertion order. */
  get variables(): string[] {
    return [...this.#variables.keys()];
  }

  /** Coordinate variable names, in insertion order. */
  get coords(): string[] {
    return [...this.#coords.keys()];
  }

  /** Bundle-level attributes (frozen). */
  get attrs(): Attrs {
    return this.#attrs;
  }

  /** Dimension name -> size over all variables and coordinates, in order of first appearance. */
  get dims(): Record<string, number> {
    return { ...this.#dims };
  }

  /** In-memory size of all data (strings counted as their UTF-8 bytes). */
  get nbytes(): number {
    if (this.#nbytes === undefined) {
      let total = 0;
      for (const v of [...this.#variables.values(), ...this.#coords.values()]) total += dataBytes(v.data);
      this.#nbytes = total;
    }
    return this.#nbytes;
  }

  has(name: string): boolean {
    return this.#variables.has(name) || this.#coords.has(name);
  }

  /** A data variable or coordinate by name. */
  variable(name: string): Variable {
    const found = this.#variables.get(name) ?? this.#coords.get(name);
    if (found === undefined) {
      const names = [...this.#variables.keys(), ...this.#coords.keys()];
      throw bundleError(`bundle has no variable '${name}'; it has: ${names.length === 0 ? "(none)" : names.join(", ")}`, { variable: name, available: names });
    }
    return found;
  }

  /** The data variables as columns; only for bundles whose data variables are all 1-d on one dimension. */
  table(): Record<string, VariableData> {
    const out: Record<string, VariableData> = {};
    let first: Variable | undefined;
    for (const v of this.#variables.values()) {
      if (v.dims.length !== 1) {
        throw bundleError(`table() needs every data variable to be 1-d on the same dimension, but '${v.name}' has dims ${describeDims(v)}; use variable('${v.name}') for N-d data`, { variable: v.name });
      }
      if (first === undefined) first = v;
      else if (first.dims[0] !== v.dims[0]) {
        throw bundleError(`table() needs every data variable on the same dimension, but '${first.name}' is on '${first.dims[0]}' and '${v.name}' is on '${v.dims[0]}'; select() the variables of one table first`, { variable: v.name });
      }
      out[v.name] = v.data;
    }
    return out;
  }

  /**
   * A new bundle with these variables added or replaced (a name that is a coordinate replaces the
   * coordinate) and the attrs merged over the current ones.
   */
  with(variables: Record<string, VariableInput>, options: { attrs?: Attrs } = {}): Bundle {
    const vars = new Map(this.#variables);
    const coords = new Map(this.#coords);
    for (const [name, input] of entries(variables, "variables")) {
      if (coords.has(name)) coords.set(name, normalizeVariable(name, input, "coordinate"));
      else vars.set(name, normalizeVariable(name, input, "variable"));
    }
    const attrs = options.attrs === undefined ? this.#attrs : normalizeAttrs({ ...this.#attrs, ...checkAttrsObject(options.attrs) }, "bundle", BUNDLE_RESERVED_ATTRS);
    return new Bundle(vars, coords, attrs);
  }

  /** A new bundle with only these data variables, in this order, and the coordinates they still use. */
  select(names: readonly string[]): Bundle {
    if (!Array.isArray(names)) throw bundleError(`select() expects an array of variable names, got ${typeof names}`);
    const vars = new Map<string, Variable>();
    for (const name of names) {
      const v = this.#variables.get(name);
      if (v === undefined) {
        if (this.#coords.has(name)) throw bundleError(`select(): '${name}' is a coordinate, not a data variable; coordinates follow the data variables that use their dimensions`, { variable: name });
        this.variable(name); // throws the standard "bundle has no variable" error
      } else vars.set(name, v);
    }
    const used = new Set<string>();
    for (const v of vars.values()) for (const d of v.dims) used.add(d);
    const coords = new Map([...this.#coords].filter(([, c]) => c.dims.every((d) => used.has(d))));
    return new Bundle(vars, coords, this.#attrs);
  }

  /** console.log / util.inspect show the content instead of an empty object. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const line = (v: Variable): string => `    ${v.name} (${v.dims.join(", ")}) ${v.dtype} [${v.shape.join(", ")}]`;
    const parts = [`Bundle (${Object.entries(this.#dims).map(([d, s]) => `${d}: ${s}`).join(", ")})`];
    if (this.#coords.size > 0) parts.push("  coords:", ...[...this.#coords.values()].map(line));
    parts.push("  variables:", ...[...this.#variables.values()].map(line));
    if (Object.keys(this.#attrs).length > 0) parts.push(`  attrs: ${JSON.stringify(this.#attrs)}`);
    return parts.join("\n");
  }
}

Object.defineProperty(Bundle.prototype, BUNDLE_BRAND, { value: true });

function checkAttrsObject(attrs: unknown): Attrs {
  if (typeof attrs !== "object" || attrs === null || Array.isArray(attrs)) throw bundleError(`bundle: attrs must be a plain object, got ${String(attrs)}`);
  return attrs as Attrs;
}

function entries<T>(record: Record<string, T>, what: string): [string, T][] {
  if (typeof record !== "object" || record === null || Array.isArray(record) || ArrayBuffer.isView(record)) {
    throw bundleError(`${what} must be an object mapping names to { dims, data, ... }, got ${Array.isArray(record) ? "an array" : String(record)}`);
  }
  return Object.entries(record);
}

/** Brand check that works across duplicated copies of this module. */
export function isBundle(value: unknown): value is Bundle {
  return typeof value === "object" && value !== null && (value as { [BUNDLE_BRAND]?: unknown })[BUNDLE_BRAND] === true;
}
