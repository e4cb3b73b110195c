export { MANIFEST_FILE, loadManifest, parseManifest } from "./manifest.js";
export type { ArtifactKind, Manifest, RuntimeName } from "./manifest.js";
export type { PipelineStepSpec, Resources, VariableContract } from "./sections.js";
export { parseSetArguments, resolveParameters } from "./parameters.js";
export type { ParameterSpec, ParameterType, ParameterValue } from "./parameters.js";
export { parseDuration, parseSize } from "./sizes.js";
export { formatArtifactRef, formatModelRef, isValidName, parseArtifactRef, parseModelRef } from "./references.js";
export type { ArtifactRef, ModelRef } from "./references.js";
export { newRunId } from "./ids.js";
