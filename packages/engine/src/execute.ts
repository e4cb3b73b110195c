import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { CancelledError, toErrorJson } from "@maelstrom/errors";
import { SlurmExecutor, WorkerPool } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import { findCached, type CacheKeyParts, type StepResult } from "./cache.js";
import { thisHost, type EngineContext } from "./context.js";
import { inputDigests, unitKeys, units, type Decided } from "./decide.js";
import type { RunHooks } from "./events.js";
import { executeFused } from "./fused-step.js";
import type { ExecutionLimits } from "./limits.js";
import type { Placements } from "./placement.js";
import type { PlannedStep, RunPlan, RunResult } from "./records.js";
import { cachedColumns, executeStep, recordCached, type StepContext, type StepExecutor } from "./step.js";
import { finishRun } from "./finish-run.js";
import { storedResources } from "./accounting.js";

export interface ExecuteOptions extends RunHooks {
  /** false: results are not registered as model versions (rerun). */
  readonly registerModel?: boolean;
  /** false: every step runs, whatever the cache holds (`--no-cache`). */
  readonly useCache?: boolean;
  /** Steps that run even when the cache has their results (`--rerun STEP`). */
  readonly rerunSteps?: readonly string[];
  readonly limits?: ExecutionLimits;
  /** false: a new process for every step instead of warm workers (`--no-workers`). */
  readonly workers?: boolean;
  /** true: chains of same-runtime steps run in one process, intermediate bundles kept in memory (`--fuse`). */
  readonly fuse?: boolean;
  /** The batch jobs of a resumed run's unfinished steps (step id → placement), for re-attaching to those still running. */
  readonly interrupted?: ReadonlyMap<string, string>;
  /** Where each step runs (by step id): a Slurm cluster, or this machine (also for steps not in the map). */
  readonly placements?: Placements;
}

/**
 * The executors of one run: warm local workers, and one Slurm executor per cluster the run uses,
 * each created when its first step starts. Nothing is shared between runs.
 */
class RunExecutors {
  readonly #local: WorkerPool | null;
  readonly #clusters = new Map<string, SlurmExecutor>();
  readonly #placements: Placements | undefined;

  constructor(options: ExecuteOptions) {
    this.#local = options.workers === false ? null : new WorkerPool();
    this.#placements = options.placements;
  }

  /** Whether a step runs on a cluster (its resources then count against the cluster, not this machine). */
  onCluster(step: PlannedStep): boolean {
    return (this.#placements?.get(step.id)?.cluster ?? null) !== null;
  }

  /** The executor of a step; null: a fresh local process. */
  for(step: PlannedStep): StepExecutor | null {
    const cluster = this.#placements?.get(step.id)?.cluster ?? null;
    if (cluster === null) return this.#local;
    let executor = this.#clusters.get(cluster.name);
    if (executor === undefined) this.#clusters.set(cluster.name, (executor = new SlurmExecutor({ name: cluster.name, cluster: cluster.settings })));
    return executor;
  }

  /** Stops the local workers and cancels (scancel) what the clusters still run. */
  async close(): Promise<void> {
    await Promise.all([this.#local?.close(), ...[...this.#clusters.values()].map((executor) => executor.close())]);
  }
}

const ROWS_PER_INSERT = 400; // SQLite binds at most 32766 values per statement

/** Persist a new run and its steps before anything runs (decision 7); steps the cache answers are recorded as such. */
export async function createRun(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  options: { readonly sessionId?: string | null; readonly rerunOf?: string | null; readonly decisions?: readonly Decided[] } = {},
): Promise<void> {
  const now = Date.now();
  const hits = new Map((options.decisions ?? []).flatMap((d) => (d.hit === null ? [] : [[d.id, d.hit] as const])));
  const rows = plan.steps.map((step, position) => {
    const hit = hits.get(step.id);
    const row = {
      run_id: runId,
      step_id: step.id,
      position,
      artifact_digest: step.artifact.digest,
      call: step.call,
      status: "pending",
      attempt: 0,
      placement: null,
      scheduler_status: null,
      input_digest: null,
      output_digest: null,
      state_digest: null,
      resources: null,
      error: null,
      environment: null,
      log_path: join(ctx.paths.runs, runId, step.id, "step.log"),
      started_at: null,
      ended_at: null,
      inputs: null,
      outputs: null,
      metrics: null,
      cache_key: null,
      cached_from: null,
    };
    return hit === undefined ? row : { ...row, ...cachedColumns(hit.inputs, hit.entry, now) };
  });
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
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await trx.insertInto("step_executions").values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
    const keys = [...hits.values()].map((h) => h.entry.key);
    for (let i = 0; i < keys.length; i += ROWS_PER_INSERT) {
      await trx.updateTable("step_cache").set({ used_at: now }).where("key", "in", keys.slice(i, i + ROWS_PER_INSERT)).execute();
    }
  });
}

/** The results of the steps of a run that already succeeded (a resumed run, or cached at creation). */
async function finishedSteps(ctx: EngineContext, runId: string): Promise<Map<string, StepResult>> {
  const rows = await ctx.db
    .selectFrom("step_executions")
    .select(["step_id", "outputs", "state_digest", "metrics", "resources", "environment"])
    .where("run_id", "=", runId)
    .where("status", "=", "succeeded")
    .orderBy("position")
    .execute();
  const json = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));
  return new Map(
    rows.map((r) => [
      r.step_id,
      {
        outputs: json(r.outputs, {}),
        stateDigest: r.state_digest as Digest | null,
        metrics: json(r.metrics, {}),
        resources: storedResources(json(r.resources, { wallMs: 0, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 })),
        environment: json(r.environment, null),
      },
    ]),
  );
}

/**
 * Execute a created run to the end: every step once its inputs exist, independent steps at the
 * same time within the limits, cached steps from the store. Throws the first step error after
 * the steps already running have finished (their results are kept for a resume).
 */
export async function executeRun(ctx: EngineContext, runId: string, plan: RunPlan, options: ExecuteOptions = {}): Promise<RunResult> {
  const hooks: RunHooks = options;
  await ctx.db.updateTable("runs").set({ status: "running", started_at: Date.now(), owner_host: thisHost, owner_pid: process.pid }).where("id", "=", runId).execute();
  hooks.onEvent?.({ type: "run-started", runId, kind: plan.kind, steps: plan.steps.map((s) => ({ id: s.id, call: s.call, artifact: s.artifact.name })) });
  // Executors per run: warm processes are never shared between runs.
  const executors = new RunExecutors(options);
  try {
    const results = await finishedSteps(ctx, runId);
    for (const id of results.keys()) hooks.onEvent?.({ type: "step-cached", runId, stepId: id });
    await schedule(ctx, runId, plan, results, options, executors);
    const outcome = await finishRun(ctx, runId, plan, results, options.registerModel !== false);
    hooks.onEvent?.({ type: "run-finished", runId, status: "succeeded" });
    return outcome;
  } catch (error) {
    const status = error instanceof CancelledError ? "cancelled" : "failed";
    await ctx.db.updateTable("runs").set({ status, ended_at: Date.now(), error: toJsonColumn(toErrorJson(error)) }).where("id", "=", runId).execute();
    // Steps not reached are cancelled rather than left pending forever.
    await ctx.db.updateTable("step_executions").set({ status: "cancelled" }).where("run_id", "=", runId).where("status", "=", "pending").execute();
    hooks.onEvent?.({ type: "run-finished", runId, status });
    throw error;
  } finally {
    await executors.close();
  }
}

/** Run the steps not finished yet, as their inputs become available and the limits allow. */
async function schedule(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  results: Map<string, StepResult>,
  options: ExecuteOptions,
  executors: RunExecutors,
): Promise<void> {
  const limits = options.limits ?? { cpus: availableParallelism(), memoryBytes: totalmem() };
  const forced = new Set(options.rerunSteps ?? []);
  const position = new Map(plan.steps.map((s, i) => [s.id, i]));
  // Units (a step, or a fused chain) waiting for inputs, by how many source steps have not finished.
  const todo = units(plan, options.fuse === true, options.placements).filter((unit) => unit.some((s) => !results.has(s.id)));
  const unitOf = new Map(todo.flatMap((unit) => unit.map((s) => [s.id, unit] as const)));
  const waitingOn = new Map<PlannedStep[], number>();
  const readers = new Map<string, PlannedStep[][]>();
  const ready: PlannedStep[][] = [];
  for (const unit of todo) {
    const head = unit[0] as PlannedStep;
    const sources = new Set(Object.values(head.inputs).flatMap((i) => (i.type === "step" && !results.has(i.step) ? [i.step] : [])));
    for (const source of sources) readers.set(source, [...(readers.get(source) ?? []), unit]);
    if (sources.size === 0) ready.push(unit);
    else waitingOn.set(unit, sources.size);
  }
  const running = new Set<Promise<void>>();
  let used = { cpus: 0, memoryBytes: 0 };
  let firstError: unknown = null;
  // A unit on a cluster waits in the cluster's queue, not here: it takes nothing of this machine's limits.
  const needOf = (unit: readonly PlannedStep[]): ExecutionLimits =>
    executors.onCluster(unit[0] as PlannedStep)
      ? { cpus: 0, memoryBytes: 0 }
      : { cpus: Math.max(...unit.map((s) => s.resources.cpus)), memoryBytes: Math.max(...unit.map((s) => s.resources.memoryBytes)) };

  const launch = (unit: PlannedStep[]): void => {
    const need = needOf(unit);
    const head = unit[0] as PlannedStep;
    // Units launched together reach a batch executor one by one: it gathers them into one submission.
    const executor = executors.for(head);
    executor?.expect?.(1);
    used = { cpus: used.cpus + need.cpus, memoryBytes: used.memoryBytes + need.memoryBytes };
    const task = (async () => {
      const inputs = inputDigests(head, (id) => results.get(id)?.outputs);
      if (typeof inputs === "string") throw new Error(`step '${head.id}' started before '${inputs}' finished`);
      const keys = unitKeys(unit, inputs);
      const last = keys.at(-1) as { key: string; parts: CacheKeyParts };
      // An upstream step that ran may have produced what it produced before: then this one is cached too.
      const entry = options.useCache === false || unit.some((s) => forced.has(s.id)) ? null : await findCached(ctx, last.key);
      if (entry !== null) executor?.expect?.(-1);
      const sc: StepContext = {
        ctx,
        runId,
        index: position.get(head.id) ?? 0,
        total: plan.steps.length,
        hooks: options,
        pool: executor,
        ...(options.interrupted === undefined ? {} : { interrupted: options.interrupted }),
      };
      if (entry !== null) {
        for (const [i, step] of unit.entries()) {
          const own = i === unit.length - 1 ? entry : { ...entry, key: keys[i]?.key ?? last.key, outputs: {}, stateDigest: null, metrics: {} };
          results.set(step.id, await recordCached(ctx, runId, step, i === 0 ? inputs : {}, own));
          options.onEvent?.({ type: "step-cached", runId, stepId: step.id });
        }
      } else if (unit.length === 1) {
        results.set(head.id, await executeStep(sc, head, inputs, last.key, last.parts));
      } else {
        for (const [id, result] of await executeFused(sc, unit, inputs, keys)) results.set(id, result);
      }
      for (const step of unit) {
        for (const reader of readers.get(step.id) ?? []) {
          if (unitOf.get(step.id) === reader) continue;
          const left = (waitingOn.get(reader) ?? 1) - 1;
          waitingOn.set(reader, left);
          if (left === 0) ready.push(reader);
        }
      }
    })()
      .catch((error: unknown) => {
        firstError ??= error;
      })
      .finally(() => {
        used = { cpus: used.cpus - need.cpus, memoryBytes: used.memoryBytes - need.memoryBytes };
        running.delete(task);
      });
    running.add(task);
  };

  for (;;) {
    if (firstError === null && options.signal?.aborted !== true) {
      // Plan order among ready units: upstream-first, deterministic.
      ready.sort((a, b) => (position.get(a[0]?.id ?? "") ?? 0) - (position.get(b[0]?.id ?? "") ?? 0));
      // A local unit that does not fit yet holds back the local units after it (no overtaking), not
      // those going to a cluster.
      let localBlocked = false;
      for (let i = 0; i < ready.length; ) {
        const unit = ready[i] as PlannedStep[];
        const need = needOf(unit);
        const local = !executors.onCluster(unit[0] as PlannedStep);
        const fits = used.cpus + need.cpus <= limits.cpus && used.memoryBytes + need.memoryBytes <= limits.memoryBytes;
        if (local && (localBlocked || (!fits && running.size > 0))) {
          localBlocked = true;
          i += 1;
          continue;
        }
        ready.splice(i, 1);
        launch(unit);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  if (firstError !== null) throw firstError;
  if (options.signal?.aborted === true) throw new CancelledError(`run ${runId} was cancelled`);
  const missing = plan.steps.filter((s) => !results.has(s.id));
  if (missing.length > 0) throw new Error(`steps never became ready: ${missing.map((s) => s.id).join(", ")}`);
}
