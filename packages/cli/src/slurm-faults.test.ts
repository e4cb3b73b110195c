import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { addFixtures, cli, cliProcessWithEnv, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, StepJson } from "./slurm-test-json.js";

/**
 * A step that naps (and then writes a file), and one that takes memory and CPU time:
 * `python3 hog.py MB CPU_SECONDS` holds MB MiB while it burns CPU_SECONDS of CPU time.
 */
function addFaultArtifacts(artifacts: string): void {
  writeFiles(artifacts, {
    "nap/maelstrom.yaml":
      "kind: dataset\nname: nap\nruntime: shell\ncommand: echo napping; sleep {params.seconds}; echo rested > {outputs.data}/rested.txt\n" +
      "parameters:\n  seconds: { type: int, default: 600 }\nresources: { time: 1m }\n",
    "hog/maelstrom.yaml":
      "kind: dataset\nname: hog\nruntime: shell\ncommand: python3 hog.py {params.mb} {params.cpu} > {outputs.data}/hog.txt\n" +
      "parameters:\n  mb: { type: int, default: 50 }\n  cpu: { type: float, default: 1.0 }\nresources: { memory: 100MiB, time: 1m }\n",
    "hog/hog.py": [
      "import sys, time",
      "held = bytearray(int(sys.argv[1]) * 1024 * 1024)",
      "for i in range(0, len(held), 4096):",
      "    held[i] = 1",
      "while time.process_time() < float(sys.argv[2]):",
      "    pass",
      "print(len(held))",
      "",
    ].join("\n"),
  });
}

describe.skipIf(slurmMissing !== null)("Slurm faults on a private cluster with preemption", () => {
  let cluster: TestCluster;
  let root: string;
  let artifacts: string;
  const slurmCli = (...args: string[]) => cliWithEnv(root, cluster.env, ...args);
  /** `run nap` on Slurm in the background. */
  const napping = (seconds: number, executor = "slurm:faults") => {
    const child = cliProcessWithEnv(root, cluster.env, "run", "nap", "--set", `seconds=${seconds}`, "--executor", executor, "--no-cache", "--json");
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  };
  const waitFor = async (what: string, check: () => string): Promise<string> => {
    for (let i = 0; i < 450; i += 1) {
      const found = check();
      if (found !== "") return found;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`waited 90 s for ${what}`);
  };
  /** The id of the job of step `name` once Slurm runs it (a job id not in `except`). */
  const runningJob = (name: string, except: readonly string[] = []): Promise<string> =>
    waitFor(`a running job of step ${name}`, () => {
      const ids = cluster.command("squeue", "--noheader", "--states=RUNNING", `--name=${name}`, "--format=%i").stdout.trim().split("\n");
      return ids.find((id) => id !== "" && !except.includes(id)) ?? "";
    });
  const jobState = (jobId: string): string => /JobState=(\S+)/.exec(cluster.command("scontrol", "-o", "show", "job", jobId).stdout)?.[1] ?? "";
  const napStep = (run: RunJson): StepJson => run.steps.find((s) => s.stepId === "nap") as StepJson;

  beforeAll(async () => {
    cluster = await startTestCluster({ preemption: true });
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    addFaultArtifacts(artifacts);
    for (const name of ["nap", "hog"]) expect(cli(root, "add", join("artifacts", name)).code).toBe(0);
    expect(slurmCli("cluster", "add", "faults", "--partition", cluster.partition).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    cluster?.stop();
    if (root !== undefined) removeDir(root);
  });

  it("records the job's CPU time and peak memory (measured in the job) with its accounting", () => {
    const run = json<{ run: RunJson }>(slurmCli("run", "hog", "--set", "mb=60", "--set", "cpu=1", "--executor", "slurm:faults", "--no-cache", "--json")).run;
    expect(run.status).toBe("succeeded");
    const scheduler = run.steps[0]?.resources?.scheduler;
    expect(scheduler?.state).toBe("COMPLETED");
    expect(scheduler?.cpuTimeMs).toBeGreaterThanOrEqual(900);
    // 60 MiB held, plus Python itself.
    expect(scheduler?.maxRssBytes).toBeGreaterThan(60 * 1024 ** 2);
    expect(scheduler?.retries).toEqual([]);
  }, 120_000);

  it("a job killed for its memory fails the step with the peak memory seen and a memory to ask for; nothing is stored", () => {
    const result = slurmCli("run", "hog", "--set", "mb=400", "--set", "cpu=20", "--executor", "slurm:faults", "--no-cache");
    expect(result.code).toBe(4);
    const message = /was killed by Slurm for exceeding its memory: its memory reached at least (\d+)MiB, the limit was 100MiB \(peak \d+ bytes\); set resources.memory to (\d+)MiB or more in its maelstrom.yaml/.exec(result.stderr);
    expect(message, result.stderr).not.toBeNull();
    expect(Number(message?.[1])).toBeGreaterThan(100);
    expect(Number(message?.[2])).toBeGreaterThanOrEqual(2 * Number(message?.[1]));
    const run = json<RunJson[]>(cli(root, "runs", "list", "--json"))[0];
    const shown = json<RunJson>(cli(root, "runs", "show", run?.id ?? "", "--json"));
    expect(shown.steps[0]?.status).toBe("failed");
    expect(shown.steps[0]?.outputs).toEqual({});
  }, 120_000);

  it("a task of a job array killed for its memory is told apart too (Slurm writes about it in the array's own output)", () => {
    const result = slurmCli("run", "hog", "--sweep", "mb=300,400", "--set", "cpu=20", "--executor", "slurm:faults", "--no-cache");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/\(Slurm job \d+_\d on \S+\) was killed by Slurm for exceeding its memory: its memory reached at least \d+MiB, the limit was 100MiB/);
  }, 120_000);

  it("a job Slurm requeues (scontrol requeue) runs again: the step succeeds with the second run's results and the log shows the restart", async () => {
    const nap = napping(12);
    const jobId = await runningJob("nap");
    // Let the first run print before it is requeued.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(cluster.command("scontrol", "requeue", jobId).code).toBe(0);
    expect(await nap.exited).toBe(0);
    const run = json<{ run: RunJson }>({ code: 0, stdout: nap.stdout(), stderr: nap.stderr() }).run;
    expect(napStep(run).placement).toBe(`slurm:faults:${jobId}`);
    const log = cli(root, "logs", run.id, "nap").stdout;
    expect(log).toContain(`--- Slurm restarted job ${jobId} (restart 1)`);
    expect(log.match(/napping/g)?.length).toBe(2);
    // The output is the finished run's: the same bytes as a local nap's.
    const local = json<{ run: RunJson }>(cli(root, "run", "nap", "--set", "seconds=0", "--no-cache", "--json")).run;
    expect(napStep(run).outputs).toEqual(napStep(local).outputs);
  }, 150_000);

  it("a node set DOWN while its job runs: Slurm requeues the job and it runs again once the node is back", async () => {
    const nap = napping(10);
    const jobId = await runningJob("nap");
    expect(cluster.command("scontrol", "update", `nodename=${cluster.node}`, "state=down", "reason=maelstrom-test").code).toBe(0);
    await waitFor("the job requeued", () => (["PENDING", "REQUEUED"].includes(jobState(jobId)) ? "yes" : ""));
    // Back to service (slurmd's registration may have done it already).
    cluster.command("scontrol", "update", `nodename=${cluster.node}`, "state=resume");
    expect(await nap.exited).toBe(0);
    const run = json<{ run: RunJson }>({ code: 0, stdout: nap.stdout(), stderr: nap.stderr() }).run;
    expect(napStep(run).status).toBe("succeeded");
    expect(cli(root, "logs", run.id, "nap").stdout).toContain(`--- Slurm restarted job ${jobId} (restart 1)`);
  }, 150_000);

  it("a preempted job is submitted again by Maelstrom (the only node cannot be excluded) and the step succeeds; the retry is recorded", async () => {
    const nap = napping(8);
    const first = await runningJob("nap");
    // A job of a higher-priority partition that needs every CPU of the node preempts (cancels) the nap.
    const cpus = /CPUTot=(\d+)/.exec(cluster.command("scontrol", "-o", "show", "node", cluster.node).stdout)?.[1] ?? "1";
    expect(cluster.command("sbatch", "--partition=urgent", `--cpus-per-task=${cpus}`, "--job-name=urgent", "--output=/dev/null", "--wrap=sleep 3").code).toBe(0);
    expect(await nap.exited).toBe(0);
    expect(jobState(first)).toBe("PREEMPTED");
    const run = json<{ run: RunJson }>({ code: 0, stdout: nap.stdout(), stderr: nap.stderr() }).run;
    const step = napStep(run);
    expect(step.status).toBe("succeeded");
    expect(step.placement).not.toBe(`slurm:faults:${first}`);
    expect(step.resources?.scheduler?.retries).toEqual([{ jobId: first, state: "PREEMPTED", nodes: cluster.node, action: expect.stringMatching(/^on the same nodes: excluding .* was refused/) as unknown as string }]);
    expect(cli(root, "logs", run.id, "nap").stdout).toContain(`--- Maelstrom: Slurm job ${first} ended PREEMPTED on ${cluster.node}; submitting the step again`);
  }, 150_000);

  it("a restarted engine re-attaches to the job its killed predecessor left in the queue: nothing is submitted twice", async () => {
    const nap = napping(15);
    const jobId = await runningJob("nap");
    nap.child.kill("SIGKILL");
    await nap.exited;
    const interrupted = json<RunJson[]>(cli(root, "runs", "list", "--json"))[0];
    expect(interrupted?.status).toBe("failed");
    // Elsewhere while the old job still runs: refused, the run left as it was.
    const elsewhere = slurmCli("resume", interrupted?.id ?? "", "--executor", "local");
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toContain(`step 'nap' of run ${interrupted?.id} still has Slurm job ${jobId} on cluster 'faults'`);
    // No --executor: the steps are placed as the run placed them (--executor slurm:faults).
    const resumed = slurmCli("resume", interrupted?.id ?? "", "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    const run = json<{ run: RunJson }>(resumed).run;
    expect(napStep(run).status).toBe("succeeded");
    expect(napStep(run).placement).toBe(`slurm:faults:${jobId}`);
    expect(jobState(jobId)).toBe("COMPLETED");
    expect(cli(root, "logs", run.id, "nap").stdout.match(/napping/g)?.length).toBe(1);
  }, 150_000);

  it("a step over its time limit is submitted again with twice the time when the cluster's --max-time allows", () => {
    // A --max-time beyond the partition's MaxTime (60 minutes) could never run: refused before a run exists.
    expect(slurmCli("cluster", "add", "greedy", "--partition", cluster.partition, "--max-time", "2h").code).toBe(0);
    const runsBefore = json<RunJson[]>(cli(root, "runs", "list", "--json")).length;
    const greedy = slurmCli("run", "nap", "--set", "seconds=1", "--executor", "slurm:greedy", "--no-cache");
    expect(greedy.code).toBe(2);
    expect(greedy.stderr).toContain("cluster 'greedy': --max-time 2h is longer than partition 'debug' allows (MaxTime 01:00:00)");
    expect(json<RunJson[]>(cli(root, "runs", "list", "--json")).length).toBe(runsBefore);
    expect(slurmCli("cluster", "add", "patient", "--partition", cluster.partition, "--max-time", "2m").code).toBe(0);
    const result = slurmCli("run", "nap", "--set", "seconds=70", "--executor", "slurm:patient", "--no-cache", "--json");
    expect(result.code, result.stderr).toBe(0);
    const step = napStep(json<{ run: RunJson }>(result).run);
    expect(step.resources?.scheduler?.retries).toEqual([
      { jobId: expect.stringMatching(/^\d+$/) as unknown as string, state: "TIMEOUT", nodes: cluster.node, action: "time 1m -> 2m" },
    ]);
    expect(jobState(step.resources?.scheduler?.retries[0]?.jobId ?? "")).toBe("TIMEOUT");
  }, 300_000);
});
