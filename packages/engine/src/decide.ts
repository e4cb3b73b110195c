import type { Digest } from "@maelstrom/store";
import { InputError } from "@maelstrom/errors";
import { cacheKey, explainChange, keyParts, loadCache, type CacheEntry, type CacheKeyParts } from "./cache.js";
import type { EngineContext } from "./context.js";
import type { ExecuteOptions } from "./execute.js";
import { fusedKeys, fusionGroups } from "./fuse.js";
import type { Placements } from "./placement.js";
import type { PlannedStep, RunPlan, StepCall } from "./records.js";

/** What planning decided for one step, and why. */
export interface StepDecision {
  readonly id: string;
  readonly artifact: string;
  readonly call: StepCall;
  readonly action: "cached" | "run";
  readonly reason: string;
  /** Where the step runs if it runs: `local` or `slurm:NAME`. */
  readonly executor: string;
  /** Why there: the pipeline's `executor:`, a cluster's rule, `--executor`, or "default". */
  readonly executorReason: string;
}

/** Digests of a step's inputs when all are known, else the id of an upstream step that has not produced its output yet. */
export function inputDigests(step: PlannedStep, outputsOf: (id: string) => Readonly<Record<string, Digest>> | undefined): Record<string, Digest> | string {
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
export interface Decided extends StepDecision {
  readonly hit: { readonly inputs: Record<string, Digest>; readonly entry: CacheEntry } | null;
}

/**
 * Decide, before anything runs, which steps the cache answers and why the others must run: a
 * step's key is known when all its inputs are; a step downstream of one that runs waits for it.
 */
export async function decide(ctx: EngineContext, plan: RunPlan, options: Pick<ExecuteOptions, "useCache" | "rerunSteps" | "fuse" | "placements">): Promise<Decided[]> {
  const forced = new Set(options.rerunSteps ?? []);
  for (const id of forced) {
    if (!plan.steps.some((s) => s.id === id)) {
      throw new InputError(`--rerun ${id}: no step '${id}' in this run; steps: ${plan.steps.map((s) => s.id).join(", ")}`, { code: "GRAPH_INVALID", details: { steps: [id] } });
    }
  }
  const known = new Map<string, Readonly<Record<string, Digest>>>();
  const decided = new Map<string, Decided>();
  const cache = await loadCache(ctx, plan.steps);
  for (const unit of units(plan, options.fuse === true, options.placements)) {
    const [head, last] = [unit[0] as PlannedStep, unit.at(-1) as PlannedStep];
    const fused = unit.length > 1 ? `runs fused: ${unit.map((s) => s.id).join(" -> ")}; ` : "";
    const decide = (step: PlannedStep, action: Decided["action"], reason: string, hit: Decided["hit"] = null): void => {
      // A step fused after another one is decided with it.
      const because = step === head ? reason : action === "cached" ? `fused after '${unit[unit.indexOf(step) - 1]?.id ?? ""}'; cached with '${last.id}'` : `runs fused after '${unit[unit.indexOf(step) - 1]?.id ?? ""}'`;
      const placement = options.placements?.get(step.id);
      const where = { executor: placement?.executor ?? "local", executorReason: placement?.reason ?? "default" };
      decided.set(step.id, { id: step.id, artifact: step.artifact.name, call: step.call, action, reason: because, ...where, hit });
    };
    const inputs = inputDigests(head, (id) => known.get(id));
    if (typeof inputs === "string") {
      for (const step of unit) decide(step, "run", `${fused}upstream step '${inputs}' runs`);
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

/** The steps of a plan as units of execution: a fused chain (with fusion on, never across executors), or one step. In plan order of their first step. */
export function units(plan: RunPlan, fuse: boolean, placements?: Placements): PlannedStep[][] {
  const groups = fuse ? fusionGroups(plan.steps, (step) => placements?.get(step.id)?.executor ?? "local") : [];
  const groupOf = new Map(groups.flatMap((g) => g.map((s) => [s.id, g] as const)));
  return plan.steps.flatMap((step) => {
    const group = groupOf.get(step.id);
    return group === undefined ? [[step]] : group[0] === step ? [group] : [];
  });
}

/** Cache keys of a unit's steps: a step's own, or those of a fused chain. */
export function unitKeys(unit: readonly PlannedStep[], inputs: Readonly<Record<string, Digest>>): { key: string; parts: CacheKeyParts }[] {
  if (unit.length > 1) return fusedKeys(unit, inputs);
  const parts = keyParts(unit[0] as PlannedStep, inputs);
  return [{ key: cacheKey(parts), parts }];
}
