/**
 * Bundles on disk: a Zarr v2 group with xarray's conventions (DESIGN.md, decision 5).
 *
 *   dir/.zgroup  .zattrs  .zmetadata            group, bundle attrs, consolidated metadata
 *   dir/<name>/.zarray  .zattrs                 per variable; .zattrs holds _ARRAY_DIMENSIONS
 *   dir/<name>/0  1  …  (or 0.0, 1.0, …)        uncompressed C-order chunks along the first dim
 *
 * Chunks are written straight from the variable's buffer and read straight into one buffer per
 * variable, so a bundle moves at file-copy speed and the typed arrays read back are views, not copies.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Bundle, isBundle } from "./bundle.js";
import { NAT } from "./datetime.js";
import { NUMERIC_DTYPES } from "./dtype.js";
import { canonicalJson, parseJson } from "./json.js";
import { bundleError } from "./validate.js";
import type { Attrs, DType, TypedArray, Variable, VariableInput } from "./types.js";
import { MaelstromError } from "@maelstrom/errors";

/** Largest chunk written: 64 MiB, so a chunk can be hashed, cached and streamed on its own. */
const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
/** Group attribute keeping the variables' order, which Zarr itself does not record. */
const ORDER_ATTR = "_maelstrom_order";
/** Parallel file operations: enough to overlap syscalls, few enough not to thrash a laptop disk. */
const IO_CONCURRENCY = 4;
/** Parallel metadata reads: bounded so that thousands of variables do not exhaust file descriptors. */
const METADATA_CONCURRENCY = 16;
/** Largest single read/write call (Node refuses lengths of 2 GiB and more). */
const MAX_IO = 1024 * 1024 * 1024;

export interface WriteBundleOptions {
  /** Largest chunk in bytes (default 64 MiB); mainly for tests that need several chunks. */
  chunkBytes?: number;
}

function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw bundleError("Maelstrom's Zarr bundles are little-endian and this machine is big-endian; this is not supported");
}

function errno(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}

async function runAll(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Writing

interface ArrayPlan {
  readonly variable: Variable;
  readonly chunks: readonly number[];
  readonly zarray: Record<string, unknown>;
  readonly zattrs: Record<string, unknown>;
}

function isDimensionCoord(v: Variable): boolean {
  return v.dims.length === 1 && v.dims[0] === v.name;
}

/** Chunk along the first dimension only, as many rows as fit in chunkBytes (at least one). */
function chunkShape(v: Variable, chunkBytes: number): number[] {
  const [n0, ...rest] = v.shape;
  if (n0 === undefined) return [];
  const inner = rest.map((s) => Math.max(s, 1));
  if (n0 === 0) return [1, ...inner];
  let rowBytes: number;
  if (v.dtype === "string") {
    // Estimate from the actual encoded size; chunks must be uniform in Zarr, so this is approximate.
    let total = 4;
    for (const s of v.data as string[]) total += 4 + Buffer.byteLength(s, "utf8");
    rowBytes = total / n0;
  } else {
    rowBytes = NUMERIC_DTYPES[v.dtype].itemsize * product(rest);
  }
  const rows = rowBytes === 0 ? n0 : Math.min(n0, Math.max(1, Math.floor(chunkBytes / rowBytes)));
  return [rows, ...inner];
}

function planArray(v: Variable, chunkBytes: number, coordinates: readonly string[]): ArrayPlan {
  const chunks = chunkShape(v, chunkBytes);
  const isString = v.dtype === "string";
  const zarray: Record<string, unknown> = {
    chunks,
    compressor: null,
    dimension_separator: ".",
    dtype: isString ? "|O" : NUMERIC_DTYPES[v.dtype].zarr,
    // Floats use NaN, as xarray does. Everything else uses null: xarray masks values equal to a
    // Zarr v2 fill_value, so a fill of 0 would turn integer zeros into NaN and bools into floats.
    fill_value: v.dtype === "float32" || v.dtype === "float64" ? "NaN" : null,
    filters: isString ? [{ id: "vlen-utf8" }] : null,
    order: "C",
    shape: v.shape,
    zarr_format: 2,
  };
  const zattrs: Record<string, unknown> = { ...v.attrs, _ARRAY_DIMENSIONS: v.dims };
  if (coordinates.length > 0) zattrs["coordinates"] = coordinates.join(" ");
  return { variable: v, chunks, zarray, zattrs };
}

/** Every metadata document of the store, keyed by path relative to the group (pure, deterministic). */
function planBundle(bundle: Bundle, chunkBytes: number): { arrays: ArrayPlan[]; metadata: Map<string, Record<string, unknown>> } {
  const data = bundle.variables.map((name) => bundle.variable(name));
  const coords = bundle.coords.map((name) => bundle.variable(name));
  // xarray's convention: a dimension coordinate is recognised by its name; any other coordinate is
  // listed in the `coordinates` attribute of the data variables that span its dims, or else in the
  // group's `coordinates` attribute.
  const nonDim = coords.filter((c) => !isDimensionCoord(c));
  const listed = new Set<string>();
  const arrays: ArrayPlan[] = [];
  for (const v of data) {
    const names = nonDim.filter((c) => c.dims.every((d) => v.dims.includes(d))).map((c) => c.name);
    names.forEach((n) => listed.add(n));
    arrays.push(planArray(v, chunkBytes, names));
  }
  for (const c of coords) arrays.push(planArray(c, chunkBytes, []));
  const groupAttrs: Record<string, unknown> = { ...bundle.attrs, [ORDER_ATTR]: [...bundle.variables, ...bundle.coords] };
  const orphans = nonDim.filter((c) => !listed.has(c.name)).map((c) => c.name);
  if (orphans.length > 0) groupAttrs["coordinates"] = orphans.join(" ");

  const metadata = new Map<string, Record<string, unknown>>();
  metadata.set(".zgroup", { zarr_format: 2 });
  metadata.set(".zattrs", groupAttrs);
  for (const a of arrays) {
    metadata.set(`${a.variable.name}/.zarray`, a.zarray);
    metadata.set(`${a.variable.name}/.zattrs`, a.zattrs);
  }
  return { arrays, metadata };
}

async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await fs.open(file, "w");
  try {
    let position = 0;
    for (const part of parts) {
      let offset = 0;
      while (offset < part.byteLength) {
        const { bytesWritten } = await handle.write(part, offset, Math.min(part.byteLength - offset, MAX_IO), position);
        offset += bytesWritten;
        position += bytesWritten;
      }
    }
  } finally {
    await handle.close();
  }
}

/** numcodecs vlen-utf8: uint32 LE item count, then per item uint32 LE byte length + UTF-8 bytes. */
function encodeVlenUtf8(items: readonly string[], count: number): Buffer {
  let total = 4 + 4 * count;
  const lengths = items.map((s) => Buffer.byteLength(s, "utf8"));
  for (const length of lengths) total += length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(count, 0);
  let position = 4;
  items.forEach((s, i) => {
    const length = lengths[i]!;
    out.writeUInt32LE(length, position);
    position += 4;
    out.write(s, position, length, "utf8");
    position += length;
  });
  // Padding items of an edge chunk stay empty strings (length 0, already zero).
  return out;
}

function chunkKey(indices: readonly number[], separator: string): string {
  return indices.length === 0 ? "0" : indices.join(separator);
}

function chunkTasks(dir: string, plan: ArrayPlan): (() => Promise<void>)[] {
  const v = plan.variable;
  const [n0] = v.shape;
  const [c0] = plan.chunks;
  const folder = path.join(dir, v.name);
  if (n0 === undefined || c0 === undefined) {
    // 0-d: one chunk "0" with the single value.
    const bytes = v.dtype === "string" ? encodeVlenUtf8(v.data as string[], 1) : bytesOf(v.data as TypedArray);
    return [() => writeParts(path.join(folder, "0"), [bytes])];
  }
  const inner = product(v.shape.slice(1));
  if (inner === 0 || n0 === 0) return [];
  const trailing = plan.chunks.slice(1).map(() => 0);
  const count = Math.ceil(n0 / c0);
  const tasks: (() => Promise<void>)[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(folder, chunkKey([i, ...trailing], "."));
    const rows = Math.min(c0, n0 - i * c0);
    if (v.dtype === "string") {
      const items = (v.data as string[]).slice(i * c0 * inner, (i * c0 + rows) * inner);
      tasks.push(() => writeParts(file, [encodeVlenUtf8(items, c0 * inner)]));
    } else {
      const rowBytes = NUMERIC_DTYPES[v.dtype].itemsize * inner;
      const bytes = bytesOf(v.data as TypedArray);
      const part = bytes.subarray(i * c0 * rowBytes, (i * c0 + rows) * rowBytes);
      // Zarr v2 stores edge chunks at full size; the padding is outside the array and never read.
      const padding = (c0 - rows) * rowBytes;
      tasks.push(() => writeParts(file, padding > 0 ? [part, new Uint8Array(padding)] : [part]));
    }
  }
  return tasks;
}

/** The typed array's own memory, without a copy. */
function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes the bundle as a Zarr v2 group at `dir`, which must not exist or be empty. The same bundle
 * always gives byte-identical files (canonical JSON, fixed chunking, zero padding).
 */
export async function writeBundle(bundle: Bundle, dir: string, options: WriteBundleOptions = {}): Promise<void> {
  assertLittleEndian();
  if (!isBundle(bundle)) throw bundleError(`writeBundle expects a Bundle, got ${bundle === null ? "null" : typeof bundle}`);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw bundleError(`writeBundle: chunkBytes must be a positive integer, got ${chunkBytes}`);

  let existing: string[];
  try {
    existing = await fs.readdir(dir);
  } catch (error) {
    if (errno(error) === "ENOENT") {
      await fs.mkdir(dir, { recursive: true });
      existing = [];
    } else if (errno(error) === "ENOTDIR") {
      throw bundleError(`cannot write bundle to ${dir}: it exists and is not a directory`, { path: dir }, error);
    } else throw error;
  }
  if (existing.length > 0) {
    const shown = existing.sort().slice(0, 5).join(", ");
    throw bundleError(`cannot write bundle to ${dir}: the directory is not empty (it has ${shown}${existing.length > 5 ? ", …" : ""}); give a new or empty directory`, { path: dir });
  }

  const { arrays, metadata } = planBundle(bundle, chunkBytes);
  await Promise.all(arrays.map((a) => fs.mkdir(path.join(dir, a.variable.name))));
  const consolidated = { metadata: Object.fromEntries(metadata), zarr_consolidated_format: 1 };
  const tasks: (() => Promise<void>)[] = [];
  for (const [relative, document] of metadata) tasks.push(() => fs.writeFile(path.join(dir, relative), canonicalJson(document)));
  tasks.push(() => fs.writeFile(path.join(dir, ".zmetadata"), canonicalJson(consolidated)));
  for (const a of arrays) tasks.push(...chunkTasks(dir, a));
  await runAll(tasks, IO_CONCURRENCY);
}

// ---------------------------------------------------------------------------------------------
// Reading

type Layout =
  /** Stored bytes are the dtype's little-endian values (datetimes possibly in a coarser unit). */
  | { kind: "numeric"; dtype: Exclude<DType, "string">; itemsize: number; datetimeFactor: bigint }
  /** numpy fixed-width strings: U<n> (UTF-32 LE, 4n bytes) or S<n> (bytes, n). */
  | { kind: "fixed"; dtype: "string"; itemsize: number; encoding: "utf32" | "bytes" }
  | { kind: "vlen"; dtype: "string" };

const DATETIME_FACTORS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  D: 86_400_000_000_000n,
  W: 604_800_000_000_000n,
};

const CODE_TO_DTYPE: Readonly<Record<string, Exclude<DType, "string" | "datetime64[ns]">>> = {
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  f4: "float32",
  f8: "float64",
  b1: "bool",
};

const SUPPORTED = "int8..int64, uint8..uint64, float32, float64, bool, datetime64, and strings (|O with vlen-utf8, <U, |S)";

function parseDtype(where: string, dtype: unknown, filters: unknown): Layout {
  if (typeof dtype !== "string") throw bundleError(`${where}: unsupported dtype ${JSON.stringify(dtype)} (structured dtypes are not supported); expected ${SUPPORTED}`, { path: where });
  const noFilters = filters === null || filters === undefined || (Array.isArray(filters) && filters.length === 0);
  const m = /^([<>|=])([a-zA-Z])(\d*)(?:\[(\w+)\])?$/.exec(dtype);
  if (m === null) throw bundleError(`${where}: unsupported dtype '${dtype}'; expected ${SUPPORTED}`, { path: where });
  const [, order, letter, digits, unit] = m as unknown as [string, string, string, string, string | undefined];
  if (letter === "O") {
    const ids = Array.isArray(filters) ? filters.map((f: unknown) => (typeof f === "object" && f !== null ? (f as { id?: unknown }).id : f)) : [];
    if (ids.length !== 1 || ids[0] !== "vlen-utf8") {
      throw bundleError(`${where}: object dtype '|O' needs filters [{"id": "vlen-utf8"}], got ${JSON.stringify(filters)}; only UTF-8 string objects are supported`, { path: where });
    }
    return { kind: "vlen", dtype: "string" };
  }
  if (!noFilters) throw bundleError(`${where}: unsupported filters ${JSON.stringify(filters)}; Maelstrom reads unfiltered arrays (and vlen-utf8 for strings)`, { path: where });
  const size = Number(digits);
  if (order === ">" && (size > 1 || letter === "U")) {
    throw bundleError(`${where}: dtype '${dtype}' is big-endian; Maelstrom reads little-endian Zarr only (write it with '<${dtype.slice(1)}')`, { path: where });
  }
  if (letter === "U" && size > 0) return { kind: "fixed", dtype: "string", itemsize: 4 * size, encoding: "utf32" };
  if (letter === "S" && size > 0) return { kind: "fixed", dtype: "string", itemsize: size, encoding: "bytes" };
  if (letter === "M" && size === 8) {
    const factor = unit === undefined ? undefined : DATETIME_FACTORS[unit];
    if (factor === undefined) throw bundleError(`${where}: unsupported datetime unit in dtype '${dtype}'; expected one of ${Object.keys(DATETIME_FACTORS).join(", ")}`, { path: where });
    return { kind: "numeric", dtype: "datetime64[ns]", itemsize: 8, datetimeFactor: factor };
  }
  const mapped = unit === undefined ? CODE_TO_DTYPE[`${letter}${digits}`] : undefined;
  if (mapped === undefined) throw bundleError(`${where}: unsupported dtype '${dtype}'; expected ${SUPPORTED}`, { path: where });
  return { kind: "numeric", dtype: mapped, itemsize: size, datetimeFactor: 1n };
}

interface ArrayMeta {
  readonly name: string;
  readonly folder: string;
  readonly shape: number[];
  readonly chunks: number[];
  readonly dims: string[];
  readonly layout: Layout;
  /** The dtype string as written in .zarray, for messages. */
  readonly zarrDtype: string;
  /** Value of missing chunks: number/bigint for numbers, string for strings. */
  readonly fill: number | bigint | string;
  readonly separator: string;
  readonly attrs: Attrs;
  readonly coordinates: string[];
}

function isIntList(value: unknown, min: number): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && (v as number) >= min);
}

function parseFill(where: string, layout: Layout, fill: unknown): number | bigint | string {
  const bad = (): never => {
    throw bundleError(`${where}: fill_value ${JSON.stringify(fill)} does not fit dtype ${layout.dtype}`, { path: where });
  };
  if (layout.dtype === "string") {
    if (fill === null || fill === undefined || fill === 0) return "";
    return typeof fill === "string" ? fill : bad();
  }
  if (layout.kind !== "numeric") return bad();
  const info = NUMERIC_DTYPES[layout.dtype];
  if (fill === null || fill === undefined) return info.itemsize === 8 && info.kind !== "float" ? 0n : 0;
  if (info.kind === "float") {
    if (typeof fill === "number") return fill;
    const special: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
    return typeof fill === "string" && fill in special ? special[fill]! : bad();
  }
  if (info.kind === "bool") return fill === true || fill === 1 ? 1 : fill === false || fill === 0 ? 0 : bad();
  if (info.kind === "datetime" && fill === "NaT") return NAT;
  if (typeof fill !== "number" || !Number.isInteger(fill)) return bad();
  if (info.itemsize === 8) {
    const big = BigInt(fill);
    if (info.kind === "datetime" && big !== NAT) return big * layout.datetimeFactor;
    return big;
  }
  return fill;
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await fs.readFile(file, "utf8");
  try {
    return parseJson(text);
  } catch (error) {
    throw bundleError(`${file}: ${what} is not valid JSON (${error instanceof Error ? error.message : String(error)})`, { path: file }, error);
  }
}

async function readJsonIfExists(file: string, what: string): Promise<unknown> {
  try {
    return await readJson(file, what);
  } catch (error) {
    // ENOTDIR: a plain file (or a link to one) where a variable folder would be.
    if (errno(error) === "ENOENT" || errno(error) === "ENOTDIR") return undefined;
    throw error;
  }
}

function asObject(value: unknown, file: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bundleError(`${file} must hold a JSON object`, { path: file });
  return value as Record<string, unknown>;
}

async function readArrayMeta(dir: string, name: string): Promise<ArrayMeta | undefined> {
  const folder = path.join(dir, name);
  const zarrayPath = path.join(folder, ".zarray");
  const raw = await readJsonIfExists(zarrayPath, "array metadata");
  if (raw === undefined) return undefined;
  const meta = asObject(raw, zarrayPath);
  if (meta["zarr_format"] !== 2) throw bundleError(`${zarrayPath}: zarr_format is ${JSON.stringify(meta["zarr_format"])}; expected 2`, { path: zarrayPath });
  const { shape, chunks } = meta;
  if (!isIntList(shape, 0)) throw bundleError(`${zarrayPath}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, { path: zarrayPath });
  if (!isIntList(chunks, 1) || chunks.length !== shape.length) {
    throw bundleError(`${zarrayPath}: chunks must be ${shape.length} positive integers (one per dimension of shape [${shape.join(", ")}]), got ${JSON.stringify(chunks)}`, { path: zarrayPath });
  }
  if (meta["compressor"] !== null && meta["compressor"] !== undefined) {
    const id = (meta["compressor"] as { id?: unknown }).id;
    throw bundleError(
      `${zarrayPath}: compressor ${JSON.stringify(id ?? meta["compressor"])} is not supported; Maelstrom reads uncompressed Zarr (compressor: null). From xarray write it with encoding={"${name}": {"compressor": None}}`,
      { path: zarrayPath },
    );
  }
  const order = meta["order"] ?? "C";
  if (order !== "C") throw bundleError(`${zarrayPath}: order ${JSON.stringify(order)} is not supported; expected "C"`, { path: zarrayPath });
  const separator = meta["dimension_separator"] ?? ".";
  if (separator !== "." && separator !== "/") throw bundleError(`${zarrayPath}: dimension_separator ${JSON.stringify(separator)}; expected "." or "/"`, { path: zarrayPath });
  const layout = parseDtype(zarrayPath, meta["dtype"], meta["filters"]);
  const fill = parseFill(zarrayPath, layout, meta["fill_value"]);

  const zattrsPath = path.join(folder, ".zattrs");
  const attrs = asObject((await readJsonIfExists(zattrsPath, "array attributes")) ?? {}, zattrsPath);
  const dims = attrs["_ARRAY_DIMENSIONS"];
  if (!Array.isArray(dims) || dims.length !== shape.length || !dims.every((d) => typeof d === "string")) {
    throw bundleError(
      `${zattrsPath}: _ARRAY_DIMENSIONS must list ${shape.length} dimension names (xarray's convention for naming the dims of shape [${shape.join(", ")}]), got ${JSON.stringify(dims)}`,
      { path: zattrsPath },
    );
  }
  const coordinates = typeof attrs["coordinates"] === "string" ? attrs["coordinates"].split(/\s+/).filter((s) => s !== "") : [];
  const userAttrs = { ...attrs } as Attrs;
  delete userAttrs["_ARRAY_DIMENSIONS"];
  delete userAttrs["coordinates"];
  return { name, folder, shape, chunks, dims: dims as string[], layout, zarrDtype: String(meta["dtype"]), fill, separator: separator as string, attrs: userAttrs, coordinates };
}

/** A contiguous run of elements: `length` elements from `src` in the chunk go to `dst` in the array. */
interface Run {
  readonly src: number;
  readonly dst: number;
  readonly length: number;
}

/** The runs that place one chunk's valid region into the C-order array; one run when chunks span the trailing dims. */
function chunkRuns(shape: readonly number[], chunks: readonly number[], index: readonly number[]): Run[] {
  const n = shape.length;
  if (n === 0) return [{ src: 0, dst: 0, length: 1 }];
  const origin = index.map((i, d) => i * chunks[d]!);
  const extent = origin.map((o, d) => Math.min(chunks[d]!, shape[d]! - o));
  // Trailing dims the chunk spans fully are merged into one contiguous run.
  let k = n - 1;
  while (k > 0 && chunks[k] === shape[k]) k--;
  const srcStride: number[] = new Array<number>(n).fill(1);
  const dstStride: number[] = new Array<number>(n).fill(1);
  for (let d = n - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1]! * chunks[d + 1]!;
    dstStride[d] = dstStride[d + 1]! * shape[d + 1]!;
  }
  const length = extent[k]! * dstStride[k]!;
  const runs: Run[] = [];
  const idx = new Array<number>(k).fill(0);
  for (;;) {
    let src = 0;
    let dst = origin[k]! * dstStride[k]!;
    for (let d = 0; d < k; d++) {
      src += idx[d]! * srcStride[d]!;
      dst += (origin[d]! + idx[d]!) * dstStride[d]!;
    }
    runs.push({ src, dst, length });
    let d = k - 1;
    while (d >= 0) {
      idx[d]!++;
      if (idx[d]! < extent[d]!) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return runs;
  }
}

function chunkGrid(shape: readonly number[], chunks: readonly number[]): number[][] {
  if (shape.length === 0) return [[]];
  if (shape.some((s) => s === 0)) return [];
  const counts = shape.map((s, d) => Math.ceil(s / chunks[d]!));
  const out: number[][] = [];
  const idx = counts.map(() => 0);
  for (;;) {
    out.push([...idx]);
    let d = counts.length - 1;
    while (d >= 0) {
      idx[d]!++;
      if (idx[d]! < counts[d]!) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return out;
  }
}

/** Opens a chunk file and checks its size; undefined when it does not exist (read as fill_value). */
async function openChunk(file: string, expected: number, meta: ArrayMeta): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if (errno(error) === "ENOENT") return undefined;
    throw error;
  }
  const { size } = await handle.stat();
  if (size !== expected) {
    await handle.close();
    throw bundleError(
      `chunk file ${file} has ${size} bytes; expected ${expected} (chunk shape [${meta.chunks.join(", ")}] of ${meta.zarrDtype}, uncompressed)`,
      { path: file, expected, actual: size },
    );
  }
  return handle;
}

async function readFully(handle: FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let offset = 0;
  while (offset < target.byteLength) {
    const { bytesRead } = await handle.read(target, offset, Math.min(target.byteLength - offset, MAX_IO), position + offset);
    if (bytesRead === 0) throw bundleError(`chunk file ${file} ended early (it shrank while being read)`, { path: file });
    offset += bytesRead;
  }
}

/** Reads the fixed-size elements of an array into one buffer: chunk files land directly in their slice. */
function numericTasks(meta: ArrayMeta, itemsize: number, out: Uint8Array, fillRun: (run: Run) => void): (() => Promise<void>)[] {
  const chunkBytes = product(meta.chunks) * itemsize;
  return chunkGrid(meta.shape, meta.chunks).map((index) => async () => {
    const file = path.join(meta.folder, chunkKey(index, meta.separator));
    const runs = chunkRuns(meta.shape, meta.chunks, index);
    const handle = await openChunk(file, chunkBytes, meta);
    if (handle === undefined) {
      runs.forEach(fillRun);
      return;
    }
    try {
      const only = runs.length === 1 ? runs[0] : undefined;
      if (only !== undefined && only.src === 0) {
        // The usual case (chunks along the first dim): straight into the result, no copy.
        await readFully(handle, out.subarray(only.dst * itemsize, (only.dst + only.length) * itemsize), 0, file);
      } else {
        const chunk = new Uint8Array(chunkBytes);
        await readFully(handle, chunk, 0, file);
        for (const run of runs) out.set(chunk.subarray(run.src * itemsize, (run.src + run.length) * itemsize), run.dst * itemsize);
      }
    } finally {
      await handle.close();
    }
  });
}

function decodeVlenUtf8(buffer: Buffer, expected: number, file: string): string[] {
  const corrupt = (what: string): never => {
    throw bundleError(`chunk file ${file} is not valid vlen-utf8: ${what}`, { path: file });
  };
  if (buffer.length < 4) corrupt(`it has ${buffer.length} bytes, fewer than the 4-byte item count`);
  const count = buffer.readUInt32LE(0);
  if (count !== expected) corrupt(`it holds ${count} items; expected ${expected} (one per element of the chunk)`);
  const items = new Array<string>(count);
  let position = 4;
  for (let i = 0; i < count; i++) {
    if (position + 4 > buffer.length) corrupt(`item ${i} runs past the end of the file`);
    const length = buffer.readUInt32LE(position);
    position += 4;
    if (position + length > buffer.length) corrupt(`item ${i} (${length} bytes) runs past the end of the file`);
    items[i] = buffer.toString("utf8", position, position + length);
    position += length;
  }
  if (position !== buffer.length) corrupt(`${buffer.length - position} unexpected bytes after the last item`);
  return items;
}

function vlenTasks(meta: ArrayMeta, out: string[]): (() => Promise<void>)[] {
  const expected = product(meta.chunks);
  return chunkGrid(meta.shape, meta.chunks).map((index) => async () => {
    const file = path.join(meta.folder, chunkKey(index, meta.separator));
    const runs = chunkRuns(meta.shape, meta.chunks, index);
    let buffer: Buffer;
    try {
      buffer = await fs.readFile(file);
    } catch (error) {
      if (errno(error) !== "ENOENT") throw error;
      for (const run of runs) out.fill(meta.fill as string, run.dst, run.dst + run.length);
      return;
    }
    const items = decodeVlenUtf8(buffer, expected, file);
    for (const run of runs) for (let j = 0; j < run.length; j++) out[run.dst + j] = items[run.src + j]!;
  });
}

function decodeFixedStrings(bytes: Uint8Array, count: number, itemsize: number, encoding: "utf32" | "bytes"): string[] {
  const out = new Array<string>(count);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const start = i * itemsize;
    if (encoding === "bytes") {
      let end = start;
      while (end < start + itemsize && buffer[end] !== 0) end++;
      out[i] = buffer.toString("utf8", start, end);
    } else {
      let s = "";
      for (let p = start; p < start + itemsize; p += 4) {
        const cp = buffer.readUInt32LE(p);
        if (cp === 0) break;
        s += String.fromCodePoint(cp);
      }
      out[i] = s;
    }
  }
  return out;
}

interface Loaded {
  readonly meta: ArrayMeta;
  readonly tasks: (() => Promise<void>)[];
  readonly result: () => VariableInput;
}

function prepareArray(meta: ArrayMeta): Loaded {
  const { layout } = meta;
  const count = product(meta.shape);
  const base = { dims: meta.dims, shape: meta.shape, attrs: meta.attrs };
  if (layout.kind === "vlen") {
    const out = new Array<string>(count).fill("");
    return { meta, tasks: vlenTasks(meta, out), result: () => ({ ...base, dtype: "string", data: out }) };
  }
  // One buffer for the whole variable; chunk reads fill its slices.
  const bytes = new Uint8Array(count * layout.itemsize);
  if (layout.kind === "fixed") {
    const tasks = numericTasks(meta, layout.itemsize, bytes, () => {});
    return { meta, tasks, result: () => ({ ...base, dtype: "string", data: decodeFixedStrings(bytes, count, layout.itemsize, layout.encoding) }) };
  }
  const info = NUMERIC_DTYPES[layout.dtype];
  const typed = new info.ctor(bytes.buffer) as TypedArray;
  const fill = meta.fill as number | bigint;
  const fillIsZero = typeof fill === "bigint" ? fill === 0n : Object.is(fill, 0);
  const fillRun = fillIsZero ? () => {} : (run: Run) => (typed as unknown as { fill(v: number | bigint, s: number, e: number): void }).fill(fill, run.dst, run.dst + run.length);
  const tasks = numericTasks(meta, layout.itemsize, bytes, fillRun);
  const result = (): VariableInput => {
    if (layout.datetimeFactor !== 1n) scaleDatetimes(typed as BigInt64Array, layout.datetimeFactor, meta.folder);
    return { ...base, dtype: layout.dtype, data: typed };
  };
  return { meta, tasks, result };
}

function scaleDatetimes(values: BigInt64Array, factor: bigint, where: string): void {
  const max = 2n ** 63n - 1n;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === NAT) continue;
    const scaled = v * factor;
    if (scaled <= NAT || scaled > max) throw bundleError(`${where}: datetime value ${v} does not fit datetime64[ns] (years 1678–2262)`, { path: where });
    values[i] = scaled;
  }
}

function orderNames(names: readonly string[], preferred: unknown): string[] {
  const hinted = Array.isArray(preferred) ? preferred.filter((n): n is string => typeof n === "string" && names.includes(n)) : [];
  const unique = [...new Set(hinted)];
  return [...unique, ...names.filter((n) => !unique.includes(n)).sort()];
}

/** Reads a bundle written by writeBundle, or any uncompressed Zarr v2 group following xarray's conventions. */
/** The group's array metadata and attributes, without reading any chunk. */
async function readGroupMeta(dir: string): Promise<{ metas: ArrayMeta[]; groupAttrs: Attrs }> {
  assertLittleEndian();
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (error) {
    if (errno(error) === "ENOENT") throw bundleError(`cannot read bundle: ${dir} does not exist`, { path: dir }, error);
    throw error;
  }
  if (!stat.isDirectory()) throw bundleError(`cannot read bundle: ${dir} is not a directory (a bundle is a Zarr v2 group directory)`, { path: dir });
  const zgroupPath = path.join(dir, ".zgroup");
  const zgroup = await readJsonIfExists(zgroupPath, "group metadata");
  if (zgroup === undefined) {
    const hint = (await exists(path.join(dir, ".zarray")))
      ? " (it is a single Zarr array, not a group)"
      : (await exists(path.join(dir, "zarr.json")))
        ? " (it looks like Zarr v3; Maelstrom reads Zarr v2)"
        : "";
    throw bundleError(`${dir} is not a Zarr group: ${zgroupPath} is missing${hint}`, { path: dir });
  }
  const format = asObject(zgroup, zgroupPath)["zarr_format"];
  if (format !== 2) throw bundleError(`${zgroupPath}: zarr_format is ${JSON.stringify(format)}; expected 2 (Maelstrom reads Zarr v2)`, { path: zgroupPath });
  const zattrsPath = path.join(dir, ".zattrs");
  const groupAttrs = { ...asObject((await readJsonIfExists(zattrsPath, "group attributes")) ?? {}, zattrsPath) } as Attrs;

  const entries = await fs.readdir(dir, { withFileTypes: true });
  const candidates = entries.filter((e) => !e.name.startsWith(".") && (e.isDirectory() || e.isSymbolicLink())).map((e) => e.name);
  // Subdirectories without .zarray (nested groups, stray folders) are not variables, as in xarray.
  const found: (ArrayMeta | undefined)[] = [];
  await runAll(
    candidates.map((name, i) => async () => {
      found[i] = await readArrayMeta(dir, name);
    }),
    METADATA_CONCURRENCY,
  );
  const metas = found.filter((m): m is ArrayMeta => m !== undefined);
  return { metas, groupAttrs };
}

/** What a stored bundle holds (name -> dtype, dims, shape), from its metadata alone: cheap for any size. */
export async function readBundleSchema(dir: string): Promise<Record<string, { dtype: DType; dims: string[]; shape: number[] }>> {
  const { metas } = await readGroupMeta(dir);
  return Object.fromEntries(metas.map((m) => [m.name, { dtype: m.layout.dtype, dims: m.dims, shape: m.shape }]));
}

export async function readBundle(dir: string): Promise<Bundle> {
  const { metas, groupAttrs } = await readGroupMeta(dir);

  const byName = new Map(metas.map((m) => [m.name, m]));
  const coordNames = new Set<string>();
  for (const m of metas) if (m.dims.length === 1 && m.dims[0] === m.name) coordNames.add(m.name);
  const listedIn = (value: unknown): string[] => (typeof value === "string" ? value.split(/\s+/).filter((n) => byName.has(n)) : []);
  for (const m of metas) for (const n of m.coordinates) if (byName.has(n)) coordNames.add(n);
  for (const n of listedIn(groupAttrs["coordinates"])) coordNames.add(n);

  const order = groupAttrs[ORDER_ATTR];
  delete groupAttrs[ORDER_ATTR];
  delete groupAttrs["coordinates"];
  const dataNames = orderNames(metas.filter((m) => !coordNames.has(m.name)).map((m) => m.name), order);
  const coordOrder = orderNames([...coordNames], order);

  const loaded = metas.map(prepareArray);
  await runAll(
    loaded.flatMap((l) => l.tasks),
    IO_CONCURRENCY,
  );
  const results = new Map(loaded.map((l) => [l.meta.name, l.result()]));
  try {
    return Bundle.fromVariables(Object.fromEntries(dataNames.map((n) => [n, results.get(n)!])), {
      coords: Object.fromEntries(coordOrder.map((n) => [n, results.get(n)!])),
      attrs: groupAttrs,
    });
  } catch (error) {
    if (error instanceof MaelstromError) throw bundleError(`bundle at ${dir} is invalid: ${error.message}`, { ...error.details, path: dir }, error);
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
