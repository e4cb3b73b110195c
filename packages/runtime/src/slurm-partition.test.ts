import { describe, expect, it } from "vitest";
import { gresGpus, partitionLimits, partitionProblems, slurmFields, slurmMinutes, type PartitionLimits } from "./slurm-partition.js";

// As Slurm 22.05 prints them (the private test cluster's partition and node), one line each.
const DEBUG =
  "PartitionName=debug AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=01:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerCPU=1024 MaxMemPerNode=UNLIMITED TRES=cpu=2,mem=23081M,node=1,billing=2";
const GPU = "PartitionName=gpu Default=NO MaxTime=2-00:00:00 MaxCPUsPerNode=64 Nodes=g[1-2] State=UP MaxMemPerCPU=4096";
const NODE =
  "NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=2.92 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8 OS=Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=23081 AllocMem=0 FreeMem=21078 Sockets=2 Boards=1 State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=debug  BootTime=2026-11-28T22:32:37 CfgTRES=cpu=2,mem=23081M,billing=2 Reason=swapped DIMM, RealMemory=4096 now [root@2026-11-28T22:00:00]";
const GPU_NODES = [
  "NodeName=g1 CPUTot=32 RealMemory=256000 Gres=gpu:a100:4(S:0-1) Partitions=gpu,batch State=IDLE",
  "NodeName=g2 CPUTot=128 RealMemory=512000 Gres=gpu:a100:2(S:0,1),mps:100 Partitions=gpu State=MIXED",
].join("\n");

const debug = partitionLimits(DEBUG, NODE, "debug") as PartitionLimits;
const gpu = partitionLimits(`${DEBUG}\n${GPU}\n`, `${NODE}\n${GPU_NODES}\n`, "gpu") as PartitionLimits;
const ask = (request: Partial<Parameters<typeof partitionProblems>[1]>) => ({ cpus: 1, memoryBytes: 1024 ** 3, gpus: 0, minutes: null, ...request });

describe("reading scontrol's one-line output", () => {
  it("takes the first occurrence of a key, so words of a later value with spaces (Reason=…) cannot replace a field", () => {
    const fields = slurmFields(NODE);
    expect(fields.get("RealMemory")).toBe("23081");
    expect(fields.get("OS")).toBe("Linux");
    expect(fields.get("Partitions")).toBe("debug");
    expect(fields.get("CfgTRES")).toBe("cpu=2,mem=23081M,billing=2");
  });

  it("reads Slurm's time notations in minutes", () => {
    expect(slurmMinutes("01:00:00")).toBe(60);
    expect(slurmMinutes("2-00:00:00")).toBe(2880);
    expect(slurmMinutes("1-12")).toBe(2160);
    expect(slurmMinutes("1-00:30")).toBe(1470);
    expect(slurmMinutes("30")).toBe(30);
    expect(slurmMinutes("10:30")).toBe(11);
    expect(slurmMinutes("00:00:01")).toBe(1);
    expect(slurmMinutes("UNLIMITED")).toBeNull();
    expect(slurmMinutes("NONE")).toBeNull();
    expect(slurmMinutes(undefined)).toBeNull();
  });

  it("counts the GPUs of a node's Gres", () => {
    expect(gresGpus("(null)")).toBe(0);
    expect(gresGpus("gpu:4")).toBe(4);
    expect(gresGpus("gpu")).toBe(1);
    expect(gresGpus("gpu:a100:4(S:0-1)")).toBe(4);
    expect(gresGpus("gpu:a100:2,gpu:v100:1")).toBe(3);
    expect(gresGpus("gpu:a100:2(S:0,1),mps:100")).toBe(2);
    expect(gresGpus("mps:100")).toBe(0);
  });

  it("reads a partition's limits and only the nodes in it", () => {
    expect(debug).toEqual({
      partition: "debug",
      maxMinutes: 60,
      maxTimeText: "01:00:00",
      maxCpusPerNode: null,
      maxMemPerNodeMb: null,
      maxMemPerCpuMb: null,
      nodes: [{ name: "vm", cpus: 2, memoryMb: 23081, gpus: 0 }],
    });
    expect(gpu).toMatchObject({ maxMinutes: 2880, maxCpusPerNode: 64, maxMemPerCpuMb: 4096, maxMemPerNodeMb: null });
    expect(gpu.nodes.map((n) => [n.name, n.cpus, n.gpus])).toEqual([
      ["g1", 32, 4],
      ["g2", 128, 2],
    ]);
    expect(partitionLimits(DEBUG, NODE, "nosuch")).toBeNull();
  });
});

describe("partitionProblems", () => {
  it("accepts what fits", () => {
    expect(partitionProblems(debug, ask({ cpus: 2, memoryBytes: 22 * 1024 ** 3, minutes: 60 }))).toEqual([]);
    expect(partitionProblems(gpu, ask({ cpus: 32, gpus: 4, memoryBytes: 100 * 1024 ** 3, minutes: 2880 }))).toEqual([]);
  });

  it("names time over MaxTime, CPUs over the largest node, memory over the largest node, GPUs where there are none", () => {
    expect(partitionProblems(debug, ask({ minutes: 120 }))).toEqual([{ field: "time", asked: "120 min", limit: "60 min (MaxTime=01:00:00)" }]);
    expect(partitionProblems(debug, ask({ cpus: 3 }))).toEqual([{ field: "cpus", asked: "3 CPUs", limit: "2 CPUs (the largest of its 1 node has 2 CPUs)" }]);
    expect(partitionProblems(debug, ask({ memoryBytes: 64 * 1024 ** 3 }))).toEqual([
      { field: "memory", asked: "64.0 GiB", limit: "22.5 GiB (the largest of its 1 node has RealMemory=23081M)" },
    ]);
    expect(partitionProblems(debug, ask({ gpus: 1 }))).toEqual([{ field: "gpus", asked: "1 GPUs", limit: "no GPUs (no node of the partition has gres gpu)" }]);
    expect(partitionProblems(debug, ask({ cpus: 4, minutes: 61 })).map((p) => p.field)).toEqual(["time", "cpus"]);
  });

  it("applies the partition's own limits: MaxCPUsPerNode, MaxMemPerNode, MaxMemPerCPU", () => {
    expect(partitionProblems(gpu, ask({ cpus: 100 }))).toEqual([{ field: "cpus", asked: "100 CPUs", limit: "64 CPUs (MaxCPUsPerNode=64)" }]);
    expect(partitionProblems(gpu, ask({ gpus: 5 }))).toEqual([{ field: "gpus", asked: "5 GPUs", limit: "4 GPUs (the largest of its 2 nodes has 4 in its Gres)" }]);
    // 64 CPUs at most × 4 GiB per CPU.
    expect(partitionProblems(gpu, ask({ memoryBytes: 300 * 1024 ** 3 }))).toEqual([
      { field: "memory", asked: "300.0 GiB", limit: "256.0 GiB (MaxMemPerCPU=4096M × 64 CPUs of a node)" },
    ]);
    const capped: PartitionLimits = { ...debug, maxMemPerNodeMb: 8192 };
    expect(partitionProblems(capped, ask({ memoryBytes: 9 * 1024 ** 3 }))).toEqual([{ field: "memory", asked: "9.0 GiB", limit: "8.0 GiB (MaxMemPerNode=8192M)" }]);
  });

  it("needs one node with everything at once", () => {
    // g2 has the CPUs, g1 the GPUs, neither both.
    const problems = partitionProblems(gpu, ask({ cpus: 64, gpus: 4 }));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.limit).toContain("no single node has all of them (nodes: g1 32 CPUs/250.0 GiB/4 GPUs, g2 128 CPUs/500.0 GiB/2 GPUs)");
  });

  it("leaves time to the partition's default when the step sets none, and node checks out when Slurm lists no nodes", () => {
    expect(partitionProblems(debug, ask({ minutes: null }))).toEqual([]);
    expect(partitionProblems({ ...debug, nodes: [] }, ask({ cpus: 1000, gpus: 8 }))).toEqual([]);
  });
});
