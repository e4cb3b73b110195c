/**
 * What Slurm and a job's wrapper report about a job, parsed: `scontrol -o show job` lines, the
 * usage file the batch script writes, and slurmstepd's memory-kill message. Pure functions.
 */
import type { SchedulerRetry, SchedulerUsage } from "@maelstrom/core";

/**
 * The ids a job line of `scontrol show job` stands for: `ARRAYJOB_TASK` for a task of an array (its
 * own JobId is another number); the array's one record of its tasks still pending (`ArrayTaskId=5-999`,
 * `5,7-9`, `5-999%10`) stands for each of them.
 */
export function jobIdsOf(fields: ReadonlyMap<string, string>): string[] {
  const array = fields.get("ArrayJobId");
  const tasks = fields.get("ArrayTaskId");
  if (array === undefined || tasks === undefined) {
    const id = fields.get("JobId");
    return id === undefined ? [] : [id];
  }
  return tasks
    .replace(/%\d+$/, "")
    .split(",")
    .flatMap((part) => {
      const [from, to] = part.split("-").map(Number);
      if (from === undefined || !Number.isInteger(from)) return [];
      const last = to === undefined || !Number.isInteger(to) ? from : to;
      return Array.from({ length: Math.max(0, last - from + 1) }, (_, i) => `${array}_${from + i}`);
    });
}

/** Slurm's [D-]HH:MM:SS in ms. */
function clockMs(text: string | undefined): number {
  const match = /^(?:(\d+)-)?(\d+):(\d+):(\d+)$/.exec(text ?? "");
  if (match === null) return 0;
  const [, d, h, m, s] = match.map((part) => Number(part ?? 0));
  return ((((d ?? 0) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60 + (s ?? 0)) * 1000;
}

/** Slurm's memory notation (1024M, 1G, 76436K; no unit: MiB; `B`: bytes) in bytes. */
function memoryBytes(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)([BKMGT]?)$/.exec(text ?? "");
  if (match === null) return 0;
  return Math.round(Number(match[1]) * 1024 ** "BKMGT".indexOf(match[2] || "M"));
}

/** What the job's wrapper measured (usage file): CPU time of the step, and Slurm's peak memory and energy of the job. */
export interface JobUsage {
  readonly cpuTimeMs: number | null;
  readonly maxRssBytes: number | null;
  readonly energyJoules: number | null;
}

/**
 * The usage file: the shell's `times` (its own line, then its children's: `0m1.070000s 0m0.080000s`)
 * and, where sstat exists, `MaxRSS|ConsumedEnergy` of the batch step (`76436K|0`; 0 energy = not measured).
 */
export function parseUsage(text: string): JobUsage {
  const lines = text.split("\n").map((line) => line.trim());
  const clock = (word: string | undefined): number | null => {
    const match = /^(?:(\d+)m)?(\d+(?:\.\d+)?)s$/.exec(word ?? "");
    return match === null ? null : Math.round((Number(match[1] ?? 0) * 60 + Number(match[2])) * 1000);
  };
  const [user, system] = (lines[1] ?? "").split(/\s+/).map(clock);
  const [rss = "", energy] = (lines.find((line) => line.includes("|")) ?? "").split("|");
  const rssBytes = memoryBytes(/^\d+$/.test(rss) ? `${rss}B` : rss);
  const joules = Number(energy);
  return {
    cpuTimeMs: user === null || user === undefined || system === null || system === undefined ? null : user + system,
    maxRssBytes: rssBytes > 0 ? rssBytes : null,
    energyJoules: Number.isFinite(joules) && joules > 0 ? joules : null,
  };
}

/** A job's accounting from its `scontrol show job` fields and what its wrapper measured. */
export function accounting(
  cluster: string,
  jobId: string,
  fields: ReadonlyMap<string, string>,
  usage: JobUsage,
  retries: readonly SchedulerRetry[],
): SchedulerUsage {
  const cpus = Number(fields.get("NumCPUs") ?? 0) || 0;
  const perNode = memoryBytes(fields.get("MinMemoryNode"));
  const submit = Date.parse(fields.get("SubmitTime") ?? "");
  const start = Date.parse(fields.get("StartTime") ?? "");
  return {
    executor: "slurm",
    cluster,
    jobId,
    state: fields.get("JobState") ?? "UNKNOWN",
    nodes: fields.get("NodeList") ?? "",
    elapsedMs: clockMs(fields.get("RunTime")),
    cpus,
    memoryBytes: perNode > 0 ? perNode : memoryBytes(fields.get("MinMemoryCPU")) * cpus,
    queuedMs: Number.isNaN(submit) || Number.isNaN(start) ? 0 : Math.max(0, start - submit),
    ...usage,
    retries,
  };
}

const MIB = 1024 ** 2;

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MIB)}MiB`;
}

/**
 * Why a job was killed for its memory, when it was: Slurm's state OUT_OF_MEMORY (cgroup clusters), or
 * slurmstepd's "exceeded memory limit (USED > LIMIT)" in the log (clusters that sample usage and kill,
 * JobAcctGatherParams=OverMemoryKill, where the state is FAILED). Suggests twice the peak known (the
 * step may have needed more when it was stopped), at least twice the limit, in 256 MiB steps.
 */
export function memoryKill(state: string, logTail: string, requestedBytes: number, measuredBytes: number | null): string | null {
  const killed = /exceeded memory limit \((\d+) > (\d+)\)/.exec(logTail);
  if (state !== "OUT_OF_MEMORY" && killed === null) return null;
  const limit = killed === null ? requestedBytes : Number(killed[2]);
  const peak = Math.max(killed === null ? 0 : Number(killed[1]), measuredBytes ?? 0);
  const suggested = Math.ceil(Math.max(2 * peak, 2 * limit) / (256 * MIB)) * 256 * MIB;
  const seen = peak > 0 ? `its memory reached at least ${mib(peak)}` : "it used more memory than it asked for";
  return `was killed by Slurm for exceeding its memory: ${seen}, the limit was ${mib(limit)}${peak > 0 ? ` (peak ${peak} bytes)` : ""}; set resources.memory to ${mib(suggested)} or more in its maelstrom.yaml`;
}
