import { describe, expect, it } from "vitest";
import { accounting, jobIdsOf, memoryKill, parseUsage } from "./slurm-accounting.js";
import { slurmFields } from "./slurm-partition.js";

describe("parseUsage", () => {
  it("reads the children's CPU time from dash's `times` and peak memory from sstat", () => {
    expect(parseUsage("0m0.000000s 0m0.000000s\n0m1.070000s 0m0.080000s\n76436K|0\n")).toEqual({ cpuTimeMs: 1150, maxRssBytes: 76436 * 1024, energyJoules: null });
  });
  it("reads bash's `times`, minutes, and energy when the cluster measures it", () => {
    expect(parseUsage("0m0.001s 0m0.002s\n2m3.500s 0m0.500s\n1.5G|5230\n")).toEqual({ cpuTimeMs: 124_000, maxRssBytes: 1.5 * 1024 ** 3, energyJoules: 5230 });
  });
  it("knows nothing from an empty or missing file, or without sstat", () => {
    expect(parseUsage("")).toEqual({ cpuTimeMs: null, maxRssBytes: null, energyJoules: null });
    expect(parseUsage("0m0s 0m0s\n0m2s 0m1s\n")).toEqual({ cpuTimeMs: 3000, maxRssBytes: null, energyJoules: null });
  });
});

describe("accounting", () => {
  it("takes elapsed, CPUs, requested memory, nodes and queue time from scontrol's line", () => {
    const fields = slurmFields(
      "JobId=42 JobName=linear JobState=COMPLETED Reason=None RunTime=00:01:05 SubmitTime=2026-11-29T03:00:00 StartTime=2026-11-29T03:00:04 NodeList=n[01-02] NumCPUs=4 MinMemoryNode=2G",
    );
    expect(accounting("juwels", "42", fields, { cpuTimeMs: 1000, maxRssBytes: 5, energyJoules: null }, [])).toEqual({
      executor: "slurm",
      cluster: "juwels",
      jobId: "42",
      state: "COMPLETED",
      nodes: "n[01-02]",
      elapsedMs: 65_000,
      cpus: 4,
      memoryBytes: 2 * 1024 ** 3,
      queuedMs: 4000,
      cpuTimeMs: 1000,
      maxRssBytes: 5,
      energyJoules: null,
      retries: [],
    });
  });
  it("computes requested memory per CPU when the job asked so", () => {
    expect(accounting("c", "1", slurmFields("JobId=1 NumCPUs=2 MinMemoryCPU=512M RunTime=1-00:00:00"), { cpuTimeMs: null, maxRssBytes: null, energyJoules: null }, [])).toMatchObject({
      memoryBytes: 1024 ** 3,
      elapsedMs: 86_400_000,
    });
  });
});

describe("memoryKill", () => {
  it("reads slurmstepd's kill message (OverMemoryKill) and suggests twice the peak in 256 MiB steps", () => {
    const log = "slurmstepd-vm: error: StepId=1.batch exceeded memory limit (158187520 > 104857600), being killed\n";
    expect(memoryKill("FAILED", log, 104857600, null)).toBe(
      "was killed by Slurm for exceeding its memory: its memory reached at least 151MiB, the limit was 100MiB (peak 158187520 bytes); set resources.memory to 512MiB or more in its maelstrom.yaml",
    );
  });
  it("takes OUT_OF_MEMORY (cgroup clusters) with the peak the job measured, or the limit when nothing was measured", () => {
    expect(memoryKill("OUT_OF_MEMORY", "", 1024 ** 3, 1.2 * 1024 ** 3)).toContain("at least 1229MiB, the limit was 1024MiB");
    expect(memoryKill("OUT_OF_MEMORY", "", 1024 ** 3, null)).toBe(
      "was killed by Slurm for exceeding its memory: it used more memory than it asked for, the limit was 1024MiB; set resources.memory to 2048MiB or more in its maelstrom.yaml",
    );
  });
  it("is null for a job that was not killed for memory", () => {
    expect(memoryKill("FAILED", "Traceback: ValueError", 1024, 2048)).toBeNull();
  });
});

describe("jobIdsOf", () => {
  it("names a plain job by its id and a running array task as ARRAYJOB_TASK", () => {
    expect(jobIdsOf(slurmFields("JobId=42 JobState=RUNNING"))).toEqual(["42"]);
    expect(jobIdsOf(slurmFields("JobId=57 ArrayJobId=50 ArrayTaskId=7 JobState=RUNNING"))).toEqual(["50_7"]);
  });
  it("expands the array's one record of its pending tasks into each of them", () => {
    expect(jobIdsOf(slurmFields("JobId=50 ArrayJobId=50 ArrayTaskId=5-7,9 JobState=PENDING"))).toEqual(["50_5", "50_6", "50_7", "50_9"]);
    expect(jobIdsOf(slurmFields("JobId=50 ArrayJobId=50 ArrayTaskId=2-3%10 JobState=PENDING"))).toEqual(["50_2", "50_3"]);
  });
});

describe("slurmFields on a job line", () => {
  it("keeps Slurm's own fields when a path later on the line holds KEY=VALUE", () => {
    const fields = slurmFields("JobId=9 JobState=FAILED RunTime=00:00:01 WorkDir=/tmp/ws JobState=COMPLETED/x StdOut=/tmp/ws/log");
    expect(fields.get("JobState")).toBe("FAILED");
    expect(fields.get("WorkDir")).toBe("/tmp/ws");
  });
});
