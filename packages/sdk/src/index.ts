export { Bundle, bundleFromCsv, isBundle } from "@maelstrom/core";
export type { Attrs, AttrValue, DType, TableInput, TypedArray, Variable, VariableData, VariableInput } from "@maelstrom/core";
export { MetaVariables } from "./meta.js";
export { logMetric, reportProgress } from "./events.js";

/** A model's trained state: anything structured-clone can copy, unless the module exports save/load. */
export type Model = unknown;
