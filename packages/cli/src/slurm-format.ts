/** How Slurm jobs read in the terminal: live states, one job's accounting, a model version's jobs. */
import { isFinalJobState, type SchedulerStatus } from "@maelstrom/core";
import { jobEfficiency, type SlurmCompute, type StepExecution } from "@maelstrom/engine";
import { bytes, duration } from "./format.js";

const NOT_REPORTED = "not reported";

/** Whether a job still waits or runs (UNKNOWN: the engine's word for a job Slurm no longer knows, which ended). */
export function isActiveState(state: string): boolean {
  return !isFinalJobState(state) && state !== "UNKNOWN";
}

function percent(ratio: number | null): string {
  return ratio === null ? NOT_REPORTED : `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

/** `runs show` for a step whose job waits or runs: "queued on slurm job 123 (PENDING: Resources)", "running on slurm job 123 on node01". */
export function liveStatus(status: SchedulerStatus): string {
  if (status.state === "PENDING") return `queued on slurm job ${status.jobId} (PENDING${status.reason === "" ? "" : `: ${status.reason}`})`;
  if (status.state === "RUNNING") return `running on slurm job ${status.jobId}${status.nodes === "" ? "" : ` on ${status.nodes}`}`;
  const ended = isActiveState(status.state) ? "" : "ended ";
  return `slurm job ${status.jobId} ${ended}${status.state}${status.reason === "" ? "" : ` (${status.reason})`}${status.nodes === "" ? "" : ` on ${status.nodes}`}`;
}

/** `logs -f`: "[slurm] job 123 PENDING (Priority)", "[slurm] job 123 RUNNING on node01". */
export function statusLine(status: SchedulerStatus): string {
  return `[slurm] job ${status.jobId} ${status.state}${status.reason === "" ? "" : ` (${status.reason})`}${status.nodes === "" ? "" : ` on ${status.nodes}`}\n`;
}

/** Slurm's times are whole seconds: 0 is "0s", not "0ms". */
const seconds = (ms: number): string => (ms === 0 ? "0s" : duration(ms));

const cpuCount = (cpus: number): string => `${cpus} CPU${cpus === 1 ? "" : "s"}`;

/** "CPU time 5.6s", or who measured it when Slurm did not, or "not reported". */
function measured(what: string, from: ReturnType<typeof jobEfficiency>["cpuTimeFrom"], value: string): string {
  if (from === "scheduler") return `${what} ${value}`;
  if (from === "runner") return `${what} not reported by Slurm; the step runner measured ${value}`;
  return `${what} ${NOT_REPORTED}`;
}

/** Lines of `runs show` about a step's Slurm job: its live state, or its accounting once it ended. */
export function stepSlurmLines(step: StepExecution): string[] {
  const usage = step.resources?.scheduler;
  if (usage === undefined) {
    if (step.schedulerStatus === null) return [];
    // Waiting or running (or ended without results: a failed job is accounted for by its state only).
    return [`  ${step.stepId}: ${liveStatus(step.schedulerStatus)}`];
  }
  const e = jobEfficiency(usage, step.resources);
  const cpu = measured("CPU time", e.cpuTimeFrom, duration(e.cpuTimeMs ?? 0));
  const requested = usage.memoryBytes > 0 ? bytes(usage.memoryBytes) : NOT_REPORTED;
  const memory = measured("peak memory", e.peakMemoryFrom, bytes(e.peakMemoryBytes ?? 0));
  const lines = [
    `  ${step.stepId}: slurm job ${usage.jobId} ${usage.state} on ${usage.nodes || "no node"} (cluster ${usage.cluster}${step.cachedFrom === null ? "" : `; cached: the job of run ${step.cachedFrom}`})`,
    `    queued ${seconds(usage.queuedMs)}, elapsed ${seconds(usage.elapsedMs)} on ${cpuCount(usage.cpus)}, memory requested ${requested}`,
    `    ${cpu}; CPU efficiency ${percent(e.cpuEfficiency)}`,
    `    ${memory}; memory efficiency ${percent(e.memoryEfficiency)}`,
    `    energy ${usage.energyJoules === null ? NOT_REPORTED : `${usage.energyJoules} J`}`,
  ];
  for (const retry of usage.retries) lines.push(`    earlier job ${retry.jobId} ${retry.state} on ${retry.nodes || "no node"}: ${retry.action}`);
  return lines;
}

/** Lines of `models show` about the Slurm jobs that made a model version. */
export function slurmComputeLines(slurm: SlurmCompute): string[] {
  const cpuTime =
    slurm.cpuTimeMs === null
      ? NOT_REPORTED
      : `${duration(slurm.cpuTimeMs)}${slurm.cpuTimeFrom === "scheduler" ? "" : slurm.cpuTimeFrom === "runner" ? " (measured by the step runners; Slurm did not report it)" : " (Slurm's, and the step runners' where Slurm did not report it)"}`;
  const lines = [
    `  slurm:        ${slurm.jobs.length} job${slurm.jobs.length === 1 ? "" : "s"}, elapsed ${seconds(slurm.elapsedMs)}, ${slurm.coreHours.toPrecision(3)} core-hours allocated (elapsed × CPUs), CPU time ${cpuTime}, CPU efficiency ${percent(slurm.cpuEfficiency)}, energy ${slurm.energyJoules === null ? NOT_REPORTED : `${slurm.energyJoules} J`}`,
  ];
  for (const job of slurm.jobs) {
    lines.push(
      `    job ${job.jobId} (${job.cluster}, step ${job.stepId}) ${job.state} on ${job.nodes || "no node"}: elapsed ${seconds(job.elapsedMs)} on ${cpuCount(job.cpus)}, CPU time ${job.cpuTimeMs === null ? NOT_REPORTED : duration(job.cpuTimeMs)}, peak memory ${job.maxRssBytes === null ? NOT_REPORTED : bytes(job.maxRssBytes)}, energy ${job.energyJoules === null ? NOT_REPORTED : `${job.energyJoules} J`}`,
    );
  }
  return lines;
}
