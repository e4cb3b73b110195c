import { describe, expect, it } from "vitest";
import { formatDatetime, parseIsoDatetime } from "./datetime.js";
import { Bundle, summarizeBundle } from "./index.js";
import { canonicalJson, parseJson } from "./json.js";

describe("summarizeBundle", () => {
  it("summarises variables with previews of their first and last values", () => {
    const b = Bundle.fromVariables(
      {
        x: { dims: ["n"], data: Array.from({ length: 99 }, (_, i) => (i + 1) / 10) },
        f: { dims: ["m"], dtype: "float32", data: [0.1, NaN, Infinity] },
        w: { dims: ["m"], data: ["sun", 'say "hi"', "a".repeat(50)] },
        ok: { dims: ["m"], data: [true, false, true] },
        big: { dims: ["m"], data: [1n, -2n, 3n] },
        g: { dims: ["m", "k"], shape: [3, 3], dtype: "int16", data: [1, 2, 3, 4, 5, 6, 7, 8, 9], attrs: { units: "K" } },
        s: { dims: [], data: [1234567.891] },
      },
      { coords: { t: { dims: ["m"], dtype: "datetime64[ns]", data: ["2020-01-01", "2020-01-01T06:00:00.5", "NaT"] } }, attrs: { title: "x" } },
    );
    const summary = summarizeBundle(b);
    const byName = Object.fromEntries(summary.variables.map((v) => [v.name, v]));
    expect(summary.variables.map((v) => [v.name, v.role])).toEqual([
      ["t", "coord"],
      ["x", "data"],
      ["f", "data"],
      ["w", "data"],
      ["ok", "data"],
      ["big", "data"],
      ["g", "data"],
      ["s", "data"],
    ]);
    expect(byName["x"]).toEqual({ name: "x", role: "data", dims: ["n"], shape: [99], dtype: "float64", bytes: 792, preview: "[0.1, 0.2, 0.3, …, 9.8, 9.9]", attrs: {} });
    expect(byName["f"]?.preview).toBe("[0.1, NaN, inf]");
    expect(byName["w"]?.preview).toBe(`["sun", "say \\"hi\\"", "${"a".repeat(40)}…"]`);
    expect(byName["ok"]?.preview).toBe("[true, false, true]");
    expect(byName["big"]?.preview).toBe("[1, -2, 3]");
    expect(byName["g"]?.preview).toBe("[1, 2, 3, …, 8, 9]");
    expect(byName["g"]?.attrs).toEqual({ units: "K" });
    expect(byName["s"]?.preview).toBe("1.23457e+6");
    expect(byName["t"]?.preview).toBe("[2020-01-01, 2020-01-01T06:00:00.500, NaT]");
    expect(summary.dims).toEqual({ n: 99, m: 3, k: 3 });
    expect(summary.attrs).toEqual({ title: "x" });
    expect(summary.bytes).toBe(b.nbytes);
    expect(summarizeBundle(Bundle.fromTable({ e: [] })).variables[0]?.preview).toBe("[]");
  });
});

describe("datetime helpers", () => {
  it("parse ISO dates and timestamps exactly, in UTC, and reject impossible ones", () => {
    expect(parseIsoDatetime("1970-01-01")).toBe(0n);
    expect(parseIsoDatetime("2000-02-29T12:00:00.123456789")).toBe(951825600123456789n);
    expect(parseIsoDatetime("2000-01-01T01:00:00+01:00")).toBe(946684800000000000n);
    expect(parseIsoDatetime("1969-12-31T23:59:59.999999999Z")).toBe(-1n);
    expect(parseIsoDatetime("1900-02-29")).toBeUndefined();
    expect(parseIsoDatetime("2021-04-31")).toBeUndefined();
    expect(parseIsoDatetime("2021-01-01T24:00")).toBeUndefined();
    expect(parseIsoDatetime("1500-01-01")).toBeUndefined();
    expect(parseIsoDatetime("01/02/2020")).toBeUndefined();
  });

  it("format back to ISO", () => {
    expect(formatDatetime(0n)).toBe("1970-01-01");
    expect(formatDatetime(-1n)).toBe("1969-12-31T23:59:59.999999999");
    expect(formatDatetime(951825600123000000n)).toBe("2000-02-29T12:00:00.123");
    expect(formatDatetime(-(2n ** 63n))).toBe("NaT");
    for (const text of ["1677-09-21T00:12:43.145224193", "2262-04-11T23:47:16.854775807", "2024-12-31T23:59:59.000001"]) {
      expect(formatDatetime(parseIsoDatetime(text)!)).toBe(text);
    }
  });
});

describe("metadata JSON", () => {
  it("is canonical and keeps NaN and infinities as Python writes them", () => {
    const text = canonicalJson({ b: [1, NaN, { z: Infinity, a: -Infinity }], a: "NaN", c: [], d: {} });
    expect(text).toBe('{\n  "a": "NaN",\n  "b": [\n    1,\n    NaN,\n    {\n      "a": -Infinity,\n      "z": Infinity\n    }\n  ],\n  "c": [],\n  "d": {}\n}');
    expect(parseJson(text)).toEqual({ a: "NaN", b: [1, NaN, { a: -Infinity, z: Infinity }], c: [], d: {} });
    expect(parseJson('{"s": "NaN \\" Infinity", "v": NaN}')).toEqual({ s: 'NaN " Infinity', v: NaN });
    expect(() => parseJson("{nope}")).toThrow(SyntaxError);
  });
});
