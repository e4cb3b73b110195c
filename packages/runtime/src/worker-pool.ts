/**
 * Warm workers: a node or Python runner process that runs step after step (`--worker`), so that a
 * step does not pay for starting an interpreter and importing the runtime. A step through a pool
 * keeps runStepProcess's contract; only where the process comes from differs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { ConflictError } from "@maelstrom/errors";
import type { FailedEvent, StepSpec } from "@maelstrom/core";
import { CommandLauncher } from "./launcher.js";
import { guardStep } from "./guard.js";
import { signalGroup, watchGroup, type GroupWatch } from "./process-group.js";
import {
  isShellStep,
  readEvents,
  runnerCommand,
  runnerEnv,
  runStepProcess,
  type CodeStepOptions,
  type StepProcessOptions,
  type StepProcessResult,
} from "./step-process.js";

/** What a worker reads from a step's spec file: the spec, and how a one-shot process of the step would have been started. */
export interface WorkerStepSpec extends StepSpec {
  readonly worker: {
    readonly cwd: string;
    /** Set for the step's duration. */
    readonly env: Readonly<Record<string, string>>;
    readonly logFile: string;
  };
}

/**
 * A worker is retired after this many steps (each call of a fused chain counts): a node worker
 * keeps every module instance it loaded (a fresh one per call), so its memory grows with them.
 */
const STEPS_PER_WORKER = 100;

/** Variables a runner reads when it starts (module search paths): a worker serves only steps that agree on them. */
const START_VARIABLES = ["NODE_PATH", "PYTHONPATH"] as const;

interface Job {
  readonly options: CodeStepOptions;
  readonly started: number;
  readonly watch: GroupWatch;
  failure: FailedEvent | null;
  readonly resolve: (result: StepProcessResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Worker {
  readonly key: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  steps: number;
  job: Job | null;
  /** Where output on the worker's own stdout/stderr goes between steps: the last step's log. */
  lastLog: string;
}

/**
 * Runs node and Python steps in warm worker processes, reusing an idle worker of the same identity
 * (runner, interpreter, NODE_PATH and PYTHONPATH at start). After a failure, a time-out or a cancel
 * the worker's process group is killed and the next step gets a fresh worker. Shell steps start
 * through one command launcher per pool (see launcher.ts). The engine uses one pool per run, so runs
 * never share a worker.
 *
 * What differs from a one-shot step: a step that succeeded has exitCode 0 (its worker lives on);
 * its resources are its own wall and CPU time, but maxRssBytes is the worker's peak so far; and
 * what the user's code leaves behind in the process (timers, threads, imported packages) stays
 * for the worker's next steps.
 */
export class WorkerPool {
  readonly #idle = new Map<string, Worker[]>();
  readonly #all = new Set<Worker>();
  #launcher: CommandLauncher | null | undefined;
  #closed = false;

  /** Runs one step, with exactly runStepProcess's contract (events, onStart, log file, time limit, cancel). */
  run(options: StepProcessOptions): Promise<StepProcessResult> {
    if (isShellStep(options)) {
      // Command steps start through the launcher (a warm process too), or Node's spawn without Python.
      if (this.#launcher === undefined) this.#launcher = CommandLauncher.start();
      return this.#launcher === null ? runStepProcess(options) : this.#launcher.run(options);
    }
    if (this.#closed) return Promise.reject(new ConflictError(`the worker pool is closed; cannot run the step of ${options.spec.artifact}`));
    const started = performance.now();
    const { command, args, env } = runnerCommand(options.runner, "--worker");
    const full = runnerEnv(options, env);
    const start = Object.fromEntries(START_VARIABLES.flatMap((name) => (full[name] === undefined ? [] : [[name, full[name]]])));
    const key = JSON.stringify([options.runner.kind, command, start]);
    const spec: WorkerStepSpec = { ...options.spec, worker: { cwd: options.cwd, env: options.env ?? {}, logFile: options.logFile } };
    writeFileSync(options.specFile, JSON.stringify(spec, null, 2));
    const worker = this.#takeIdle(key) ?? this.#start(key, command, args, runnerEnv({ env: start }, env), options.cwd);
    if (worker instanceof Promise) return worker;
    return new Promise((resolve, reject) => {
      worker.job = { options, started, watch: watchGroup(worker.pid, options), failure: null, resolve, reject };
      worker.lastLog = options.logFile;
      worker.steps += 1 + (options.spec.next?.length ?? 0);
      options.onStart?.(String(worker.pid));
      worker.child.stdin?.write(`${options.specFile}\n`);
    });
  }

  /** Ends every worker: idle ones at once, running steps as cancelled. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const worker of this.#all) this.#end(worker);
    await Promise.all([...this.#all].map((worker) => worker.exited));
    await this.#launcher?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #takeIdle(key: string): Worker | undefined {
    const idle = this.#idle.get(key) ?? [];
    let worker = idle.pop();
    // A worker that died while idle (killed from outside) is skipped; its close handler forgets it.
    while (worker !== undefined && (worker.child.exitCode !== null || worker.child.signalCode !== null)) worker = idle.pop();
    return worker;
  }

  /** A new worker; if it could not be started (no such interpreter, ...), the error, as runStepProcess gives it. */
  #start(key: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Worker | Promise<never> {
    // A process group of its own, as a one-shot step: the engine kills the group, Ctrl-C reaches the engine only.
    const child = spawn(command, args, { cwd, detached: true, stdio: ["pipe", "pipe", "pipe", "pipe"], env });
    const pid = child.pid;
    if (pid === undefined) return new Promise((_, reject) => child.once("error", reject));
    guardStep(pid, true);
    const worker: Worker = { key, child, pid, exited: new Promise((resolve) => child.once("close", () => resolve())), steps: 0, job: null, lastLog: "" };
    this.#all.add(worker);
    child.stdin?.on("error", () => undefined);
    // Output that does not pass through a step's redirection (processes the user started with
    // inherited stdio, a crash of the runner itself) goes to the log of the step that runs, or ran last.
    const forward = (chunk: Buffer): void => {
      try {
        appendFileSync(worker.job?.options.logFile ?? worker.lastLog, chunk);
      } catch {
        // No log to write to: nothing better to do with it.
      }
    };
    child.stdout?.on("data", forward);
    child.stderr?.on("data", forward);
    readEvents(child, (event) => {
      const job = worker.job;
      if (job === null) return;
      if (event.type === "failed") job.failure = event;
      job.options.onEvent?.(event);
      if (event.type === "done" && job.watch.stopped() === null) {
        this.#finish(worker, job, { outcome: "succeeded", exitCode: 0, signal: null, done: event, failure: null, wallMs: performance.now() - job.started });
        if (worker.steps >= STEPS_PER_WORKER) this.#end(worker);
        else this.#idle.set(worker.key, [...(this.#idle.get(worker.key) ?? []), worker]);
      }
    });
    child.on("error", (error) => worker.job?.reject(error));
    child.on("close", (exitCode, signal) => {
      // What the user's code left running in the group goes with the worker.
      signalGroup(pid, "SIGKILL");
      guardStep(pid, false);
      this.#all.delete(worker);
      const idle = this.#idle.get(worker.key)?.filter((other) => other !== worker) ?? [];
      this.#idle.set(worker.key, idle);
      const job = worker.job;
      if (job !== null) {
        this.#finish(worker, job, {
          outcome: job.watch.stopped() ?? "failed",
          exitCode,
          signal,
          done: null,
          failure: job.failure,
          wallMs: performance.now() - job.started,
        });
      }
    });
    return worker;
  }

  #finish(worker: Worker, job: Job, result: StepProcessResult): void {
    job.watch.release();
    worker.job = null;
    job.resolve(result);
  }

  /** Stops a worker: a running step as cancelled (SIGTERM, then SIGKILL), an idle worker at once. */
  #end(worker: Worker): void {
    if (worker.job !== null) worker.job.watch.stop("cancelled");
    else signalGroup(worker.pid, "SIGTERM");
  }
}
