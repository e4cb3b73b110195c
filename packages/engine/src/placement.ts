/**
 * Where each step of a run executes, decided before the run is created: this machine, or a
 * configured Slurm cluster. The most specific choice wins: the step's own `executor:` in its
 * pipeline, then the workspace's rules (`maelstrom cluster add NAME --when 'gpus>0'`), then the
 * run's `--executor`, then this machine. Steps going to a cluster are checked against its
 * partition's limits here too, so a step Slurm could never run stops the run before anything is
 * submitted.
 */
import { join } from "node:path";
import { ConflictError, InputError } from "@maelstrom/errors";
import { durationMinutes, jobMinutes, partitionProblems, SlurmExecutor, type LimitProblem, type SlurmCluster } from "@maelstrom/runtime";
import { resolveExecutor, type Clusters } from "./clusters.js";
import type { EngineContext } from "./context.js";
import type { PlannedStep } from "./records.js";
import { parseRule, ruleMatches, type Rule } from "./rules.js";

/** Where a step runs: `cluster` null is this machine. */
export interface Placement {
  readonly cluster: { readonly name: string; readonly settings: SlurmCluster } | null;
  /** `local` or `slurm:NAME`, as `maelstrom plan` shows it. */
  readonly executor: string;
  /** Why it runs there: "executor: slurm:gpu in the pipeline", "rule 'gpus>0' of cluster gpu", "--executor slurm", "default". */
  readonly reason: string;
}

export type Placements = ReadonlyMap<string, Placement>;

const LOCAL: Placement = { cluster: null, executor: "local", reason: "default" };

function placed(target: ReturnType<typeof resolveExecutor>, reason: string): Placement {
  return target === null ? { ...LOCAL, reason } : { cluster: { name: target.name, settings: target.cluster }, executor: `slurm:${target.name}`, reason };
}

/**
 * The placement of every step: its pipeline's `executor:`, else the one cluster whose rules its
 * resources match (two clusters matching is an error: the step must say which), else
 * `--executor`, else local. Unknown clusters and rules that do not parse are InputErrors.
 */
export function placeSteps(steps: readonly PlannedStep[], clusters: Clusters, executor: string | undefined): Map<string, Placement> {
  const byDefault = executor === undefined ? LOCAL : placed(resolveExecutor(`--executor ${executor}`, "--executor", executor, clusters), `--executor ${executor}`);
  const rules: { readonly name: string; readonly text: string; readonly rule: Rule }[] = [];
  for (const [name, settings] of Object.entries(clusters)) {
    for (const text of settings.when ?? []) {
      try {
        rules.push({ name, text, rule: parseRule(text) });
      } catch (error) {
        // Only a hand-edited clusters.json gets here: `cluster add` checks its rules.
        throw new InputError(`cluster '${name}' in .maelstrom/clusters.json: ${(error as Error).message}`, { details: { cluster: name, rule: text }, cause: error });
      }
    }
  }
  const placements = new Map<string, Placement>();
  for (const step of steps) {
    const own = step.executor ?? null;
    if (own !== null) {
      placements.set(step.id, placed(resolveExecutor(`step '${step.id}': executor ${own} (in its pipeline)`, "executor:", own, clusters), `executor: ${own} in the pipeline`));
      continue;
    }
    const matched = rules.filter((r) => ruleMatches(r.rule, step.resources));
    const names = [...new Set(matched.map((r) => r.name))];
    if (names.length > 1) {
      throw new InputError(
        `step '${step.id}' (${step.artifact.kind} ${step.artifact.name}) matches the rules of ${names.length} clusters: ${matched.map((r) => `'${r.text}' of ${r.name}`).join(", ")}; give the step an executor in its pipeline (executor: slurm:NAME) or narrow the rules (maelstrom cluster add NAME ... --when)`,
        { details: { step: step.id, clusters: names } },
      );
    }
    const rule = matched[0];
    if (rule === undefined) placements.set(step.id, byDefault);
    else placements.set(step.id, placed(resolveExecutor(`rule '${rule.text}'`, "--executor", `slurm:${rule.name}`, clusters), `rule '${rule.text}' of cluster ${rule.name}`));
  }
  return placements;
}

const MANIFEST_FIELD: Readonly<Record<LimitProblem["field"], string>> = { cpus: "resources.cpus", memory: "resources.memory", gpus: "resources.gpus", time: "resources.time" };

/**
 * Every step placed on a cluster, against its partition's limits: one `scontrol` round per
 * cluster used (through the cluster's transport). The first step asking more than its partition
 * allows is an InputError naming the step, each field, what it asks and the limit.
 */
export async function checkPartitions(steps: readonly PlannedStep[], placements: Placements): Promise<void> {
  const byCluster = new Map<string, { settings: SlurmCluster; steps: PlannedStep[] }>();
  for (const step of steps) {
    const cluster = placements.get(step.id)?.cluster ?? null;
    if (cluster === null) continue;
    const entry = byCluster.get(cluster.name) ?? { settings: cluster.settings, steps: [] };
    entry.steps.push(step);
    byCluster.set(cluster.name, entry);
  }
  for (const [name, { settings, steps: placedSteps }] of byCluster) {
    const executor = new SlurmExecutor({ name, cluster: settings });
    let limits;
    try {
      limits = await executor.partitionLimits();
    } finally {
      await executor.close();
    }
    // A resubmission after a time limit doubles up to --max-time: past the partition's MaxTime it would never run.
    const maxMinutes = durationMinutes(settings.maxTime);
    if (maxMinutes !== null && limits.maxMinutes !== null && maxMinutes > limits.maxMinutes) {
      throw new InputError(
        `cluster '${name}': --max-time ${settings.maxTime ?? ""} is longer than partition '${limits.partition}' allows (MaxTime ${limits.maxTimeText}); set it to at most that (maelstrom cluster add ${name} ... --max-time)`,
        { details: { cluster: name, partition: limits.partition, maxTime: settings.maxTime ?? null } },
      );
    }
    for (const step of placedSteps) {
      const minutes = jobMinutes(step.resources.timeoutMs, settings);
      const problems = partitionProblems(limits, { ...step.resources, minutes });
      if (problems.length === 0) continue;
      const fix = problems.map((p) => (p.field === "time" && step.resources.timeoutMs === null ? `the cluster's --time (maelstrom cluster add ${name} ... --time)` : MANIFEST_FIELD[p.field]));
      throw new InputError(
        `step '${step.id}' (${step.artifact.kind} ${step.artifact.name}) asks for more than partition '${limits.partition}' of cluster '${name}' allows: ${problems
          .map((p) => `${p.field} ${p.asked}, at most ${p.limit}`)
          .join("; ")}; lower ${[...new Set(fix)].join(" and ")}${fix.some((f) => f.startsWith("resources.")) ? " in its maelstrom.yaml" : ""}, or run the step elsewhere (executor: in its pipeline, a cluster's --when rule, or --executor)`,
        { code: "RESOURCES_EXCEEDED", details: { step: step.id, cluster: name, partition: limits.partition, fields: problems.map((p) => p.field) } },
      );
    }
  }
}

/**
 * A resume that would run a step elsewhere than the cluster whose job of it still runs (or finished
 * well) is refused: the old job would write into the step's folder while the new one runs.
 */
export async function refuseJobsLeftBehind(
  ctx: EngineContext,
  runId: string,
  jobs: ReadonlyMap<string, string>,
  placements: Placements,
  clusters: Clusters,
): Promise<void> {
  // One executor (one connection) per cluster, whatever the number of steps asked about.
  const executors = new Map<string, SlurmExecutor>();
  try {
    for (const [stepId, placement] of jobs) {
      const [, name = "", jobId = ""] = placement.split(":");
      const settings = clusters[name];
      if (placements.get(stepId)?.cluster?.name === name || settings === undefined || !Object.hasOwn(clusters, name)) continue;
      let executor = executors.get(name);
      if (executor === undefined) executors.set(name, (executor = new SlurmExecutor({ name, cluster: settings })));
      if ((await executor.reattach(placement, join(ctx.paths.runs, runId, stepId, "step.log"))) === null) continue;
      throw new ConflictError(
        `step '${stepId}' of run ${runId} still has Slurm job ${jobId} on cluster '${name}' (queued, running, or finished while no engine watched); resume with --executor slurm:${name} to wait for it, or scancel ${jobId} first`,
        { details: { run: runId, step: stepId, cluster: name, jobId } },
      );
    }
  } finally {
    await Promise.all([...executors.values()].map((executor) => executor.close()));
  }
}
