/** The shapes of the CLI's `--json` output that the Slurm tests read (a run, its steps, a train). */

/** `resources.scheduler` of a step that ran as a Slurm job. */
export interface SchedulerJson {
  executor: string;
  cluster: string;
  jobId: string;
  state: string;
  nodes: string;
  elapsedMs: number;
  cpus: number;
  cpuTimeMs: number | null;
  maxRssBytes: number | null;
  energyJoules: number | null;
  retries: { jobId: string; state: string; nodes: string; action: string }[];
}

export interface StepJson {
  stepId: string;
  status: string;
  outputs: Record<string, string>;
  placement: string | null;
  attempt: number;
  schedulerStatus: { jobId: string; state: string; reason: string; nodes: string } | null;
  resources: { wallMs: number; scheduler?: SchedulerJson } | null;
}

export interface RunJson {
  id: string;
  status: string;
  steps: StepJson[];
}

/** What `train`, `run` and `apply` print with --json. */
export interface TrainJson {
  run: RunJson;
  models: { ref: string; stateDigest: string }[];
}
