import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { addFixtures, cli, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, TrainJson } from "./slurm-test-json.js";

interface PlanJson {
  steps: { id: string; status: string; reason: string; executor: string; executorReason: string }[];
}

/** The pipeline points → scale → linear as a graph; `executor` goes on the scale step when given. */
const graph = (name: string, executor: string | null): string =>
  [
    "kind: pipeline",
    `name: ${name}`,
    "steps:",
    "  - { id: points, ref: points }",
    `  - { id: scale, ref: scale, inputs: { data: points }, parameters: { factor: 2 }${executor === null ? "" : `, executor: '${executor}'`} }`,
    "  - { id: linear, ref: linear, inputs: { data: scale } }",
    "",
  ].join("\n");

describe.skipIf(slurmMissing !== null)("choosing where steps run: per step, by rule, per run; partition limits", () => {
  let cluster: TestCluster;
  let root: string;
  let artifacts: string;
  const slurmCli = (...args: string[]) => cliWithEnv(root, cluster.env, ...args);
  const runCount = (): number => json<RunJson[]>(cli(root, "runs", "list", "--json")).length;
  const queue = (): string => cluster.command("squeue", "--noheader", "--states=all").stdout.trim();

  beforeAll(async () => {
    cluster = await startTestCluster();
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    writeFiles(artifacts, {
      "mixed/maelstrom.yaml": graph("mixed", "slurm:local"),
      "all-local/maelstrom.yaml": graph("all-local", null),
      "greet/maelstrom.yaml": "kind: dataset\nname: greet\nruntime: shell\ncommand: printf hello > {outputs.data}/who.txt\n",
      // Asks for more memory than steps declare by default (1 GiB): the rule below sends it to Slurm.
      "heavy/maelstrom.yaml": "kind: transform\nname: heavy\nruntime: shell\ncommand: tr a-z A-Z < {inputs.data}/who.txt > {outputs.data}/who.txt\nresources: { memory: 1536MiB }\n",
      "long/maelstrom.yaml": "kind: dataset\nname: long\nruntime: shell\ncommand: echo long > {outputs.data}/x.txt\nresources: { time: 2h }\n",
      "wide/maelstrom.yaml": `kind: dataset\nname: wide\nruntime: shell\ncommand: echo wide > {outputs.data}/x.txt\nresources: { cpus: ${availableParallelism() + 1} }\n`,
      "gpu/maelstrom.yaml": "kind: dataset\nname: gpu\nruntime: shell\ncommand: echo gpu > {outputs.data}/x.txt\nresources: { gpus: 1 }\n",
      "bad-executor/maelstrom.yaml": "kind: pipeline\nname: bad-executor\nsteps:\n  - greet\n  - ref: heavy\n    executor: kubernetes\n",
    });
    for (const name of ["mixed", "all-local", "greet", "heavy", "long", "wide", "gpu"]) expect(cli(root, "add", join("artifacts", name)).stderr).toBe("");
    expect(slurmCli("cluster", "add", "local", "--partition", cluster.partition, "--time", "10m").code).toBe(0);
  }, 120_000);
  afterAll(() => {
    cluster?.stop();
    if (root !== undefined) removeDir(root);
  });

  it("a graph with one step on Slurm (executor: in the pipeline) and the others local: placements say so, outputs equal an all-local run", () => {
    const planned = json<PlanJson>(slurmCli("plan", "mixed", "--fuse", "--no-cache", "--json"));
    expect(planned.steps.map((s) => [s.id, s.executor, s.executorReason])).toEqual([
      ["points", "local", "default"],
      ["scale", "slurm:local", "executor: slurm:local in the pipeline"],
      ["linear", "local", "default"],
    ]);
    // points and scale are both node steps that --fuse would run in one process, but not across executors.
    expect(planned.steps.some((s) => s.reason.includes("fused"))).toBe(false);
    expect(slurmCli("plan", "mixed", "--no-cache").stdout).toMatch(/scale\s+scale\s+points\s+to run\s+slurm:local\s/);

    const mixed = json<TrainJson>(slurmCli("train", "mixed", "--fuse", "--no-cache", "--json"));
    expect(mixed.run.status).toBe("succeeded");
    const placement = Object.fromEntries(json<RunJson>(slurmCli("runs", "show", mixed.run.id, "--json")).steps.map((s) => [s.stepId, s.placement ?? ""]));
    expect(placement["points"]).toMatch(/^local:[^:]+:\d+$/);
    expect(placement["scale"]).toMatch(/^slurm:local:\d+$/);
    expect(placement["linear"]).toMatch(/^local:[^:]+:\d+$/);
    const jobId = placement["scale"]?.split(":")[2] ?? "";
    expect(cluster.command("scontrol", "-o", "show", "job", jobId).stdout).toContain("JobState=COMPLETED");

    const local = json<TrainJson>(cli(root, "train", "all-local", "--no-cache", "--json"));
    expect(local.run.steps.every((s) => s.placement?.startsWith("local:"))).toBe(true);
    expect(mixed.run.steps.map((s) => [s.stepId, s.outputs])).toEqual(local.run.steps.map((s) => [s.stepId, s.outputs]));
    expect(mixed.models[0]?.stateDigest).toBe(local.models[0]?.stateDigest);
  }, 180_000);

  it("a cluster's --when rule sends only the steps that match to it; --executor places the rest", () => {
    expect(slurmCli("cluster", "add", "big", "--partition", cluster.partition, "--when", "memory>1GiB", "--when", "gpus>0").stdout).toContain(
      "cluster big added: partition debug, transport local; steps matching 'memory>1GiB' or 'gpus>0' go to it",
    );
    try {
      expect(slurmCli("cluster", "list").stdout).toContain("  when: memory>1GiB\n  when: gpus>0\n");
      const planned = json<PlanJson>(slurmCli("plan", "greet", "heavy", "--no-cache", "--executor", "slurm:local", "--json"));
      expect(planned.steps.map((s) => [s.id, s.executor, s.executorReason])).toEqual([
        ["greet", "slurm:local", "--executor slurm:local"],
        ["heavy", "slurm:big", "rule 'memory>1GiB' of cluster big"],
      ]);

      const run = json<TrainJson>(slurmCli("run", "greet", "heavy", "--no-cache", "--json"));
      expect(run.run.status).toBe("succeeded");
      const [greet, heavy] = json<RunJson>(slurmCli("runs", "show", run.run.id, "--json")).steps;
      expect(greet?.placement).toMatch(/^local:/);
      expect(heavy?.placement).toMatch(/^slurm:big:\d+$/);
      const job = cluster.command("scontrol", "-o", "show", "job", heavy?.placement?.split(":")[2] ?? "").stdout;
      expect(job).toContain("JobName=heavy");
      expect(job).toContain("MinMemoryNode=1.50G");
    } finally {
      expect(slurmCli("cluster", "remove", "big").code).toBe(0);
    }
  }, 120_000);

  it("bad inputs stop before a run is created, with nothing submitted: limits of the partition, an unknown partition, a bad executor, a bad rule", () => {
    const runs = runCount();
    const long = slurmCli("run", "long", "--executor", "slurm:local");
    expect(long.code).toBe(2);
    expect(long.stderr).toContain(
      "step 'long' (dataset long) asks for more than partition 'debug' of cluster 'local' allows: time 120 min, at most 60 min (MaxTime=01:00:00); lower resources.time in its maelstrom.yaml",
    );

    const cpus = availableParallelism();
    const wide = slurmCli("run", "wide", "--executor", "slurm:local");
    expect(wide.code).toBe(2);
    expect(wide.stderr).toContain(`step 'wide' (dataset wide) asks for more than partition 'debug' of cluster 'local' allows: cpus ${cpus + 1} CPUs, at most ${cpus} CPUs (the largest of its 1 node has ${cpus} CPUs)`);

    const gpu = slurmCli("plan", "gpu", "--executor", "slurm:local");
    expect(gpu.code).toBe(2);
    expect(gpu.stderr).toContain("gpus 1 GPUs, at most no GPUs (no node of the partition has gres gpu)");

    // The cluster's default time above MaxTime, for a step that declares none.
    expect(slurmCli("cluster", "add", "slow", "--partition", cluster.partition, "--time", "3h").code).toBe(0);
    const slow = slurmCli("run", "greet", "--executor", "slurm:slow");
    expect(slow.code).toBe(2);
    expect(slow.stderr).toContain("time 180 min, at most 60 min (MaxTime=01:00:00); lower the cluster's --time (maelstrom cluster add slow ... --time)");

    expect(slurmCli("cluster", "add", "nowhere", "--partition", "nosuch").code).toBe(0);
    const nowhere = slurmCli("run", "greet", "--executor", "slurm:nowhere");
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("cluster 'nowhere': partition 'nosuch' does not exist; the cluster's partitions: debug");
    for (const name of ["slow", "nowhere"]) expect(slurmCli("cluster", "remove", name).code).toBe(0);

    const unknown = cli(root, "add", join("artifacts", "bad-executor"));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/maelstrom\.yaml:6:15: field 'steps\[1\]\.executor': expected an executor: local, slurm \(the only configured cluster\) or slurm:NAME .*, got 'kubernetes'/);

    const rule = slurmCli("cluster", "add", "gpus", "--partition", cluster.partition, "--when", "gpu>0");
    expect(rule.code).toBe(2);
    expect(rule.stderr).toContain("executor rule 'gpu>0': unknown field 'gpu'; expected FIELD OP VALUE");
    expect(slurmCli("cluster", "list").stdout).not.toContain("gpus:");

    expect(queue()).not.toMatch(/\b(long|wide|gpu|greet)\b/);
    expect(runCount()).toBe(runs);
  }, 120_000);
});
