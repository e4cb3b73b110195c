import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { CancelledError, InputError, toErrorJson } from "@maelstrom/errors";
import { WorkerPool } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import { cacheKey, explainChange, findCached, keyParts, loadCache, type CacheEntry, type StepResult } from "./cache.js";
import { thisHost, type EngineContext } from "./context.js";
import { parseCpus, parseMemory, readConfig } from "./config.js";
import type { RunHooks } from "./events.js";
import { registerModelVersions } from "./models.js";
import type { PlannedStep, RunPlan, RunResult, StepCall, SweepResult } from "./records.js";
import { cachedColumns, executeStep, recordCached, type StepContext } from "./step.js";

const formatSize = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** What steps running at once may declare in total. */
export interface ExecutionLimits {
  readonly cpus: number;
  readonly memoryBytes: number;
}

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
}

/** What planning decided for one step, and why. */
export interface StepDecision {
  readonly id: string;
  readonly artifact: string;
  readonly call: StepCall;
  readonly action: "cached" | "run";
  readonly reason: string;
}

/** Limits from `--cpus/--memory`, else the workspace settings, else this machine. */
export async function executionLimits(ctx: EngineContext, given: { readonly cpus?: string; readonly memory?: string } = {}): Promise<ExecutionLimits> {
  const config = await readConfig(ctx.paths);
  const cpus = given.cpus ?? config.cpus;
  const memory = given.memory ?? config.memory;
  return {
    cpus: cpus === undefined ? availableParallelism() : parseCpus(cpus, given.cpus === undefined ? "maelstrom config cpus" : "--cpus"),
    memoryBytes: memory === undefined ? totalmem() : parseMemory(memory, given.memory === undefined ? "maelstrom config memory" : "--memory"),
  };
}

/** A step that can never start (it asks for more than the limits) is an error before anything runs. */
export function checkLimits(plan: RunPlan, limits: ExecutionLimits): void {
  for (const step of plan.steps) {
    const what = `step '${step.id}' (${step.artifact.name}) declares`;
    if (step.resources.cpus > limits.cpus) {
      throw new InputError(`${what} ${step.resources.cpus} CPUs, but steps may use ${limits.cpus} here (this machine, --cpus or maelstrom config cpus); lower resources.cpus in its maelstrom.yaml`, {
        code: "RESOURCES_EXCEEDED",
        details: { step: step.id, cpus: step.resources.cpus, limit: limits.cpus },
      });
    }
    if (step.resources.memoryBytes > limits.memoryBytes) {
      throw new InputError(
        `${what} ${formatSize(step.resources.memoryBytes)} of memory, but steps may use ${formatSize(limits.memoryBytes)} here (this machine, --memory or maelstrom config memory); lower resources.memory in its maelstrom.yaml`,
        { code: "RESOURCES_EXCEEDED", details: { step: step.id, memoryBytes: step.resources.memoryBytes, limit: limits.memoryBytes } },
      );
    }
  }
}

/** Digests of a step's inputs when all are known, else the id of an upstream step that has not produced its output yet. */
function inputDigests(step: PlannedStep, outputsOf: (id: string) => Readonly<Record<string, Digest>> | undefined): Record<string, Digest> | string {
  const digests: Record<string, Digest> = {};
  for (const [name, source] of Object.entries(step.inputs)) {
    if (source.type === "bundle") {
      digests[name] = source.digest;
      continue;
    }
    const digest = outputsOf(source.step)?.[source.output];
    if (digest === undefined) return source.step;
    digests[name] = digest;
  }
  return digests;
}

/** A decision plus what the run needs to record a cached step without looking it up again. */
interface Decided extends StepDecision {
  readonly hit: { readonly inputs: Record<string, Digest>; readonly entry: CacheEntry } | null;
}

/**
 * Decide, before anything runs, which steps the cache answers and why the others must run: a
 * step's key is known when all its inputs are; a step downstream of one that runs waits for it.
 */
export async function decide(ctx: EngineContext, plan: RunPlan, options: Pick<ExecuteOptions, "useCache" | "rerunSteps">): Promise<Decided[]> {
  const forced = new Set(options.rerunSteps ?? []);
  for (const id of forced) {
    if (!plan.steps.some((s) => s.id === id)) {
      throw new InputError(`--rerun ${id}: no step '${id}' in this run; steps: ${plan.steps.map((s) => s.id).join(", ")}`, { code: "GRAPH_INVALID", details: { steps: [id] } });
    }
  }
  const known = new Map<string, Readonly<Record<string, Digest>>>();
  const decisions: Decided[] = [];
  const cache = await loadCache(ctx, plan.steps);
  for (const step of plan.steps) {
    const base = { id: step.id, artifact: step.artifact.name, call: step.call };
    const inputs = inputDigests(step, (id) => known.get(id));
    if (typeof inputs === "string") {
      decisions.push({ ...base, action: "run", reason: `upstream step '${inputs}' runs`, hit: null });
      continue;
    }
    const parts = keyParts(step, inputs);
    if (options.useCache === false || forced.has(step.id)) {
      decisions.push({ ...base, action: "run", reason: options.useCache === false ? "--no-cache" : `--rerun ${step.id}`, hit: null });
      continue;
    }
    const entry = await cache.find(cacheKey(parts));
    if (entry !== null) {
      known.set(step.id, entry.outputs);
      decisions.push({ ...base, action: "cached", reason: `same inputs, parameters and code as step '${entry.stepId}' of run ${entry.runId}`, hit: { inputs, entry } });
    } else {
      decisions.push({ ...base, action: "run", reason: explainChange(step, parts, cache.previous(step)?.parts ?? null), hit: null });
    }
  }
  return decisions;
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
    .execute();
  const json = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));
  return new Map(
    rows.map((r) => [
      r.step_id,
      {
        outputs: json(r.outputs, {}),
        stateDigest: r.state_digest as Digest | null,
        metrics: json(r.metrics, {}),
        resources: json(r.resources, { wallMs: 0, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 }),
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
  // One pool per run: warm processes are never shared between runs.
  const pool = options.workers === false ? null : new WorkerPool();
  try {
    const results = await finishedSteps(ctx, runId);
    for (const id of results.keys()) hooks.onEvent?.({ type: "step-cached", runId, stepId: id });
    await schedule(ctx, runId, plan, results, options, pool);
    const outcome = await finish(ctx, runId, plan, results, options.registerModel !== false);
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
    await pool?.close();
  }
}

/** Run the steps not finished yet, as their inputs become available and the limits allow. */
async function schedule(
  ctx: EngineContext,
  runId: string,
  plan: RunPlan,
  results: Map<string, StepResult>,
  options: ExecuteOptions,
  pool: StepContext["pool"],
): Promise<void> {
  const limits = options.limits ?? { cpus: availableParallelism(), memoryBytes: totalmem() };
  const forced = new Set(options.rerunSteps ?? []);
  const position = new Map(plan.steps.map((s, i) => [s.id, i]));
  // Steps waiting for inputs, by how many of their source steps have not finished.
  const waitingOn = new Map<string, number>();
  const readers = new Map<string, PlannedStep[]>();
  const ready: PlannedStep[] = [];
  for (const step of plan.steps) {
    if (results.has(step.id)) continue;
    const sources = new Set(Object.values(step.inputs).flatMap((i) => (i.type === "step" && !results.has(i.step) ? [i.step] : [])));
    for (const source of sources) readers.set(source, [...(readers.get(source) ?? []), step]);
    if (sources.size === 0) ready.push(step);
    else waitingOn.set(step.id, sources.size);
  }
  const running = new Map<string, Promise<void>>();
  let used = { cpus: 0, memoryBytes: 0 };
  let firstError: unknown = null;

  const launch = (step: PlannedStep): void => {
    const need = { cpus: step.resources.cpus, memoryBytes: step.resources.memoryBytes };
    used = { cpus: used.cpus + need.cpus, memoryBytes: used.memoryBytes + need.memoryBytes };
    const task = (async () => {
      const inputs = inputDigests(step, (id) => results.get(id)?.outputs);
      if (typeof inputs === "string") throw new Error(`step '${step.id}' started before '${inputs}' finished`);
      const parts = keyParts(step, inputs);
      const key = cacheKey(parts);
      // An upstream step that ran may have produced what it produced before: then this one is cached too.
      const entry = options.useCache === false || forced.has(step.id) ? null : await findCached(ctx, key);
      const sc: StepContext = { ctx, runId, index: position.get(step.id) ?? 0, total: plan.steps.length, hooks: options, pool };
      if (entry !== null) {
        results.set(step.id, await recordCached(ctx, runId, step, inputs, entry));
        options.onEvent?.({ type: "step-cached", runId, stepId: step.id });
      } else {
        results.set(step.id, await executeStep(sc, step, inputs, key, parts));
      }
      for (const reader of readers.get(step.id) ?? []) {
        const left = (waitingOn.get(reader.id) ?? 1) - 1;
        waitingOn.set(reader.id, left);
        if (left === 0) ready.push(reader);
      }
    })()
      .catch((error: unknown) => {
        firstError ??= error;
      })
      .finally(() => {
        used = { cpus: used.cpus - need.cpus, memoryBytes: used.memoryBytes - need.memoryBytes };
        running.delete(step.id);
      });
    running.set(step.id, task);
  };

  for (;;) {
    if (firstError === null && options.signal?.aborted !== true) {
      // Plan order among ready steps: upstream-first, deterministic.
      ready.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
      for (let i = 0; i < ready.length; ) {
        const step = ready[i] as PlannedStep;
        const fits = used.cpus + step.resources.cpus <= limits.cpus && used.memoryBytes + step.resources.memoryBytes <= limits.memoryBytes;
        if (!fits && running.size > 0) break;
        ready.splice(i, 1);
        launch(step);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (firstError !== null) throw firstError;
  if (options.signal?.aborted === true) throw new CancelledError(`run ${runId} was cancelled`);
  const missing = plan.steps.filter((s) => !results.has(s.id));
  if (missing.length > 0) throw new Error(`steps never became ready: ${missing.map((s) => s.id).join(", ")}`);
}

/** The branch of a sweep step id: "forest[trees=10]" -> "forest". */
const baseId = (step: PlannedStep): string => (step.branch === undefined || step.branch === null ? step.id : step.id.slice(0, step.id.indexOf("[")));

/**
 * After the last step: register trained models (for a sweep, the selected branch) and mark the
 * run succeeded, in one transaction.
 */
async function finish(ctx: EngineContext, runId: string, plan: RunPlan, results: ReadonlyMap<string, StepResult>, registerModel: boolean): Promise<RunResult> {
  const last = plan.steps.at(-1);
  const outputDigest = last === undefined ? null : (results.get(last.id)?.outputs["data"] ?? null);
  const trained = plan.steps.filter((s) => s.call === "train");
  let sweep: SweepResult | null = null;
  let register = trained;
  if (plan.sweep !== undefined && plan.sweep !== null) {
    const points = [...new Map(plan.steps.filter((s) => s.branch !== undefined && s.branch !== null).map((s) => [JSON.stringify(s.branch), s.branch ?? {}])).values()];
    const branches = points.map((values) => ({
      values,
      metrics: Object.fromEntries(trained.filter((s) => JSON.stringify(s.branch ?? null) === JSON.stringify(values) || s.branch === null || s.branch === undefined).map((s) => [baseId(s), results.get(s.id)?.metrics ?? {}])),
    }));
    const select = plan.sweep.select;
    let selected: number | null = null;
    if (select !== null && branches.length > 0) {
      const score = (i: number): number => {
        const branch = branches[i];
        const found = Object.values(branch?.metrics ?? {}).map((m) => m[select.metric]).find((v) => v !== undefined);
        if (found === undefined) {
          const reported = [...new Set(Object.values(branch?.metrics ?? {}).flatMap((m) => Object.keys(m)))];
          throw new InputError(`--select ${select.metric}:${select.goal}: the models of branch ${JSON.stringify(branch?.values)} reported no metric '${select.metric}'; they reported: ${reported.join(", ") || "none"}`, {
            code: "PARAMETER_INVALID",
            details: { metric: select.metric },
          });
        }
        return found;
      };
      selected = 0;
      for (let i = 1; i < branches.length; i++) {
        const better = select.goal === "max" ? score(i) > score(selected) : score(i) < score(selected);
        if (better) selected = i;
      }
      const chosen = JSON.stringify(branches[selected]?.values);
      register = trained.filter((s) => s.branch === undefined || s.branch === null || JSON.stringify(s.branch) === chosen);
    }
    sweep = { branches, selected };
  }
  if (!registerModel || register.length === 0) {
    const outcome: RunResult = { outputDigest, model: null, sweep };
    await ctx.db.updateTable("runs").set({ status: "succeeded", ended_at: Date.now(), result: toJsonColumn(outcome) }).where("id", "=", runId).execute();
    return outcome;
  }
  return registerModelVersions(ctx, { runId, plan, models: register, results, outputDigest, sweep });
}
