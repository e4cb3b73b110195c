/**
 * The step event protocol: newline-delimited JSON that a step process writes on file
 * descriptor 3 (DESIGN.md decision 6). stdout and stderr stay free for the user's own logs.
 * The Python runner writes the same shapes, so keep this list small and stable.
 */

/** Environment variable that tells step code which descriptor carries events. */
export const EVENT_FD_ENV = "MAELSTROM_EVENT_FD";

export interface MetricEvent {
  readonly type: "metric";
  readonly name: string;
  readonly value: number;
  readonly step: number | null;
  readonly time: number;
  /** Which call of a fused chain logged it (StepSpec.next); absent for a step without `next`. */
  readonly index?: number;
}

export interface ProgressEvent {
  readonly type: "progress";
  /** 0..1, or null when only a message is known. */
  readonly fraction: number | null;
  readonly message: string | null;
  /** As MetricEvent's. */
  readonly index?: number;
}

/** Resources the step process measured on itself at the end (getrusage). */
export interface StepResourceUsage {
  readonly wallMs: number;
  readonly userCpuMs: number;
  readonly systemCpuMs: number;
  readonly maxRssBytes: number;
  /** Set by the engine for a step that ran as a batch job: what the scheduler reports about the job. */
  readonly scheduler?: SchedulerUsage;
}

/** A batch job's accounting, as the scheduler (Slurm's `scontrol show job`) reports it after the end. */
export interface SchedulerUsage {
  readonly executor: "slurm";
  readonly cluster: string;
  readonly jobId: string;
  /** The job's final state (COMPLETED, FAILED, TIMEOUT, ...). */
  readonly state: string;
  /** The nodes the job ran on, in Slurm's notation (node[01-04]). */
  readonly nodes: string;
  /** Elapsed time of the job (RunTime), in milliseconds. */
  readonly elapsedMs: number;
  /** CPUs allocated to the job. */
  readonly cpus: number;
  /** Memory requested (MinMemoryNode or MinMemoryCPU × CPUs), in bytes; 0 when unknown. */
  readonly memoryBytes: number;
  /** How long the job waited in the queue (StartTime − SubmitTime), in milliseconds. */
  readonly queuedMs: number;
  /** CPU time (user + system) the job used, in milliseconds; null when unknown. */
  readonly cpuTimeMs: number | null;
  /** Peak resident memory of the job, in bytes; null when unknown. */
  readonly maxRssBytes: number | null;
  /** Energy the job consumed, in joules, where the cluster measures it; null otherwise. */
  readonly energyJoules: number | null;
  /** Earlier jobs of the same step that Maelstrom resubmitted (node failure, preemption, time limit), oldest first. */
  readonly retries: readonly SchedulerRetry[];
}

/** A job of a step that ended without finishing it and was submitted again. */
export interface SchedulerRetry {
  readonly jobId: string;
  readonly state: string;
  readonly nodes: string;
  /** What was changed for the next job: "excluding node n1", "time 2m -> 4m". */
  readonly action: string;
}

/** Slurm job states after which the job does not run again (any other state: it waits or runs, or may again). */
const FINAL_JOB_STATES: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT"]);

export function isFinalJobState(state: string): boolean {
  return FINAL_JOB_STATES.has(state);
}

/** What the scheduler says about a step's job while it waits or runs (for `runs show` and `logs -f`). */
export interface SchedulerStatus {
  readonly jobId: string;
  /** Slurm's state: PENDING, RUNNING, COMPLETING, REQUEUED, ... */
  readonly state: string;
  /** Slurm's reason for a pending job (Resources, Priority, ...), or "" */
  readonly reason: string;
  /** The nodes it runs on, or "" while pending. */
  readonly nodes: string;
}

/** What a Python step ran with: interpreter and the versions of every imported package. */
export interface PythonEnvironment {
  readonly python: string;
  readonly executable: string;
  readonly packages: Readonly<Record<string, string>>;
}

export interface DoneEvent {
  readonly type: "done";
  /** Scalar metrics taken from the metrics bundle a model's train returned. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: StepResourceUsage;
  /** Python steps only. */
  readonly environment?: PythonEnvironment;
}

/**
 * Why a step failed, as seen from inside the step process.
 * `user`: the user's code threw. `contract`: the module or its return value does not fit the
 * artifact kind (missing export, not a Bundle, ...). `load`: the module could not be loaded.
 */
export interface FailedEvent {
  readonly type: "failed";
  readonly reason: "user" | "contract" | "load";
  readonly message: string;
  /** Where in the user's code, when known ("model.ts:12:5"). */
  readonly location: string | null;
  readonly stack: string | null;
  /** The call of a fused chain that failed (0: the spec's own, i: next[i - 1]); absent for a step without `next`. */
  readonly index?: number;
}

export type StepEvent = MetricEvent | ProgressEvent | DoneEvent | FailedEvent;

/** What the engine asks a step process to do. Written as JSON to a file passed as argv[2]. */
export interface StepSpec {
  /** dataset: get; transform: apply; model: train | predict. */
  readonly call: "get" | "transform" | "train" | "predict";
  readonly artifact: string;
  /** The code to load: a built ES module (node) or the entry file (python). */
  readonly module: string;
  readonly parameters: Readonly<Record<string, number | string | boolean>>;
  /**
   * Input name -> Zarr directory of that bundle (`{}` for get). The runners pass exactly `{ data }`
   * as one Bundle (the plain API), any other set of names as an object name -> Bundle.
   */
  readonly inputs: Readonly<Record<string, string>>;
  /**
   * Output name -> directory to write that bundle to (must not exist yet); train's is
   * `{ data: <metrics bundle> }`. Exactly `{ data }` takes the one returned Bundle, any other set
   * of names an object with exactly those names.
   */
  readonly outputs: Readonly<Record<string, string>>;
  /** train: where to persist the model state; predict: where to load it from. */
  readonly state: string | null;
  /**
   * Steps fused after this one in the same process, in order. This call's output is then not
   * written but handed to next[0], whose output goes to next[1], and so on; only the last call's
   * result is written, to `outputs` (and a last train's model to its own `state`). Every call but
   * the last returns one Bundle, so a train can only be the last.
   */
  readonly next?: readonly FusedCall[];
}

/** A step fused after the previous one in the same process: it receives that step's output Bundle in memory as its one input `data`. */
export interface FusedCall {
  readonly call: "transform" | "train" | "predict";
  readonly artifact: string;
  /** Built ES module (node) or entry file (python), like StepSpec.module. */
  readonly module: string;
  readonly parameters: Readonly<Record<string, number | string | boolean>>;
  /** train: dir to save the model to; predict: dir to load it from. */
  readonly state: string | null;
  /** The runner chdirs here before this call (its artifact folder); python also puts it first on sys.path for the call. */
  readonly cwd: string;
  /** Set for this call (e.g. MAELSTROM_ARTIFACT_DIR), restored after. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The call of a fused chain that runs now in this process, set by the runner. A module variable
 * rather than a parameter: logMetric and reportProgress are called by step code, which knows
 * nothing of chains, and the SDK's writer and the runner's share this module instance.
 */
let callIndex: number | undefined;

/** Runners: `index` while call `index` of a fused chain runs, undefined outside a chain (events then carry no index, as before chains). */
export function setCallIndex(index: number | undefined): void {
  callIndex = index;
}

/** `event` with the index of the fused call that runs now, if any: what every writer of these events sends. */
export function withCallIndex<E extends MetricEvent | ProgressEvent | FailedEvent>(event: E): E {
  return callIndex === undefined ? event : { ...event, index: callIndex };
}

/** Parse one protocol line; null for a line that is not a known event (ignored, logged by caller). */
export function parseStepEvent(line: string): StepEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const event = value as Record<string, unknown>;
  const index = event["index"];
  // A malformed index makes the event unknown, as any other malformed field would.
  if (index !== undefined && !(typeof index === "number" && Number.isInteger(index) && index >= 0)) return null;
  switch (event["type"]) {
    case "metric":
      // NaN travels as null in JSON: keep the point, as NaN.
      if (typeof event["name"] !== "string" || (typeof event["value"] !== "number" && event["value"] !== null)) return null;
      return { ...(event as unknown as MetricEvent), value: typeof event["value"] === "number" ? event["value"] : NaN };
    case "progress":
    case "done":
    case "failed":
      return value as StepEvent;
    default:
      return null;
  }
}
