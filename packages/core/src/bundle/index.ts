export { Bundle, isBundle } from "./bundle.js";
export { bundleFromCsv } from "./csv.js";
export { formatDatetime } from "./datetime.js";
export { summarizeBundle } from "./summary.js";
export { readBundle, readBundleSchema, writeBundle } from "./zarr.js";
export type { WriteBundleOptions } from "./zarr.js";
export type {
  AttrValue,
  Attrs,
  BundleSummary,
  DType,
  TableInput,
  TypedArray,
  Variable,
  VariableData,
  VariableInput,
  VariableSummary,
} from "./types.js";
