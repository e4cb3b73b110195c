import type { StepDecision } from "./decide.js";
import type { PrunedStep } from "./plan.js";
import type { RunPlan, RunStatus, StepCall } from "./records.js";

/** What the engine tells its caller while a run goes on (progress display, client callbacks). */
export type EngineEvent =
  | {
      readonly type: "run-started";
      readonly runId: string;
      readonly kind: RunPlan["kind"];
      readonly steps: readonly { readonly id: string; readonly call: StepCall; readonly artifact: string }[];
    }
  | { readonly type: "run-planned"; readonly runId: string; readonly plan: RunPlan; readonly decisions: readonly StepDecision[]; readonly pruned: readonly PrunedStep[] }
  | { readonly type: "step-cached"; readonly runId: string; readonly stepId: string }
  | { readonly type: "step-started"; readonly runId: string; readonly stepId: string; readonly index: number; readonly total: number }
  | { readonly type: "step-progress"; readonly runId: string; readonly stepId: string; readonly fraction: number | null; readonly message: string | null }
  | { readonly type: "metric"; readonly runId: string; readonly stepId: string; readonly name: string; readonly value: number; readonly step: number | null }
  | { readonly type: "step-finished"; readonly runId: string; readonly stepId: string; readonly status: RunStatus; readonly wallMs: number }
  | { readonly type: "run-finished"; readonly runId: string; readonly status: RunStatus };

export interface RunHooks {
  /** Abort to cancel the run: its step processes are killed and it is marked cancelled. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: EngineEvent) => void;
}
