import type { ParameterValue } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import { toJsonColumn } from "@maelstrom/store";
import type { StepResult } from "./cache.js";
import type { EngineContext } from "./context.js";
import { registerModelVersions } from "./models.js";
import type { PlannedStep, RunPlan, RunResult, SweepResult } from "./records.js";

/** The branch of a sweep step id: "forest[trees=10]" -> "forest". */
const baseId = (step: PlannedStep): string => (step.branch === undefined || step.branch === null ? step.id : step.id.slice(0, step.id.indexOf("[")));

/**
 * After the last step: register trained models (for a sweep, the selected branch) and mark the
 * run succeeded, in one transaction.
 */
export async function finishRun(ctx: EngineContext, runId: string, plan: RunPlan, results: ReadonlyMap<string, StepResult>, registerModel: boolean): Promise<RunResult> {
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
