/**
 * Steps as Slurm batch jobs, with the contract of runStepProcess and WorkerPool.run (events,
 * onStart, log file, time limit, cancel), so the engine can use it in place of its worker pool.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { EVENT_FD_ENV, parseDuration, parseStepEvent, type DoneEvent, type FailedEvent, type SchedulerUsage } from "@maelstrom/core";
import { ConflictError, InputError } from "@maelstrom/errors";
import { batchScript, type SlurmCluster } from "./slurm-script.js";
import { slurmTransport, type SlurmTransport } from "./slurm-transport.js";
import { isShellStep, runnerCommand, type StepOutcome, type StepProcessOptions, type StepProcessResult } from "./step-process.js";

export interface SlurmExecutorOptions {
  /** The cluster's name in the workspace settings (recorded in placements). */
  readonly name: string;
  readonly cluster: SlurmCluster;
  /** Default: the one the cluster's settings name, closed with the executor; one given is the caller's to close. */
  readonly transport?: SlurmTransport;
  /** Poll interval: starts at `min` after a submission and backs off to `max` (ms). */
  readonly poll?: { readonly min: number; readonly max: number };
  /** How long an ended job's exit-code file may take to appear (slow shared filesystems), in ms. */
  readonly exitCodeGraceMs?: number;
}

/** Slurm job states after which the job does not run again. */
const FINAL_STATES = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT"]);

/** What a final state means for the step when the runner could not say so itself. */
const STATE_REASONS: Readonly<Record<string, string>> = {
  NODE_FAIL: "was lost: its node failed (Slurm state NODE_FAIL); resume the run to submit it again",
  PREEMPTED: "was preempted by Slurm (state PREEMPTED); resume the run to submit it again",
  BOOT_FAIL: "could not start: its node failed to boot (Slurm state BOOT_FAIL); resume the run to submit it again",
  OUT_OF_MEMORY: "was killed by Slurm for using more memory than it asked for (state OUT_OF_MEMORY); raise resources.memory in its maelstrom.yaml",
  CANCELLED: "was cancelled outside Maelstrom (Slurm state CANCELLED, e.g. scancel or an administrator)",
  DEADLINE: "reached its deadline before it could run (Slurm state DEADLINE)",
};

/** Polls in a row that Slurm may leave unanswered before the steps waiting on it fail. */
const MAX_FAILED_POLLS = 60;
/** How long after its submission a job may be invisible to squeue and scontrol before it counts as lost. */
const INVISIBLE_GRACE_MS = 60_000;

interface Waiting {
  readonly jobId: string;
  readonly options: StepProcessOptions;
  readonly started: number;
  readonly eventsFile: string;
  readonly exitCodeFile: string;
  eventsOffset: number;
  done: DoneEvent | null;
  failure: FailedEvent | null;
  cancelRequested: boolean;
  /** When the job was first seen ended without its exit-code file (grace period). */
  endedAt: number | null;
  /** The last state reported through onStatus ("STATE|reason|nodes"), to report changes only. */
  lastStatus: string;
  readonly resolve: (result: StepProcessResult) => void;
  readonly reject: (error: unknown) => void;
  readonly release: () => void;
}

/** One job's line of `scontrol -o show job`: KEY=VALUE fields (values with spaces are cut at the first one). */
function parseJobLine(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const match of line.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) fields.set(match[1] ?? "", match[2] ?? "");
  return fields;
}

/** Slurm's [D-]HH:MM:SS in ms. */
function clockMs(text: string | undefined): number {
  const match = /^(?:(\d+)-)?(\d+):(\d+):(\d+)$/.exec(text ?? "");
  if (match === null) return 0;
  const [, d, h, m, s] = match.map((part) => Number(part ?? 0));
  return ((((d ?? 0) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60 + (s ?? 0)) * 1000;
}

/** Slurm's memory notation (1024M, 1G) in bytes. */
function memoryBytes(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text ?? "");
  if (match === null) return 0;
  return Math.round(Number(match[1]) * 1024 ** ("KMGT".indexOf(match[2] || "M") + 1));
}

function accounting(cluster: string, jobId: string, fields: ReadonlyMap<string, string>): SchedulerUsage {
  const cpus = Number(fields.get("NumCPUs") ?? 0) || 0;
  const perNode = memoryBytes(fields.get("MinMemoryNode"));
  const submit = Date.parse(fields.get("SubmitTime") ?? "");
  const start = Date.parse(fields.get("StartTime") ?? "");
  return {
    executor: "slurm",
    cluster,
    jobId,
    state: fields.get("JobState") ?? "UNKNOWN",
    nodes: fields.get("NodeList") ?? "",
    elapsedMs: clockMs(fields.get("RunTime")),
    cpus,
    memoryBytes: perNode > 0 ? perNode : memoryBytes(fields.get("MinMemoryCPU")) * cpus,
    queuedMs: Number.isNaN(submit) || Number.isNaN(start) ? 0 : Math.max(0, start - submit),
    cpuTimeMs: null,
    maxRssBytes: null,
    energyJoules: null,
    retries: [],
  };
}

/**
 * Runs each step as one Slurm batch job: a script next to the step's log, submitted with
 * `sbatch --parsable` on stdin. One `squeue` per poll interval for all jobs it waits on (back-off
 * from `poll.min` to `poll.max`); jobs squeue no longer lists are looked up with one `scontrol show
 * job`. The outcome comes from the exit-code file the script writes and the runner's events file;
 * the scheduler's state says what happened when the runner could not (time limit, node failure,
 * memory, preemption, cancel).
 */
export class SlurmExecutor {
  readonly #name: string;
  readonly #cluster: SlurmCluster;
  readonly #transport: SlurmTransport;
  readonly #ownsTransport: boolean;
  readonly #poll: { readonly min: number; readonly max: number };
  readonly #graceMs: number;
  readonly #defaultMinutes: number | null;
  readonly #waiting = new Map<string, Waiting>();
  #interval: number;
  #timer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;
  #failedPolls = 0;

  constructor(options: SlurmExecutorOptions) {
    this.#name = options.name;
    this.#cluster = options.cluster;
    this.#transport = options.transport ?? slurmTransport(options.name, options.cluster.transport);
    this.#ownsTransport = options.transport === undefined;
    this.#poll = options.poll ?? { min: 500, max: 5000 };
    this.#graceMs = options.exitCodeGraceMs ?? 10_000;
    this.#interval = this.#poll.min;
    this.#defaultMinutes = options.cluster.time === undefined ? null : Math.ceil(parseDuration(options.cluster.time) / 60_000);
  }

  /** Where a step with this job id runs, as the engine records it. */
  placement(jobId: number): string {
    return `slurm:${this.#name}:${jobId}`;
  }

  async run(options: StepProcessOptions): Promise<StepProcessResult> {
    if (this.#closed) throw new ConflictError(`the Slurm executor of cluster '${this.#name}' is closed`);
    const started = performance.now();
    const cancelled = (): StepProcessResult => ({ outcome: "cancelled", exitCode: null, signal: null, done: null, failure: null, wallMs: performance.now() - started });
    if (options.signal?.aborted === true) return cancelled();
    const dir = dirname(options.logFile);
    const eventsFile = join(dir, "events.jsonl");
    const exitCodeFile = join(dir, "exit-code");
    // A resumed step starts clean: an old exit code or events must not count for the new job.
    for (const file of [eventsFile, exitCodeFile, `${exitCodeFile}.tmp`]) rmSync(file, { force: true });
    writeFileSync(eventsFile, "");
    let argv: string[];
    let env: Record<string, string>;
    if (isShellStep(options)) {
      argv = ["/bin/sh", "-c", options.runner.command];
      env = { ...options.env };
    } else {
      writeFileSync(options.specFile, JSON.stringify(options.spec, null, 2));
      const runner = options.runner.kind === "python" && this.#cluster.python !== undefined ? { kind: "python" as const, interpreter: this.#cluster.python } : options.runner;
      const command = runnerCommand(runner, options.specFile);
      argv = [command.command, ...command.args];
      env = { ...options.env, ...command.env, [EVENT_FD_ENV]: "3" };
    }
    const resources = options.resources ?? { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0 };
    const script = batchScript({
      cluster: this.#cluster,
      jobName: options.name ?? "maelstrom",
      ...resources,
      minutes: options.timeoutMs === null ? this.#defaultMinutes : Math.max(1, Math.ceil(options.timeoutMs / 60_000)),
      cwd: options.cwd,
      env,
      argv,
      eventsFile,
      exitCodeFile,
    });
    writeFileSync(join(dir, "job.sh"), script);
    // Paths go on sbatch's command line (no shell, no parsing of #SBATCH lines involved).
    const submitted = await this.#transport.run(["sbatch", "--parsable", `--chdir=${options.cwd}`, `--output=${options.logFile}`, `--error=${options.logFile}`, "--open-mode=append"], script);
    if (submitted.code !== 0) {
      throw new InputError(`sbatch refused step '${options.name ?? "?"}' on cluster '${this.#name}': ${submitted.stderr.trim() || `exit code ${submitted.code}`}`, {
        details: { cluster: this.#name, step: options.name ?? null, script: join(dir, "job.sh") },
      });
    }
    // --parsable: "jobid" or "jobid;cluster".
    const jobId = submitted.stdout.trim().split(";")[0] ?? "";
    if (!/^\d+$/.test(jobId)) throw new Error(`sbatch --parsable printed '${submitted.stdout.trim()}', not a job id`);
    options.onStart?.(Number(jobId));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const job = this.#waiting.get(jobId);
        if (job === undefined || job.cancelRequested) return;
        job.cancelRequested = true;
        this.#transport
          .run(["scancel", jobId])
          .then(() => this.#schedule(0))
          .catch((error: unknown) => this.#settle(job, null, error));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(jobId, {
        jobId,
        options,
        started,
        eventsFile,
        exitCodeFile,
        eventsOffset: 0,
        done: null,
        failure: null,
        cancelRequested: false,
        endedAt: null,
        lastStatus: "",
        resolve,
        reject,
        release: () => options.signal?.removeEventListener("abort", onAbort),
      });
      this.#interval = this.#poll.min;
      this.#schedule(this.#interval);
    });
  }

  /** Cancels (scancel) the jobs still waited on and stops polling. */
  async close(): Promise<void> {
    this.#closed = true;
    const open = [...this.#waiting.values()].filter((job) => !job.cancelRequested);
    for (const job of open) job.cancelRequested = true;
    if (open.length > 0) await this.#transport.run(["scancel", ...open.map((job) => job.jobId)]);
    // The polls settle the cancelled jobs; after 30 s they are left to Slurm.
    for (let waited = 0; this.#waiting.size > 0 && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#ownsTransport) await this.#transport.close();
  }

  #schedule(ms: number): void {
    if (this.#polling) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#pollOnce(), ms);
  }

  async #pollOnce(): Promise<void> {
    this.#timer = null;
    this.#polling = true;
    try {
      await this.#check();
    } catch (error) {
      for (const job of this.#waiting.values()) this.#settle(job, null, error);
    } finally {
      this.#polling = false;
    }
    if (this.#waiting.size > 0) {
      this.#interval = Math.min(this.#poll.max, Math.round(this.#interval * 1.5));
      this.#schedule(this.#interval);
    }
  }

  async #check(): Promise<void> {
    const ids = [...this.#waiting.keys()];
    if (ids.length === 0) return;
    // One query for all jobs; a failed squeue (a job id Slurm has forgotten) lists none, and scontrol decides.
    const queue = await this.#transport.run(["squeue", "--noheader", "--format=%i|%T|%r|%N", `--jobs=${ids.join(",")}`]);
    const states = new Map<string, string>();
    if (queue.code === 0) {
      for (const line of queue.stdout.split("\n")) {
        const [id, state, reason = "", nodes = ""] = line.trim().split("|");
        if (id === undefined || state === undefined) continue;
        states.set(id, state);
        const job = this.#waiting.get(id);
        const status = `${state}|${reason}|${nodes}`;
        if (job === undefined || job.lastStatus === status) continue;
        job.lastStatus = status;
        job.options.onStatus?.({ jobId: id, state, reason: reason === "None" ? "" : reason, nodes });
      }
    }
    for (const job of this.#waiting.values()) this.#readEvents(job);
    const ended = ids.filter((id) => {
      const state = states.get(id);
      return state === undefined || FINAL_STATES.has(state);
    });
    if (ended.length === 0) return;
    const shown = await this.#transport.run(["scontrol", "-o", "show", "job", ...(ended.length === 1 ? ended : [])]);
    if (queue.code !== 0 && shown.code !== 0) {
      // The controller does not answer (restarting, overloaded): wait, but not forever.
      this.#failedPolls += 1;
      if (this.#failedPolls < MAX_FAILED_POLLS) return;
      throw new ConflictError(`Slurm did not answer ${MAX_FAILED_POLLS} polls in a row (cluster '${this.#name}'): ${queue.stderr.trim() || shown.stderr.trim()}`, {
        details: { cluster: this.#name, jobs: ids },
      });
    }
    this.#failedPolls = 0;
    const known = new Map<string, Map<string, string>>();
    for (const line of shown.stdout.split("\n")) {
      const fields = parseJobLine(line);
      const id = fields.get("JobId");
      if (id !== undefined) known.set(id, fields);
    }
    for (const id of ended) {
      const job = this.#waiting.get(id);
      if (job === undefined) continue;
      const fields = known.get(id);
      const state = fields?.get("JobState") ?? states.get(id) ?? "UNKNOWN";
      // A job Slurm does not show yet (a busy or federated controller) counts as pending for a while.
      if (state === "UNKNOWN" && !existsSync(job.exitCodeFile) && performance.now() - job.started < INVISIBLE_GRACE_MS) continue;
      // Requeued or still finishing: not ended after all.
      if (!FINAL_STATES.has(state) && state !== "UNKNOWN") continue;
      this.#finish(job, state, fields ?? new Map());
    }
  }

  /** Forwards the events the runner appended since the last poll. */
  #readEvents(job: Waiting): void {
    let text: string;
    try {
      text = readFileSync(job.eventsFile, "utf8");
    } catch {
      return;
    }
    const end = text.lastIndexOf("\n") + 1;
    if (end <= job.eventsOffset) return;
    for (const line of text.slice(job.eventsOffset, end).split("\n")) {
      const event = parseStepEvent(line);
      if (event === null) continue;
      if (event.type === "done") job.done = event;
      else if (event.type === "failed") job.failure = event;
      job.options.onEvent?.(event);
    }
    job.eventsOffset = end;
  }

  #finish(job: Waiting, state: string, fields: ReadonlyMap<string, string>): void {
    this.#readEvents(job);
    const exitText = existsSync(job.exitCodeFile) ? readFileSync(job.exitCodeFile, "utf8").trim() : null;
    const ranToEnd = state === "COMPLETED" || state === "FAILED";
    if (exitText === null && ranToEnd && !job.cancelRequested) {
      // A shared filesystem may show the file to this machine a little later than the job wrote it.
      job.endedAt ??= performance.now();
      if (performance.now() - job.endedAt < this.#graceMs) return;
    }
    const exitCode = exitText === null || exitText === "" ? null : Number(exitText);
    const wallMs = performance.now() - job.started;
    let outcome: StepOutcome;
    let reason: string | undefined;
    if (job.cancelRequested) outcome = "cancelled";
    else if (state === "TIMEOUT") {
      outcome = "timeout";
      reason = `Slurm ended job ${job.jobId} at its time limit (${fields.get("TimeLimit") ?? "?"}, state TIMEOUT)`;
    } else if (exitCode === 0 && (job.done !== null || isShellStep(job.options))) outcome = "succeeded";
    else {
      outcome = "failed";
      const why = STATE_REASONS[state];
      if (why !== undefined) reason = `(Slurm job ${job.jobId} on ${fields.get("NodeList") || "no node"}) ${why}`;
      else if (exitText === null) reason = `(Slurm job ${job.jobId}, state ${state}) ended without writing its exit code to ${job.exitCodeFile}`;
    }
    const scheduler = accounting(this.#name, job.jobId, fields);
    let done = job.done;
    if (outcome === "succeeded") {
      // A shell step reports nothing itself: the job's elapsed time is what is known.
      const base = done?.resources ?? { wallMs: scheduler.elapsedMs || wallMs, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 };
      done = { ...(done ?? { type: "done", metrics: {} }), resources: { ...base, scheduler } };
    }
    this.#settle(job, { outcome, exitCode, signal: null, done: outcome === "succeeded" ? done : null, failure: job.failure, wallMs, ...(reason === undefined ? {} : { reason }) }, null);
  }

  #settle(job: Waiting, result: StepProcessResult | null, error: unknown): void {
    this.#waiting.delete(job.jobId);
    job.release();
    if (result === null) job.reject(error);
    else job.resolve(result);
  }
}
