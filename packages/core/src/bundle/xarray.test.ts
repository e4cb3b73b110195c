/**
 * Interoperability with the Python reference implementation: xarray + zarr open what writeBundle
 * writes, and readBundle opens what xarray writes. Runs when a python3 with xarray and zarr is
 * installed (Debian: python3-xarray python3-zarr); skipped otherwise.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bundle, readBundle, writeBundle } from "./index.js";

const python = ["/usr/bin/python3", "python3"].find((candidate) => spawnSync(candidate, ["-c", "import xarray, zarr"], { stdio: "ignore" }).status === 0);
const root = mkdtempSync(path.join(os.tmpdir(), "maelstrom-xarray-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runPython(script: string, ...args: string[]): unknown {
  return JSON.parse(execFileSync(python!, ["-c", script, ...args], { encoding: "utf8" })) as unknown;
}

const missing = "no python3 with xarray and zarr (Debian: apt-get install python3-xarray python3-zarr)";
if (python === undefined) {
  console.warn(`SKIPPED xarray interoperability tests: ${missing}`);
  // Under CI's MAELSTROM_REQUIRE_INTEGRATION=1 a skip is a failure.
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("xarray interoperability can run", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${missing}`);
  });
}

describe.skipIf(python === undefined)("xarray interoperability", () => {
  it("xarray.open_zarr opens a written bundle with its coords, dtypes and values", async () => {
    const bundle = Bundle.fromVariables(
      {
        t2m: { dims: ["time", "lat"], shape: [3, 2], data: new Float32Array([1.5, 2, NaN, 4, 5, 6]), attrs: { units: "K" } },
        weather: { dims: ["time"], data: ["sun", "", "snow ❄"] },
        count: { dims: ["time"], dtype: "int32", data: [0, 1, 2] },
        wet: { dims: ["time"], data: [true, false, true] },
      },
      {
        coords: {
          time: { dims: ["time"], dtype: "datetime64[ns]", data: ["2020-01-01", "2020-01-02", "2020-01-03T06:00:00"] },
          lat: { dims: ["lat"], data: [10, 20] },
          station: { dims: ["lat"], data: ["a", "b"] },
          height: { dims: [], data: [2] },
          orphan: { dims: ["q"], data: [1n, 2n, 3n] },
        },
        attrs: { title: "interop" },
      },
    );
    const dir = path.join(root, "from-ts");
    await writeBundle(bundle, dir, { chunkBytes: 8 });
    const result = runPython(
      `
import json, sys, numpy as np, xarray as xr
out = {}
for consolidated in (True, False):
    ds = xr.open_zarr(sys.argv[1], consolidated=consolidated).load()
    out[str(consolidated)] = {
        "coords": sorted(ds.coords),
        "data_vars": sorted(ds.data_vars),
        "indexes": sorted(ds.indexes),
        "dtypes": {k: str(v.dtype) for k, v in ds.variables.items()},
        "t2m": [None if np.isnan(x) else float(x) for x in ds.t2m.values.ravel()],
        "weather": [str(x) for x in ds.weather.values],
        "count": ds["count"].values.tolist(),
        "wet": ds.wet.values.tolist(),
        "time": [str(x) for x in ds.time.values],
        "height": float(ds.height.values),
        "attrs": ds.attrs.get("title"),
        "units": ds.t2m.attrs.get("units"),
    }
print(json.dumps(out))
`,
      dir,
    ) as Record<string, unknown>;
    const expected = {
      coords: ["height", "lat", "orphan", "station", "time"],
      data_vars: ["count", "t2m", "weather", "wet"],
      indexes: ["lat", "time"],
      dtypes: { t2m: "float32", weather: "object", count: "int32", wet: "bool", time: "datetime64[ns]", lat: "float64", station: "object", height: "float64", orphan: "int64" },
      t2m: [1.5, 2, null, 4, 5, 6],
      weather: ["sun", "", "snow ❄"],
      count: [0, 1, 2],
      wet: [true, false, true],
      time: ["2020-01-01T00:00:00.000000000", "2020-01-02T00:00:00.000000000", "2020-01-03T06:00:00.000000000"],
      height: 2,
      attrs: "interop",
      units: "K",
    };
    expect(result["True"]).toEqual(expected);
    expect(result["False"]).toEqual(expected);
  });

  it("readBundle opens an uncompressed store written by xarray", async () => {
    const dir = path.join(root, "from-xarray");
    runPython(
      `
import json, sys, numpy as np, xarray as xr
ds = xr.Dataset(
    {"t2m": (("time", "lat"), np.arange(6, dtype="f4").reshape(3, 2), {"units": "K", "scale": np.nan}),
     "name": (("time",), np.array(["a", "bé", ""], dtype=object)),
     "fixed": (("time",), np.array(["x", "yz", "ü"])),
     "grid": (("time", "lat"), np.arange(6, dtype="i8").reshape(3, 2))},
    coords={"lat": [1.0, 2.0], "station": ("lat", np.array(["p", "q"], dtype=object)), "orphan": ("q", np.array([1, 2], dtype="i2"))},
    attrs={"title": "from xarray"})
encoding = {k: {"compressor": None} for k in ds.variables}
encoding["grid"]["chunks"] = (2, 1)
ds.to_zarr(sys.argv[1], encoding=encoding)
print("null")
`,
      dir,
    );
    const b = await readBundle(dir);
    expect(b.variables).toEqual(["fixed", "grid", "name", "t2m"]);
    expect(b.coords).toEqual(["lat", "orphan", "station"]);
    expect(b.attrs).toEqual({ title: "from xarray" });
    expect(Array.from(b.variable("t2m").data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.variable("t2m").attrs).toEqual({ units: "K", scale: NaN });
    expect(b.variable("name").data).toEqual(["a", "bé", ""]);
    expect(b.variable("fixed").data).toEqual(["x", "yz", "ü"]);
    expect(Array.from(b.variable("grid").data as BigInt64Array)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect(b.variable("orphan").dtype).toBe("int16");
  });
});
