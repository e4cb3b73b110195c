import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { addFixtures, cli, cliProcessWithEnv, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, TrainJson } from "./slurm-test-json.js";

/** Steps that only a test of a scheduler needs: one that prints a parameter, one that sleeps. */
function addSlurmArtifacts(artifacts: string): void {
  writeFiles(artifacts, {
    "greet/maelstrom.yaml": "kind: dataset\nname: greet\nruntime: shell\ncommand: printf '%s' {params.who} > {outputs.data}/who.txt\nparameters:\n  who: { type: string, default: world }\n",
    "shout/maelstrom.yaml": "kind: transform\nname: shout\nruntime: shell\ncommand: tr a-z A-Z < {inputs.data}/who.txt > {outputs.data}/who.txt\n",
    "nap/maelstrom.yaml": "kind: dataset\nname: nap\nruntime: shell\ncommand: echo napping; sleep {params.seconds}\nparameters:\n  seconds: { type: int, default: 600 }\nresources: { time: 1m }\n",
  });
}

describe.skipIf(slurmMissing !== null)("Slurm executor on a private single-node cluster", () => {
  let cluster: TestCluster;
  let root: string;
  let artifacts: string;
  /** The CLI against the private cluster (SLURM_CONF). */
  const slurmCli = (...args: string[]) => cliWithEnv(root, cluster.env, ...args);
  /** `run nap` on Slurm in the background: its exit code, and its stderr so far. */
  const napping = (seconds: number) => {
    const child = cliProcessWithEnv(root, cluster.env, "run", "nap", "--set", `seconds=${seconds}`, "--executor", "slurm");
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  };
  /** The id of the job of step `name` once Slurm runs it. */
  const runningJob = async (name: string): Promise<string> => {
    for (let i = 0; i < 300; i += 1) {
      const running = cluster.command("squeue", "--noheader", "--states=RUNNING", `--name=${name}`, "--format=%i").stdout.trim();
      if (running !== "") return running.split("\n")[0] ?? "";
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`no job of step ${name} ran within 60 s`);
  };
  const jobState = (jobId: string): string => /JobState=(\S+)/.exec(cluster.command("scontrol", "-o", "show", "job", jobId).stdout)?.[1] ?? "";

  beforeAll(async () => {
    cluster = await startTestCluster();
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    addSlurmArtifacts(artifacts);
    for (const name of ["greet", "shout", "nap"]) expect(cli(root, "add", join("artifacts", name)).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    cluster?.stop();
    if (root !== undefined) removeDir(root);
  });

  it("cluster add/list/remove; an unknown or unconfigured cluster is refused with exit 2 before anything is submitted", () => {
    const none = slurmCli("train", "scale", "linear", "--data", "points", "--executor", "slurm");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no cluster is configured; add one with maelstrom cluster add NAME --partition P");

    expect(slurmCli("cluster", "add", "spare", "--partition", "debug", "--max-time", "30m", "--retries", "1").code).toBe(0);
    expect(slurmCli("cluster", "add", "bad", "--partition", "debug --wrap=x").code).toBe(2);
    const retries = slurmCli("cluster", "add", "bad", "--partition", "debug", "--retries", "many");
    expect(retries.code).toBe(2);
    expect(retries.stderr).toContain("--retries many: expected a whole number from 0 to 10");
    const shorter = slurmCli("cluster", "add", "bad", "--partition", "debug", "--time", "2h", "--max-time", "1h");
    expect(shorter.code).toBe(2);
    expect(shorter.stderr).toContain("cluster bad: --max-time 1h is shorter than --time 2h");
    const badTime = slurmCli("cluster", "add", "bad", "--partition", "debug", "--max-time", "5x");
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain("cluster bad: --max-time 5x: invalid duration '5x'");
    expect(slurmCli("cluster", "add", "local", "--partition", cluster.partition, "--time", "10m", "--setup", "export MAELSTROM_SETUP_RAN=yes").code).toBe(0);
    const list = slurmCli("cluster", "list");
    expect(list.stdout).toContain("local: partition debug, time 10m (transport local)");
    expect(list.stdout).toContain("spare: partition debug, max time 30m, retries 1 (transport local)");
    expect(list.stdout).toContain("setup: export MAELSTROM_SETUP_RAN=yes");

    const ambiguous = slurmCli("train", "scale", "linear", "--data", "points", "--executor", "slurm");
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("2 clusters are configured (spare, local); name one: --executor slurm:NAME");
    const unknown = slurmCli("train", "scale", "linear", "--data", "points", "--executor", "slurm:juwels");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown cluster 'juwels'; configured: spare, local");
    expect(slurmCli("cluster", "remove", "spare").code).toBe(0);
    expect(slurmCli("cluster", "remove", "spare").stderr).toContain("unknown cluster 'spare'; configured: local");
    // Nothing was submitted and no run was recorded.
    expect(cluster.command("squeue", "--noheader", "--states=all").stdout.trim()).toBe("");
    expect(json<RunJson[]>(cli(root, "runs", "list", "--json"))).toEqual([]);
  });

  it("trains points → scale → linear as Slurm jobs: placements name the jobs, accounting is kept, the weights equal a local train", () => {
    const remote = json<TrainJson>(slurmCli("train", "scale", "linear", "--data", "points", "--set", "factor=2", "--executor", "slurm", "--no-cache", "--json"));
    expect(remote.run.status).toBe("succeeded");
    const shown = json<RunJson>(slurmCli("runs", "show", remote.run.id, "--json"));
    const jobIds = shown.steps.map((s) => /^slurm:local:(\d+)$/.exec(s.placement ?? "")?.[1]);
    expect(jobIds.every((id) => id !== undefined)).toBe(true);
    expect(new Set(jobIds).size).toBe(shown.steps.length);
    for (const [i, step] of shown.steps.entries()) {
      expect(step.resources?.scheduler).toMatchObject({ executor: "slurm", cluster: "local", jobId: jobIds[i], state: "COMPLETED", cpus: 1 });
      expect(step.resources?.scheduler?.nodes).not.toBe("");
      expect(jobState(jobIds[i] ?? "")).toBe("COMPLETED");
    }
    // The setup lines ran in the job before the step.
    expect(readFileSync(join(root, ".maelstrom", "runs", remote.run.id, "linear", "job.sh"), "utf8")).toContain("\nexport MAELSTROM_SETUP_RAN=yes\n");

    const local = json<TrainJson>(cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=2", "--no-cache", "--json"));
    expect(local.run.steps.every((s) => s.placement?.startsWith("local:"))).toBe(true);
    expect(remote.models[0]?.stateDigest).toBe(local.models[0]?.stateDigest);
    expect(remote.run.steps.map((s) => s.outputs)).toEqual(local.run.steps.map((s) => s.outputs));

    // Applying the model on Slurm predicts what a local apply predicts.
    const ref = remote.models[0]?.ref ?? "";
    const applied = json<{ run: RunJson; output: string }>(slurmCli("apply", ref, "--data", "points", "--executor", "slurm", "--no-cache", "--json"));
    expect(applied.run.steps.every((s) => s.placement?.startsWith("slurm:local:"))).toBe(true);
    expect(applied.output).toBe(json<{ output: string }>(cli(root, "apply", ref, "--data", "points", "--no-cache", "--json")).output);
  }, 180_000);

  it("with --fuse, a chain of steps goes to Slurm as one job (no wait between its steps) and trains the same weights", () => {
    const fused = json<TrainJson>(slurmCli("train", "scale", "linear", "--data", "points", "--set", "factor=3", "--executor", "slurm", "--fuse", "--no-cache", "--json"));
    expect(fused.run.status).toBe("succeeded");
    const placements = new Set(fused.run.steps.map((s) => s.placement));
    expect(placements.size).toBe(1);
    expect([...placements][0]).toMatch(/^slurm:local:\d+$/);
    const local = json<TrainJson>(cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=3", "--no-cache", "--json"));
    expect(fused.models[0]?.stateDigest).toBe(local.models[0]?.stateDigest);
  }, 120_000);

  it("a job sbatch rejects (a node feature no node has): the step fails with sbatch's message (exit 2), nothing is queued", () => {
    // An unknown partition is caught before submitting (slurm-placement.test.ts); sbatch judges the rest.
    expect(slurmCli("cluster", "add", "wrong", "--partition", cluster.partition, "--constraint", "nosuchfeature").code).toBe(0);
    const result = slurmCli("run", "greet", "--executor", "slurm:wrong", "--no-cache");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/sbatch refused step 'greet' on cluster 'wrong': sbatch: error: .*feature/i);
    expect(slurmCli("cluster", "remove", "wrong").code).toBe(0);
    expect(cluster.command("squeue", "--noheader").stdout.trim()).toBe("");
  });

  it("a parameter with $(…), backticks, quotes and a newline reaches a command step on Slurm verbatim and runs nothing", () => {
    const value = `it's $(touch ${root}/pwned) \`touch ${root}/pwned2\`; "x" \\ $HOME\nline2 *`;
    const run = json<TrainJson>(slurmCli("run", "greet", "shout", "--set", `who=${value}`, "--executor", "slurm", "--json"));
    expect(run.run.status).toBe("succeeded");
    expect(existsSync(join(root, "pwned"))).toBe(false);
    expect(existsSync(join(root, "pwned2"))).toBe(false);
    // shout read greet's output from a checkout of it: the value as greet wrote it.
    const greeted = run.run.steps[0]?.outputs["data"] ?? "";
    expect(readFileSync(join(root, ".maelstrom", "trees", greeted.slice("sha256:".length), "who.txt"), "utf8")).toBe(value);
  }, 120_000);

  it("a step over its Slurm time limit fails the run, naming the time limit and how to allow a resubmission", () => {
    const result = slurmCli("run", "nap", "--executor", "slurm:local");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/step 'nap' \(get of dataset nap\) exceeded its time limit of 1m and was stopped \(Slurm ended job \d+ at its time limit \(00:01:00, state TIMEOUT\); maelstrom cluster add … --max-time lets Maelstrom resubmit it with more time\)/);
    const jobId = /Slurm ended job (\d+)/.exec(result.stderr)?.[1] ?? "";
    expect(jobState(jobId)).toBe("TIMEOUT");
  }, 240_000);

  it("Ctrl-C cancels the run and scancels its job", async () => {
    const { child, exited, stderr } = napping(300);
    const jobId = await runningJob("nap");
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr()).toContain("cancelled");
    // Gone from the queue: cancelled by Maelstrom, not left running.
    expect(cluster.command("squeue", "--noheader", "--states=PENDING,RUNNING", `--jobs=${jobId}`).stdout.trim()).toBe("");
    expect(jobState(jobId)).toBe("CANCELLED");
    const runs = json<RunJson[]>(cli(root, "runs", "list", "--json"));
    expect(runs[0]?.status).toBe("cancelled");
  }, 120_000);
});
