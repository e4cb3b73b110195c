import { InputError } from "@maelstrom/errors";
import { mkdtempSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bundle, readBundle, readBundleSchema, writeBundle } from "./index.js";
import type { Variable } from "./index.js";

const root = mkdtempSync(path.join(os.tmpdir(), "maelstrom-bundle-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => path.join(root, `b${counter++}`);

async function bundleError(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe("BUNDLE_INVALID");
    return error as InputError;
  }
  throw new Error("expected an InputError");
}

async function roundTrip(bundle: Bundle, chunkBytes?: number): Promise<{ dir: string; back: Bundle }> {
  const dir = fresh();
  await writeBundle(bundle, dir, chunkBytes === undefined ? {} : { chunkBytes });
  return { dir, back: await readBundle(dir) };
}

function expectSameBundle(actual: Bundle, expected: Bundle): void {
  expect(actual.variables).toEqual(expected.variables);
  expect(actual.coords).toEqual(expected.coords);
  expect(actual.attrs).toEqual(expected.attrs);
  expect(actual.dims).toEqual(expected.dims);
  for (const name of [...expected.variables, ...expected.coords]) {
    const a: Variable = actual.variable(name);
    const e: Variable = expected.variable(name);
    expect({ ...a, data: null }).toEqual({ ...e, data: null });
    expect(a.data.constructor).toBe(e.data.constructor);
    expect(Array.from(a.data as ArrayLike<unknown>)).toEqual(Array.from(e.data as ArrayLike<unknown>));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

const everyDtype = (): Bundle =>
  Bundle.fromVariables(
    {
      i8: { dims: ["n"], dtype: "int8", data: [-128, 0, 127] },
      i16: { dims: ["n"], dtype: "int16", data: [-32768, 0, 32767] },
      i32: { dims: ["n"], dtype: "int32", data: [-2147483648, 0, 2147483647] },
      i64: { dims: ["n"], data: [-(2n ** 63n), 0n, 2n ** 63n - 1n] },
      u8: { dims: ["n"], dtype: "uint8", data: [0, 1, 255] },
      u16: { dims: ["n"], dtype: "uint16", data: [0, 1, 65535] },
      u32: { dims: ["n"], dtype: "uint32", data: [0, 1, 4294967295] },
      u64: { dims: ["n"], dtype: "uint64", data: [0n, 1n, 2n ** 64n - 1n] },
      f32: { dims: ["n"], dtype: "float32", data: [NaN, -0.5, Infinity] },
      f64: { dims: ["n"], data: [NaN, 1e-300, -Infinity] },
      flag: { dims: ["n"], data: [true, false, true] },
      text: { dims: ["n"], data: ["", "naïve ❄️ 北极", "a\u0000b"] },
      when: { dims: ["n"], dtype: "datetime64[ns]", data: ["1970-01-01", "2262-04-11T23:47:16.854775807", "NaT"] },
      scalar: { dims: [], data: [42.5] },
      word: { dims: [], data: ["polar"] },
    },
    { attrs: { title: "every dtype", nan: NaN, inf: [Infinity, -Infinity], deep: { list: [1, "two", null, true] }, unicode: "Ø ❄️" } },
  );

describe("writeBundle / readBundle", () => {
  it("round-trips every dtype, NaN, empty and unicode strings, datetimes, 0-d scalars and attrs", async () => {
    const bundle = everyDtype();
    const { back } = await roundTrip(bundle);
    expectSameBundle(back, bundle);
    expect(Number.isNaN(back.attrs["nan"])).toBe(true);
    expect((back.variable("text").data as string[])[1]).toBe("naïve ❄️ 北极");
    expect((back.variable("when").data as BigInt64Array)[1]).toBe(2n ** 63n - 1n);
  });

  it("round-trips coords (dimension and non-dimension) and keeps the insertion order", async () => {
    const bundle = Bundle.fromVariables(
      {
        zeta: { dims: ["time", "lat"], shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]), attrs: { units: "m" } },
        alpha: { dims: ["time"], data: ["x", "y"] },
      },
      {
        coords: {
          time: { dims: ["time"], dtype: "datetime64[ns]", data: ["2020-01-01", "2020-01-02"] },
          lat: { dims: ["lat"], data: [-10, 0, 10], attrs: { units: "degrees_north" } },
          station: { dims: ["lat"], data: ["a", "b", "c"] },
          height: { dims: [], data: [2] },
          orphan: { dims: ["q"], data: [1n, 2n] },
        },
        attrs: { title: "t" },
      },
    );
    const { dir, back } = await roundTrip(bundle);
    expectSameBundle(back, bundle);
    // xarray conventions on disk.
    const zetaAttrs = JSON.parse(await fs.readFile(path.join(dir, "zeta/.zattrs"), "utf8"));
    expect(zetaAttrs).toEqual({ _ARRAY_DIMENSIONS: ["time", "lat"], coordinates: "station height", units: "m" });
    const alphaAttrs = JSON.parse(await fs.readFile(path.join(dir, "alpha/.zattrs"), "utf8"));
    expect(alphaAttrs).toEqual({ _ARRAY_DIMENSIONS: ["time"], coordinates: "height" });
    const groupAttrs = JSON.parse(await fs.readFile(path.join(dir, ".zattrs"), "utf8"));
    expect(groupAttrs).toEqual({ title: "t", coordinates: "orphan", _maelstrom_order: ["zeta", "alpha", "time", "lat", "station", "height", "orphan"] });
  });

  it("splits large arrays into chunks along the first dimension only, padding the edge chunk like zarr", async () => {
    const data = new Float64Array(10 * 3).map((_, i) => i);
    const bundle = Bundle.fromVariables({ v: { dims: ["a", "b"], shape: [10, 3], data }, s: { dims: ["a"], data: ["aa", "b", "", "d", "e", "f", "g", "h", "i", "j"] } });
    const { dir, back } = await roundTrip(bundle, 4 * 3 * 8); // 4 rows per chunk
    expectSameBundle(back, bundle);
    expect(await listFiles(path.join(dir, "v"))).toEqual([".zarray", ".zattrs", "0.0", "1.0", "2.0"]);
    const zarray = JSON.parse(await fs.readFile(path.join(dir, "v/.zarray"), "utf8"));
    expect(zarray.chunks).toEqual([4, 3]);
    // Edge chunk at full size: 2 real rows + 2 rows of padding.
    expect((await fs.stat(path.join(dir, "v/2.0"))).size).toBe(4 * 3 * 8);
    // Strings are chunked by their encoded size: 54 bytes in chunks of about 20 -> 3 items per chunk.
    const strings = await roundTrip(bundle.select(["s"]), 20);
    expectSameBundle(strings.back, bundle.select(["s"]));
    expect(JSON.parse(await fs.readFile(path.join(strings.dir, "s/.zarray"), "utf8")).chunks).toEqual([3]);
    expect(await listFiles(path.join(strings.dir, "s"))).toEqual([".zarray", ".zattrs", "0", "1", "2", "3"]);
    // The edge chunk holds 3 items too: "j" and two empty padding strings.
    expect(await fs.readFile(path.join(strings.dir, "s/3"))).toEqual(Buffer.from([3, 0, 0, 0, 1, 0, 0, 0, 0x6a, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it("writes one chunk per 64 MiB by default", async () => {
    const rows = 3 * 1024 * 1024; // 3 Mi float64 rows of 3 values = 72 MiB
    const bundle = Bundle.fromVariables({ big: { dims: ["n", "k"], shape: [rows, 3], data: new Float64Array(rows * 3).fill(1.5) } });
    const { dir, back } = await roundTrip(bundle);
    const zarray = JSON.parse(await fs.readFile(path.join(dir, "big/.zarray"), "utf8"));
    expect(zarray.chunks).toEqual([Math.floor((64 * 1024 * 1024) / 24), 3]);
    expect((await listFiles(path.join(dir, "big"))).filter((f) => !f.startsWith("."))).toEqual(["0.0", "1.0"]);
    const out = back.variable("big").data as Float64Array;
    expect(out.length).toBe(rows * 3);
    expect(out[0]).toBe(1.5);
    expect(out[out.length - 1]).toBe(1.5);
    // One buffer for the whole variable; the typed array is a view over it.
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(rows * 3 * 8);
  });

  it("writes typed arrays that are views into a larger buffer", async () => {
    const backing = new Float64Array([9, 1, 2, 3, 4, 5, 9]);
    const view = backing.subarray(1, 6);
    const bundle = Bundle.fromVariables({ v: { dims: ["n"], data: view } });
    const { back } = await roundTrip(bundle, 16);
    expect(Array.from(back.variable("v").data as Float64Array)).toEqual([1, 2, 3, 4, 5]);
  });

  it("round-trips empty arrays and tables without writing chunk files", async () => {
    const bundle = Bundle.fromVariables({ e: { dims: ["n", "k"], shape: [0, 3], dtype: "int32", data: [] }, s: { dims: ["m"], data: [] as string[] } });
    const { dir, back } = await roundTrip(bundle);
    expectSameBundle(back, bundle);
    expect(await listFiles(path.join(dir, "e"))).toEqual([".zarray", ".zattrs"]);
    expect(JSON.parse(await fs.readFile(path.join(dir, "e/.zarray"), "utf8")).chunks).toEqual([1, 3]);
    const empty = await roundTrip(Bundle.fromTable({}));
    expectSameBundle(empty.back, Bundle.fromTable({}));
  });

  it("writes byte-identical files for the same bundle", async () => {
    const a = (await roundTrip(everyDtype(), 16)).dir;
    const b = (await roundTrip(everyDtype(), 16)).dir;
    const files = await listFiles(a);
    expect(await listFiles(b)).toEqual(files);
    for (const file of files) expect(await fs.readFile(path.join(b, file))).toEqual(await fs.readFile(path.join(a, file)));
    // Reading and writing again gives the same bytes too.
    const c = fresh();
    await writeBundle(await readBundle(a), c, { chunkBytes: 16 });
    for (const file of files) expect(await fs.readFile(path.join(c, file))).toEqual(await fs.readFile(path.join(a, file)));
    // Attr key order does not matter.
    const d1 = fresh();
    const d2 = fresh();
    await writeBundle(Bundle.fromTable({ x: [1] }, { attrs: { a: 1, b: { c: 2, d: 3 } } }), d1);
    await writeBundle(Bundle.fromTable({ x: [1] }, { attrs: { b: { d: 3, c: 2 }, a: 1 } }), d2);
    expect(await fs.readFile(path.join(d2, ".zattrs"))).toEqual(await fs.readFile(path.join(d1, ".zattrs")));
  });

  it("lays out files that an independent reader understands (Zarr v2 as specified)", async () => {
    const bundle = Bundle.fromVariables(
      {
        t: { dims: ["y", "x"], shape: [3, 4], data: new Float32Array(12).map((_, i) => i + 0.5) },
        w: { dims: ["y"], data: ["é", "", "abc"] },
        k: { dims: ["y"], dtype: "int16", data: [1, -2, 3] },
        f: { dims: ["y"], data: [true, false, true] },
        d: { dims: ["y"], dtype: "datetime64[ns]", data: ["1970-01-01T00:00:00.000000001", "NaT", "1969-12-31"] },
      },
      { attrs: { title: "x" } },
    );
    const dir = fresh();
    await writeBundle(bundle, dir, { chunkBytes: 32 }); // t: 2 rows (32 bytes) per chunk; the others fit in one
    const read = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await fs.readFile(path.join(dir, file), "utf8"));

    expect(await read(".zgroup")).toEqual({ zarr_format: 2 });
    const t = await read("t/.zarray");
    expect(t).toEqual({ chunks: [2, 4], compressor: null, dimension_separator: ".", dtype: "<f4", fill_value: "NaN", filters: null, order: "C", shape: [3, 4], zarr_format: 2 });
    const t0 = await fs.readFile(path.join(dir, "t/0.0"));
    const t1 = await fs.readFile(path.join(dir, "t/1.0"));
    expect(Array.from({ length: 8 }, (_, i) => t0.readFloatLE(i * 4))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
    expect(t1.length).toBe(32);
    expect(Array.from({ length: 4 }, (_, i) => t1.readFloatLE(i * 4))).toEqual([8.5, 9.5, 10.5, 11.5]);

    const w = await read("w/.zarray");
    expect(w).toMatchObject({ dtype: "|O", filters: [{ id: "vlen-utf8" }], fill_value: null, compressor: null });
    const w0 = await fs.readFile(path.join(dir, "w/0"));
    // uint32 count, then (uint32 length, UTF-8 bytes) per item.
    expect(w0).toEqual(Buffer.from([3, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9, 0, 0, 0, 0, 3, 0, 0, 0, 0x61, 0x62, 0x63]));

    expect(await read("k/.zarray")).toMatchObject({ dtype: "<i2", fill_value: null });
    expect(await fs.readFile(path.join(dir, "k/0"))).toEqual(Buffer.from([1, 0, 0xfe, 0xff, 3, 0]));
    expect(await read("f/.zarray")).toMatchObject({ dtype: "|b1", fill_value: null });
    expect(await fs.readFile(path.join(dir, "f/0"))).toEqual(Buffer.from([1, 0, 1]));
    expect(await read("d/.zarray")).toMatchObject({ dtype: "<M8[ns]", fill_value: null });
    const d0 = await fs.readFile(path.join(dir, "d/0"));
    expect([d0.readBigInt64LE(0), d0.readBigInt64LE(8), d0.readBigInt64LE(16)]).toEqual([1n, -(2n ** 63n), -86_400_000_000_000n]);
    expect(await read("d/.zattrs")).toEqual({ _ARRAY_DIMENSIONS: ["y"] });

    const consolidated = await read(".zmetadata");
    expect(consolidated["zarr_consolidated_format"]).toBe(1);
    const metadata = consolidated["metadata"] as Record<string, unknown>;
    expect(Object.keys(metadata).sort()).toEqual([".zattrs", ".zgroup", ...["d", "f", "k", "t", "w"].flatMap((n) => [`${n}/.zarray`, `${n}/.zattrs`])].sort());
    expect(metadata["t/.zarray"]).toEqual(t);
    expect(metadata[".zattrs"]).toEqual(await read(".zattrs"));
  });

  it("reads arrays chunked along several dimensions, '/' separators, fixed-width strings, coarse datetimes and missing chunks", async () => {
    const dir = fresh();
    await fs.mkdir(path.join(dir, "g/0"), { recursive: true });
    await fs.mkdir(path.join(dir, "u"));
    await fs.mkdir(path.join(dir, "day"));
    await fs.mkdir(path.join(dir, "gap"));
    await fs.mkdir(path.join(dir, "nested"));
    const json = (file: string, value: unknown): Promise<void> => fs.writeFile(path.join(dir, file), JSON.stringify(value));
    await json(".zgroup", { zarr_format: 2 });
    await json("nested/.zgroup", { zarr_format: 2 }); // a subgroup, ignored like xarray does
    // g: shape [3, 3] in chunks [2, 2] with "/" separators -> 4 chunks of 4 int32s.
    await json("g/.zarray", { chunks: [2, 2], compressor: null, dimension_separator: "/", dtype: "<i4", fill_value: 0, filters: null, order: "C", shape: [3, 3], zarr_format: 2 });
    await json("g/.zattrs", { _ARRAY_DIMENSIONS: ["r", "c"] });
    const chunk = (values: number[]): Buffer => Buffer.from(new Int32Array(values).buffer);
    await fs.mkdir(path.join(dir, "g/1"));
    await fs.writeFile(path.join(dir, "g/0/0"), chunk([0, 1, 3, 4]));
    await fs.writeFile(path.join(dir, "g/0/1"), chunk([2, 99, 5, 99]));
    await fs.writeFile(path.join(dir, "g/1/0"), chunk([6, 7, 99, 99]));
    await fs.writeFile(path.join(dir, "g/1/1"), chunk([8, 99, 99, 99]));
    // u: numpy fixed-width unicode, as xarray writes numpy str arrays.
    await json("u/.zarray", { chunks: [3], compressor: null, dtype: "<U2", fill_value: "", filters: null, order: "C", shape: [3], zarr_format: 2 });
    await json("u/.zattrs", { _ARRAY_DIMENSIONS: ["r"] });
    const u = Buffer.alloc(3 * 8);
    u.writeUInt32LE(0x61, 0);
    u.writeUInt32LE(0x1f600, 8);
    u.writeUInt32LE(0x62, 16);
    u.writeUInt32LE(0x63, 20);
    await fs.writeFile(path.join(dir, "u/0"), u);
    // day: datetime64[D]
    await json("day/.zarray", { chunks: [2], compressor: null, dtype: "<M8[D]", fill_value: null, filters: null, order: "C", shape: [2], zarr_format: 2 });
    await json("day/.zattrs", { _ARRAY_DIMENSIONS: ["c2"], note: "days" });
    await fs.writeFile(path.join(dir, "day/0"), Buffer.from(new BigInt64Array([1n, -(2n ** 63n)]).buffer));
    // gap: chunk 1 missing -> fill_value.
    await json("gap/.zarray", { chunks: [2], compressor: null, dtype: "<f8", fill_value: -1.5, filters: null, order: "C", shape: [4], zarr_format: 2 });
    await json("gap/.zattrs", { _ARRAY_DIMENSIONS: ["q"] });
    await fs.writeFile(path.join(dir, "gap/0"), Buffer.from(new Float64Array([1, 2]).buffer));

    const b = await readBundle(dir);
    expect(b.variables).toEqual(["day", "g", "gap", "u"]); // no order hint: sorted
    expect(Array.from(b.variable("g").data as Int32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(b.variable("u").data).toEqual(["a", "😀", "bc"]);
    expect(b.variable("u").dtype).toBe("string");
    expect(Array.from(b.variable("day").data as BigInt64Array)).toEqual([86_400_000_000_000n, -(2n ** 63n)]);
    expect(b.variable("day").attrs).toEqual({ note: "days" });
    expect(Array.from(b.variable("gap").data as Float64Array)).toEqual([1, 2, -1.5, -1.5]);
  });

  it("refuses to write into a non-empty directory or over a file", async () => {
    const dir = fresh();
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, "x.txt"), "x");
    expect((await bundleError(writeBundle(Bundle.fromTable({ a: [1] }), dir))).message).toBe(
      `cannot write bundle to ${dir}: the directory is not empty (it has x.txt); give a new or empty directory`,
    );
    expect((await bundleError(writeBundle(Bundle.fromTable({ a: [1] }), path.join(dir, "x.txt")))).message).toContain("it exists and is not a directory");
    expect((await bundleError(writeBundle({} as Bundle, fresh()))).message).toBe("writeBundle expects a Bundle, got object");
    expect((await bundleError(writeBundle(Bundle.fromTable({}), fresh(), { chunkBytes: 0 }))).message).toContain("chunkBytes must be a positive integer");
    // An existing empty directory is fine.
    const empty = fresh();
    await fs.mkdir(empty);
    await writeBundle(Bundle.fromTable({ a: [1] }), empty);
    expect((await readBundle(empty)).variables).toEqual(["a"]);
  });
});

describe("readBundle errors", () => {
  async function store(files: Record<string, string | Buffer>): Promise<string> {
    const dir = fresh();
    await fs.mkdir(dir);
    for (const [file, content] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), content);
    }
    return dir;
  }
  const zarray = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({ chunks: [2], compressor: null, dtype: "<f4", fill_value: "NaN", filters: null, order: "C", shape: [2], zarr_format: 2, ...over });
  const dims = JSON.stringify({ _ARRAY_DIMENSIONS: ["n"] });
  const group = JSON.stringify({ zarr_format: 2 });

  it("names a missing directory, a file, and a directory that is not a Zarr group", async () => {
    const missing = path.join(root, "does-not-exist");
    expect((await bundleError(readBundle(missing))).message).toBe(`cannot read bundle: ${missing} does not exist`);
    const file = path.join(await store({ "f.txt": "x" }), "f.txt");
    expect((await bundleError(readBundle(file))).message).toContain("is not a directory");
    const plain = await store({ "readme.txt": "x" });
    expect((await bundleError(readBundle(plain))).message).toBe(`${plain} is not a Zarr group: ${path.join(plain, ".zgroup")} is missing`);
    const array = await store({ ".zarray": zarray() });
    expect((await bundleError(readBundle(array))).message).toContain("(it is a single Zarr array, not a group)");
    const v3 = await store({ "zarr.json": "{}" });
    expect((await bundleError(readBundle(v3))).message).toContain("(it looks like Zarr v3; Maelstrom reads Zarr v2)");
    const wrongFormat = await store({ ".zgroup": JSON.stringify({ zarr_format: 3 }) });
    expect((await bundleError(readBundle(wrongFormat))).message).toContain("zarr_format is 3; expected 2");
    const badJson = await store({ ".zgroup": "{nope" });
    expect((await bundleError(readBundle(badJson))).message).toContain(`${path.join(badJson, ".zgroup")}: group metadata is not valid JSON`);
  });

  it("names unsupported dtypes, compressors, filters, orders and big-endian data", async () => {
    const message = async (over: Record<string, unknown>): Promise<string> => {
      const dir = await store({ ".zgroup": group, "v/.zarray": zarray(over), "v/.zattrs": dims });
      return (await bundleError(readBundle(dir))).message;
    };
    expect(await message({ dtype: "<c16" })).toMatch(/v\/\.zarray: unsupported dtype '<c16'; expected int8\.\.int64/);
    expect(await message({ dtype: ">f4" })).toMatch(/v\/\.zarray: dtype '>f4' is big-endian; Maelstrom reads little-endian Zarr only \(write it with '<f4'\)/);
    expect(await message({ dtype: "<M8[as]" })).toContain("unsupported datetime unit in dtype '<M8[as]'");
    expect(await message({ compressor: { id: "blosc", cname: "lz4" } })).toContain(
      'compressor "blosc" is not supported; Maelstrom reads uncompressed Zarr (compressor: null). From xarray write it with encoding={"v": {"compressor": None}}',
    );
    expect(await message({ filters: [{ id: "delta" }] })).toContain('unsupported filters [{"id":"delta"}]');
    expect(await message({ dtype: "|O", filters: [{ id: "pickle" }] })).toContain(`object dtype '|O' needs filters [{"id": "vlen-utf8"}]`);
    expect(await message({ order: "F" })).toContain('order "F" is not supported; expected "C"');
    expect(await message({ chunks: [0] })).toContain("chunks must be 1 positive integers");
    expect(await message({ shape: [-1] })).toContain("shape must be a list of non-negative integers");
    expect(await message({ fill_value: "yes" })).toContain('fill_value "yes" does not fit dtype float32');
    expect(await message({ zarr_format: 3 })).toContain("zarr_format is 3; expected 2");
  });

  it("names a chunk file of the wrong size and corrupt string chunks", async () => {
    const short = await store({ ".zgroup": group, "v/.zarray": zarray(), "v/.zattrs": dims, "v/0": Buffer.alloc(5) });
    const e = await bundleError(readBundle(short));
    expect(e.message).toBe(`chunk file ${path.join(short, "v/0")} has 5 bytes; expected 8 (chunk shape [2] of <f4, uncompressed)`);
    expect(e.details).toMatchObject({ expected: 8, actual: 5 });
    const strings = await store({ ".zgroup": group, "v/.zarray": zarray({ dtype: "|O", filters: [{ id: "vlen-utf8" }], fill_value: null }), "v/.zattrs": dims, "v/0": Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 0x61]) });
    expect((await bundleError(readBundle(strings))).message).toBe(`chunk file ${path.join(strings, "v/0")} is not valid vlen-utf8: it holds 1 items; expected 2 (one per element of the chunk)`);
    const truncated = await store({ ".zgroup": group, "v/.zarray": zarray({ dtype: "|O", filters: [{ id: "vlen-utf8" }], fill_value: null }), "v/.zattrs": dims, "v/0": Buffer.from([2, 0, 0, 0, 9, 0, 0, 0, 0x61]) });
    expect((await bundleError(readBundle(truncated))).message).toContain("item 0 (9 bytes) runs past the end of the file");
  });

  it("fills missing chunk files with fill_value", async () => {
    const dir = await store({ ".zgroup": group, "v/.zarray": zarray(), "v/.zattrs": dims, "s/.zarray": zarray({ dtype: "|O", filters: [{ id: "vlen-utf8" }], fill_value: null }), "s/.zattrs": dims });
    const b = await readBundle(dir);
    expect(Array.from(b.variable("v").data as Float32Array)).toEqual([NaN, NaN]);
    expect(b.variable("s").data).toEqual(["", ""]);
  });

  it("needs _ARRAY_DIMENSIONS and consistent dimension sizes", async () => {
    const noDims = await store({ ".zgroup": group, "v/.zarray": zarray(), "v/.zattrs": "{}" });
    expect((await bundleError(readBundle(noDims))).message).toContain(
      "v/.zattrs: _ARRAY_DIMENSIONS must list 1 dimension names (xarray's convention for naming the dims of shape [2]), got undefined",
    );
    const clash = await store({ ".zgroup": group, "a/.zarray": zarray(), "a/.zattrs": dims, "b/.zarray": zarray({ shape: [3], chunks: [3] }), "b/.zattrs": dims });
    expect((await bundleError(readBundle(clash))).message).toBe(
      `bundle at ${clash} is invalid: dimension 'n' has size 2 in 'a' but size 3 in 'b'; a dimension has one size across the bundle`,
    );
  });
});

describe("readBundleSchema", () => {
  it("tells names, dtypes, dims and shapes from metadata alone", async () => {
    const dir = path.join(root, "schema");
    await writeBundle(Bundle.fromVariables({ t2m: { dims: ["time", "lat"], shape: [2, 3], data: new Float32Array(6) } }, { coords: { time: { dims: ["time"], data: [1, 2] } } }), dir);
    // Chunks are not read: the schema survives their removal.
    rmSync(path.join(dir, "t2m", "0.0"));
    expect(await readBundleSchema(dir)).toEqual({
      t2m: { dtype: "float32", dims: ["time", "lat"], shape: [2, 3] },
      time: { dtype: "float64", dims: ["time"], shape: [2] },
    });
  });
});

describe("metadata JSON", () => {
  it("escapes non-ASCII text, which zarr 2.13 cannot decode otherwise", async () => {
    const dir = path.join(root, "ascii");
    await writeBundle(Bundle.fromTable({ t: [1] }, { attrs: { station: "Ny-Ålesund ❄" } }), dir);
    const text = await fs.readFile(path.join(dir, ".zattrs"), "utf8");
    expect(text).toContain('"Ny-\\u00c5lesund \\u2744"');
    expect([...text].every((c) => c.charCodeAt(0) < 128)).toBe(true);
    expect((await readBundle(dir)).attrs["station"]).toBe("Ny-Ålesund ❄");
  });
});
