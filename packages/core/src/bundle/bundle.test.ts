import { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { Bundle, isBundle } from "./index.js";
import type { VariableInput } from "./index.js";

function bundleError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe("BUNDLE_INVALID");
    return error as InputError;
  }
  throw new Error("expected an InputError");
}

describe("Bundle.fromTable", () => {
  it("makes 1-d variables on dim 'row' with inferred dtypes", () => {
    const b = Bundle.fromTable({
      temp_max: [12.8, 10.6, 11.7],
      weather: ["drizzle", "rain", "sun"],
      wet: [true, false, true],
      id: new Int32Array([1, 2, 3]),
      big: [1n, 2n, 3n] as unknown as readonly number[],
    });
    expect(b.variables).toEqual(["temp_max", "weather", "wet", "id", "big"]);
    expect(b.coords).toEqual([]);
    expect(b.dims).toEqual({ row: 3 });
    expect(b.variable("temp_max")).toMatchObject({ name: "temp_max", dims: ["row"], shape: [3], dtype: "float64" });
    expect(b.variable("temp_max").data).toBeInstanceOf(Float64Array);
    expect(b.variable("weather").dtype).toBe("string");
    expect(b.variable("wet").dtype).toBe("bool");
    expect(Array.from(b.variable("wet").data as Uint8Array)).toEqual([1, 0, 1]);
    expect(b.variable("id").dtype).toBe("int32");
    expect(b.variable("big").dtype).toBe("int64");
    const table = b.table();
    expect(Object.keys(table)).toEqual(b.variables);
    expect(table["weather"]).toEqual(["drizzle", "rain", "sun"]);
  });

  it("keeps typed arrays without copying them", () => {
    const data = new Float32Array([1, 2, 3]);
    const b = Bundle.fromTable({ x: data });
    expect(b.variable("x").data).toBe(data);
    expect(b.nbytes).toBe(12);
  });

  it("names both columns and lengths when they differ", () => {
    const e = bundleError(() => Bundle.fromTable({ a: [1, 2, 3, 4], b: ["x", "y", "z"] }));
    expect(e.message).toBe("column 'b' has 3 values but column 'a' has 4; all columns of a table must have the same length");
    expect(e.details).toMatchObject({ variable: "b", expected: 4, actual: 3 });
  });

  it("rejects a column named like the table dimension", () => {
    expect(bundleError(() => Bundle.fromTable({ row: [1] })).message).toContain("column 'row' clashes with the table dimension 'row'");
  });

  it("attaches attrs", () => {
    const b = Bundle.fromTable({ a: [1] }, { attrs: { source: "NOAA", version: 2 } });
    expect(b.attrs).toEqual({ source: "NOAA", version: 2 });
  });
});

describe("Bundle.fromVariables", () => {
  const grid = (): Bundle =>
    Bundle.fromVariables(
      {
        t2m: { dims: ["time", "lat", "lon"], shape: [2, 3, 4], data: new Float32Array(24), attrs: { units: "K" } },
        mask: { dims: ["lat", "lon"], shape: [3, 4], dtype: "bool", data: new Uint8Array(12) },
      },
      {
        coords: {
          time: { dims: ["time"], dtype: "datetime64[ns]", data: ["2020-01-01", "2020-01-02T12:00:00Z"] },
          lat: { dims: ["lat"], data: [10, 20, 30] },
          lon: { dims: ["lon"], data: [0, 90, 180, 270] },
          station: { dims: ["lat"], data: ["a", "b", "c"] },
        },
        attrs: { title: "test grid", history: ["created"] },
      },
    );

  it("builds an N-d bundle with coords and attrs", () => {
    const b = grid();
    expect(b.variables).toEqual(["t2m", "mask"]);
    expect(b.coords).toEqual(["time", "lat", "lon", "station"]);
    expect(b.dims).toEqual({ time: 2, lat: 3, lon: 4 });
    expect(b.has("t2m") && b.has("lat") && !b.has("nope")).toBe(true);
    expect(b.variable("t2m")).toMatchObject({ dims: ["time", "lat", "lon"], shape: [2, 3, 4], dtype: "float32", attrs: { units: "K" } });
    expect(Array.from(b.variable("time").data as BigInt64Array)).toEqual([1577836800000000000n, 1577966400000000000n]);
    expect(b.nbytes).toBe(24 * 4 + 12 + 2 * 8 + 3 * 8 + 4 * 8 + 3);
    expect(b.attrs).toEqual({ title: "test grid", history: ["created"] });
  });

  it("supports 0-d scalars and empty arrays", () => {
    const b = Bundle.fromVariables({ s: { dims: [], data: [2.5] }, e: { dims: ["n"], data: [] }, e2: { dims: ["m", "k"], shape: [0, 3], dtype: "int16", data: [] } });
    expect(b.variable("s")).toMatchObject({ shape: [], dtype: "float64" });
    expect(b.variable("e")).toMatchObject({ shape: [0], dtype: "float64" });
    expect(b.variable("e2")).toMatchObject({ shape: [0, 3], dtype: "int16" });
    expect(b.dims).toEqual({ n: 0, m: 0, k: 3 });
  });

  it("converts plain arrays to the requested dtype and checks ranges", () => {
    const b = Bundle.fromVariables({
      a: { dims: ["n"], dtype: "uint8", data: [0, 255] },
      b: { dims: ["n"], dtype: "int64", data: [-1, 2 ** 53 - 1] },
      c: { dims: ["n"], dtype: "float32", data: [0.5, NaN] },
      d: { dims: ["n"], dtype: "uint64", data: [0n, 2n ** 64n - 1n] },
      e: { dims: ["n"], dtype: "bool", data: [0, 1] },
    });
    expect(b.variable("a").data).toEqual(new Uint8Array([0, 255]));
    expect(b.variable("b").data).toEqual(new BigInt64Array([-1n, 2n ** 53n - 1n]));
    expect(b.variable("c").data).toEqual(new Float32Array([0.5, NaN]));
    expect(b.variable("d").data).toEqual(new BigUint64Array([0n, 2n ** 64n - 1n]));
    expect(b.variable("e").data).toEqual(new Uint8Array([0, 1]));
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "int8", data: [1, 128] } })).message).toBe(
      "variable 'a': element 1 (128) is not a valid int8; expected integers from -128 to 127",
    );
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "int32", data: [1.5] } })).message).toContain("element 0 (1.5) is not a valid int32");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "uint64", data: [-1] } })).message).toContain("must be safe integers >= 0");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "bool", data: [2] } })).message).toContain("element 0 (2) is not a bool");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "bool", data: new Uint8Array([0, 3]) } })).message).toContain("element 1 (3) is not a bool");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "int8", data: [1n] } })).message).toContain("bigint data needs dtype int64, uint64 or datetime64[ns]");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: ["n"], dtype: "datetime64[ns]", data: ["2020-02-30"] } })).message).toContain(
      'element 0 ("2020-02-30") is not an ISO date or timestamp',
    );
  });

  it("rejects mismatched shapes, dims and dim sizes with the variable named", () => {
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: ["a", "b"], shape: [2, 3], data: new Float32Array(5) } })).message).toBe(
      "variable 't': shape [2, 3] holds 6 values but data has 5",
    );
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: ["a"], shape: [2, 3], data: new Float32Array(6) } })).message).toBe(
      "variable 't': dims [a] have 1 entries but shape [2, 3] has 2; give one size per dimension",
    );
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: ["a", "b"], data: new Float32Array(6) } })).message).toBe(
      "variable 't': shape is required for 2-d data (dims [a, b])",
    );
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: ["a", "a"], shape: [1, 1], data: [1] } })).message).toContain("dimension 'a' appears twice");
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: ["a"], shape: [-1], data: [] } })).message).toContain("shape must be an array of non-negative integers");
    expect(
      bundleError(() => Bundle.fromVariables({ x: { dims: ["time"], data: [1, 2] }, y: { dims: ["time"], data: [1, 2, 3] } })).message,
    ).toBe("dimension 'time' has size 2 in 'x' but size 3 in 'y'; a dimension has one size across the bundle");
    expect(bundleError(() => Bundle.fromVariables({ x: { dims: ["lat"], data: [1, 2] } }, { coords: { lat: { dims: ["lat"], data: [1, 2, 3] } } })).message).toBe(
      "dimension 'lat' has size 2 in 'x' but size 3 in 'lat'; a dimension has one size across the bundle",
    );
  });

  it("rejects bad names", () => {
    expect(bundleError(() => Bundle.fromVariables({ "": { dims: [], data: [1] } })).message).toContain("variable name must be a non-empty string");
    expect(bundleError(() => Bundle.fromVariables({ "a/b": { dims: [], data: [1] } })).message).toContain("variable name 'a/b' must not contain '/'");
    expect(bundleError(() => Bundle.fromVariables({ ".zattrs": { dims: [], data: [1] } })).message).toContain("must not start with '.'");
    expect(bundleError(() => Bundle.fromVariables({}, { coords: { "x/y": { dims: [], data: [1] } } })).message).toContain("coordinate name 'x/y'");
    expect(bundleError(() => Bundle.fromVariables({ t: { dims: [""], data: [1] } })).message).toContain("dims must be an array of non-empty strings");
  });

  it("rejects ragged, nested, mixed, undefined and object data with what was expected", () => {
    const bad = (data: unknown): string => bundleError(() => Bundle.fromVariables({ v: { dims: ["n"], data } as unknown as VariableInput })).message;
    expect(bad([[1, 2], [3]])).toBe(
      "variable 'v': element 0 is an array; expected numbers, strings, booleans or bigints; nested (ragged) arrays are not supported: pass flat data in C order and give shape",
    );
    expect(bad([1, "a"])).toBe("variable 'v': mixes types: element 0 is a number but element 1 is a string (\"a\"); all elements must have one type");
    expect(bad([1, undefined, 3])).toBe("variable 'v': element 1 is undefined; expected numbers, strings, booleans or bigints");
    expect(bad([1, null])).toBe("variable 'v': element 1 is null; expected numbers, strings, booleans or bigints");
    // eslint-disable-next-line no-sparse-arrays
    expect(bad([1, , 3])).toContain("element 1 is undefined");
    expect(bad([{ a: 1 }])).toContain("element 0 is an object");
    expect(bad({ length: 2 })).toBe("variable 'v': data must be a typed array or an array of numbers, strings, booleans or bigints, got an object");
    expect(bad(undefined)).toContain("got undefined");
    expect(bad("abc")).toContain('got a string ("abc")');
    expect(bad(new Uint8ClampedArray(2))).toContain("Uint8ClampedArray is not supported");
    expect(bad(new DataView(new ArrayBuffer(2)))).toContain("DataView is not supported");
    expect(bundleError(() => Bundle.fromVariables({ v: { dims: ["n"], dtype: "float64", data: new Float32Array(2) } })).message).toBe(
      "variable 'v': dtype float64 needs a Float64Array, got a Float32Array",
    );
    expect(bundleError(() => Bundle.fromVariables({ v: { dims: ["n"], dtype: "string", data: [1] } })).message).toContain("number data cannot have dtype \"string\"");
    expect(bundleError(() => Bundle.fromVariables({ v: { dims: ["n"], dtype: "float16" as never, data: [1] } })).message).toContain('unknown dtype "float16"');
    expect(bundleError(() => Bundle.fromVariables({ v: { dims: ["n"], dtype: "int32", data: [true] } })).message).toContain('boolean data needs dtype "bool"');
    expect(bundleError(() => Bundle.fromVariables({ v: 5 as unknown as VariableInput })).message).toContain("variable 'v' must be an object { dims, shape?, dtype?, data, attrs? }");
  });

  it("validates attrs and reserved attribute names", () => {
    expect(bundleError(() => Bundle.fromTable({ a: [1] }, { attrs: { when: new Date() as never } })).message).toBe(
      "bundle: attrs.when is a Date; attrs must be JSON-like: string, number, boolean, null, arrays or plain objects",
    );
    expect(bundleError(() => Bundle.fromTable({ a: [1] }, { attrs: { x: { y: [1, undefined as never] } } })).message).toContain("bundle: attrs.x.y[1] is undefined");
    expect(bundleError(() => Bundle.fromTable({ a: [1] }, { attrs: { x: new Float32Array(1) as never } })).message).toContain("(convert it with Array.from)");
    expect(bundleError(() => Bundle.fromTable({ a: [1] }, { attrs: { coordinates: "x" } })).message).toContain("attribute 'coordinates' is reserved");
    expect(bundleError(() => Bundle.fromVariables({ a: { dims: [], data: [1], attrs: { _ARRAY_DIMENSIONS: [] } } })).message).toContain(
      "variable 'a': attribute '_ARRAY_DIMENSIONS' is reserved",
    );
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    expect(bundleError(() => Bundle.fromTable({ a: [1] }, { attrs: cyclic as never })).message).toContain("(a cycle?)");
  });

  it("copies and freezes attrs", () => {
    const attrs = { nested: { a: 1 } };
    const b = Bundle.fromTable({ a: [1] }, { attrs });
    attrs.nested.a = 2;
    expect(b.attrs).toEqual({ nested: { a: 1 } });
    expect(Object.isFrozen(b.attrs)).toBe(true);
  });

  it("follows xarray's rules for names that are dimensions", () => {
    expect(bundleError(() => Bundle.fromVariables({ time: { dims: ["time"], data: [1] } })).message).toContain(
      "data variable 'time' has the same name as a dimension; xarray treats it as that dimension's coordinate",
    );
    expect(bundleError(() => Bundle.fromVariables({ x: { dims: ["a", "b"], shape: [1, 1], data: [1] } }, { coords: { a: { dims: ["b"], data: [1] } } })).message).toBe(
      "coordinate 'a' has the same name as a dimension, so it must be 1-d along 'a' (dims [a]), but it has dims [b]",
    );
    expect(bundleError(() => Bundle.fromVariables({ x: { dims: ["a"], data: [1] } }, { coords: { x: { dims: ["a"], data: [1] } } })).message).toContain(
      "'x' is given both as a data variable and as a coordinate",
    );
    expect(bundleError(() => Bundle.fromVariables({}, { coords: { "my coord": { dims: ["a"], data: [1] } } })).message).toContain("must not contain whitespace");
  });
});

describe("Bundle access", () => {
  const b = Bundle.fromVariables(
    { a: { dims: ["x"], data: [1, 2] }, b: { dims: ["x", "y"], shape: [2, 1], data: [1, 2] }, c: { dims: ["z"], data: ["p"] } },
    { coords: { x: { dims: ["x"], data: [10, 20] }, y: { dims: ["y"], data: [5] }, label: { dims: ["z"], data: ["q"] }, s: { dims: [], data: [1] } } },
  );

  it("names what the bundle has when a variable is missing", () => {
    const e = bundleError(() => b.variable("t2m"));
    expect(e.message).toBe("bundle has no variable 't2m'; it has: a, b, c, x, y, label, s");
    expect(bundleError(() => Bundle.fromTable({}).variable("x")).message).toBe("bundle has no variable 'x'; it has: (none)");
  });

  it("table() explains which variable is not a column", () => {
    expect(bundleError(() => b.table()).message).toBe(
      "table() needs every data variable to be 1-d on the same dimension, but 'b' has dims [x, y]; use variable('b') for N-d data",
    );
    expect(bundleError(() => b.select(["a", "c"]).table()).message).toBe(
      "table() needs every data variable on the same dimension, but 'a' is on 'x' and 'c' is on 'z'; select() the variables of one table first",
    );
    expect(b.select(["a"]).table()).toEqual({ a: new Float64Array([1, 2]) });
    expect(Bundle.fromTable({}).table()).toEqual({});
  });

  it("select() keeps the given variables and the coords they still use", () => {
    const s = b.select(["c", "a"]);
    expect(s.variables).toEqual(["c", "a"]);
    expect(s.coords).toEqual(["x", "label", "s"]);
    expect(s.dims).toEqual({ z: 1, x: 2 });
    expect(b.select([]).coords).toEqual(["s"]);
    expect(bundleError(() => b.select(["nope"])).message).toContain("bundle has no variable 'nope'");
    expect(bundleError(() => b.select(["x"])).message).toContain("select(): 'x' is a coordinate, not a data variable");
  });

  it("with() adds and replaces variables, keeps order, merges attrs, leaves the original alone", () => {
    const base = Bundle.fromTable({ a: [1, 2], b: [3, 4] }, { attrs: { keep: 1, over: "old" } });
    const next = base.with({ b: { dims: ["row"], data: ["x", "y"] }, c: { dims: ["row"], data: [true, false] } }, { attrs: { over: "new" } });
    expect(next.variables).toEqual(["a", "b", "c"]);
    expect(next.variable("b").dtype).toBe("string");
    expect(next.variable("a").data).toBe(base.variable("a").data);
    expect(next.attrs).toEqual({ keep: 1, over: "new" });
    expect(base.variable("b").dtype).toBe("float64");
    expect(base.variables).toEqual(["a", "b"]);
    expect(bundleError(() => base.with({ c: { dims: ["row"], data: [1, 2, 3] } })).message).toContain("dimension 'row' has size 2 in 'a' but size 3 in 'c'");
    // A Variable from another bundle is a valid input.
    expect(Bundle.fromTable({ z: [0, 0] }).with({ a: base.variable("a") }).variable("a").data).toBe(base.variable("a").data);
    // Replacing a coordinate keeps it a coordinate.
    expect(b.with({ x: { dims: ["x"], data: [1, 2] } }).coords).toContain("x");
  });

  it("is recognised by isBundle, also through the registered brand symbol", () => {
    expect(isBundle(b)).toBe(true);
    expect(isBundle({})).toBe(false);
    expect(isBundle(null)).toBe(false);
    expect(isBundle({ [Symbol.for("maelstrom.bundle")]: true })).toBe(true);
    expect(Object.keys(b)).toEqual([]);
  });

  it("prints its structure when inspected", async () => {
    const { inspect } = await import("node:util");
    expect(inspect(b)).toContain("b (x, y) float64 [2, 1]");
  });
});

describe("Bundle.fromTable dtypes", () => {
  it("gives a column the dtype its data does not imply", () => {
    const bundle = Bundle.fromTable({ date: BigInt64Array.from([0n, 86_400_000_000_000n]), t: [1, 2] }, { dtypes: { date: "datetime64[ns]" } });
    expect(bundle.variable("date").dtype).toBe("datetime64[ns]");
    expect(bundle.variable("t").dtype).toBe("float64");
  });
  it("rejects a dtype for a column the table does not have", () => {
    expect(() => Bundle.fromTable({ t: [1] }, { dtypes: { date: "datetime64[ns]" } })).toThrow(/dtypes names column 'date'/);
  });
});
