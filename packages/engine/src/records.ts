import type { ArtifactKind, Manifest, ParameterValue, PythonEnvironment, Resources, RuntimeName, SchedulerStatus, StepResourceUsage } from "@maelstrom/core";
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

/** Where a step input comes from: another step's named output, or a bundle already in the store. */
export type StepInput =
  | { readonly type: "step"; readonly step: string; readonly output: string }
  | { readonly type: "bundle"; readonly digest: Digest };

/** One step of a run, fully resolved: executing it again needs nothing but this and the store. */
export interface PlannedStep {
  readonly id: string;
  readonly call: StepCall;
  readonly artifact: {
    readonly digest: Digest;
    readonly name: string;
    readonly kind: ArtifactKind;
    readonly runtime: RuntimeName;
    /** node/python: the module to load; shell: null. */
    readonly entry: string | null;
    /** shell: the command template; else null. */
    readonly command: string | null;
    readonly sourcePath: string;
  };
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly resources: Resources;
  /** Input name -> where it comes from. */
  readonly inputs: Readonly<Record<string, StepInput>>;
  /** Input name -> variables the step needs in it (name -> dtype or "any"). */
  readonly requires: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Output name -> variables the step declares in it (manifest `outputs`). */
  readonly provides: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** predict: the trained state to load. */
  readonly stateDigest: Digest | null;
  /** train: the model name its state is registered under. */
  readonly model?: string | null;
  /** Sweeps: the swept parameter values this branch of the graph uses. */
  readonly branch?: Readonly<Record<string, ParameterValue>> | null;
  /** Where its pipeline asks it to run (`executor: local | slurm | slurm:NAME`); null or absent: the run decides (rules, `--executor`). */
  readonly executor?: string | null;
  /** Python steps: the interpreter the manifest asks for (its field `python`). */
  readonly python?: string | null;
  /** Python steps: the interpreter chosen before the run. */
  readonly interpreter: string | null;
  /** Applying a model: the interpreter the step ran on in training, preferred while it exists. */
  readonly trainedWith?: string | null;
}

/** A parameter grid a training was expanded over, and how the best branch is chosen. */
export interface SweepPlan {
  /** Parameter (as given: `name` or `step.name`) -> the values tried. */
  readonly parameters: Readonly<Record<string, readonly ParameterValue[]>>;
  readonly select: { readonly metric: string; readonly goal: "max" | "min" } | null;
}

/** Everything a run is: stored before it starts, so `rerun`, `resume` and recovery can use it alone. */
export interface RunPlan {
  readonly kind: "train" | "apply" | "run";
  /** Where the run's data came from (`--data`), when it was given. */
  readonly data: DataOrigin | null;
  /** In execution order: every step after the steps it reads from. */
  readonly steps: readonly PlannedStep[];
  /** train: the (first) model name to register; apply: the model version applied. */
  readonly model: { readonly name: string; readonly version: number | null };
  readonly sweep?: SweepPlan | null;
  /** The run's `--executor`, when one was given: a resume without one places its steps the same way. */
  readonly executor?: string;
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
  /** A batch job's last state the engine saw while it waited or ran (Slurm: PENDING and why, RUNNING and where); null for local steps. */
  readonly schedulerStatus: SchedulerStatus | null;
  readonly inputDigest: Digest | null;
  readonly outputDigest: Digest | null;
  /** Input name -> digest, output name -> digest. */
  readonly inputs: Readonly<Record<string, Digest>>;
  readonly outputs: Readonly<Record<string, Digest>>;
  readonly stateDigest: Digest | null;
  /** The step's results were reused from this earlier execution ("RUN/STEP") instead of running. */
  readonly cachedFrom: string | null;
  readonly cacheKey: string | null;
  readonly resources: StepResourceUsage | null;
  readonly environment: PythonEnvironment | null;
  readonly error: ErrorJson | null;
  readonly logPath: string;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

export interface RunResult {
  /** The `data` output of the last step. */
  readonly outputDigest: Digest | null;
  /** The first model version registered. */
  readonly model: { readonly name: string; readonly version: number } | null;
  /** Every model version registered, by the step that trained it. */
  readonly models?: readonly { readonly stepId: string; readonly name: string; readonly version: number }[];
  readonly sweep?: SweepResult | null;
}

/** The table a sweep leaves: one row per branch, and which one was registered. */
export interface SweepResult {
  readonly branches: readonly {
    readonly values: Readonly<Record<string, ParameterValue>>;
    /** Model step id -> its final metrics. */
    readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  }[];
  /** Index into branches; null when every branch was registered. */
  readonly selected: number | null;
}

export interface RunRecord {
  readonly id: string;
  readonly kind: RunPlan["kind"];
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
  /** The engine's host. */
  readonly host: string;
  /** The most CPUs a step asked for. */
  readonly cpus: number;
  /** What the step runners measured on themselves: the largest peak memory, summed wall and CPU time. */
  readonly peakMemoryBytes: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Steps that ran as Slurm jobs: the jobs and their sums (absent when no step did, and in versions registered before accounting). */
  readonly slurm?: SlurmCompute;
}

/** One Slurm job that made a model version, as the scheduler reported it (null: not reported). */
export interface SlurmJobCompute {
  readonly cluster: string;
  readonly jobId: string;
  readonly stepId: string;
  readonly state: string;
  readonly nodes: string;
  readonly elapsedMs: number;
  readonly cpus: number;
  /** Memory requested, in bytes (0: unknown). */
  readonly memoryBytes: number;
  readonly cpuTimeMs: number | null;
  readonly maxRssBytes: number | null;
  readonly energyJoules: number | null;
}

/** The Slurm jobs of a model version and their sums. */
export interface SlurmCompute {
  readonly jobs: readonly SlurmJobCompute[];
  /** Σ elapsed. */
  readonly elapsedMs: number;
  /** Σ CPU time (the scheduler's, else the step runner's); null when some job has neither. */
  readonly cpuTimeMs: number | null;
  readonly cpuTimeFrom: "scheduler" | "runner" | "scheduler and runner" | null;
  /** Allocated core-hours: Σ elapsed × CPUs. */
  readonly coreHours: number;
  /** Σ CPU time / Σ (elapsed × CPUs), over the jobs with an elapsed time (Slurm counts whole seconds); null when the CPU time is not known. */
  readonly cpuEfficiency: number | null;
  /** Σ energy, only when every job reports it. */
  readonly energyJoules: number | null;
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
  /** Digests are null when that data ran fused in memory and was never stored (`--fuse`). */
  readonly trainingData: { readonly origin: DataOrigin; readonly digest: Digest | null; readonly modelInputDigest: Digest | null };
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
