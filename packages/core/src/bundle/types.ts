/** Element types a bundle variable can hold. Names follow numpy so Python sees the same words. */
export type DType =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float32"
  | "float64"
  | "bool"
  | "string"
  | "datetime64[ns]";

export type TypedArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** bool is stored as Uint8Array (0/1); datetime64[ns] as BigInt64Array (ns since the Unix epoch, UTC). */
export type VariableData = TypedArray | string[];

export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface Variable {
  readonly name: string;
  readonly dims: readonly string[];
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Flat, C order (last dimension varies fastest). Treat as read-only: bundles share their arrays. */
  readonly data: VariableData;
  readonly attrs: Attrs;
}

export interface VariableInput {
  dims: readonly string[];
  /** Required for N-d data; inferred for 0-d ([]) and 1-d ([data.length]). */
  shape?: readonly number[];
  /** Inferred from the data when omitted: number[] -> float64, boolean[] -> bool, string[] -> string, bigint[] -> int64. */
  dtype?: DType;
  data: VariableData | readonly number[] | readonly string[] | readonly boolean[] | readonly bigint[];
  attrs?: Attrs;
}

export type TableInput = Record<string, VariableData | readonly number[] | readonly string[] | readonly boolean[]>;

export interface VariableSummary {
  name: string;
  role: "data" | "coord";
  dims: string[];
  shape: number[];
  dtype: DType;
  bytes: number;
  preview: string;
  attrs: Attrs;
}

export interface BundleSummary {
  variables: VariableSummary[];
  dims: Record<string, number>;
  attrs: Attrs;
  bytes: number;
}
