import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readBundleSchema, type DoneEvent, type PythonEnvironment, type StepResourceUsage, type StepSpec } from "@maelstrom/core";
import { CancelledError, InputError, StepFailedError, toErrorJson, type ErrorJson } from "@maelstrom/errors";
import type { MaelstromError } from "@maelstrom/errors";
import { buildNodeModule, choosePython, nodeBuildIdentity, pythonImports, runStepProcess, type RequestedPython, type StepProcessResult } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import { thisHost, type EngineContext } from "./context.js";
import { readConfig } from "./config.js";
import { nearestLockfile, stepNodePaths } from "./environment.js";
import type { RunHooks } from "./events.js";
import { registerModelVersion } from "./models.js";
import type { MetricPoint, PlannedStep, RunPlan, RunResult } from "./records.js";
import { checkout } from "./trees.js";

const CALL_LABEL: Record<PlannedStep["call"], string> = { get: "get", transform: "apply", train: "train", predict: "apply" };

/** Persist a new run and its pending steps before anything runs (decision 7). */
export async function createRun(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  options: { readonly sessionId?: string | null; readonly rerunOf?: string | null } = {},
): Promise<void> {
  const now = Date.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("runs")
      .values({
        id: runId,
        kind: plan.kind,
        status: "pending",
        plan: toJsonColumn(plan),
        session_id: options.sessionId ?? null,
        rerun_of: options.rerunOf ?? null,
        owner_host: thisHost,
        owner_pid: process.pid,
        error: null,
        result: null,
        created_at: now,
        started_at: null,
        ended_at: null,
      })
      .execute();
    await trx
      .insertInto("step_executions")
      .values(
        plan.steps.map((step, position) => ({
          run_id: runId,
          step_id: step.id,
          position,
          artifact_digest: step.artifact.digest,
          call: step.call,
          status: "pending",
          attempt: 0,
          placement: null,
          input_digest: null,
          output_digest: null,
          state_digest: null,
          resources: null,
          error: null,
          environment: null,
          log_path: join(ctx.paths.runs, runId, step.id, "step.log"),
          started_at: null,
          ended_at: null,
        })),
      )
      .execute();
  });
}

interface StepResult {
  readonly outputDigest: Digest;
  readonly stateDigest: Digest | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: StepResourceUsage;
  readonly environment: PythonEnvironment | null;
}

/** Execute a created run to the end. Throws the step's error after recording it. */
export async function executeRun(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  hooks: RunHooks & { readonly registerModel?: boolean } = {},
): Promise<RunResult> {
  await ctx.db.updateTable("runs").set({ status: "running", started_at: Date.now() }).where("id", "=", runId).execute();
  hooks.onEvent?.({
    type: "run-started",
    runId,
    kind: plan.kind,
    steps: plan.steps.map((s) => ({ id: s.id, call: s.call, artifact: s.artifact.name })),
  });
  try {
    let input = plan.inputDigest;
    const results: StepResult[] = [];
    for (const index of plan.steps.keys()) {
      const previous = index === 0 ? "the input data" : `the output of step '${plan.steps[index - 1]?.id ?? ""}'`;
      const result = await executeStep(ctx, runId, plan, index, input, previous, hooks);
      results.push(result);
      input = result.outputDigest;
    }
    const last = results.at(-1);
    const trained = plan.steps.at(-1);
    let outcome: RunResult;
    if (plan.kind === "train" && hooks.registerModel !== false && last !== undefined && trained !== undefined && last.stateDigest !== null) {
      const version = await registerModelVersion(ctx, { runId, plan, results: results.map((r, i) => ({ ...r, step: plan.steps[i] ?? trained })) });
      outcome = { outputDigest: last.outputDigest, model: { name: plan.model.name, version } };
    } else {
      outcome = { outputDigest: last?.outputDigest ?? null, model: null };
      await ctx.db
        .updateTable("runs")
        .set({ status: "succeeded", ended_at: Date.now(), result: toJsonColumn(outcome) })
        .where("id", "=", runId)
        .execute();
    }
    hooks.onEvent?.({ type: "run-finished", runId, status: "succeeded" });
    return outcome;
  } catch (error) {
    const status = error instanceof CancelledError ? "cancelled" : "failed";
    await ctx.db
      .updateTable("runs")
      .set({ status, ended_at: Date.now(), error: toJsonColumn(toErrorJson(error)) })
      .where("id", "=", runId)
      .execute();
    // Steps not reached are cancelled rather than left pending forever.
    await ctx.db
      .updateTable("step_executions")
      .set({ status: "cancelled" })
      .where("run_id", "=", runId)
      .where("status", "=", "pending")
      .execute();
    hooks.onEvent?.({ type: "run-finished", runId, status });
    throw error;
  }
}

/**
 * Choose each Python step's interpreter before anything runs: the manifest field `python`, then
 * (applying a model) the interpreter it was trained with while that exists, then MAELSTROM_PYTHON,
 * then the workspace setting, then the first interpreter found that imports numpy and the step's
 * imports. A missing interpreter fails the run up front.
 */
export async function chooseInterpreters(ctx: EngineContext, plan: RunPlan): Promise<RunPlan> {
  const configured = (await readConfig(ctx.paths)).python;
  const steps: PlannedStep[] = [];
  for (const step of plan.steps) {
    if (step.artifact.runtime !== "python") {
      steps.push(step);
      continue;
    }
    const requested: RequestedPython[] = [];
    // Relative paths mean: from the artifact's folder (manifest), from here (environment, setting);
    // the step itself runs elsewhere, so they are made absolute now.
    const absolute = (path: string, base: string): string => (path.includes("/") ? resolve(base, path) : path);
    const fromManifest = step.python ?? null;
    if (fromManifest !== null) {
      requested.push({ path: absolute(fromManifest, step.artifact.sourcePath), source: `the 'python' field of ${step.artifact.name}'s maelstrom.yaml` });
    }
    // A model is applied with the interpreter it was trained with (its pickles need the same
    // packages), as long as that interpreter is still there; else the usual choice applies.
    const trainedWith = step.trainedWith ?? null;
    if (trainedWith !== null && (!trainedWith.includes("/") || existsSync(trainedWith))) {
      requested.push({ path: trainedWith, source: `the interpreter ${plan.model.name}/${plan.model.version ?? "?"} was trained with` });
    }
    const fromEnv = process.env["MAELSTROM_PYTHON"];
    if (fromEnv !== undefined && fromEnv !== "") requested.push({ path: absolute(fromEnv, process.cwd()), source: "MAELSTROM_PYTHON" });
    if (configured !== undefined) requested.push({ path: absolute(configured, ctx.paths.root), source: "the workspace setting python (maelstrom config)" });
    steps.push({ ...step, interpreter: choosePython(requested, step.artifact.name, await entryImports(ctx, step)) });
  }
  return { ...plan, steps };
}

/** What the step's entry file imports, read from the stored artifact version. */
async function entryImports(ctx: EngineContext, step: PlannedStep): Promise<string[]> {
  const tree = await ctx.objects.readTree(step.artifact.digest);
  const entry = tree.entries.find((e) => e.path === step.artifact.entry);
  if (entry === undefined) return [];
  const local = new Set(tree.entries.map((e) => e.path.split("/")[0]?.replace(/\.py$/, "") ?? ""));
  return pythonImports((await ctx.objects.readBytes(entry.digest)).toString("utf8"), local);
}

/** Build (once per artifact version and toolchain) the module a node step runs. */
async function ensureBuild(ctx: EngineContext, step: PlannedStep, sourceDir: string): Promise<string> {
  const nodePaths = stepNodePaths(step.artifact.sourcePath, ctx.paths.root);
  // npm dependencies are bundled in: a changed lockfile means a new build.
  const lockfile = nearestLockfile(step.artifact.sourcePath)?.digest ?? "no lockfile";
  const key = createHash("sha256").update([step.artifact.digest, nodeBuildIdentity, lockfile, ...nodePaths].join("\n")).digest("hex");
  const outFile = join(ctx.paths.builds, `${key.slice(0, 32)}.mjs`);
  if (!existsSync(outFile)) {
    await mkdir(ctx.paths.builds, { recursive: true });
    await buildNodeModule({ artifact: step.artifact.name, sourceDir, entry: step.artifact.entry, outFile, nodePaths });
  }
  return outFile;
}

/**
 * A type contract: every declared variable is in the bundle, with the declared dtype. Used for a
 * step's inputs ("needs … in its input, but the input data has") and outputs ("declares … in
 * its output, but the output has").
 */
async function checkVariables(
  step: PlannedStep,
  declared: Readonly<Record<string, string>>,
  bundleDir: string,
  subject: string,
  object: string,
): Promise<void> {
  const expected = Object.entries(declared);
  if (expected.length === 0) return;
  const schema = await readBundleSchema(bundleDir);
  const has = Object.keys(schema);
  for (const [name, dtype] of expected) {
    const found = schema[name];
    if (found === undefined) {
      throw new InputError(`${subject} variable '${name}' (${dtype}) ${object} has: ${has.join(", ") || "no variables"}`, {
        code: "BUNDLE_INVALID",
        details: { step: step.id, variable: name, expected: dtype },
      });
    }
    if (dtype !== "any" && found.dtype !== dtype) {
      throw new InputError(`${subject} variable '${name}' as ${dtype} ${object} has it as ${found.dtype}`, {
        code: "BUNDLE_INVALID",
        details: { step: step.id, variable: name, expected: dtype, actual: found.dtype },
      });
    }
  }
}

async function executeStep(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  index: number,
  input: Digest | null,
  inputLabel: string,
  hooks: RunHooks,
): Promise<StepResult> {
  const step = plan.steps[index];
  if (step === undefined) throw new Error(`no step ${index}`);
  const stepRow = ctx.db.updateTable("step_executions").where("run_id", "=", runId).where("step_id", "=", step.id);
  if (hooks.signal?.aborted) throw new CancelledError(`run ${runId} was cancelled before step '${step.id}'`);

  const dir = join(ctx.paths.runs, runId, step.id);
  const logPath = join(dir, "step.log");
  const output = join(dir, "out");
  const stateOut = join(dir, "state");
  await mkdir(dir, { recursive: true });
  // A resumed or retried step starts from a clean slate; nothing half-written survives.
  await rm(output, { recursive: true, force: true });
  await rm(stateOut, { recursive: true, force: true });
  const startedAt = Date.now();
  await stepRow
    .set((eb) => ({ status: "running", attempt: eb("attempt", "+", 1), started_at: startedAt, input_digest: input, log_path: logPath }))
    .execute();
  hooks.onEvent?.({ type: "step-started", runId, stepId: step.id, index, total: plan.steps.length });

  const metrics: MetricPoint[] = [];
  // Record the failure (with the metrics logged so far), tell the caller, and pass the error on.
  const fail = async (error: unknown, status: "failed" | "cancelled", wallMs: number): Promise<never> => {
    await finishStep(ctx, runId, step.id, status, toErrorJson(error), metrics);
    hooks.onEvent?.({ type: "step-finished", runId, stepId: step.id, status, wallMs });
    throw error;
  };
  let result: StepProcessResult;
  let codeDir: string;
  let placement: Promise<unknown> = Promise.resolve();
  try {
    const inputDir = input === null ? null : await checkout(ctx, input);
    if (inputDir !== null) await checkVariables(step, step.requires, inputDir, `step '${step.id}' (${step.artifact.name}) needs`, `in its input, but ${inputLabel}`);
    codeDir = await checkout(ctx, step.artifact.digest);
    const module = step.artifact.runtime === "node" ? await ensureBuild(ctx, step, codeDir) : join(codeDir, step.artifact.entry);
    const state = step.call === "train" ? stateOut : step.stateDigest === null ? null : await checkout(ctx, step.stateDigest);
    const spec: StepSpec = {
      call: step.call,
      artifact: step.artifact.name,
      module,
      parameters: step.parameters,
      inputs: inputDir === null ? {} : { data: inputDir },
      outputs: { data: output },
      state,
    };
    result = await runStepProcess({
      runner: step.interpreter === null ? { kind: "node" } : { kind: "python", interpreter: step.interpreter },
      spec,
      specFile: join(dir, "spec.json"),
      logFile: logPath,
      cwd: codeDir,
      env: {
        NODE_PATH: stepNodePaths(step.artifact.sourcePath, ctx.paths.root).join(":"),
        MAELSTROM_ARTIFACT_DIR: codeDir,
        MAELSTROM_WORKSPACE: ctx.paths.root,
      },
      timeoutMs: step.resources.timeoutMs,
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      // Where the step runs is informational: a failed write must not end the engine.
      onStart: (pid) => {
        placement = stepRow
          .set({ placement: `local:${thisHost}:${pid}` })
          .execute()
          .catch(() => undefined);
      },
      onEvent: (event) => {
        if (event.type === "metric") {
          metrics.push({ stepId: step.id, name: event.name, value: event.value, step: event.step, time: event.time });
          hooks.onEvent?.({ type: "metric", runId, stepId: step.id, name: event.name, value: event.value, step: event.step });
        } else if (event.type === "progress") {
          hooks.onEvent?.({ type: "step-progress", runId, stepId: step.id, fraction: event.fraction, message: event.message });
        }
      },
    });
  } catch (error) {
    return fail(error, "failed", Date.now() - startedAt);
  }

  if (result.outcome !== "succeeded" || result.done === null) {
    return fail(stepError(runId, step, result, codeDir), result.outcome === "cancelled" ? "cancelled" : "failed", result.wallMs);
  }
  // A model's declared outputs are its predictions; its train returns metrics instead.
  const provides = step.call === "train" ? {} : step.provides;
  await checkVariables(step, provides, output, `step '${step.id}' (${step.artifact.name}) declares`, "in its output, but the output").catch((error: unknown) =>
    fail(error, "failed", result.wallMs),
  );
  // Commit outputs only now that the step succeeded: move them into the store.
  let committed: StepResult;
  try {
    await placement;
    committed = await commitStep(ctx, runId, step, { output, stateOut, metrics, done: result.done });
  } catch (error) {
    return fail(error, "failed", result.wallMs);
  }
  hooks.onEvent?.({ type: "step-finished", runId, stepId: step.id, status: "succeeded", wallMs: result.wallMs });
  return committed;
}

async function commitStep(
  ctx: EngineContext,
  runId: string,
  step: PlannedStep,
  parts: { readonly output: string; readonly stateOut: string; readonly metrics: readonly MetricPoint[]; readonly done: DoneEvent },
): Promise<StepResult> {
  const { output, stateOut, metrics, done } = parts;
  const outputDigest = (await ctx.objects.putTree(output, { move: true })).digest;
  const stateDigest = step.call === "train" ? (await ctx.objects.putTree(stateOut, { move: true })).digest : null;
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("step_executions")
      .set({
        status: "succeeded",
        output_digest: outputDigest,
        state_digest: stateDigest,
        resources: toJsonColumn(done.resources),
        environment: done.environment === undefined ? null : toJsonColumn(done.environment),
        ended_at: Date.now(),
      })
      .where("run_id", "=", runId)
      .where("step_id", "=", step.id)
      .execute();
    await insertMetrics(trx, runId, metrics);
  });
  await rm(output, { recursive: true, force: true });
  await rm(stateOut, { recursive: true, force: true });
  return { outputDigest, stateDigest, metrics: done.metrics, resources: done.resources, environment: done.environment ?? null };
}

type MetricsWriter = Pick<EngineContext["db"], "insertInto">;

async function insertMetrics(db: MetricsWriter, runId: string, metrics: readonly MetricPoint[]): Promise<void> {
  if (metrics.length === 0) return;
  await db
    .insertInto("metrics")
    .values(metrics.map((m) => ({ run_id: runId, step_id: m.stepId, name: m.name, value: m.value, step: m.step, time: m.time })))
    .execute();
}

async function finishStep(
  ctx: EngineContext,
  runId: string,
  stepId: string,
  status: "failed" | "cancelled",
  error: ErrorJson,
  metrics: readonly MetricPoint[],
): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("step_executions")
      .set({ status, error: toJsonColumn(error), ended_at: Date.now() })
      .where("run_id", "=", runId)
      .where("step_id", "=", stepId)
      .execute();
    await insertMetrics(trx, runId, metrics);
  });
}

/** A manifest's time limit as a user wrote it: whole seconds, or minutes and seconds. */
function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60 === 0 ? "" : `${seconds % 60}s`}`;
}

/** Turn how a step process ended into an error a user can act on. */
function stepError(runId: string, step: PlannedStep, result: StepProcessResult, codeDir: string): MaelstromError {
  const what = `step '${step.id}' (${CALL_LABEL[step.call]} of ${step.artifact.kind} ${step.artifact.name})`;
  const logs = `see the log: maelstrom logs ${runId} ${step.id}`;
  const details = { run: runId, step: step.id, artifact: step.artifact.name, exitCode: result.exitCode, signal: result.signal };
  if (result.outcome === "cancelled") return new CancelledError(`run ${runId} was cancelled during ${what}`, { details });
  if (result.outcome === "timeout") {
    const limit = step.resources.timeoutMs ?? 0;
    return new StepFailedError(
      `${what} exceeded its time limit of ${formatDuration(limit)} and was stopped (raise resources.time in ${step.artifact.name}'s maelstrom.yaml); ${logs}`,
      { details: { ...details, timeoutMs: limit } },
    );
  }
  const failure = result.failure;
  if (failure !== null) {
    // Point at the file in the user's artifact folder, not at the checkout inside .maelstrom.
    const location = failure.location?.startsWith(`${codeDir}/`) ? join(step.artifact.sourcePath, failure.location.slice(codeDir.length + 1)) : failure.location;
    const at = location === null ? "" : ` (at ${location})`;
    const verb = failure.reason === "load" ? "could not load its code" : "failed";
    return new StepFailedError(`${what} ${verb}: ${failure.message}${at}; ${logs}`, {
      details: { ...details, reason: failure.reason, location },
    });
  }
  if (result.signal !== null) {
    return new StepFailedError(`${what} was killed by ${result.signal} (out of memory, or killed from outside?); ${logs}`, { details });
  }
  return new StepFailedError(`${what} exited with code ${result.exitCode ?? "?"} before it finished; ${logs}`, { details });
}
