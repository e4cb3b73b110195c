import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, cliProcess, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";

interface RunJson {
  id: string;
  status: string;
  error: { message: string } | null;
  steps: { stepId: string; status: string; placement: string | null }[];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The pid of the running step process, from the run's recorded placement ("local:host:pid"). */
function runningStep(root: string, stepId: string): { run: RunJson; pid: number } | undefined {
  const runs = json<RunJson[]>(cli(root, "runs", "--json"));
  const run = runs.find((r) => r.status === "running");
  const placement = run?.steps.find((s) => s.stepId === stepId && s.status === "running")?.placement;
  const pid = Number(placement?.split(":").at(-1));
  return run !== undefined && Number.isInteger(pid) && pid > 0 ? { run, pid } : undefined;
}

describe("interrupted runs", () => {
  let root: string;
  beforeAll(() => {
    ({ root } = fixtureWorkspace());
    addFixtures(root);
  });
  afterAll(() => removeDir(root));

  it("kill -9 of the CLI mid-training: the run shows as failed, its step is gone, fsck passes, the next train works", async () => {
    const child = cliProcess(root, "train", "scale", "linear", "--data", "points", "--set", "mode=sleep");
    const { run, pid } = await waitFor("the step to start", () => runningStep(root, "linear"));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // The step notices its engine is gone (its stdin closes) and ends itself.
    await waitFor("the orphaned step to exit", () => (isAlive(pid) ? undefined : true), 10_000);

    const after = json<RunJson>(cli(root, "runs", "show", run.id, "--json"));
    expect(after.status).toBe("failed");
    expect(after.error?.message).toMatch(/engine process \(pid \d+\) running this run ended before it finished/);
    expect(after.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "failed"]);
    expect(cli(root, "fsck").code).toBe(0);
    const next = cli(root, "train", "scale", "linear", "--data", "points");
    expect(next.code, next.stderr).toBe(0);
  });

  it("Ctrl-C cancels: the step process group is killed and the run is marked cancelled", async () => {
    const child = cliProcess(root, "train", "linear", "--data", "points", "--set", "mode=sleep");
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const { run, pid } = await waitFor("the step to start", () => runningStep(root, "linear"));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/cancelling/);
    expect(stderr).toMatch(/run \S+ was cancelled during step 'linear'/);
    expect(isAlive(pid)).toBe(false);
    const after = json<RunJson>(cli(root, "runs", "show", run.id, "--json"));
    expect(after.status).toBe("cancelled");
    expect(after.steps.at(-1)?.status).toBe("cancelled");
  });

  it("the step log holds what the step printed", () => {
    const runs = json<{ id: string; steps: { stepId: string; status: string; logPath: string; cachedFrom: string | null }[] }[]>(cli(root, "runs", "--json"));
    const scale = runs.flatMap((r) => r.steps).find((s) => s.stepId === "scale" && s.status === "succeeded" && s.cachedFrom === null);
    expect(readFileSync(scale?.logPath ?? "", "utf8")).toContain("scaling 40 rows");
  });
});

describe("logs --follow", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    writeFiles(artifacts, {
      "ticker/maelstrom.yaml": "kind: transform\nname: ticker\nruntime: node\nentry: t.js\n",
      "ticker/t.js":
        "export async function apply(b) { for (let i = 0; i < 3; i += 1) { console.log('tick', i); await new Promise((r) => setTimeout(r, 400)); } return b; }\n",
    });
  });
  afterAll(() => removeDir(root));

  it("prints a running step's output as it comes and returns when the run ends", async () => {
    const train = cliProcess(root, "train", "artifacts/ticker", "linear", "--data", "points");
    const run = await waitFor("the run to start", () => json<RunJson[]>(cli(root, "runs", "--json")).find((r) => r.status === "running"));
    const follow = cliProcess(root, "logs", run.id, "--follow");
    let out = "";
    follow.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const [trainCode, followCode] = await Promise.all([train, follow].map((c) => new Promise<number | null>((done) => c.once("exit", done))));
    expect(trainCode).toBe(0);
    expect(followCode).toBe(0);
    expect(out).toMatch(/=== ticker ===\ntick 0\ntick 1\ntick 2\n[\s\S]*=== linear ===/);
  });
});
