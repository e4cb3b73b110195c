import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { guardStep } from "./guard.js";
import { watchGroup, type StepLimits } from "./process-group.js";
import { EVENT_FD_ENV, parseStepEvent, type DoneEvent, type FailedEvent, type SchedulerStatus, type StepEvent, type StepSpec } from "@maelstrom/core";

/** How a step process ended, from the engine's side. */
export type StepOutcome = "succeeded" | "failed" | "timeout" | "cancelled";

/** A runner that loads step code from a spec and reports on fd 3: this Node.js, or a Python interpreter with the maelstrom package. */
export type CodeRunner = { readonly kind: "node" } | { readonly kind: "python"; readonly interpreter: string };

/**
 * Which runner executes the step. `shell`: `/bin/sh -c command`, with the command already rendered
 * and quoted by the caller; no spec and no events, its exit status is its outcome.
 */
export type StepRunner = CodeRunner | { readonly kind: "shell"; readonly command: string };

interface CommonStepOptions extends StepLimits {
  /** stdout and stderr of the step, interleaved in order. Appended to. */
  readonly logFile: string;
  readonly cwd: string;
  /** Extra environment variables for the step. */
  readonly env?: Readonly<Record<string, string>>;
  readonly onEvent?: (event: StepEvent) => void;
  /**
   * Called once the step exists somewhere, to record where it runs: a local process's pid, or a batch
   * executor's job id (a Slurm array task is `ARRAYJOB_TASK`, e.g. `123_4`, hence a string).
   */
  readonly onStart?: (id: string) => void;
  /** What the step declared (a batch executor asks the scheduler for it; local processes ignore it). */
  readonly resources?: { readonly cpus: number; readonly memoryBytes: number; readonly gpus: number };
  /** A name for the step's job (the step id). */
  readonly name?: string;
  /** A batch job of this step that is already queued or has run: a restarted engine waits for it instead of submitting a new one. */
  readonly attachTo?: string;
  /** A batch executor reports the job's scheduler state each time it changes (local processes never call it). */
  readonly onStatus?: (status: SchedulerStatus) => void;
}

/** A node or Python step: code the runner loads as its spec says. */
export interface CodeStepOptions extends CommonStepOptions {
  readonly runner: CodeRunner;
  readonly spec: StepSpec;
  /** Where to write the spec; kept with the run so a step can be re-run by hand. */
  readonly specFile: string;
}

/** A shell step: the command is all there is to it (no spec file). */
interface ShellStepOptions extends CommonStepOptions {
  readonly runner: Extract<StepRunner, { kind: "shell" }>;
}

export type StepProcessOptions = CodeStepOptions | ShellStepOptions;

export function isShellStep(options: StepProcessOptions): options is ShellStepOptions {
  return options.runner.kind === "shell";
}

export interface StepProcessResult {
  readonly outcome: StepOutcome;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly done: DoneEvent | null;
  readonly failure: FailedEvent | null;
  readonly wallMs: number;
  /** Why the executor ended the step when it was not the step's own doing, e.g. a Slurm job state. */
  readonly reason?: string;
}

const nodeRunnerPath = fileURLToPath(new URL("./node-runner.js", import.meta.url));
/** The `maelstrom` Python package of this installation (repository folder python/). */
const pythonPackageDir = fileURLToPath(new URL("../../../python", import.meta.url));

/** The runner's command line (`argument`: a spec file, or `--worker`) and the environment it adds. */
export function runnerCommand(runner: CodeRunner, argument: string): { command: string; args: string[]; env: Record<string, string> } {
  if (runner.kind === "node") return { command: process.execPath, args: ["--enable-source-maps", nodeRunnerPath, argument], env: {} };
  const pythonPath = [pythonPackageDir, process.env["PYTHONPATH"]].filter(Boolean).join(":");
  // -u: unbuffered, so prints reach the log in order with the events.
  return { command: runner.interpreter, args: ["-u", "-m", "maelstrom.runner", argument], env: { PYTHONPATH: pythonPath } };
}

/** The full environment of a runner process: the engine's, the step's, the runner's, and the event protocol's. */
export function runnerEnv(options: Pick<CommonStepOptions, "env">, runner: Record<string, string>): NodeJS.ProcessEnv {
  // The engine's pid, for runners that watch for the engine's death themselves (Python).
  return { ...process.env, ...options.env, ...runner, [EVENT_FD_ENV]: "3", MAELSTROM_ENGINE_PID: String(process.pid) };
}

/**
 * Starts `command` in a process group of its own: Ctrl-C on the terminal reaches the engine only,
 * and the engine kills the whole group. stdout and stderr append to the step's log; `events` adds
 * the fd-3 pipe. A process it starts is meant for `supervise` or a worker's own bookkeeping.
 */
function spawnGroup(command: string, args: readonly string[], options: { cwd: string; logFile: string; env: NodeJS.ProcessEnv | undefined; events: boolean }): ChildProcess {
  const logFd = openSync(options.logFile, "a");
  try {
    return spawn(command, args, {
      cwd: options.cwd,
      detached: true,
      stdio: options.events ? ["ignore", logFd, logFd, "pipe"] : ["ignore", logFd, logFd],
      env: options.env,
    });
  } finally {
    closeSync(logFd);
  }
}

/** Calls `onEvent` with each protocol event of a runner's fd 3 (other lines are ignored). */
export function readEvents(child: ChildProcess, onEvent: (event: StepEvent) => void): void {
  const lines = createInterface({ input: child.stdio[3] as Readable, crlfDelay: Infinity });
  lines.on("line", (line) => {
    const event = parseStepEvent(line);
    if (event !== null) onEvent(event);
  });
}

/** Run one step in a child process of its own process group and wait for it to end. */
export function runStepProcess(options: StepProcessOptions): Promise<StepProcessResult> {
  const started = performance.now();
  if (isShellStep(options)) {
    // Lean on purpose (a shell step may be one `touch`): no spec file, no pipe, no environment copy
    // unless the step adds variables.
    const env = options.env === undefined ? undefined : { ...process.env, ...options.env };
    const child = spawnGroup("/bin/sh", ["-c", options.runner.command], { cwd: options.cwd, logFile: options.logFile, env, events: false });
    return supervise(child, options, started, (exitCode, wallMs) => ({
      // Node cannot give a child's rusage (only wall time is known here), hence the zeros.
      done: exitCode === 0 ? { type: "done", metrics: {}, resources: { wallMs, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 } } : null,
      failure: null,
    }));
  }
  writeFileSync(options.specFile, JSON.stringify(options.spec, null, 2));
  const { command, args, env } = runnerCommand(options.runner, options.specFile);
  const child = spawnGroup(command, args, { cwd: options.cwd, logFile: options.logFile, env: runnerEnv(options, env), events: true });
  let done: DoneEvent | null = null;
  let failure: FailedEvent | null = null;
  readEvents(child, (event) => {
    if (event.type === "done") done = event;
    else if (event.type === "failed") failure = event;
    options.onEvent?.(event);
  });
  return supervise(child, options, started, () => ({ done, failure }));
}

/**
 * Waits for a step process to end, stopping its group on the time limit or a cancel; `ended` says
 * what the step reported. The group is told to the guard meanwhile, so a killed engine takes it down.
 */
function supervise(
  child: ChildProcess,
  options: CommonStepOptions,
  started: number,
  ended: (exitCode: number | null, wallMs: number) => Pick<StepProcessResult, "done" | "failure">,
): Promise<StepProcessResult> {
  const pid = child.pid;
  const watch = pid === undefined ? null : watchGroup(pid, options);
  if (pid !== undefined) {
    guardStep(pid, true);
    options.onStart?.(String(pid));
  }
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      if (pid !== undefined) guardStep(pid, false);
      watch?.release();
      const wallMs = performance.now() - started;
      const { done, failure } = ended(exitCode, wallMs);
      const outcome: StepOutcome = watch?.stopped() ?? (exitCode === 0 && done !== null ? "succeeded" : "failed");
      resolve({ outcome, exitCode, signal, done, failure, wallMs });
    });
  });
}
