import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { readBundleSchema, renderCommand, type DoneEvent, type SchedulerStatus, type StepEvent, type StepSpec } from "@maelstrom/core";
import { CancelledError, InputError, StepFailedError, toErrorJson, type ErrorJson } from "@maelstrom/errors";
import type { MaelstromError } from "@maelstrom/errors";
import { buildNodeModule, nodeBuildIdentity, runStepProcess, type StepProcessOptions, type StepProcessResult } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import { insertCacheEntry, type CacheEntry, type CacheKeyParts, type StepResult } from "./cache.js";
import { thisHost, type EngineContext } from "./context.js";
import { nearestLockfile, stepNodePaths } from "./environment.js";
import type { RunHooks } from "./events.js";
import type { MetricPoint, PlannedStep } from "./records.js";
import { checkout } from "./trees.js";

const CALL_LABEL: Record<PlannedStep["call"], string> = { get: "get", transform: "apply", train: "train", predict: "apply" };

/** Where a step's input comes from, for messages: "the input data" or "output 'data' of step 'clean'". */
function inputLabel(step: PlannedStep, name: string): string {
  const source = step.inputs[name];
  return source === undefined || source.type === "bundle" ? "the input data" : `output '${source.output}' of step '${source.step}'`;
}

/** A metadata database transaction, as `db.transaction().execute` passes it. */
export type Transaction = Parameters<Parameters<ReturnType<EngineContext["db"]["transaction"]>["execute"]>[0]>[0];

/** Runs step processes somewhere: warm local workers, or batch jobs on a cluster. */
export interface StepExecutor {
  run(options: StepProcessOptions): Promise<StepProcessResult>;
  /** What to record as the step's placement, given what onStart reported (default: a local process id). */
  placement?(id: string): string;
  /**
   * The job to wait for again instead of starting the step anew, given where the step ran before the
   * engine ended (a batch job still queued, running, or ended with its results): its id, or null.
   */
  reattach?(placement: string, logFile: string): Promise<string | null>;
  /** The engine launched `steps` more steps for this executor at once (negative: fewer reach it after all), so it can gather them. */
  expect?(steps: number): void;
}

/**
 * Records each state a batch job reports (Slurm: PENDING and why, RUNNING and where, the final
 * state) on the step executions it runs, in order, for `runs show` and `logs -f` of any process.
 * Like the placement, it is informational: a failed write must not end the engine. `settled()`
 * waits for the writes so far.
 */
export function statusRecorder(write: (json: string) => Promise<unknown>): {
  readonly onStatus: (status: SchedulerStatus) => void;
  readonly settled: () => Promise<unknown>;
} {
  let last: Promise<unknown> = Promise.resolve();
  return {
    onStatus: (status) => {
      last = last.then(() => write(toJsonColumn(status))).catch(() => undefined);
    },
    settled: () => last,
  };
}

/** Where a step runs, as recorded: `local:HOST:PID`, or the executor's own (`slurm:CLUSTER:JOBID`). */
export function placementOf(pool: StepExecutor | null, id: string): string {
  return pool?.placement?.(id) ?? `local:${thisHost}:${id}`;
}

export interface StepContext {
  readonly ctx: EngineContext;
  readonly runId: string;
  readonly index: number;
  readonly total: number;
  readonly hooks: RunHooks;
  /** Warm worker processes to run steps in; null: a fresh process per step. */
  readonly pool: StepExecutor | null;
  /** The batch jobs of a resumed run's unfinished steps (step id → placement): jobs to re-attach to while they run. */
  readonly interrupted?: ReadonlyMap<string, string>;
}

/** The columns of a step execution whose results were reused from the cache. */
export function cachedColumns(inputs: Readonly<Record<string, Digest>>, entry: CacheEntry, now: number) {
  return {
    status: "succeeded",
    cached_from: `${entry.runId}/${entry.stepId}`,
    cache_key: entry.key,
    inputs: toJsonColumn(inputs),
    input_digest: mainDigest(inputs),
    outputs: toJsonColumn(entry.outputs),
    output_digest: mainDigest(entry.outputs),
    state_digest: entry.stateDigest,
    metrics: toJsonColumn(entry.metrics),
    resources: toJsonColumn(entry.resources),
    environment: entry.environment === null ? null : toJsonColumn(entry.environment),
    started_at: now,
    ended_at: now,
  } as const;
}

/** Record that a step's results come from the cache: nothing runs. */
export async function recordCached(ctx: EngineContext, runId: string, step: PlannedStep, inputs: Readonly<Record<string, Digest>>, entry: CacheEntry): Promise<StepResult> {
  const now = Date.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable("step_executions").set(cachedColumns(inputs, entry, now)).where("run_id", "=", runId).where("step_id", "=", step.id).execute();
    await trx.updateTable("step_cache").set({ used_at: now }).where("key", "=", entry.key).execute();
  });
  return entry;
}

/** Run one step in a process, check its outputs, and commit them (and a cache entry) to the store. */
export async function executeStep(sc: StepContext, step: PlannedStep, inputs: Readonly<Record<string, Digest>>, key: string, parts: CacheKeyParts): Promise<StepResult> {
  const { ctx, runId, hooks } = sc;
  const stepRow = ctx.db.updateTable("step_executions").where("run_id", "=", runId).where("step_id", "=", step.id);
  if (hooks.signal?.aborted) throw new CancelledError(`run ${runId} was cancelled before step '${step.id}'`);

  const dir = join(ctx.paths.runs, runId, step.id);
  const logPath = join(dir, "step.log");
  const outputBase = join(dir, "out");
  const stateOut = join(dir, "state");
  const existed = (await mkdir(dir, { recursive: true })) === undefined;
  const previous = sc.interrupted?.get(step.id);
  const attachTo = previous === undefined ? null : ((await sc.pool?.reattach?.(previous, logPath)) ?? null);
  // A resumed or retried step starts from a clean slate (nothing half-written survives), unless its job still runs.
  if (existed && attachTo === null) {
    await rm(outputBase, { recursive: true, force: true });
    await rm(stateOut, { recursive: true, force: true });
  }
  const outputs = Object.fromEntries(Object.keys(step.provides).map((name) => [name, join(outputBase, name)]));
  const startedAt = Date.now();
  await stepRow
    .set((eb) => ({
      status: "running",
      attempt: eb("attempt", "+", 1),
      started_at: startedAt,
      inputs: toJsonColumn(inputs),
      input_digest: mainDigest(inputs),
      cache_key: key,
      log_path: logPath,
      // Cleared: the next poll reports the job's state (a new job's, or the one re-attached to).
      scheduler_status: null,
    }))
    .execute();
  hooks.onEvent?.({ type: "step-started", runId, stepId: step.id, index: sc.index, total: sc.total });

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
  const status = statusRecorder((json) => stepRow.set({ scheduler_status: json }).execute());
  try {
    const inputDirs: Record<string, string> = {};
    for (const [name, digest] of Object.entries(inputs)) {
      const inputDir = await checkout(ctx, digest);
      inputDirs[name] = inputDir;
      await checkVariables(step, step.requires[name] ?? {}, inputDir, `step '${step.id}' (${step.artifact.name}) needs`, `in its input${name === "data" ? "" : ` '${name}'`}, but ${inputLabel(step, name)}`);
    }
    codeDir = await checkout(ctx, step.artifact.digest);
    const common = {
      logFile: logPath,
      cwd: codeDir,
      env: {
        NODE_PATH: stepNodePaths(step.artifact.sourcePath, ctx.paths.root).join(":"),
        MAELSTROM_ARTIFACT_DIR: codeDir,
        MAELSTROM_WORKSPACE: ctx.paths.root,
      },
      timeoutMs: step.resources.timeoutMs,
      resources: step.resources,
      name: step.id,
      ...(attachTo === null ? {} : { attachTo }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      // Where the step runs is informational: a failed write must not end the engine.
      onStart: (id: string) => {
        placement = stepRow
          .set({ placement: placementOf(sc.pool, id) })
          .execute()
          .catch(() => undefined);
      },
      onStatus: status.onStatus,
      onEvent: (event: StepEvent) => {
        if (event.type === "metric") {
          metrics.push({ stepId: step.id, name: event.name, value: event.value, step: event.step, time: event.time });
          hooks.onEvent?.({ type: "metric", runId, stepId: step.id, name: event.name, value: event.value, step: event.step });
        } else if (event.type === "progress") {
          hooks.onEvent?.({ type: "step-progress", runId, stepId: step.id, fraction: event.fraction, message: event.message });
        }
      },
    };
    const options: StepProcessOptions =
      step.artifact.runtime === "shell"
        ? { ...common, runner: await shellRunner(step, inputDirs, outputs) }
        : {
            ...common,
            runner: step.interpreter === null ? { kind: "node" } : { kind: "python", interpreter: step.interpreter },
            spec: await specFor(ctx, step, codeDir, inputDirs, outputs, stateOut),
            specFile: join(dir, "spec.json"),
          };
    result = sc.pool === null ? await runStepProcess(options) : await sc.pool.run(options);
  } catch (error) {
    await status.settled();
    return fail(error, "failed", Date.now() - startedAt);
  }
  // The job's last state is recorded before the step ends, so `logs -f` prints it before it stops.
  await status.settled();

  if (result.outcome !== "succeeded" || result.done === null) {
    return fail(stepError(runId, step, result, codeDir), result.outcome === "cancelled" ? "cancelled" : "failed", result.wallMs);
  }
  let committed: StepResult;
  try {
    await placement;
    committed = await storeOutputs(ctx, step, { outputs, stateOut, done: result.done });
    await commitStep(ctx, runId, step, { key, parts, result: committed, metrics });
    await rm(outputBase, { recursive: true, force: true });
    await rm(stateOut, { recursive: true, force: true });
  } catch (error) {
    return fail(error, "failed", result.wallMs);
  }
  hooks.onEvent?.({ type: "step-finished", runId, stepId: step.id, status: "succeeded", wallMs: result.wallMs });
  return committed;
}

/**
 * Outputs go into the store only once the step succeeded and they fit their contracts: each output
 * folder (and a trained model's state) is moved into the store.
 */
export async function storeOutputs(
  ctx: EngineContext,
  step: PlannedStep,
  written: { readonly outputs: Readonly<Record<string, string>>; readonly stateOut: string; readonly done: DoneEvent },
): Promise<StepResult> {
  // A model's declared outputs are its predictions; its train returns metrics instead.
  if (step.call !== "train") {
    for (const [name, outputDir] of Object.entries(written.outputs)) {
      await checkVariables(step, step.provides[name] ?? {}, outputDir, `step '${step.id}' (${step.artifact.name}) declares`, `in its output${name === "data" ? "" : ` '${name}'`}, but the output`);
    }
  }
  const digests: Record<string, Digest> = {};
  for (const [name, outputDir] of Object.entries(written.outputs)) {
    // A command that wrote nothing still produced an (empty) output.
    await mkdir(outputDir, { recursive: true });
    digests[name] = (await ctx.objects.putTree(outputDir, { move: true })).digest;
  }
  const { done } = written;
  return {
    outputs: digests,
    stateDigest: step.call === "train" ? (await ctx.objects.putTree(written.stateOut, { move: true })).digest : null,
    metrics: done.metrics,
    resources: done.resources,
    environment: done.environment ?? null,
  };
}

/** The digest a step execution shows as its input or output: `data`, else the first. */
export const mainDigest = (digests: Readonly<Record<string, Digest>>): Digest | null => digests["data"] ?? Object.values(digests)[0] ?? null;

/** A command step: its template rendered with every value quoted as one shell word. */
async function shellRunner(step: PlannedStep, inputs: Readonly<Record<string, string>>, outputs: Readonly<Record<string, string>>): Promise<{ kind: "shell"; command: string }> {
  // The command writes into its output folders: they exist before it starts.
  for (const dir of Object.values(outputs)) await mkdir(dir, { recursive: true });
  return { kind: "shell", command: renderCommand(step.artifact.command ?? "", { params: step.parameters, inputs, outputs }) };
}

async function specFor(
  ctx: EngineContext,
  step: PlannedStep,
  codeDir: string,
  inputs: Readonly<Record<string, string>>,
  outputs: Readonly<Record<string, string>>,
  stateOut: string,
): Promise<StepSpec> {
  const { runtime, entry } = step.artifact;
  const module = runtime === "node" ? await ensureBuild(ctx, step, codeDir) : runtime === "python" ? join(codeDir, entry ?? "") : "";
  const state = step.call === "train" ? stateOut : step.stateDigest === null ? null : await checkout(ctx, step.stateDigest);
  return { call: step.call, artifact: step.artifact.name, module, parameters: step.parameters, inputs, outputs, state };
}

export async function commitStep(
  ctx: EngineContext,
  runId: string,
  step: PlannedStep,
  parts: {
    readonly key: string;
    readonly parts: CacheKeyParts;
    readonly result: StepResult;
    readonly metrics: readonly MetricPoint[];
    /** More writes that must land with this step's (the steps fused before it). */
    readonly also?: (trx: Transaction) => Promise<void>;
  },
): Promise<void> {
  const { result } = parts;
  await ctx.db.transaction().execute(async (trx) => {
    await parts.also?.(trx);
    await trx
      .updateTable("step_executions")
      .set({
        status: "succeeded",
        outputs: toJsonColumn(result.outputs),
        output_digest: mainDigest(result.outputs),
        state_digest: result.stateDigest,
        metrics: toJsonColumn(result.metrics),
        resources: toJsonColumn(result.resources),
        environment: result.environment === null ? null : toJsonColumn(result.environment),
        ended_at: Date.now(),
      })
      .where("run_id", "=", runId)
      .where("step_id", "=", step.id)
      .execute();
    await insertCacheEntry(trx, step, runId, parts.key, parts.parts, result);
    await insertMetrics(trx, runId, parts.metrics);
  });
}

const builds = new Map<string, Promise<unknown>>();

/** Build (once per artifact version and toolchain) the module a node step runs. */
export async function ensureBuild(ctx: EngineContext, step: PlannedStep, sourceDir: string): Promise<string> {
  const nodePaths = stepNodePaths(step.artifact.sourcePath, ctx.paths.root);
  // npm dependencies are bundled in: a changed lockfile means a new build.
  const lockfile = nearestLockfile(step.artifact.sourcePath)?.digest ?? "no lockfile";
  const key = createHash("sha256").update([step.artifact.digest, nodeBuildIdentity, lockfile, ...nodePaths].join("\n")).digest("hex");
  const outFile = join(ctx.paths.builds, `${key.slice(0, 32)}.mjs`);
  if (existsSync(outFile)) return outFile;
  // Steps of one artifact running at once share one build.
  let building = builds.get(outFile);
  if (building === undefined) {
    building = mkdir(ctx.paths.builds, { recursive: true })
      .then(() => buildNodeModule({ artifact: step.artifact.name, sourceDir, entry: step.artifact.entry ?? "", outFile, nodePaths }))
      .finally(() => builds.delete(outFile));
    builds.set(outFile, building);
  }
  await building;
  return outFile;
}

/**
 * A type contract: every declared variable is in the bundle, with the declared dtype. Used for a
 * step's inputs ("needs … in its input, but the input data has") and outputs ("declares … in
 * its output, but the output has").
 */
export async function checkVariables(
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

type MetricsWriter = Pick<EngineContext["db"], "insertInto">;

async function insertMetrics(db: MetricsWriter, runId: string, metrics: readonly MetricPoint[]): Promise<void> {
  if (metrics.length === 0) return;
  await db
    .insertInto("metrics")
    .values(metrics.map((m) => ({ run_id: runId, step_id: m.stepId, name: m.name, value: m.value, step: m.step, time: m.time })))
    .execute();
}

export async function finishStep(
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
export function stepError(runId: string, step: PlannedStep, result: StepProcessResult, codeDir: string): MaelstromError {
  const what = `step '${step.id}' (${CALL_LABEL[step.call]} of ${step.artifact.kind} ${step.artifact.name})`;
  const logs = `see the log: maelstrom logs ${runId} ${step.id}`;
  const details = { run: runId, step: step.id, artifact: step.artifact.name, exitCode: result.exitCode, signal: result.signal };
  if (result.outcome === "cancelled") return new CancelledError(`run ${runId} was cancelled during ${what}`, { details });
  if (result.outcome === "timeout") {
    const limit = step.resources.timeoutMs ?? 0;
    const by = result.reason === undefined ? "" : ` (${result.reason})`;
    return new StepFailedError(
      `${what} exceeded its time limit of ${formatDuration(limit)} and was stopped${by} (raise resources.time in ${step.artifact.name}'s maelstrom.yaml); ${logs}`,
      { details: { ...details, timeoutMs: limit } },
    );
  }
  if (result.reason !== undefined && result.failure === null) return new StepFailedError(`${what} ${result.reason}; ${logs}`, { details });
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
  if (step.artifact.runtime === "shell") {
    return new StepFailedError(`${what}: its command exited with code ${result.exitCode ?? "?"}; ${logs}`, { details });
  }
  return new StepFailedError(`${what} exited with code ${result.exitCode ?? "?"} before it finished; ${logs}`, { details });
}
