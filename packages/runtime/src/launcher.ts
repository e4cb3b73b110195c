import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { guardStep } from "./guard.js";
import { watchGroup } from "./process-group.js";
import type { StepOutcome, StepProcessOptions, StepProcessResult } from "./step-process.js";

type ShellStepOptions = Extract<StepProcessOptions, { runner: { kind: "shell" } }>;

/** The `maelstrom` Python package of this installation (its launcher module is standard library only). */
const pythonPackageDir = fileURLToPath(new URL("../../../python", import.meta.url));

type LauncherMessage = { id: number; pid: number } | { id: number; error: string } | { id: number; exit: number | null; signal: string | null };

interface Pending {
  readonly options: ShellStepOptions;
  readonly started: number;
  readonly resolve: (result: StepProcessResult) => void;
  readonly reject: (error: Error) => void;
  watch: ReturnType<typeof watchGroup> | null;
  pid: number | null;
}

let python: string | null | undefined;

/**
 * A Python 3 to run the launcher with, or null (then command steps are spawned by Node itself).
 * Found on the PATH, not started to check: that would cost what the launcher saves.
 */
function launcherPython(): string | null {
  python ??= [...(process.env["PATH"] ?? "").split(delimiter).map((dir) => join(dir, "python3")), "/usr/bin/python3"].find((candidate) => existsSync(candidate)) ?? null;
  return python;
}

/**
 * Starts command steps through a small long-lived process (python/maelstrom/launcher.py): Node's own
 * spawn holds the engine's single thread for milliseconds per child, which bounds how many short
 * commands per second a run can start. Same contract as runStepProcess for a shell step: process
 * group of its own, log file, time limit, cancel. When the engine dies, the launcher's stdin
 * closes and it kills the steps still running.
 */
export class CommandLauncher {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #failed: Error | null = null;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdin?.on("error", () => undefined);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream, crlfDelay: Infinity });
    lines.on("line", (line) => this.#receive(JSON.parse(line) as LauncherMessage));
    child.on("close", () => this.#fail(new Error("the command launcher ended")));
    child.on("error", (error) => this.#fail(error));
  }

  /** A launcher, or null when no Python 3 is there to run it. */
  static start(): CommandLauncher | null {
    const interpreter = launcherPython();
    if (interpreter === null) return null;
    const pythonPath = [pythonPackageDir, process.env["PYTHONPATH"]].filter(Boolean).join(":");
    const child = spawn(interpreter, ["-u", "-m", "maelstrom.launcher"], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PYTHONPATH: pythonPath } });
    return new CommandLauncher(child);
  }

  run(options: ShellStepOptions): Promise<StepProcessResult> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const id = this.#next++;
    const env = options.env === undefined ? null : { ...process.env, ...options.env };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { options, started: performance.now(), resolve, reject, watch: null, pid: null });
      this.#child.stdin?.write(`${JSON.stringify({ id, argv: ["/bin/sh", "-c", options.runner.command], cwd: options.cwd, env, log: options.logFile })}\n`);
    });
  }

  /** Ends the launcher; it kills what still runs. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => (this.#child.exitCode !== null ? resolve() : this.#child.once("close", () => resolve())));
    this.#child.stdin?.end();
    await exited;
  }

  #receive(message: LauncherMessage): void {
    const job = this.#pending.get(message.id);
    if (job === undefined) return;
    if ("pid" in message) {
      job.pid = message.pid;
      job.watch = watchGroup(message.pid, job.options);
      guardStep(message.pid, true);
      job.options.onStart?.(String(message.pid));
      return;
    }
    this.#pending.delete(message.id);
    if ("error" in message) {
      job.reject(Object.assign(new Error(`spawn /bin/sh: ${message.error}`), { code: "ENOENT" }));
      return;
    }
    if (job.pid !== null) guardStep(job.pid, false);
    job.watch?.release();
    const wallMs = performance.now() - job.started;
    // Like runStepProcess for a shell step: only wall time is known.
    const done = message.exit === 0 ? ({ type: "done", metrics: {}, resources: { wallMs, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 } } as const) : null;
    const outcome: StepOutcome = job.watch?.stopped() ?? (done !== null ? "succeeded" : "failed");
    job.resolve({ outcome, exitCode: message.exit, signal: message.signal, done, failure: null, wallMs });
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    for (const job of this.#pending.values()) job.reject(error);
    this.#pending.clear();
  }
}
