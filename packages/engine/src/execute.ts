import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { CancelledError, InputError, toErrorJson } from "@maelstrom/errors";
import { WorkerPool } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import { cacheKey, explainChange, findCached, keyParts, loadCache, type CacheEntry, type CacheKeyParts, type StepResult } from "./cache.js";
import { thisHost, type EngineContext } from "./context.js";
import { parseCpus, parseMemory, readConfig } from "./config.js";
import type { RunHooks } from "./events.js";
import { registerModelVersions } from "./models.js";
import type { ParameterValue } from "@maelstrom/core";
import type { PlannedStep, RunPlan, RunResult, StepCall, SweepResult } from "./records.js";
import { executeFused } from "./fused-step.js";
import { fusedKeys, fusionGroups } from "./fuse.js";
import { cachedColumns, executeStep, recordCached, type StepContext } from "./step.js";

const formatSize = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);

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
  /** true: chains of same-runtime steps run in one process, intermediate bundles kept in memory (`--fuse`). */
  readonly fuse?: boolean;
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
export async function decide(ctx: EngineContext, plan: RunPlan, options: Pick<ExecuteOptions, "useCache" | "rerunSteps" | "fuse">): Promise<Decided[]> {
  const forced = new Set(options.rerunSteps ?? []);
  for (const id of forced) {
    if (!plan.steps.some((s) => s.id === id)) {
      throw new InputError(`--rerun ${id}: no step '${id}' in this run; steps: ${plan.steps.map((s) => s.id).join(", ")}`, { code: "GRAPH_INVALID", details: { steps: [id] } });
    }
  }
  const known = new Map<string, Readonly<Record<string, Digest>>>();
  const decided = new Map<string, Decided>();
  const cache = await loadCache(ctx, plan.steps);
  for (const unit of units(plan, options.fuse === true)) {
    const [head, last] = [unit[0] as PlannedStep, unit.at(-1) as PlannedStep];
    const fused = unit.length > 1 ? `runs fused: ${unit.map((s) => s.id).join(" -> ")}; ` : "";
    const decide = (step: PlannedStep, action: Decided["action"], reason: string, hit: Decided["hit"] = null): void => {
      // A step fused after another one is decided with it.
      const because = step === head ? reason : action === "cached" ? `fused after '${unit[unit.indexOf(step) - 1]?.id ?? ""}'; cached with '${last.id}'` : `runs fused after '${unit[unit.indexOf(step) - 1]?.id ?? ""}'`;
      decided.set(step.id, { id: step.id, artifact: step.artifact.name, call: step.call, action, reason: because, hit });
    };
    const inputs = inputDigests(head, (id) => known.get(id));
    if (typeof inputs === "string") {
      for (const step of unit) decide(step, "run", `upstream step '${inputs}' runs`);
      continue;
    }
    const keys = unitKeys(unit, inputs);
    const { key, parts } = keys.at(-1) as { key: string; parts: CacheKeyParts };
    const force = options.useCache === false ? "--no-cache" : unit.find((s) => forced.has(s.id));
    if (force !== undefined) {
      for (const step of unit) decide(step, "run", `${fused}${typeof force === "string" ? force : `--rerun ${force.id}`}`);
      continue;
    }
    const entry = await cache.find(key);
    if (entry !== null) {
      known.set(last.id, entry.outputs);
      unit.forEach((step, i) => {
        // Fused steps before the last left no outputs: their rows say so.
        const own = step === last ? entry : { ...entry, key: keys[i]?.key ?? key, outputs: {}, stateDigest: null, metrics: {} };
        decide(step, "cached", `${fused}same inputs, parameters and code as step '${entry.stepId}' of run ${entry.runId}`, { inputs: step === head ? inputs : {}, entry: own });
      });
    } else {
      for (const step of unit) decide(step, "run", `${fused}${explainChange(last, parts, cache.previous(last)?.parts ?? null)}`);
    }
  }
  return plan.steps.map((s) => decided.get(s.id) as Decided);
}

/** The steps of a plan as units of execution: a fused chain (with fusion on), or one step. In plan order of their first step. */
function units(plan: RunPlan, fuse: boolean): PlannedStep[][] {
  const groups = fuse ? fusionGroups(plan.steps) : [];
  const groupOf = new Map(groups.flatMap((g) => g.map((s) => [s.id, g] as const)));
  return plan.steps.flatMap((step) => {
    const group = groupOf.get(step.id);
    return group === undefined ? [[step]] : group[0] === step ? [group] : [];
  });
}

/** Cache keys of a unit's steps: a step's own, or those of a fused chain. */
function unitKeys(unit: readonly PlannedStep[], inputs: Readonly<Record<string, Digest>>): { key: string; parts: CacheKeyParts }[] {
  if (unit.length > 1) return fusedKeys(unit, inputs);
  const parts = keyParts(unit[0] as PlannedStep, inputs);
  return [{ key: cacheKey(parts), parts }];
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
  // Units (a step, or a fused chain) waiting for inputs, by how many source steps have not finished.
  const todo = units(plan, options.fuse === true).filter((unit) => unit.some((s) => !results.has(s.id)));
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
  const needOf = (unit: readonly PlannedStep[]): ExecutionLimits => ({
    cpus: Math.max(...unit.map((s) => s.resources.cpus)),
    memoryBytes: Math.max(...unit.map((s) => s.resources.memoryBytes)),
  });

  const launch = (unit: PlannedStep[]): void => {
    const need = needOf(unit);
    const head = unit[0] as PlannedStep;
    used = { cpus: used.cpus + need.cpus, memoryBytes: used.memoryBytes + need.memoryBytes };
    const task = (async () => {
      const inputs = inputDigests(head, (id) => results.get(id)?.outputs);
      if (typeof inputs === "string") throw new Error(`step '${head.id}' started before '${inputs}' finished`);
      const keys = unitKeys(unit, inputs);
      const last = keys.at(-1) as { key: string; parts: CacheKeyParts };
      // An upstream step that ran may have produced what it produced before: then this one is cached too.
      const entry = options.useCache === false || unit.some((s) => forced.has(s.id)) ? null : await findCached(ctx, last.key);
      const sc: StepContext = { ctx, runId, index: position.get(head.id) ?? 0, total: plan.steps.length, hooks: options, pool };
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
      for (let i = 0; i < ready.length; ) {
        const unit = ready[i] as PlannedStep[];
        const need = needOf(unit);
        const fits = used.cpus + need.cpus <= limits.cpus && used.memoryBytes + need.memoryBytes <= limits.memoryBytes;
        if (!fits && running.size > 0) break;
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
    const select = plan.sweep.select;
    // Every grid point; the models of a point are its branch's copies and the models no swept value reaches.
    let points: Record<string, ParameterValue>[] = [{}];
    for (const [key, values] of Object.entries(plan.sweep.parameters)) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
    const inBranch = (step: PlannedStep, point: Readonly<Record<string, ParameterValue>>): boolean =>
      Object.entries(step.branch ?? {}).every(([k, v]) => point[k] === v);
    const branches = points.map((values) => ({
      values,
      metrics: Object.fromEntries(trained.filter((s) => inBranch(s, values)).map((s) => [baseId(s), results.get(s.id)?.metrics ?? {}])),
    }));
    let selected: number | null = null;
    if (select !== null && branches.length > 0) {
      // The metric of the swept models decides, not that of a model the sweep does not reach.
      const score = (i: number): number => {
        const values = points[i] ?? {};
        const candidates = [...trained.filter((s) => s.branch !== undefined && s.branch !== null), ...trained.filter((s) => s.branch === undefined || s.branch === null)].filter((s) => inBranch(s, values));
        const found = candidates.map((s) => results.get(s.id)?.metrics[select.metric]).find((v) => v !== undefined);
        if (found === undefined) {
          const reported = [...new Set(candidates.flatMap((s) => Object.keys(results.get(s.id)?.metrics ?? {})))];
          throw new InputError(`--select ${select.metric}:${select.goal}: the models of branch ${JSON.stringify(values)} reported no metric '${select.metric}'; they reported: ${reported.join(", ") || "none"}`, {
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
      const chosen = points[selected] ?? {};
      register = trained.filter((s) => inBranch(s, chosen));
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
