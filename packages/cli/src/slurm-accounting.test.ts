/**
 * The Slurm side of runs show, logs -f and models show, against a private single-node cluster:
 * the seattle-weather example trained as Slurm jobs (the acceptance), and a job's live
 * state while it waits and runs.
 */
import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { cli, cliProcessWithEnv, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, SchedulerJson } from "./slurm-test-json.js";

const example = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "examples", "seattle-weather");

interface SlurmComputeJson {
  jobs: (SchedulerJson & { cluster: string; stepId: string; cpuTimeMs: number | null; maxRssBytes: number | null; energyJoules: number | null })[];
  elapsedMs: number;
  coreHours: number;
}
interface ModelJson {
  ref: string;
  stateDigest: string;
  record: { resources: { slurm?: SlurmComputeJson } };
}

/** A child's stdout so far, and its exit code once it exited. */
function watch(child: ChildProcess): { stdout: () => string; exited: Promise<number | null> } {
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  return { stdout: () => stdout, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(slurmMissing !== null)("Slurm accounting and live status on a private single-node cluster", () => {
  let cluster: TestCluster;
  let root: string;
  let artifacts: string;
  const slurmCli = (...args: string[]) => cliWithEnv(root, cluster.env, ...args);

  beforeAll(async () => {
    cluster = await startTestCluster();
    ({ root, artifacts } = fixtureWorkspace());
    writeFiles(artifacts, {
      "nap/maelstrom.yaml": "kind: dataset\nname: nap\nruntime: shell\ncommand: echo napping; sleep {params.seconds}; echo awake\nparameters:\n  seconds: { type: int, default: 3 }\nresources: { time: 1m }\n",
      "broken/maelstrom.yaml": "kind: dataset\nname: broken\nruntime: shell\ncommand: echo giving up; exit 3\n",
    });
    for (const path of [join(example, "dataset"), join(example, "transform"), join(example, "model"), join("artifacts", "nap"), join("artifacts", "broken")]) expect(cli(root, "add", path).code).toBe(0);
    expect(slurmCli("cluster", "add", "local", "--partition", cluster.partition, "--time", "10m").code).toBe(0);
  }, 120_000);
  afterAll(() => {
    cluster?.stop();
    if (root !== undefined) removeDir(root);
  });

  it("seattle-weather trains as Slurm jobs: the model version lists the jobs and their accounting, and its weights equal a local train's", () => {
    const train = ["train", "seattle-weather-features", "seattle-weather-classifier", "--data", "seattle-weather", "--set", "trees=20"];
    const remote = json<{ run: RunJson; models: ModelJson[] }>(slurmCli(...train, "--executor", "slurm", "--json"));
    expect(remote.run.status).toBe("succeeded");
    const ref = remote.models[0]?.ref ?? "";
    const shown = json<ModelJson>(slurmCli("models", "show", ref, "--json"));
    const slurm = shown.record.resources.slurm;
    const jobIds = remote.run.steps.map((s) => /^slurm:local:(.+)$/.exec(s.placement ?? "")?.[1]);
    expect(slurm?.jobs.map((j) => [j.stepId, j.jobId, j.cluster, j.state])).toEqual(remote.run.steps.map((s, i) => [s.stepId, jobIds[i], "local", "COMPLETED"]));
    for (const job of slurm?.jobs ?? []) {
      expect(job.cpus).toBeGreaterThanOrEqual(1);
      expect(job.nodes).not.toBe("");
      expect(job.elapsedMs).toBeGreaterThanOrEqual(0);
    }
    // Slurm counts RunTime in whole seconds: a step under a second shows 0, the forest takes longer.
    expect(slurm?.jobs.at(-1)?.elapsedMs).toBeGreaterThan(0);
    expect(slurm?.elapsedMs).toBe(slurm?.jobs.reduce((sum, j) => sum + j.elapsedMs, 0));
    expect(slurm?.coreHours).toBeGreaterThan(0);

    const text = slurmCli("models", "show", ref);
    expect(text.stdout).toMatch(/ {2}slurm: {8}3 jobs, elapsed \S+, \S+ core-hours allocated \(elapsed × CPUs\), CPU time .*, CPU efficiency .*, energy /);
    for (const id of jobIds) expect(text.stdout).toContain(`    job ${id} (local, step `);

    const runShown = slurmCli("runs", "show", remote.run.id);
    expect(runShown.stdout).toContain("\nslurm:\n");
    expect(runShown.stdout).toMatch(new RegExp(`  seattle-weather-classifier: slurm job ${jobIds.at(-1)} COMPLETED on \\S+ \\(cluster local\\)\\n    queued \\S+, elapsed \\S+ on 1 CPU, memory requested 1\\.0 GiB\\n    CPU time .*; CPU efficiency .*\\n    peak memory .*; memory efficiency .*\\n    energy `));
    // The node runner measures itself when Slurm does not report: the output says whose figure it is.
    expect(runShown.stdout).toMatch(/CPU time (\d|not reported by Slurm; the step runner measured \d)/);

    if (process.env["SHOW_OUTPUT"] === "1") console.log(`${text.stdout}\n${runShown.stdout}`);
    const local = json<{ models: ModelJson[] }>(cli(root, ...train, "--no-cache", "--json"));
    expect(local.models[0]?.stateDigest).toBe(remote.models[0]?.stateDigest);
    expect(json<ModelJson>(cli(root, "models", "show", local.models[0]?.ref ?? "", "--json")).record.resources.slurm).toBeUndefined();
  }, 300_000);

  it("runs show and logs -f show a job's live state: queued (and why), running (and where), then how it ended", async () => {
    const partition = (state: string) => expect(cluster.command("scontrol", "update", `partitionname=${cluster.partition}`, `state=${state}`).code).toBe(0);
    // A down partition keeps the job pending with reason PartitionDown until it is up again.
    partition("down");
    try {
      const run = watch(cliProcessWithEnv(root, cluster.env, "run", "nap", "--set", "seconds=10", "--executor", "slurm", "--no-cache"));
      const pending = await until("the job pending in runs show", () => {
        const runs = json<RunJson[]>(cli(root, "runs", "list", "--json", "--limit", "1"));
        const step = runs[0]?.status === "running" ? runs[0].steps[0] : undefined;
        return step?.schedulerStatus?.state === "PENDING" ? { runId: runs[0]?.id ?? "", status: step.schedulerStatus } : undefined;
      });
      const { runId } = pending;
      const jobId = pending.status.jobId;
      expect(pending.status.reason).toBe("PartitionDown");
      expect(cli(root, "runs", "show", runId).stdout).toContain(`  nap: queued on slurm job ${jobId} (PENDING: PartitionDown)`);

      const follow = watch(cliProcessWithEnv(root, cluster.env, "logs", runId, "nap", "-f"));
      await until("logs -f to print the pending state", () => (follow.stdout().includes("[slurm]") ? true : undefined));
      partition("up");
      const node = await until("the job running in runs show", () => {
        const step = json<RunJson>(cli(root, "runs", "show", runId, "--json")).steps[0];
        return step?.schedulerStatus?.state === "RUNNING" ? step.schedulerStatus.nodes : undefined;
      });
      expect(node).not.toBe("");
      expect(cli(root, "runs", "show", runId).stdout).toContain(`  nap: running on slurm job ${jobId} on ${node}`);

      expect(await run.exited).toBe(0);
      expect(await follow.exited).toBe(0);
      // The states are what the engine's polls saw (every 0.5 to 5 s): the job may print before its RUNNING shows.
      const lines = follow.stdout().split("\n");
      expect(lines[0]).toBe(`[slurm] job ${jobId} PENDING (PartitionDown)`);
      expect(lines.filter((l) => l !== `[slurm] job ${jobId} RUNNING on ${node}`)).toEqual([lines[0], "napping", "awake", `[slurm] job ${jobId} COMPLETED on ${node}`, ""]);
      expect(lines).toContain(`[slurm] job ${jobId} RUNNING on ${node}`);
      if (process.env["SHOW_OUTPUT"] === "1") console.log(follow.stdout());

      const shown = json<RunJson>(cli(root, "runs", "show", runId, "--json")).steps[0];
      expect(shown?.schedulerStatus).toEqual({ jobId, state: "COMPLETED", reason: "", nodes: node });
      const text = cli(root, "runs", "show", runId).stdout;
      // The job measured a command step's CPU time and peak memory itself: a sleep uses next to no CPU.
      expect(text).toContain(`  nap: slurm job ${jobId} COMPLETED on ${node} (cluster local)`);
      expect(text).toMatch(/ {4}CPU time \d+ms; CPU efficiency \d+\.\d%\n {4}peak memory [\d.]+ MiB; memory efficiency [\d.]+%/);
      if (process.env["SHOW_OUTPUT"] === "1") console.log(text);
    } finally {
      partition("up");
    }
  }, 180_000);

  it("a failed job keeps the state it ended in: runs show names it (there is no accounting for a failed step)", () => {
    const failed = slurmCli("run", "broken", "--executor", "slurm", "--no-cache");
    expect(failed.code).toBe(4);
    const run = json<RunJson[]>(cli(root, "runs", "list", "--json", "--limit", "1"))[0];
    const step = run?.steps[0];
    const jobId = /^slurm:local:(.+)$/.exec(step?.placement ?? "")?.[1] ?? "";
    expect(step?.schedulerStatus).toMatchObject({ jobId, state: "FAILED" });
    expect(cli(root, "runs", "show", run?.id ?? "").stdout).toContain(`\nslurm:\n  broken: slurm job ${jobId} ended FAILED on ${step?.schedulerStatus?.nodes ?? "?"}\n`);
  }, 120_000);
});
