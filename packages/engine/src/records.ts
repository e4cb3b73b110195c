import type { ArtifactKind, Manifest, ParameterValue, PythonEnvironment, Resources, RuntimeName, StepResourceUsage } from "@maelstrom/core";
import type { ErrorJson } from "@maelstrom/errors";
import type { Digest } from "@maelstrom/store";

/** A registered artifact version. */
export interface ArtifactVersion {
  readonly digest: Digest;
  readonly name: string;
  readonly kind: ArtifactKind;
  readonly runtime: RuntimeName | null;
  readonly description: string;
  readonly manifest: Manifest;
  readonly sourcePath: string;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly createdAt: number;
  /** Tags currently pointing at this version. */
  readonly tags: readonly string[];
}

/** Where a run's input data came from. */
export type DataOrigin =
  | { readonly type: "artifact"; readonly ref: string; readonly digest: Digest }
  | { readonly type: "path"; readonly path: string; readonly format: "csv" | "zarr" }
  | { readonly type: "bundle"; readonly digest: Digest }
  | { readonly type: "run"; readonly runId: string; readonly stepId: string };

export type StepCall = "get" | "transform" | "train" | "predict";

/** One step of a run, fully resolved: executing it again needs nothing but this and the store. */
export interface PlannedStep {
  readonly id: string;
  readonly call: StepCall;
  readonly artifact: {
    readonly digest: Digest;
    readonly name: string;
    readonly kind: ArtifactKind;
    readonly runtime: RuntimeName;
    readonly entry: string;
    readonly sourcePath: string;
  };
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly resources: Resources;
  /** Variables the step needs in its input bundle (name -> dtype or "any"). */
  readonly requires: Readonly<Record<string, string>>;
  /** Variables the step declares in its output (manifest `outputs`). */
  readonly provides: Readonly<Record<string, string>>;
  /** predict: the trained state to load. */
  readonly stateDigest: Digest | null;
  /** Python steps: the interpreter the manifest asks for (its field `python`). */
  readonly python?: string | null;
  /** Python steps: the interpreter chosen before the run. */
  readonly interpreter: string | null;
  /** Applying a model: the interpreter the step ran on in training, preferred while it exists. */
  readonly trainedWith?: string | null;
}

/** Everything a run is: stored before it starts, so `rerun` and recovery can use it alone. */
export interface RunPlan {
  readonly kind: "train" | "apply";
  /** The input of the first step when the data is not produced by a dataset step. */
  readonly inputDigest: Digest | null;
  readonly data: DataOrigin;
  readonly steps: readonly PlannedStep[];
  /** train: the model name to register; apply: the model version applied. */
  readonly model: { readonly name: string; readonly version: number | null };
}

export type RunStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled";

export interface StepExecution {
  readonly runId: string;
  readonly stepId: string;
  readonly position: number;
  readonly call: StepCall;
  readonly artifactDigest: Digest;
  readonly status: RunStatus;
  readonly attempt: number;
  readonly placement: string | null;
  readonly inputDigest: Digest | null;
  readonly outputDigest: Digest | null;
  readonly stateDigest: Digest | null;
  readonly resources: StepResourceUsage | null;
  readonly environment: PythonEnvironment | null;
  readonly error: ErrorJson | null;
  readonly logPath: string;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

export interface RunResult {
  readonly outputDigest: Digest | null;
  readonly model: { readonly name: string; readonly version: number } | null;
}

export interface RunRecord {
  readonly id: string;
  readonly kind: "train" | "apply";
  readonly status: RunStatus;
  readonly plan: RunPlan;
  readonly sessionId: string | null;
  readonly rerunOf: string | null;
  readonly owner: { readonly host: string; readonly pid: number };
  readonly error: ErrorJson | null;
  readonly result: RunResult | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly steps: readonly StepExecution[];
  readonly metrics: readonly MetricPoint[];
}

export interface MetricPoint {
  readonly stepId: string;
  readonly name: string;
  /** NaN comes back as null (JSON and SQL have no NaN). */
  readonly value: number | null;
  readonly step: number | null;
  readonly time: number;
}

export interface RuntimeEnvironment {
  readonly maelstrom: string;
  readonly node: string;
  readonly os: string;
  readonly arch: string;
  readonly host: string;
  readonly lockfile: { readonly path: string; readonly digest: Digest } | null;
  readonly buildTool: string;
  /** When Python steps ran: the interpreter and every imported package's version. */
  readonly python: PythonEnvironment | null;
}

export interface ComputeResources {
  readonly host: string;
  readonly cpus: number;
  readonly peakMemoryBytes: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** What a model version records about how it was made. */
export interface ModelRecord {
  readonly pipeline: readonly {
    readonly stepId: string;
    readonly call: StepCall;
    readonly artifact: string;
    readonly digest: Digest;
    readonly parameters: Readonly<Record<string, ParameterValue>>;
  }[];
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly trainingData: { readonly origin: DataOrigin; readonly digest: Digest; readonly modelInputDigest: Digest };
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: ComputeResources;
  readonly environment: RuntimeEnvironment;
}

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly ref: string;
  readonly runId: string;
  readonly artifactDigest: Digest;
  readonly stateDigest: Digest;
  readonly description: string;
  readonly record: ModelRecord;
  readonly aliases: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly createdAt: number;
}
