export { EVENT_FD_ENV, isFinalJobState, parseStepEvent, setCallIndex, withCallIndex } from "./protocol/events.js";
export type {
  DoneEvent,
  FailedEvent,
  FusedCall,
  MetricEvent,
  ProgressEvent,
  PythonEnvironment,
  SchedulerRetry,
  SchedulerStatus,
  SchedulerUsage,
  StepEvent,
  StepResourceUsage,
  StepSpec,
} from "./protocol/events.js";
export { orderSteps } from "./graph/index.js";
export type { GraphStep } from "./graph/index.js";
export {
  MANIFEST_FILE,
  commandPlaceholders,
  formatArtifactRef,
  formatModelRef,
  isValidName,
  loadManifest,
  newRunId,
  parseArtifactRef,
  parseDuration,
  parseManifest,
  parseModelRef,
  parseSetArguments,
  parseSize,
  renderCommand,
  resolveParameters,
  shellWord,
} from "./manifest/index.js";
export type {
  ArtifactKind,
  ArtifactRef,
  Manifest,
  ModelRef,
  ParameterSpec,
  ParameterType,
  ParameterValue,
  PipelineStepSpec,
  Resources,
  RuntimeName,
  StepSource,
  VariableContract,
} from "./manifest/index.js";
export { Bundle, bundleFromCsv, formatDatetime, isBundle, readBundle, readBundleSchema, summarizeBundle, writeBundle } from "./bundle/index.js";
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
  WriteBundleOptions,
} from "./bundle/index.js";
