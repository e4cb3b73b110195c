export { buildNodeModule, nodeBuildIdentity } from "./build.js";
export type { NodeBuildOptions } from "./build.js";
export { choosePython, pythonImports } from "./python.js";
export type { RequestedPython } from "./python.js";
export { runStepProcess } from "./step-process.js";
export type { StepOutcome, StepProcessOptions, StepProcessResult, StepRunner } from "./step-process.js";
export { WorkerPool } from "./worker-pool.js";
