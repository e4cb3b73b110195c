/**
 * The `maelstrom` Python package (repository folder python/): its own unittest suite, and bundles
 * crossing between the TypeScript and Python writers for every dtype, byte for byte. Runs with the
 * first of /usr/bin/python3, python3 that imports numpy; skipped (loudly) when there is none.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Bundle, readBundle, writeBundle } from "@maelstrom/core";
import type { DType, VariableInput } from "@maelstrom/core";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const pythonDir = path.join(repo, "python");
const python = ["/usr/bin/python3", "python3"].find((candidate) => spawnSync(candidate, ["-c", "import numpy"], { stdio: "ignore" }).status === 0);
const hasXarray = python !== undefined && spawnSync(python, ["-c", "import xarray, zarr"], { stdio: "ignore" }).status === 0;
const root = mkdtempSync(path.join(os.tmpdir(), "maelstrom-python-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => path.join(root, `${name}${counter++}`);

const missing = "no /usr/bin/python3 or python3 that imports numpy (Debian: apt-get install python3-numpy)";
if (python === undefined) {
  console.warn(`SKIPPED maelstrom Python package tests: ${missing}`);
  // Under CI's MAELSTROM_REQUIRE_INTEGRATION=1 a skip is a failure.
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("the maelstrom Python package tests can run", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${missing}`);
  });
}

function runPython(script: string, ...args: string[]): string {
  return execFileSync(python!, ["-c", script, ...args], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: [pythonDir, process.env["PYTHONPATH"]].filter(Boolean).join(path.delimiter) },
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

function expectSameFiles(actual: string, expected: string): void {
  const files = listFiles(expected);
  expect(listFiles(actual)).toEqual(files);
  for (const file of files) expect(readFileSync(path.join(actual, file)), file).toEqual(readFileSync(path.join(expected, file)));
}

/** One variable per case, with awkward values: extremes, NaN, NaT, empty and non-ASCII strings. */
interface DtypeCase {
  readonly dtype: DType;
  readonly ts: VariableInput["data"];
  /** The same values as a Python expression (numpy imported as np). */
  readonly py: string;
}

const cases: readonly DtypeCase[] = [
  { dtype: "int8", ts: [-128, 0, 1, 127], py: "np.array([-128, 0, 1, 127], dtype='int8')" },
  { dtype: "int16", ts: [-32768, 0, 1, 32767], py: "np.array([-32768, 0, 1, 32767], dtype='int16')" },
  { dtype: "int32", ts: [-2147483648, 0, 1, 2147483647], py: "np.array([-2**31, 0, 1, 2**31 - 1], dtype='int32')" },
  { dtype: "int64", ts: [-(2n ** 63n), 0n, 1n, 2n ** 63n - 1n], py: "np.array([-2**63, 0, 1, 2**63 - 1], dtype='int64')" },
  { dtype: "uint8", ts: [0, 1, 128, 255], py: "np.array([0, 1, 128, 255], dtype='uint8')" },
  { dtype: "uint16", ts: [0, 1, 32768, 65535], py: "np.array([0, 1, 32768, 65535], dtype='uint16')" },
  { dtype: "uint32", ts: [0, 1, 2147483648, 4294967295], py: "np.array([0, 1, 2**31, 2**32 - 1], dtype='uint32')" },
  { dtype: "uint64", ts: [0n, 1n, 2n ** 63n, 2n ** 64n - 1n], py: "np.array([0, 1, 2**63, 2**64 - 1], dtype='uint64')" },
  { dtype: "float32", ts: [NaN, -0.5, Infinity, 3.4028234663852886e38], py: "np.array([np.nan, -0.5, np.inf, 3.4028234663852886e38], dtype='float32')" },
  { dtype: "float64", ts: [NaN, 1e-300, -Infinity, 0.1], py: "np.array([np.nan, 1e-300, -np.inf, 0.1])" },
  { dtype: "bool", ts: [true, false, false, true], py: "np.array([True, False, False, True])" },
  { dtype: "string", ts: ["", "naïve ❄️ 北极", "a\u0000b", "😀"], py: "np.array(['', 'naïve ❄️ 北极', 'a\\x00b', '😀'], dtype=object)" },
  {
    dtype: "datetime64[ns]",
    ts: ["1970-01-01", "2262-04-11T23:47:16.854775807", "NaT", "1677-09-21T00:12:43.145224193"],
    py: "np.array(['1970-01-01', '2262-04-11T23:47:16.854775807', 'NaT', '1677-09-21T00:12:43.145224193'], dtype='datetime64[ns]')",
  },
];

/** Small chunks, so every array spans several chunk files (edge chunks padded). */
const CHUNK_BYTES = 8;

function tsBundle(c: DtypeCase): Bundle {
  return Bundle.fromVariables(
    {
      v: { dims: ["n"], dtype: c.dtype, data: c.ts, attrs: { dtype: c.dtype } },
      g: { dims: ["n", "k"], shape: [4, 2], dtype: c.dtype, data: [...(c.ts as unknown[]), ...(c.ts as unknown[])] as VariableInput["data"] },
      s: { dims: [], dtype: c.dtype, data: (c.ts as unknown[]).slice(1, 2) as VariableInput["data"] },
    },
    { attrs: { case: c.dtype } },
  );
}

// Python builds the same bundle as tsBundle: v (n), g (n, k) holding v twice (C order), s the 0-d second value.
const PY_BUILD = `
import sys, numpy as np, maelstrom
def build(expr, dtype):
    v = eval(expr)
    g = np.concatenate([v, v]).reshape(4, 2)
    return maelstrom.Bundle({"v": (("n",), v, {"dtype": dtype}), "g": (("n", "k"), g), "s": ((), v[1])}, attrs={"case": dtype})
def same(a, b):
    if a.dtype.kind in "fM":
        np.testing.assert_array_equal(a, b)
    else:
        assert a.tolist() == b.tolist(), (a, b)
`;

function expectSameData(actual: Bundle, expected: Bundle): void {
  expect(actual.variables).toEqual(expected.variables);
  expect(actual.attrs).toEqual(expected.attrs);
  for (const name of expected.variables) {
    const a = actual.variable(name);
    const e = expected.variable(name);
    expect({ ...a, data: null }).toEqual({ ...e, data: null });
    expect(Array.from(a.data as ArrayLike<unknown>)).toEqual(Array.from(e.data as ArrayLike<unknown>));
  }
}

describe.skipIf(python === undefined)("maelstrom Python package", () => {
  it("passes its unittest suite", () => {
    const result = spawnSync(python!, ["-m", "unittest", "discover", "-v", "-s", "python/tests", "-t", "python"], {
      cwd: repo,
      encoding: "utf8",
      timeout: 600_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const output = `${result.stdout}${result.stderr}`;
    const skipped = output.split("\n").filter((line) => / \.\.\. skipped /.test(line));
    if (skipped.length > 0) console.warn(`maelstrom Python tests skipped with ${python}:\n${skipped.join("\n")}`);
    expect(result.status, output).toBe(0);
    expect(output).toMatch(/\nRan \d+ tests? in [\d.]+s\n\nOK/);
  }, 600_000);

  describe.each(cases)("$dtype", (c) => {
    it("TypeScript -> Python -> TypeScript keeps values and bytes", async () => {
      const original = tsBundle(c);
      const fromTs = fresh("ts");
      const fromPy = fresh("py");
      await writeBundle(original, fromTs, { chunkBytes: CHUNK_BYTES });
      const seen = runPython(
        `${PY_BUILD}
b = maelstrom.read_bundle(sys.argv[1])
assert b.variable("v").dtype == sys.argv[3], b.variable("v").dtype
same(b.to_numpy("v"), eval(sys.argv[4]))
maelstrom.write_bundle(b, sys.argv[2], ${CHUNK_BYTES})
print(b.variable("v").dtype)`,
        fromTs,
        fromPy,
        c.dtype,
        c.py,
      );
      expect(seen.trim()).toBe(c.dtype);
      expectSameData(await readBundle(fromPy), original);
      expectSameFiles(fromPy, fromTs);
    });

    it("Python -> TypeScript -> Python keeps values and bytes", async () => {
      const fromPy = fresh("py");
      const fromTs = fresh("ts");
      runPython(`${PY_BUILD}\nmaelstrom.write_bundle(build(sys.argv[2], sys.argv[3]), sys.argv[1], ${CHUNK_BYTES})`, fromPy, c.py, c.dtype);
      const read = await readBundle(fromPy);
      expectSameData(read, tsBundle(c));
      await writeBundle(read, fromTs, { chunkBytes: CHUNK_BYTES });
      expectSameFiles(fromTs, fromPy);
      const check = runPython(
        `${PY_BUILD}
b = maelstrom.read_bundle(sys.argv[1])
expected = build(sys.argv[2], sys.argv[3])
for name in expected.variables:
    assert b.variable(name).dtype == expected.variable(name).dtype
    assert b.variable(name).shape == expected.variable(name).shape
    same(b.to_numpy(name), expected.to_numpy(name))
assert b.attrs == expected.attrs and b.variable("v").attrs == {"dtype": sys.argv[3]}
print("same")`,
        fromTs,
        c.py,
        c.dtype,
      );
      expect(check.trim()).toBe("same");
    });
  });

  it.skipIf(!hasXarray)("xarray.open_zarr opens a bundle Python wrote", () => {
    const dir = fresh("xr");
    const result = JSON.parse(
      runPython(
        `
import json, sys, numpy as np, xarray as xr, maelstrom
b = maelstrom.Bundle(
    {"t2m": (("time", "lat"), np.arange(6, dtype="f4").reshape(3, 2), {"units": "K"}),
     "weather": (("time",), ["sun", "", "snow ❄"]),
     "count": (("time",), np.array([0, 1, 2], dtype="int32")),
     "wet": (("time",), [True, False, True])},
    attrs={"title": "interop"},
    coords={"time": np.array(["2020-01-01", "2020-01-02", "NaT"], dtype="datetime64[ns]"), "lat": [10.0, 20.0], "station": (("lat",), ["a", "b"]), "height": 2.0})
maelstrom.write_bundle(b, sys.argv[1])
ds = xr.open_zarr(sys.argv[1]).load()
print(json.dumps({
    "coords": sorted(ds.coords), "data_vars": sorted(ds.data_vars), "indexes": sorted(ds.indexes),
    "dtypes": {k: str(v.dtype) for k, v in ds.variables.items()},
    "t2m": ds.t2m.values.tolist(), "weather": ds.weather.values.tolist(), "time": [str(x) for x in ds.time.values],
    "wet": ds.wet.values.tolist(), "units": ds.t2m.attrs.get("units"), "title": ds.attrs.get("title"),
}))`,
        dir,
      ),
    ) as Record<string, unknown>;
    expect(result).toEqual({
      coords: ["height", "lat", "station", "time"],
      data_vars: ["count", "t2m", "weather", "wet"],
      indexes: ["lat", "time"],
      dtypes: { t2m: "float32", weather: "object", count: "int32", wet: "bool", time: "datetime64[ns]", lat: "float64", station: "object", height: "float64" },
      t2m: [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
      weather: ["sun", "", "snow ❄"],
      time: ["2020-01-01T00:00:00.000000000", "2020-01-02T00:00:00.000000000", "NaT"],
      wet: [true, false, true],
      units: "K",
      title: "interop",
    });
  });
});
