import type { SchedulerUsage } from "@maelstrom/core";
import type { StepExecution } from "@maelstrom/engine";
import { describe, expect, it } from "vitest";
import { liveStatus, slurmComputeLines, statusLine, stepSlurmLines } from "./slurm-format.js";

const usage: SchedulerUsage = {
  executor: "slurm",
  cluster: "juwels",
  jobId: "123_4",
  state: "COMPLETED",
  nodes: "node[01-02]",
  elapsedMs: 10_000,
  cpus: 4,
  memoryBytes: 2 * 1024 ** 3,
  queuedMs: 0,
  cpuTimeMs: 30_000,
  maxRssBytes: null,
  energyJoules: 1200,
  retries: [{ jobId: "120", state: "NODE_FAIL", nodes: "node07", action: "excluding node node07" }],
};

function step(overrides: Partial<StepExecution>): StepExecution {
  return { stepId: "fit", schedulerStatus: null, resources: null, cachedFrom: null, ...overrides } as StepExecution;
}

describe("Slurm in the terminal", () => {
  it("says where a job is while it waits or runs", () => {
    expect(liveStatus({ jobId: "123", state: "PENDING", reason: "Resources", nodes: "" })).toBe("queued on slurm job 123 (PENDING: Resources)");
    expect(liveStatus({ jobId: "123", state: "PENDING", reason: "", nodes: "" })).toBe("queued on slurm job 123 (PENDING)");
    expect(liveStatus({ jobId: "123", state: "RUNNING", reason: "", nodes: "node01" })).toBe("running on slurm job 123 on node01");
    expect(liveStatus({ jobId: "123", state: "TIMEOUT", reason: "", nodes: "node01" })).toBe("slurm job 123 ended TIMEOUT on node01");
    expect(statusLine({ jobId: "7_2", state: "PENDING", reason: "Priority", nodes: "" })).toBe("[slurm] job 7_2 PENDING (Priority)\n");
    expect(statusLine({ jobId: "7_2", state: "RUNNING", reason: "", nodes: "node01" })).toBe("[slurm] job 7_2 RUNNING on node01\n");
  });

  it("says when the job is another run's, for a step the cache answered", () => {
    const lines = stepSlurmLines(step({ cachedFrom: "01RUN", resources: { wallMs: 9000, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0, scheduler: usage } }));
    expect(lines[0]).toBe("  fit: slurm job 123_4 COMPLETED on node[01-02] (cluster juwels; cached: the job of run 01RUN)");
  });

  it("shows a job's accounting: efficiency, 'not reported' for what neither Slurm nor the runner measured, earlier jobs", () => {
    const lines = stepSlurmLines(step({ resources: { wallMs: 9000, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0, scheduler: usage } }));
    expect(lines).toEqual([
      "  fit: slurm job 123_4 COMPLETED on node[01-02] (cluster juwels)",
      "    queued 0s, elapsed 10.0s on 4 CPUs, memory requested 2.0 GiB",
      "    CPU time 30.0s; CPU efficiency 75%",
      "    peak memory not reported; memory efficiency not reported",
      "    energy 1200 J",
      "    earlier job 120 NODE_FAIL on node07: excluding node node07",
    ]);
    const measured = stepSlurmLines(step({ resources: { wallMs: 9000, userCpuMs: 900, systemCpuMs: 100, maxRssBytes: 1024 ** 3, scheduler: { ...usage, cpuTimeMs: null } } }));
    expect(measured[2]).toBe("    CPU time not reported by Slurm; the step runner measured 1.0s; CPU efficiency 2.5%");
    expect(measured[3]).toBe("    peak memory not reported by Slurm; the step runner measured 1.0 GiB; memory efficiency 50%");
    expect(stepSlurmLines(step({}))).toEqual([]);
  });

  it("sums a model version's jobs", () => {
    const [summary, job] = slurmComputeLines({
      jobs: [{ cluster: "juwels", jobId: "9", stepId: "fit", state: "COMPLETED", nodes: "n1", elapsedMs: 3_600_000, cpus: 2, memoryBytes: 0, cpuTimeMs: null, maxRssBytes: null, energyJoules: null }],
      elapsedMs: 3_600_000,
      cpuTimeMs: 3_600_000,
      cpuTimeFrom: "runner",
      coreHours: 2,
      cpuEfficiency: 0.5,
      energyJoules: null,
    });
    expect(summary).toBe(
      "  slurm:        1 job, elapsed 60m0s, 2.00 core-hours allocated (elapsed × CPUs), CPU time 60m0s (measured by the step runners; Slurm did not report it), CPU efficiency 50%, energy not reported",
    );
    expect(job).toBe("    job 9 (juwels, step fit) COMPLETED on n1: elapsed 60m0s on 2 CPUs, CPU time not reported, peak memory not reported, energy not reported");
  });
});
