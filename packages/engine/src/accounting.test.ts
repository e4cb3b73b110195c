import type { SchedulerUsage, StepResourceUsage } from "@maelstrom/core";
import { describe, expect, it } from "vitest";
import { jobEfficiency, storedResources, sumSlurmJobs } from "./accounting.js";

const GiB = 1024 ** 3;

function usage(overrides: Partial<SchedulerUsage> = {}): SchedulerUsage {
  return {
    executor: "slurm",
    cluster: "local",
    jobId: "42",
    state: "COMPLETED",
    nodes: "node01",
    elapsedMs: 10_000,
    cpus: 4,
    memoryBytes: 2 * GiB,
    queuedMs: 1000,
    cpuTimeMs: null,
    maxRssBytes: null,
    energyJoules: null,
    retries: [],
    ...overrides,
  };
}

const runner = (overrides: Partial<StepResourceUsage> = {}): StepResourceUsage => ({ wallMs: 9000, userCpuMs: 3000, systemCpuMs: 1000, maxRssBytes: GiB / 2, ...overrides });

describe("jobEfficiency", () => {
  it("takes the scheduler's CPU time and peak memory: CPU time / (elapsed × CPUs), peak / requested", () => {
    const e = jobEfficiency(usage({ cpuTimeMs: 20_000, maxRssBytes: GiB }), runner());
    expect(e).toEqual({ cpuTimeMs: 20_000, cpuTimeFrom: "scheduler", cpuEfficiency: 0.5, peakMemoryBytes: GiB, peakMemoryFrom: "scheduler", memoryEfficiency: 0.5 });
  });

  it("falls back to what the step runner measured when the scheduler did not report, and says so", () => {
    const e = jobEfficiency(usage(), runner());
    expect(e.cpuTimeMs).toBe(4000);
    expect(e.cpuTimeFrom).toBe("runner");
    expect(e.cpuEfficiency).toBeCloseTo(0.1);
    expect(e.peakMemoryFrom).toBe("runner");
    expect(e.memoryEfficiency).toBeCloseTo(0.25);
  });

  it("reports nothing (null), not 0, when neither measured: a command step's runner measures nothing", () => {
    const e = jobEfficiency(usage(), runner({ userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 }));
    expect(e).toEqual({ cpuTimeMs: null, cpuTimeFrom: null, cpuEfficiency: null, peakMemoryBytes: null, peakMemoryFrom: null, memoryEfficiency: null });
    expect(jobEfficiency(usage(), null).cpuTimeMs).toBeNull();
  });

  it("has no efficiency when the job had no elapsed time, no CPUs, or no requested memory", () => {
    expect(jobEfficiency(usage({ cpuTimeMs: 5, elapsedMs: 0 }), null).cpuEfficiency).toBeNull();
    expect(jobEfficiency(usage({ cpuTimeMs: 5, cpus: 0 }), null).cpuEfficiency).toBeNull();
    expect(jobEfficiency(usage({ maxRssBytes: 5, memoryBytes: 0 }), null).memoryEfficiency).toBeNull();
  });
});

describe("sumSlurmJobs", () => {
  it("is null when no step ran as a job", () => {
    expect(sumSlurmJobs([{ stepId: "local", resources: runner() }])).toBeNull();
  });

  it("lists each job once (a fused chain shares one) and sums elapsed, CPU time, core-hours; energy only when every job has it", () => {
    const a = runner({ scheduler: usage({ jobId: "1", elapsedMs: 3_600_000, cpus: 2, cpuTimeMs: 3_600_000, energyJoules: 100 }) });
    const b = runner({ scheduler: usage({ jobId: "2_3", elapsedMs: 1_800_000, cpus: 1, cpuTimeMs: 900_000, energyJoules: null }) });
    const sum = sumSlurmJobs([
      { stepId: "clean", resources: a },
      { stepId: "fit", resources: a },
      { stepId: "model", resources: b },
    ]);
    expect(sum?.jobs.map((j) => [j.jobId, j.stepId])).toEqual([
      ["1", "clean"],
      ["2_3", "model"],
    ]);
    expect(sum?.elapsedMs).toBe(5_400_000);
    expect(sum?.coreHours).toBeCloseTo(2.5);
    expect(sum?.cpuTimeMs).toBe(4_500_000);
    expect(sum?.cpuTimeFrom).toBe("scheduler");
    expect(sum?.cpuEfficiency).toBeCloseTo(0.5);
    expect(sum?.energyJoules).toBeNull();

    const both = sumSlurmJobs([{ stepId: "m", resources: runner({ scheduler: usage({ energyJoules: 7 }) }) }, { stepId: "n", resources: runner({ scheduler: usage({ jobId: "9", energyJoules: 5, cpuTimeMs: 1000 }) }) }]);
    expect(both?.energyJoules).toBe(12);
    expect(both?.cpuTimeFrom).toBe("scheduler and runner");
    expect(both?.cpuTimeMs).toBe(5000);
  });

  it("leaves jobs Slurm counted no elapsed time for (under a second) out of the efficiency, not out of the CPU time", () => {
    const sum = sumSlurmJobs([
      { stepId: "quick", resources: runner({ scheduler: usage({ jobId: "1", elapsedMs: 0, cpus: 1, cpuTimeMs: 300 }) }) },
      { stepId: "fit", resources: runner({ scheduler: usage({ jobId: "2", elapsedMs: 6000, cpus: 1, cpuTimeMs: 5700 }) }) },
    ]);
    expect(sum?.cpuTimeMs).toBe(6000);
    expect(sum?.cpuEfficiency).toBeCloseTo(0.95);
  });

  it("has no CPU time sum when a job has neither the scheduler's nor the runner's", () => {
    const sum = sumSlurmJobs([{ stepId: "cmd", resources: runner({ maxRssBytes: 0, userCpuMs: 0, systemCpuMs: 0, scheduler: usage() }) }]);
    expect(sum?.cpuTimeMs).toBeNull();
    expect(sum?.cpuTimeFrom).toBeNull();
    expect(sum?.cpuEfficiency).toBeNull();
    expect(sum?.coreHours).toBeCloseTo((10_000 * 4) / 3_600_000);
  });
});

describe("storedResources", () => {
  it("reads a Slurm record written before CPU time, peak memory, energy and retries were kept", () => {
    const old = { wallMs: 5, userCpuMs: 1, systemCpuMs: 0, maxRssBytes: 9, scheduler: { executor: "slurm", cluster: "c", jobId: "7", state: "COMPLETED", nodes: "n1", elapsedMs: 1000, cpus: 1, memoryBytes: 1024, queuedMs: 0 } };
    const read = storedResources(old as unknown as StepResourceUsage);
    expect(read.scheduler).toMatchObject({ jobId: "7", state: "COMPLETED", cpuTimeMs: null, maxRssBytes: null, energyJoules: null, retries: [] });
    expect(jobEfficiency(read.scheduler as SchedulerUsage, read).cpuTimeFrom).toBe("runner");
  });
  it("leaves a local step's resources as they are", () => {
    const local = { wallMs: 5, userCpuMs: 1, systemCpuMs: 0, maxRssBytes: 9 };
    expect(storedResources(local)).toBe(local);
  });
});
