import { spawn } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { guardStep } from "./guard.js";
import { EVENT_FD_ENV, parseStepEvent, type DoneEvent, type FailedEvent, type StepEvent, type StepSpec } from "@maelstrom/core";

/** How a step process ended, from the engine's side. */
export type StepOutcome = "succeeded" | "failed" | "timeout" | "cancelled";

/** Which runner executes the step: this Node.js, or a Python interpreter with the maelstrom package. */
export type StepRunner = { readonly kind: "node" } | { readonly kind: "python"; readonly interpreter: string };

export interface StepProcessOptions {
  readonly runner: StepRunner;
  readonly spec: StepSpec;
  /** Where to write the spec; kept with the run so a step can be re-run by hand. */
  readonly specFile: string;
  /** stdout and stderr of the step, interleaved in order. Appended to. */
  readonly logFile: string;
  readonly cwd: string;
  /** Extra environment variables for the step. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number | null;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: StepEvent) => void;
  /** Called once the process exists (to record where the step runs). */
  readonly onStart?: (pid: number) => void;
}

export interface StepProcessResult {
  readonly outcome: StepOutcome;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly done: DoneEvent | null;
  readonly failure: FailedEvent | null;
  readonly wallMs: number;
}

const KILL_GRACE_MS = 2000;

const nodeRunnerPath = fileURLToPath(new URL("./node-runner.js", import.meta.url));
/** The `maelstrom` Python package of this installation (repository folder python/). */
const pythonPackageDir = fileURLToPath(new URL("../../../python", import.meta.url));

function runnerCommand(runner: StepRunner, specFile: string): { command: string; args: string[]; env: Record<string, string> } {
  if (runner.kind === "node") return { command: process.execPath, args: ["--enable-source-maps", nodeRunnerPath, specFile], env: {} };
  const pythonPath = [pythonPackageDir, process.env["PYTHONPATH"]].filter(Boolean).join(":");
  // -u: unbuffered, so prints reach the log in order with the events.
  return { command: runner.interpreter, args: ["-u", "-m", "maelstrom.runner", specFile], env: { PYTHONPATH: pythonPath } };
}

/** Run one step in a child process of its own process group and wait for it to end. */
export function runStepProcess(options: StepProcessOptions): Promise<StepProcessResult> {
  writeFileSync(options.specFile, JSON.stringify(options.spec, null, 2));
  const logFd = openSync(options.logFile, "a");
  const started = performance.now();
  const { command, args, env } = runnerCommand(options.runner, options.specFile);
  const child = spawn(command, args, {
    cwd: options.cwd,
    // A group of its own: Ctrl-C on the terminal reaches the engine only, and the engine kills the whole group.
    detached: true,
    stdio: ["ignore", logFd, logFd, "pipe"],
    // The engine's pid, for runners that watch for the engine's death themselves (Python).
    env: { ...process.env, ...options.env, ...env, [EVENT_FD_ENV]: "3", MAELSTROM_ENGINE_PID: String(process.pid) },
  });
  closeSync(logFd);

  let done: DoneEvent | null = null;
  let failure: FailedEvent | null = null;
  let ended: "timeout" | "cancelled" | null = null;
  let killTimer: NodeJS.Timeout | undefined;

  const killGroup = (why: "timeout" | "cancelled"): void => {
    if (ended !== null || child.pid === undefined) return;
    ended = why;
    signalGroup(child.pid, "SIGTERM");
    const pid = child.pid;
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_GRACE_MS);
  };

  const timer = options.timeoutMs === null ? undefined : setTimeout(() => killGroup("timeout"), options.timeoutMs);
  const onAbort = (): void => killGroup("cancelled");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  if (child.pid !== undefined) {
    guardStep(child.pid, true);
    options.onStart?.(child.pid);
  }

  const events = child.stdio[3] as Readable;
  const lines = createInterface({ input: events, crlfDelay: Infinity });
  lines.on("line", (line) => {
    const event = parseStepEvent(line);
    if (event === null) return;
    if (event.type === "done") done = event;
    else if (event.type === "failed") failure = event;
    options.onEvent?.(event);
  });

  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      if (child.pid !== undefined) guardStep(child.pid, false);
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      const outcome: StepOutcome = ended ?? (exitCode === 0 && done !== null ? "succeeded" : "failed");
      resolve({ outcome, exitCode, signal, done, failure, wallMs: performance.now() - started });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
