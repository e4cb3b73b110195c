import type { RunStatus, StepCall } from "./records.js";

/** What the engine tells its caller while a run goes on (progress display, client callbacks). */
export type EngineEvent =
  | {
      readonly type: "run-started";
      readonly runId: string;
      readonly kind: "train" | "apply";
      readonly steps: readonly { readonly id: string; readonly call: StepCall; readonly artifact: string }[];
    }
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
