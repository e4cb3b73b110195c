import type { Bundle } from "@maelstrom/core";

export { Bundle, bundleFromCsv, isBundle } from "@maelstrom/core";
export type { Attrs, AttrValue, DType, TableInput, TypedArray, Variable, VariableData, VariableInput } from "@maelstrom/core";
export { MetaVariables } from "./meta.js";
export { logMetric, reportProgress } from "./events.js";

/**
 * Several named bundles: what a step with named inputs gets instead of one Bundle, and what a step
 * with named outputs returns (exactly those names). A step whose only input / output is `data`
 * gets / returns a plain Bundle.
 */
export type Bundles = Readonly<Record<string, Bundle>>;

/** A model's trained state: anything structured-clone can copy, unless the module exports save/load. */
export type Model = unknown;
