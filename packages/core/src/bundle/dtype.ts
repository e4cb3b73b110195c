import type { DType, TypedArray } from "./types.js";

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface NumericDTypeInfo {
  readonly kind: "int" | "uint" | "float" | "bool" | "datetime";
  /** numpy/Zarr v2 dtype string written to `.zarray`. */
  readonly zarr: string;
  readonly itemsize: number;
  readonly ctor: TypedArrayConstructor;
  /** Name of the typed array class, as reported by Symbol.toStringTag. */
  readonly arrayName: string;
}

export const NUMERIC_DTYPES: Readonly<Record<Exclude<DType, "string">, NumericDTypeInfo>> = {
  int8: { kind: "int", zarr: "|i1", itemsize: 1, ctor: Int8Array, arrayName: "Int8Array" },
  int16: { kind: "int", zarr: "<i2", itemsize: 2, ctor: Int16Array, arrayName: "Int16Array" },
  int32: { kind: "int", zarr: "<i4", itemsize: 4, ctor: Int32Array, arrayName: "Int32Array" },
  int64: { kind: "int", zarr: "<i8", itemsize: 8, ctor: BigInt64Array, arrayName: "BigInt64Array" },
  uint8: { kind: "uint", zarr: "|u1", itemsize: 1, ctor: Uint8Array, arrayName: "Uint8Array" },
  uint16: { kind: "uint", zarr: "<u2", itemsize: 2, ctor: Uint16Array, arrayName: "Uint16Array" },
  uint32: { kind: "uint", zarr: "<u4", itemsize: 4, ctor: Uint32Array, arrayName: "Uint32Array" },
  uint64: { kind: "uint", zarr: "<u8", itemsize: 8, ctor: BigUint64Array, arrayName: "BigUint64Array" },
  float32: { kind: "float", zarr: "<f4", itemsize: 4, ctor: Float32Array, arrayName: "Float32Array" },
  float64: { kind: "float", zarr: "<f8", itemsize: 8, ctor: Float64Array, arrayName: "Float64Array" },
  bool: { kind: "bool", zarr: "|b1", itemsize: 1, ctor: Uint8Array, arrayName: "Uint8Array" },
  "datetime64[ns]": { kind: "datetime", zarr: "<M8[ns]", itemsize: 8, ctor: BigInt64Array, arrayName: "BigInt64Array" },
};

export const ALL_DTYPES: readonly DType[] = [...(Object.keys(NUMERIC_DTYPES) as DType[]), "string"];

/** The dtype a typed array means when no dtype is given, keyed by its class name. */
export const NATURAL_DTYPE: Readonly<Record<string, DType>> = {
  Int8Array: "int8",
  Int16Array: "int16",
  Int32Array: "int32",
  BigInt64Array: "int64",
  Uint8Array: "uint8",
  Uint16Array: "uint16",
  Uint32Array: "uint32",
  BigUint64Array: "uint64",
  Float32Array: "float32",
  Float64Array: "float64",
};

/** Inclusive ranges of the integer dtypes (as numbers; 64-bit ones are checked as bigint). */
export const INT_RANGES: Readonly<Partial<Record<DType, readonly [bigint, bigint]>>> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, 2n ** 64n - 1n],
  "datetime64[ns]": [-(2n ** 63n), 2n ** 63n - 1n],
};

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (ALL_DTYPES as readonly string[]).includes(value);
}

/** Class name of a typed array, robust across realms (vm contexts) where instanceof fails. */
export function typedArrayName(value: ArrayBufferView): string {
  return (value as unknown as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? "DataView";
}

/** Bytes of the in-memory data: typed arrays' byteLength, strings' UTF-8 length. */
export function dataBytes(data: TypedArray | readonly string[]): number {
  if (Array.isArray(data)) {
    let total = 0;
    for (const s of data as readonly string[]) total += Buffer.byteLength(s, "utf8");
    return total;
  }
  return (data as TypedArray).byteLength;
}
