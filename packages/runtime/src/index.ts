export { buildNodeModule, nodeBuildIdentity } from "./build.js";
export type { NodeBuildOptions } from "./build.js";
export { runStepProcess, nodeRunnerPath } from "./step-process.js";
export type { StepOutcome, StepProcessOptions, StepProcessResult } from "./step-process.js";
