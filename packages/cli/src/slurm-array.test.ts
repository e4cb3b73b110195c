import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { addFixtures, cli, cliProcessWithEnv, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, TrainJson } from "./slurm-test-json.js";

/** A private cluster and a workspace with the fixture chain points → scale → linear and a sleeping step, on cluster `local`. */
function slurmWorkspace(maxArraySize?: number) {
  const state = {} as { cluster: TestCluster; root: string };
  beforeAll(async () => {
    state.cluster = await startTestCluster(maxArraySize === undefined ? {} : { maxArraySize });
    const { root, artifacts } = fixtureWorkspace();
    state.root = root;
    addFixtures(root);
    writeFiles(artifacts, {
      "nap/maelstrom.yaml": "kind: dataset\nname: nap\nruntime: shell\ncommand: echo napping {params.seconds}; sleep {params.seconds}\nparameters:\n  seconds: { type: int, default: 600 }\nresources: { time: 10m }\n",
    });
    expect(cli(root, "add", join("artifacts", "nap")).code).toBe(0);
    expect(cliWithEnv(root, state.cluster.env, "cluster", "add", "local", "--partition", state.cluster.partition).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    state.cluster?.stop();
    if (state.root !== undefined) removeDir(state.root);
  });
  return state;
}

/** The job ids of a run's steps whose id starts with `prefix`, from their placements `slurm:local:JOBID`. */
function jobIds(run: RunJson, prefix: string): string[] {
  return run.steps.filter((s) => s.stepId.startsWith(prefix)).map((s) => /^slurm:local:(\d+(?:_\d+)?)$/.exec(s.placement ?? "")?.[1] ?? `not a Slurm placement: ${s.placement}`);
}

describe.skipIf(slurmMissing !== null)("Slurm job arrays", () => {
  const ws = slurmWorkspace();
  const slurmCli = (...args: string[]) => cliWithEnv(ws.root, ws.cluster.env, ...args);

  it("a sweep goes out as one job array (task ids in the placements), and registers what the same sweep registers locally", () => {
    const sweep = ["train", "scale", "linear", "--data", "points", "--sweep", "ridge=0,5,50,500", "--no-cache", "--json"];
    const remote = json<TrainJson>(slurmCli(...sweep, "--executor", "slurm"));
    expect(remote.run.status).toBe("succeeded");
    const branches = jobIds(remote.run, "linear[");
    expect(branches).toHaveLength(4);
    // One array: ARRAYJOB_0 … ARRAYJOB_3.
    const arrayId = branches[0]?.split("_")[0] ?? "";
    expect(branches.sort()).toEqual([0, 1, 2, 3].map((i) => `${arrayId}_${i}`));
    for (const id of branches) {
      const shown = ws.cluster.command("scontrol", "-o", "show", "job", id).stdout;
      expect(shown).toContain(`ArrayJobId=${arrayId} `);
      expect(shown).toContain("JobState=COMPLETED");
    }
    // The steps before the sweep are one job each (a single step stays a plain job).
    expect(jobIds(remote.run, "points")[0]).toMatch(/^\d+$/);
    expect(jobIds(remote.run, "scale")[0]).toMatch(/^\d+$/);
    // Accounting names the task; each step keeps its own job.sh and log.
    const shown = json<RunJson>(slurmCli("runs", "show", remote.run.id, "--json"));
    for (const step of shown.steps.filter((s) => s.stepId.startsWith("linear["))) {
      expect(step.resources?.scheduler).toMatchObject({ jobId: /^slurm:local:(.*)$/.exec(step.placement ?? "")?.[1], state: "COMPLETED" });
      const dir = join(ws.root, ".maelstrom", "runs", remote.run.id, step.stepId);
      expect(readFileSync(join(dir, "job.sh"), "utf8")).toMatch(/^#!\/bin\/sh\n#SBATCH --job-name=linear_ridge_/);
    }

    const local = json<TrainJson>(cli(ws.root, ...sweep));
    expect(remote.models.map((m) => m.stateDigest)).toEqual(local.models.map((m) => m.stateDigest));
    expect(remote.models).toHaveLength(4);
    expect(remote.run.steps.map((s) => [s.stepId, s.outputs])).toEqual(local.run.steps.map((s) => [s.stepId, s.outputs]));
  }, 240_000);

  it("Ctrl-C of a run whose steps wait as an array cancels every task", async () => {
    const child = cliProcessWithEnv(ws.root, ws.cluster.env, "run", "nap", "--sweep", "seconds=300,301,302,303,304,305", "--executor", "slurm");
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let tasks: string[] = [];
    for (let i = 0; i < 300 && tasks.length < 6; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      tasks = ws.cluster.command("squeue", "--noheader", "--array", "--name=nap", "--format=%i").stdout.trim().split("\n").filter(Boolean);
    }
    expect(tasks).toHaveLength(6);
    const arrayId = tasks[0]?.split("_")[0] ?? "";
    expect(tasks.every((id) => id.startsWith(`${arrayId}_`))).toBe(true);
    // Some tasks run (the node has few CPUs), the others are pending: both kinds are cancelled.
    for (let i = 0; i < 300 && ws.cluster.command("squeue", "--noheader", "--states=RUNNING", `--jobs=${arrayId}`).stdout.trim() === ""; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain("cancelled");
    expect(ws.cluster.command("squeue", "--noheader", "--array", `--jobs=${arrayId}`).stdout.trim()).toBe("");
    // A running task ends CANCELLED; Slurm forgets a pending task of an array that is cancelled.
    const states = tasks.map((id) => /JobState=(\S+)/.exec(ws.cluster.command("scontrol", "-o", "show", "job", id).stdout)?.[1] ?? "forgotten");
    expect(states).toContain("CANCELLED");
    expect(states.every((state) => state === "CANCELLED" || state === "forgotten")).toBe(true);
    // The tasks that ran wrote to their own steps' logs.
    const runId = json<RunJson[]>(cli(ws.root, "runs", "list", "--json"))[0]?.id ?? "";
    const run = json<RunJson>(cli(ws.root, "runs", "show", runId, "--json"));
    const logFiles = run.steps.map((s) => join(ws.root, ".maelstrom", "runs", runId, s.stepId, "step.log"));
    const logs = logFiles.filter((file) => existsSync(file)).map((file) => readFileSync(file, "utf8"));
    expect(logs.filter((log) => /^napping 30\d\n/.test(log)).length).toBeGreaterThan(0);
    expect(run.status).toBe("cancelled");
    expect(run.steps.map((s) => s.status)).toEqual(Array(6).fill("cancelled"));
  }, 120_000);
});

describe.skipIf(slurmMissing !== null)("Slurm job arrays on a cluster with MaxArraySize=2", () => {
  const ws = slurmWorkspace(2);

  it("a 5-point sweep goes out in chunks of at most 2 tasks: two arrays and a plain job", () => {
    const remote = json<TrainJson>(cliWithEnv(ws.root, ws.cluster.env, "train", "scale", "linear", "--data", "points", "--sweep", "ridge=0,1,2,3,4", "--executor", "slurm", "--json"));
    expect(remote.run.status).toBe("succeeded");
    const branches = jobIds(remote.run, "linear[");
    const submissions = new Map<string, string[]>();
    for (const id of branches) {
      const job = id.split("_")[0] ?? id;
      submissions.set(job, [...(submissions.get(job) ?? []), id]);
    }
    const shapes = [...submissions.values()].map((ids) => ids.sort().map((id) => id.split("_")[1] ?? "plain"));
    expect(shapes.sort((a, b) => b.length - a.length)).toEqual([["0", "1"], ["0", "1"], ["plain"]]);
    expect(remote.models).toHaveLength(5);
  }, 240_000);
});
