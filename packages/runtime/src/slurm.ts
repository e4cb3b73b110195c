/**
 * Steps as Slurm batch jobs, with the contract of runStepProcess and WorkerPool.run (events,
 * onStart, log file, time limit, cancel), so the engine can use it in place of its worker pool.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EVENT_FD_ENV, isFinalJobState, parseStepEvent, type DoneEvent, type FailedEvent, type SchedulerRetry } from "@maelstrom/core";
import { ConflictError, InputError } from "@maelstrom/errors";
import { accounting, jobIdsOf, memoryKill, parseUsage } from "./slurm-accounting.js";
import { readPartitionLimits, slurmFields, type PartitionLimits } from "./slurm-partition.js";
import { arrayScript, batchScript, durationMinutes, eventsFile, jobMinutes, sbatchOptions, slurmJobName, stepFiles, type SlurmCluster } from "./slurm-script.js";
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

/**
 * Steps handed over close together go out together: a batch is submitted once no new step came for
 * BATCH_QUIET_MS, or its first step has waited BATCH_MAX_WAIT_MS. Measured: the engine hands over a
 * 1000-point sweep's steps one every ~2.5 ms for ~2.5 s, with gaps up to ~0.1 s on a busy 2-CPU
 * machine; waiting that long costs nothing next to a queue.
 */
const BATCH_QUIET_MS = 150;
const BATCH_MAX_WAIT_MS = 3000;
/** Steps gathered at most before they are submitted without waiting for more. */
const MAX_BATCH = 4000;
/** Slurm's default MaxArraySize, used when `scontrol show config` does not say. */
const DEFAULT_MAX_ARRAY_SIZE = 1001;

/** A step whose job.sh is written, waiting to be submitted with the next batch. */
interface Queued {
  /** The step's name, for messages. */
  readonly name: string;
  /** The `#SBATCH` options of its script, the job name first: steps with the same rest share an array. */
  readonly sbatch: readonly string[];
  readonly script: string;
  readonly scriptFile: string;
  readonly logFile: string;
  readonly cwd: string;
  /** Resolves with the job id (`123`, or `123_4` for task 4 of array 123), or null when cancelled before submission. */
  readonly resolve: (jobId: string | null) => void;
  readonly reject: (error: unknown) => void;
}

/** The job name of an array: what its steps' names share before a sweep's `[...]` (`linear[ridge=0]`, `linear[ridge=5]` → `linear`). */
function arrayName(names: readonly string[]): string {
  const first = names[0] ?? "";
  let common = first.length;
  for (const name of names) {
    let i = 0;
    while (i < common && i < name.length && name[i] === first[i]) i += 1;
    common = i;
  }
  const shared = first.slice(0, common);
  const step = shared.includes("[") ? shared.slice(0, shared.indexOf("[")) : shared.replace(/[,=._-]+$/, "");
  return slurmJobName(step);
}

/** A job id from `sbatch --parsable`: "jobid" or "jobid;cluster". */
function parsableJobId(stdout: string): string {
  const jobId = stdout.trim().split(";")[0] ?? "";
  if (!/^\d+$/.test(jobId)) throw new Error(`sbatch --parsable printed '${stdout.trim()}', not a job id`);
  return jobId;
}

/** What a final state means for the step when the runner could not say so itself. */
const STATE_REASONS: Readonly<Record<string, string>> = {
  NODE_FAIL: "was lost: its node failed (Slurm state NODE_FAIL)",
  PREEMPTED: "was preempted by Slurm (state PREEMPTED)",
  BOOT_FAIL: "could not start: its node failed to boot (Slurm state BOOT_FAIL)",
  CANCELLED: "was cancelled outside Maelstrom (Slurm state CANCELLED, e.g. scancel or an administrator)",
  DEADLINE: "reached its deadline before it could run (Slurm state DEADLINE)",
};

/** Job ends that are no fault of the step: it is submitted again (avoiding the node), up to the cluster's retries. */
const LOST_STATES = new Set(["NODE_FAIL", "PREEMPTED", "BOOT_FAIL"]);
const DEFAULT_RETRIES = 2;

/** Polls in a row that Slurm (or the transport to it) may leave unanswered before the steps waiting on it fail: minutes, at the longest interval. */
const MAX_FAILED_POLLS = 60;
/** Slurm's answer about a job id it does not know (any more). */
const FORGOTTEN = /Invalid job id/i;
/** How long after its submission a job may be invisible to squeue and scontrol before it counts as lost. */
const INVISIBLE_GRACE_MS = 60_000;

/** What one submission of a step is made of; a resubmission changes time or excluded nodes. */
interface Submission {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly minutes: number | null;
  readonly exclude: readonly string[];
}

interface Waiting {
  jobId: string;
  readonly options: StepProcessOptions;
  readonly dir: string;
  readonly started: number;
  submission: Submission;
  /** Which restart of the job the events come from (Slurm requeued it that many times). */
  restart: number;
  eventsOffset: number;
  done: DoneEvent | null;
  failure: FailedEvent | null;
  cancelRequested: boolean;
  /** When the job was first seen ended without its exit-code file (grace period). */
  endedAt: number | null;
  /** The last state reported through onStatus ("STATE|reason|nodes"), to report changes only. */
  lastStatus: string;
  /** Earlier jobs of this step that Maelstrom resubmitted. */
  readonly retries: SchedulerRetry[];
  /** When its current job was submitted (performance.now()). */
  submittedAt: number;
  /** How long the step's log was when its job was submitted: what Slurm wrote about earlier jobs comes before. */
  logOffset: number;
  readonly resolve: (result: StepProcessResult) => void;
  readonly reject: (error: unknown) => void;
  readonly release: () => void;
}

/** The last 64 KiB of a file after byte `from` ("" when it cannot be read): where slurmstepd's messages end up. */
function tail(file: string, from = 0): string {
  try {
    const fd = openSync(file, "r");
    try {
      const size = fstatSync(fd).size;
      const length = Math.max(0, Math.min(size - from, 64 * 1024));
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/** A path for sbatch's --output/--error, which expands `%j`, `%x`, …: a `%` of the path itself is written `%%`. */
function sbatchFileName(path: string): string {
  return path.replaceAll("%", "%%");
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/**
 * Runs each step as a Slurm batch job: a script next to the step's log, submitted with
 * `sbatch --parsable` on stdin; steps handed over together with the same resources go out as one
 * job array (each task runs its step's script). One `squeue` per poll interval for all jobs it waits on (back-off
 * from `poll.min` to `poll.max`); jobs squeue no longer lists are looked up with one `scontrol show
 * job`. The outcome comes from the exit-code file the script writes and the runner's events file;
 * the scheduler's state says what happened when the runner could not (time limit, node failure,
 * memory, preemption, cancel). Lost jobs (node failure, preemption, boot failure) are submitted
 * again avoiding their node, timed-out ones with twice the time while the cluster's maxTime allows,
 * up to the cluster's retries.
 */
export class SlurmExecutor {
  readonly #name: string;
  readonly #cluster: SlurmCluster;
  readonly #transport: SlurmTransport;
  readonly #ownsTransport: boolean;
  readonly #poll: { readonly min: number; readonly max: number };
  readonly #graceMs: number;
  readonly #maxMinutes: number | null;
  readonly #retries: number;
  readonly #waiting = new Map<string, Waiting>();
  #interval: number;
  #timer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;
  #failedPolls = 0;
  /** Steps waiting for the next submission, and its timers (no new step for a while; the first waited long enough). */
  #queued: Queued[] = [];
  #quietTimer: NodeJS.Timeout | null = null;
  #oldestTimer: NodeJS.Timeout | null = null;
  /** Steps the engine launched for this executor that have not reached it yet (see expect). */
  #coming = 0;
  /** The cluster's MaxArraySize, read once. */
  #maxArraySize: Promise<number> | null = null;
  /** Jobs to scancel with the next call (a cancelled run aborts all its steps in one go). */
  #cancelling = new Set<string>();

  constructor(options: SlurmExecutorOptions) {
    this.#name = options.name;
    this.#cluster = options.cluster;
    this.#transport = options.transport ?? slurmTransport(options.name, options.cluster.transport);
    this.#ownsTransport = options.transport === undefined;
    this.#poll = options.poll ?? { min: 500, max: 5000 };
    this.#graceMs = options.exitCodeGraceMs ?? 10_000;
    this.#interval = this.#poll.min;
    this.#maxMinutes = durationMinutes(options.cluster.maxTime);
    this.#retries = options.cluster.retries ?? DEFAULT_RETRIES;
  }

  /** Where a step with this job id runs, as the engine records it. */
  placement(jobId: string): string {
    return `slurm:${this.#name}:${jobId}`;
  }

  /**
   * The job of a step whose engine ended (killed, crashed) that can be waited on again instead of
   * submitting a new one: one of this cluster that Slurm still queues or runs, or that ended with
   * exit code 0. Null for anything else (another executor's placement, a job failed, lost or forgotten).
   */
  async reattach(placement: string, logFile: string): Promise<string | null> {
    const prefix = `slurm:${this.#name}:`;
    if (!placement.startsWith(prefix)) return null;
    const jobId = placement.slice(prefix.length);
    // A job that ended while no engine watched it counts only if it succeeded: a failed one runs again.
    if (readText(stepFiles(dirname(logFile)).exitCode)?.trim() === "0") return jobId;
    const shown = await this.#transport.run(["scontrol", "-o", "show", "job", jobId]);
    const state = shown.code === 0 ? slurmFields(shown.stdout).get("JobState") : undefined;
    return state !== undefined && !isFinalJobState(state) ? jobId : null;
  }

  /** The limits of the cluster's partition (its MaxTime, its nodes' CPUs, memory and GPUs), asked through this executor's transport. */
  partitionLimits(): Promise<PartitionLimits> {
    return readPartitionLimits(this.#transport, this.#name, this.#cluster.partition);
  }

  async run(options: StepProcessOptions): Promise<StepProcessResult> {
    if (this.#closed) throw new ConflictError(`the Slurm executor of cluster '${this.#name}' is closed`);
    const started = performance.now();
    if (options.signal?.aborted === true) return cancelledSince(started);
    const dir = dirname(options.logFile);
    // A new job starts clean: an old exit code or events must not count for it. A job re-attached to
    // keeps its files. (Files are written asynchronously: a sweep prepares hundreds of steps at once.)
    if (options.attachTo === undefined) {
      await this.#clean(dir);
      await writeFile(stepFiles(dir).events, "");
    }
    let argv: string[];
    let env: Record<string, string>;
    if (isShellStep(options)) {
      argv = ["/bin/sh", "-c", options.runner.command];
      env = { ...options.env };
    } else {
      await writeFile(options.specFile, JSON.stringify(options.spec, null, 2));
      const runner = options.runner.kind === "python" && this.#cluster.python !== undefined ? { kind: "python" as const, interpreter: this.#cluster.python } : options.runner;
      const command = runnerCommand(runner, options.specFile);
      argv = [command.command, ...command.args];
      env = { ...options.env, ...command.env, [EVENT_FD_ENV]: "3" };
    }
    const submission: Submission = { argv, env, minutes: jobMinutes(options.timeoutMs, this.#cluster), exclude: [] };
    // What Slurm writes into the log about this job comes after what is there now (earlier jobs' messages).
    const logOffset = options.attachTo === undefined ? logSize(options.logFile) : 0;
    const jobId = options.attachTo ?? (await this.#submit(options, dir, submission));
    if (jobId === null) return cancelledSince(started);
    options.onStart?.(jobId);
    return new Promise((resolve, reject) => {
      // The step's own record: its job id changes when it is resubmitted, and the abort may come meanwhile.
      const onAbort = (): void => {
        if (job.cancelRequested) return;
        job.cancelRequested = true;
        if (this.#waiting.get(job.jobId) === job) this.#cancel(job.jobId);
      };
      const job: Waiting = {
        jobId,
        options,
        dir,
        started,
        submission,
        restart: 0,
        eventsOffset: 0,
        done: null,
        failure: null,
        cancelRequested: false,
        endedAt: null,
        lastStatus: "",
        retries: [],
        logOffset,
        submittedAt: performance.now(),
        resolve,
        reject,
        release: () => options.signal?.removeEventListener("abort", onAbort),
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(jobId, job);
      // Aborted while sbatch ran: the job is in the queue now, and is cancelled right away.
      if (options.signal?.aborted === true) onAbort();
      this.#interval = this.#poll.min;
      this.#schedule(this.#interval);
    });
  }

  /** Removes what an earlier job of the step left: events (of every restart), exit code, usage. */
  async #clean(dir: string): Promise<void> {
    const files = stepFiles(dir);
    const events = (await readdir(dir)).filter((name) => /^events(\.\d+)?\.jsonl$/.test(name)).map((name) => join(dir, name));
    await Promise.all([files.exitCode, `${files.exitCode}.tmp`, files.usage, `${files.usage}.tmp`, ...events].map((file) => rm(file, { force: true })));
  }

  /**
   * Writes the step's job script (it can be read and submitted alone, also when the step goes out as
   * a task of an array) and queues it for submission: its job id, or null when cancelled first.
   */
  async #submit(options: StepProcessOptions, dir: string, submission: Submission): Promise<string | null> {
    const request = {
      cluster: this.#cluster,
      jobName: options.name ?? "maelstrom",
      ...(options.resources ?? { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0 }),
      minutes: submission.minutes,
      exclude: submission.exclude,
    };
    const script = batchScript({ ...request, cwd: options.cwd, env: submission.env, argv: submission.argv, dir });
    const scriptFile = stepFiles(dir).script;
    await writeFile(scriptFile, script);
    if (options.signal?.aborted === true) return null;
    return this.#enqueue(options, { name: options.name ?? "?", sbatch: sbatchOptions(request), script, scriptFile, logFile: options.logFile, cwd: options.cwd });
  }

  /**
   * Queues a step for the next submission and resolves with its job id. The engine hands steps over
   * one by one (each after its own preparation), so steps that come close together (a sweep's
   * branches, a wide stage) are gathered and go out as job arrays, one `sbatch` per array.
   */
  #enqueue(options: StepProcessOptions, step: Omit<Queued, "resolve" | "reject">): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        const at = this.#queued.indexOf(entry);
        if (at < 0) return;
        this.#queued.splice(at, 1);
        resolve(null);
      };
      const entry: Queued = {
        ...step,
        resolve: (jobId) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(jobId);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queued.push(entry);
      if (this.#coming > 0) this.#coming -= 1;
      if (this.#queued.length >= MAX_BATCH) return void this.#flush();
      this.#quiet();
      this.#oldestTimer ??= setTimeout(() => void this.#flush(), BATCH_MAX_WAIT_MS);
    });
  }

  /**
   * The engine launched this many more steps for this executor at once (a sweep's branches), or
   * (negative) fewer reach it after all (answered by the cache): while some are still on their way
   * the batch waits for them, up to BATCH_MAX_WAIT_MS, instead of going out after a quiet moment.
   */
  expect(steps: number): void {
    this.#coming = Math.max(0, this.#coming + steps);
    if (this.#queued.length > 0) this.#quiet();
  }

  /** Submits the queued steps once no new one came for BATCH_QUIET_MS, unless more are expected. */
  #quiet(): void {
    if (this.#quietTimer !== null) clearTimeout(this.#quietTimer);
    this.#quietTimer = this.#coming > 0 ? null : setTimeout(() => void this.#flush(), BATCH_QUIET_MS);
  }

  /** Submits the queued steps: those with equal `#SBATCH` options as arrays of at most MaxArraySize tasks, a lone step as a plain job. */
  async #flush(): Promise<void> {
    for (const timer of [this.#quietTimer, this.#oldestTimer]) if (timer !== null) clearTimeout(timer);
    this.#quietTimer = null;
    this.#oldestTimer = null;
    const batch = this.#queued;
    this.#queued = [];
    if (batch.length === 0) return;
    const groups = new Map<string, Queued[]>();
    for (const step of batch) {
      const key = step.sbatch.slice(1).join("\n");
      groups.set(key, [...(groups.get(key) ?? []), step]);
    }
    // MaxArraySize 0 or 1 (arrays disabled, or only task 0): every step is a plain job.
    const size = Math.max(1, batch.length > 1 ? await this.#arraySize() : 1);
    for (const group of groups.values()) {
      for (let at = 0; at < group.length; at += size) {
        const chunk = group.slice(at, at + size);
        try {
          if (chunk.length === 1) {
            const step = chunk[0] as Queued;
            step.resolve(await this.#sbatchOne(step));
          } else {
            const arrayId = await this.#sbatchArray(chunk);
            for (const [i, step] of chunk.entries()) step.resolve(`${arrayId}_${i}`);
          }
        } catch (error) {
          for (const step of chunk) step.reject(error);
        }
      }
    }
  }

  /** The largest array the cluster takes (MaxArraySize N allows task ids 0..N-1); below 2, steps go out one by one. */
  #arraySize(): Promise<number> {
    // Only an answer is kept: a failed lookup is asked again with the next batch.
    this.#maxArraySize ??= this.#transport.run(["scontrol", "show", "config"]).then((shown) => {
      const match = /^MaxArraySize\s*=\s*(\d+)/m.exec(shown.code === 0 ? shown.stdout : "");
      if (match === null) this.#maxArraySize = null;
      return match === null ? DEFAULT_MAX_ARRAY_SIZE : Number(match[1]);
    });
    return this.#maxArraySize.catch(() => {
      this.#maxArraySize = null;
      return DEFAULT_MAX_ARRAY_SIZE;
    });
  }

  /** One step as a plain job, its output to its log. */
  async #sbatchOne(step: Queued): Promise<string> {
    // Paths go on sbatch's command line (no shell, no parsing of #SBATCH lines involved).
    const log = sbatchFileName(step.logFile);
    const submitted = await this.#transport.run(["sbatch", "--parsable", `--chdir=${step.cwd}`, `--output=${log}`, `--error=${log}`, "--open-mode=append"], step.script);
    if (submitted.code !== 0) throw this.#refused([step], submitted);
    return parsableJobId(submitted.stdout);
  }

  /**
   * Steps with the same resources as one job array: task i runs step i's job.sh with its output to the
   * step's log. What Slurm itself writes about a task (a time limit reached, a kill) goes to one file
   * per array beside the steps' folders, `slurm-array-JOBID.log`.
   */
  async #sbatchArray(steps: readonly Queued[]): Promise<string> {
    const first = steps[0] as Queued;
    const runDir = dirname(dirname(first.logFile));
    const sbatch = [`--job-name=${arrayName(steps.map((step) => step.name))}`, ...first.sbatch.slice(1)];
    const script = arrayScript(sbatch, steps);
    const submitted = await this.#transport.run(
      ["sbatch", "--parsable", `--array=0-${steps.length - 1}`, `--chdir=${runDir}`, `--output=${sbatchFileName(runDir)}/slurm-array-%A.log`, "--open-mode=append"],
      script,
    );
    if (submitted.code !== 0) throw this.#refused(steps, submitted);
    return parsableJobId(submitted.stdout);
  }

  #refused(steps: readonly Queued[], submitted: Awaited<ReturnType<SlurmTransport["run"]>>): InputError {
    const first = steps[0] as Queued;
    const names = steps.slice(0, 5).map((step) => `'${step.name}'`).join(", ");
    const what = steps.length === 1 ? `step ${names}` : `the job array of ${steps.length} steps ${names}${steps.length > 5 ? ", …" : ""}`;
    return new InputError(`sbatch refused ${what} on cluster '${this.#name}': ${submitted.stderr.trim() || `exit code ${submitted.code}`}`, {
      details: { cluster: this.#name, step: first.name, steps: steps.length, script: first.scriptFile },
    });
  }

  /** scancels a job with the others cancelled at the same moment: one call for all steps of an aborted run. */
  #cancel(jobId: string): void {
    this.#cancelling.add(jobId);
    if (this.#cancelling.size > 1) return;
    setImmediate(() => {
      const ids = [...this.#cancelling];
      this.#cancelling.clear();
      this.#transport
        .run(["scancel", ...ids])
        .then(() => this.#schedule(0))
        .catch((error: unknown) => {
          for (const id of ids) {
            const job = this.#waiting.get(id);
            if (job !== undefined) this.#settle(job, null, error);
          }
        });
    });
  }

  /** Cancels (scancel) the jobs still waited on and stops polling. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of [this.#quietTimer, this.#oldestTimer]) if (timer !== null) clearTimeout(timer);
    // Steps not submitted yet are not: they end cancelled.
    for (const step of this.#queued.splice(0)) step.resolve(null);
    const open = [...this.#waiting.values()].filter((job) => !job.cancelRequested);
    for (const job of open) job.cancelRequested = true;
    try {
      if (open.length > 0) await this.#transport.run(["scancel", ...open.map((job) => job.jobId)]);
      // The polls settle the cancelled jobs; after 30 s they are left to Slurm.
      for (let waited = 0; this.#waiting.size > 0 && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      if (this.#timer !== null) clearTimeout(this.#timer);
      for (const job of [...this.#waiting.values()]) this.#settle(job, cancelledSince(job.started), null);
      if (this.#ownsTransport) await this.#transport.close();
    }
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
      this.#failedPolls = 0;
    } catch (error) {
      // A controller that does not answer (restarting, overloaded) or a login node out of reach (an SSH
      // connection dropped, a reboot) is waited out: the jobs go on meanwhile. Only then do the steps fail.
      this.#failedPolls += 1;
      if (this.#failedPolls >= MAX_FAILED_POLLS) {
        const failure = new ConflictError(`Slurm did not answer ${MAX_FAILED_POLLS} polls in a row (cluster '${this.#name}'): ${error instanceof Error ? error.message : String(error)}`, {
          details: { cluster: this.#name, jobs: [...this.#waiting.keys()] },
          cause: error,
        });
        for (const job of this.#waiting.values()) this.#settle(job, null, failure);
      }
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
    // An array is asked for by its own id, and --array lists its tasks one per line (`123_4`), pending ones too.
    const queried = [...new Set(ids.map((id) => id.split("_")[0] ?? id))];
    const queue = await this.#transport.run(["squeue", "--noheader", "--array", "--format=%i|%T|%r|%N", `--jobs=${queried.join(",")}`]);
    const states = new Map<string, string>();
    // Slurm answering that it does not know a job (purged after MinJobAge) is an answer, not silence.
    const answered = (result: typeof queue): boolean => result.code === 0 || FORGOTTEN.test(result.stderr);
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
      return state === undefined || isFinalJobState(state);
    });
    if (ended.length === 0) return;
    const shown = await this.#transport.run(["scontrol", "-o", "show", "job", ...(ended.length === 1 ? ended : [])]);
    if (!answered(queue) && !answered(shown)) throw new ConflictError(queue.stderr.trim() || shown.stderr.trim() || "squeue and scontrol failed", { details: { cluster: this.#name } });
    const known = new Map<string, Map<string, string>>();
    for (const line of shown.stdout.split("\n")) {
      const fields = slurmFields(line);
      for (const id of jobIdsOf(fields)) known.set(id, fields);
    }
    // Ended jobs are finished together: the steps that go out again (preempted, lost) share one submission.
    const finishing: Promise<void>[] = [];
    for (const id of ended) {
      const job = this.#waiting.get(id);
      if (job === undefined) continue;
      const fields = known.get(id);
      const state = fields?.get("JobState") ?? states.get(id) ?? "UNKNOWN";
      // A job Slurm does not show yet (a busy or federated controller) counts as pending for a while
      // after its submission.
      // Not a cancelled one: Slurm forgets a pending array task that is cancelled at once.
      if (state === "UNKNOWN" && !job.cancelRequested && !existsSync(stepFiles(job.dir).exitCode) && performance.now() - job.submittedAt < INVISIBLE_GRACE_MS) continue;
      // Requeued or still finishing: not ended after all.
      if (!isFinalJobState(state) && state !== "UNKNOWN") continue;
      finishing.push(this.#finish(job, state, fields ?? new Map()));
    }
    await Promise.all(finishing);
  }

  /** Forwards the events the runner appended since the last poll; a restart of the job (requeue) starts over. */
  #readEvents(job: Waiting): void {
    while (existsSync(eventsFile(job.dir, job.restart + 1))) {
      job.restart += 1;
      job.eventsOffset = 0;
      job.done = null;
      job.failure = null;
    }
    const text = readText(eventsFile(job.dir, job.restart));
    if (text === null) return;
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

  async #finish(job: Waiting, state: string, fields: ReadonlyMap<string, string>): Promise<void> {
    this.#readEvents(job);
    const files = stepFiles(job.dir);
    const exitText = readText(files.exitCode)?.trim() ?? null;
    const ranToEnd = state === "COMPLETED" || state === "FAILED";
    if (exitText === null && ranToEnd && !job.cancelRequested) {
      // A shared filesystem may show the file to this machine a little later than the job wrote it.
      job.endedAt ??= performance.now();
      if (performance.now() - job.endedAt < this.#graceMs) return;
    }
    const nodes = fields.get("NodeList") || "";
    if (!job.cancelRequested && job.retries.length < this.#retries) {
      if (LOST_STATES.has(state)) return this.#resubmit(job, state, nodes, { exclude: [...new Set([...job.submission.exclude, ...(nodes === "" || nodes === "(null)" ? [] : [nodes])])] });
      const minutes = job.submission.minutes;
      if (state === "TIMEOUT" && this.#maxMinutes !== null && minutes !== null && minutes < this.#maxMinutes) {
        return this.#resubmit(job, state, nodes, { minutes: Math.min(2 * minutes, this.#maxMinutes) });
      }
    }
    const exitCode = exitText === null || exitText === "" ? null : Number(exitText);
    const wallMs = performance.now() - job.started;
    const usage = parseUsage(readText(files.usage) ?? "");
    const measuredRss = Math.max(usage.maxRssBytes ?? 0, job.done?.resources.maxRssBytes ?? 0);
    const scheduler = accounting(this.#name, job.jobId, fields, { ...usage, maxRssBytes: measuredRss > 0 ? measuredRss : null }, job.retries);
    let outcome: StepOutcome;
    let reason: string | undefined;
    const where = `(Slurm job ${job.jobId} on ${nodes || "no node"})`;
    const memory = job.cancelRequested ? null : memoryKill(state, this.#slurmMessages(job, fields), scheduler.memoryBytes, scheduler.maxRssBytes);
    if (job.cancelRequested) outcome = "cancelled";
    else if (state === "TIMEOUT") {
      outcome = "timeout";
      const longer = this.#maxMinutes === null ? "; maelstrom cluster add … --max-time lets Maelstrom resubmit it with more time" : "";
      reason = `Slurm ended job ${job.jobId} at its time limit (${fields.get("TimeLimit") ?? "?"}, state TIMEOUT${job.retries.length > 0 ? `, after ${job.retries.length} resubmission(s)` : ""})${longer}`;
    } else if (memory !== null) {
      outcome = "failed";
      reason = `${where} ${memory}`;
    } else if (exitCode === 0 && (job.done !== null || isShellStep(job.options))) outcome = "succeeded";
    else {
      outcome = "failed";
      const why = STATE_REASONS[state];
      const retried = job.retries.length > 0 ? `; it was submitted ${job.retries.length + 1} times (jobs ${[...job.retries.map((r) => r.jobId), job.jobId].join(", ")})` : "";
      if (why !== undefined) reason = `${where} ${why}${retried}${LOST_STATES.has(state) ? "; resume the run to submit it again" : ""}`;
      else if (exitText === null) reason = `(Slurm job ${job.jobId}, state ${state}) ended without writing its exit code to ${files.exitCode}`;
    }
    // The final state, for `runs show` and `logs -f` (squeue shows a job only while it waits or runs).
    job.options.onStatus?.({ jobId: job.jobId, state, reason: "", nodes });
    let done = job.done;
    if (outcome === "succeeded") {
      // A command step reports nothing itself: what the job measured is what is known.
      const base = done?.resources ?? { wallMs: scheduler.elapsedMs || wallMs, userCpuMs: usage.cpuTimeMs ?? 0, systemCpuMs: 0, maxRssBytes: measuredRss };
      done = { ...(done ?? { type: "done", metrics: {} }), resources: { ...base, scheduler } };
    }
    this.#settle(job, { outcome, exitCode, signal: null, done: outcome === "succeeded" ? done : null, failure: job.failure, wallMs, ...(reason === undefined ? {} : { reason }) }, null);
  }

  /**
   * What slurmstepd wrote about the job (a memory kill, a cancel): the end of the step's log, and for
   * a task of an array also its lines in the array's own output, where Slurm writes for every task.
   */
  #slurmMessages(job: Waiting, fields: ReadonlyMap<string, string>): string {
    const own = tail(job.options.logFile, job.logOffset);
    const [arrayId, task] = job.jobId.split("_");
    if (task === undefined) return own;
    const ids = [`StepId=${job.jobId}.`, `StepId=${fields.get("JobId") ?? job.jobId}.`, `JOB ${fields.get("JobId") ?? job.jobId} `];
    const array = tail(join(dirname(job.dir), `slurm-array-${arrayId}.log`));
    return [own, ...array.split("\n").filter((line) => ids.some((id) => line.includes(id)))].join("\n");
  }

  /**
   * Submits an ended job's step again with a change (nodes to avoid, more time). When excluding
   * the failed nodes leaves the partition nothing to run on, the step waits for them instead.
   */
  async #resubmit(job: Waiting, state: string, nodes: string, change: Partial<Pick<Submission, "exclude" | "minutes">>): Promise<void> {
    const before = job.submission;
    const next: Submission = { ...before, ...change };
    let action = change.minutes !== undefined ? `time ${before.minutes}m -> ${change.minutes}m` : `excluding ${next.exclude.join(",")}`;
    this.#waiting.delete(job.jobId);
    let jobId: string | null;
    try {
      await this.#clean(job.dir);
      await writeFile(stepFiles(job.dir).events, "");
      job.logOffset = logSize(job.options.logFile);
      appendLog(job.options.logFile, `--- Maelstrom: Slurm job ${job.jobId} ended ${state}${nodes === "" ? "" : ` on ${nodes}`}; submitting the step again (${action}) ---\n`);
      try {
        jobId = await this.#submit(job.options, job.dir, next);
        job.submission = next;
      } catch (error) {
        if (change.exclude === undefined || !(error instanceof InputError)) throw error;
        action = `on the same nodes: excluding ${next.exclude.join(",")} was refused (${error.message.split(": ").at(-1) ?? ""})`;
        jobId = await this.#submit(job.options, job.dir, before);
      }
    } catch (error) {
      this.#settle(job, null, error);
      return;
    }
    if (jobId === null) {
      // The run was cancelled before the new job was submitted.
      this.#settle(job, cancelledSince(job.started), null);
      return;
    }
    job.retries.push({ jobId: job.jobId, state, nodes, action });
    job.jobId = jobId;
    job.restart = 0;
    job.eventsOffset = 0;
    job.done = null;
    job.failure = null;
    job.endedAt = null;
    job.lastStatus = "";
    job.submittedAt = performance.now();
    this.#waiting.set(jobId, job);
    job.options.onStart?.(jobId);
    // Cancelled while the new job was being submitted: it goes at once.
    if (job.cancelRequested) this.#cancel(jobId);
    this.#interval = this.#poll.min;
  }

  #settle(job: Waiting, result: StepProcessResult | null, error: unknown): void {
    this.#waiting.delete(job.jobId);
    job.release();
    if (result === null) job.reject(error);
    else job.resolve(result);
  }
}

function cancelledSince(started: number): StepProcessResult {
  return { outcome: "cancelled", exitCode: null, signal: null, done: null, failure: null, wallMs: performance.now() - started };
}

function appendLog(file: string, text: string): void {
  try {
    writeFileSync(file, text, { flag: "a" });
  } catch {
    // The log is for people; a resubmission does not depend on it.
  }
}
