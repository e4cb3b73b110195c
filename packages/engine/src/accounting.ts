/**
 * Efficiency of batch jobs from what the scheduler reported (and, where it reported nothing, what
 * the step runner measured on itself inside the job). Pure: `runs show` and the model version's
 * compute record both use it.
 */
import type { SchedulerUsage, StepResourceUsage } from "@maelstrom/core";
import type { SlurmCompute, SlurmJobCompute } from "./records.js";

/** Who measured a figure: the scheduler (the whole job), or the step runner (its own process, inside the job). */
type MeasuredBy = "scheduler" | "runner";

export interface JobEfficiency {
  /** CPU time (user + system) in ms; null when neither the scheduler nor the runner reported it. */
  readonly cpuTimeMs: number | null;
  readonly cpuTimeFrom: MeasuredBy | null;
  /** cpuTime / (elapsed × allocated CPUs), 0..1 (may exceed 1 slightly from rounding); null when unknown. */
  readonly cpuEfficiency: number | null;
  /** Peak resident memory in bytes; null when not reported. */
  readonly peakMemoryBytes: number | null;
  readonly peakMemoryFrom: MeasuredBy | null;
  /** peak / requested memory; null when either is unknown. */
  readonly memoryEfficiency: number | null;
}

/** `part / whole`, or null when either is unknown or the whole is 0. */
function ratio(part: number | null, whole: number): number | null {
  return part === null || !(whole > 0) ? null : part / whole;
}

/**
 * How well a job used what it was given. A step runner that measured nothing (a command step: the
 * engine only knows the job's elapsed time) reports peak memory 0; its figures then count as not
 * reported, never as 0.
 */
export function jobEfficiency(scheduler: SchedulerUsage, runner: Pick<StepResourceUsage, "userCpuMs" | "systemCpuMs" | "maxRssBytes"> | null): JobEfficiency {
  const runnerMeasured = runner !== null && runner.maxRssBytes > 0;
  const [cpuTimeMs, cpuTimeFrom]: [number | null, MeasuredBy | null] =
    scheduler.cpuTimeMs !== null ? [scheduler.cpuTimeMs, "scheduler"] : runnerMeasured ? [runner.userCpuMs + runner.systemCpuMs, "runner"] : [null, null];
  const [peakMemoryBytes, peakMemoryFrom]: [number | null, MeasuredBy | null] =
    scheduler.maxRssBytes !== null ? [scheduler.maxRssBytes, "scheduler"] : runnerMeasured ? [runner.maxRssBytes, "runner"] : [null, null];
  return {
    cpuTimeMs,
    cpuTimeFrom,
    cpuEfficiency: ratio(cpuTimeMs, scheduler.elapsedMs * scheduler.cpus),
    peakMemoryBytes,
    peakMemoryFrom,
    memoryEfficiency: ratio(peakMemoryBytes, scheduler.memoryBytes),
  };
}

const HOUR_MS = 3_600_000;

/**
 * The Slurm side of a model version's compute: its steps' jobs (each once: the steps of a fused
 * chain share one) and their sums. Null when no step ran as a batch job.
 */
export function sumSlurmJobs(steps: readonly { readonly stepId: string; readonly resources: StepResourceUsage }[]): SlurmCompute | null {
  const seen = new Set<string>();
  const jobs: SlurmJobCompute[] = [];
  let cpuTimeMs: number | null = 0;
  // CPU time of the jobs Slurm counted any elapsed time for: RunTime is whole seconds, and a job
  // under a second (elapsed 0) would otherwise add CPU time without the time it had.
  let usedMs = 0;
  const sources = new Set<MeasuredBy>();
  for (const { stepId, resources } of steps) {
    const s = resources.scheduler;
    if (s === undefined || seen.has(`${s.cluster}:${s.jobId}`)) continue;
    seen.add(`${s.cluster}:${s.jobId}`);
    const efficiency = jobEfficiency(s, resources);
    jobs.push({
      cluster: s.cluster,
      jobId: s.jobId,
      stepId,
      state: s.state,
      nodes: s.nodes,
      elapsedMs: s.elapsedMs,
      cpus: s.cpus,
      memoryBytes: s.memoryBytes,
      cpuTimeMs: s.cpuTimeMs,
      maxRssBytes: s.maxRssBytes,
      energyJoules: s.energyJoules,
    });
    if (efficiency.cpuTimeMs === null || efficiency.cpuTimeFrom === null) cpuTimeMs = null;
    else if (cpuTimeMs !== null) {
      cpuTimeMs += efficiency.cpuTimeMs;
      if (s.elapsedMs * s.cpus > 0) usedMs += efficiency.cpuTimeMs;
      sources.add(efficiency.cpuTimeFrom);
    }
  }
  if (jobs.length === 0) return null;
  const allocatedMs = jobs.reduce((sum, j) => sum + j.elapsedMs * j.cpus, 0);
  const energies = jobs.map((j) => j.energyJoules);
  return {
    jobs,
    elapsedMs: jobs.reduce((sum, j) => sum + j.elapsedMs, 0),
    cpuTimeMs,
    cpuTimeFrom: cpuTimeMs === null ? null : sources.size === 1 ? ([...sources][0] ?? null) : "scheduler and runner",
    coreHours: allocatedMs / HOUR_MS,
    cpuEfficiency: cpuTimeMs === null ? null : ratio(usedMs, allocatedMs),
    energyJoules: energies.every((e): e is number => e !== null) ? energies.reduce((sum, e) => sum + e, 0) : null,
  };
}

/**
 * A step's stored resources, as this version reads them: records written before the scheduler's
 * CPU time, peak memory, energy and retries were kept (runs, cache entries) lack those fields.
 */
export function storedResources(resources: StepResourceUsage): StepResourceUsage {
  const scheduler = resources.scheduler as (Partial<SchedulerUsage> & Pick<SchedulerUsage, "executor" | "cluster" | "jobId">) | undefined;
  if (scheduler === undefined) return resources;
  return {
    ...resources,
    scheduler: { state: "UNKNOWN", nodes: "", elapsedMs: 0, cpus: 0, memoryBytes: 0, queuedMs: 0, cpuTimeMs: null, maxRssBytes: null, energyJoules: null, retries: [], ...scheduler },
  };
}
