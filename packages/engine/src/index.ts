export { Engine } from "./engine.js";
export type { ApplyOutcome, ApplyRequest, ExecutionRequest, OpenOptions, RunPreview, TrainOutcome, TrainRequest } from "./engine.js";
export type { StepDecision } from "./decide.js";
export type { PrunedStep } from "./plan.js";
export type { AddResult } from "./artifacts.js";
export type { Clusters } from "./clusters.js";
export type { WorkspaceConfig } from "./config.js";
export type { EngineEvent, RunHooks } from "./events.js";
export { jobEfficiency } from "./accounting.js";
export { renderLineage } from "./lineage.js";
export type { Lineage, LineageEdge, LineageNode, LineageNodeType } from "./lineage.js";
export type { GcOptions, WorkspaceFsckReport } from "./maintenance.js";
export type {
  ArtifactVersion,
  ComputeResources,
  DataOrigin,
  MetricPoint,
  ModelRecord,
  ModelVersion,
  PlannedStep,
  RunPlan,
  RunRecord,
  RunResult,
  RunStatus,
  RuntimeEnvironment,
  SlurmCompute,
  SlurmJobCompute,
  StepCall,
  StepExecution,
  StepInput,
  SweepResult,
} from "./records.js";
export type { OutputComparison, RerunReport } from "./rerun.js";
export { findWorkspace, initWorkspace } from "./workspace.js";
