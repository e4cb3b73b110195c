import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, cliProcess, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";

interface StepJson {
  stepId: string;
  status: string;
  attempt: number;
  cachedFrom: string | null;
  outputs: Record<string, string>;
  stateDigest: string | null;
  placement: string | null;
  startedAt: number | null;
  endedAt: number | null;
}
interface RunJson {
  id: string;
  status: string;
  steps: StepJson[];
  result: { sweep?: { branches: { values: Record<string, unknown>; metrics: Record<string, Record<string, number>> }[]; selected: number | null } | null } | null;
}
interface ModelJson {
  ref: string;
  stateDigest: string;
  record: { parameters: Record<string, unknown>; metrics: Record<string, number> };
}
interface TrainJson {
  run: RunJson;
  models: ModelJson[];
}
interface PlanJson {
  kind: string;
  steps: { id: string; status: "cached" | "run"; reason: string }[];
  pruned: { id: string; reason: string }[];
}

/** A join of two tables (named inputs), a mean model, and a DAG pipeline over the fixture artifacts. */
function addGraphArtifacts(artifacts: string): void {
  writeFiles(artifacts, {
    "join/maelstrom.yaml": `kind: transform
name: join
runtime: node
entry: join.ts
inputs:
  left: { variables: { x: float64, y: float64 } }
  right: { variables: { x: float64, y: float64 } }
outputs:
  variables: { x: float64, y: float64 }
`,
    "join/join.ts": `import { Bundle } from "@maelstrom/sdk";
export function apply(inputs: { left: Bundle; right: Bundle }): Bundle {
  const cat = (name: string) => Float64Array.from([...(inputs.left.variable(name).data as Float64Array), ...(inputs.right.variable(name).data as Float64Array)]);
  return Bundle.fromTable({ x: cat("x"), y: cat("y") });
}
`,
    "mean/maelstrom.yaml": "kind: model\nname: mean\nruntime: node\nentry: mean.ts\ninputs:\n  variables: { y: float64 }\noutputs:\n  variables: { y: float64 }\n",
    "mean/mean.ts": `import { Bundle } from "@maelstrom/sdk";
export function train(bundle: Bundle): [number, Bundle] {
  const y = bundle.variable("y").data as Float64Array;
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const rmse = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
  return [mean, Bundle.fromVariables({ rmse: { dims: [], data: [rmse] } })];
}
export function apply(mean: number, bundle: Bundle): Bundle {
  const n = (bundle.variable("x").data as Float64Array).length;
  return Bundle.fromTable({ y: new Float64Array(n).fill(mean) });
}
`,
    "weather-dag/maelstrom.yaml": `kind: pipeline
name: weather-dag
steps:
  - { id: stations, ref: points, parameters: { rows: 40 } }
  - { id: reanalysis, ref: points, parameters: { rows: 24 } }
  - { id: joined, ref: join, inputs: { left: stations, right: reanalysis } }
  - { id: features, ref: scale, inputs: { data: joined }, parameters: { factor: 2 } }
  - { id: regression, ref: linear, inputs: { data: features }, model: dag-linear }
  - { id: baseline, ref: mean, inputs: { data: features }, model: dag-mean }
`,
  });
}

describe("DAG pipelines", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    addGraphArtifacts(artifacts);
    for (const name of ["join", "mean", "weather-dag"]) expect(cli(root, "add", join("artifacts", name)).code).toBe(0);
  });
  afterAll(() => removeDir(root));

  it("trains a graph with two sources, a join, features and two models; plan shows what a change affects", () => {
    const first = json<PlanJson>(cli(root, "plan", "weather-dag", "--json"));
    expect(first.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ["stations", "run", "never run before"],
      ["reanalysis", "run", "never run before"],
      ["joined", "run", "upstream step 'stations' runs"],
      ["features", "run", "upstream step 'joined' runs"],
      ["regression", "run", "upstream step 'features' runs"],
      ["baseline", "run", "upstream step 'features' runs"],
    ]);

    const trained = json<TrainJson>(cli(root, "train", "weather-dag", "--json"));
    expect(trained.run.status).toBe("succeeded");
    expect(trained.models.map((m) => m.ref)).toEqual(["dag-linear/1", "dag-mean/1"]);
    // 40 + 24 rows, x scaled by 2: the linear fit of y = 2x+1 on 2x has slope ~1.
    expect(trained.run.steps.every((s) => s.cachedFrom === null)).toBe(true);

    const unchanged = json<PlanJson>(cli(root, "plan", "weather-dag", "--json"));
    expect(unchanged.steps.every((s) => s.status === "cached")).toBe(true);

    const changed = json<PlanJson>(cli(root, "plan", "weather-dag", "--set", "features.factor=3", "--json"));
    expect(changed.steps.map((s) => [s.id, s.status])).toEqual([
      ["stations", "cached"],
      ["reanalysis", "cached"],
      ["joined", "cached"],
      ["features", "run"],
      ["regression", "run"],
      ["baseline", "run"],
    ]);
    expect(changed.steps.find((s) => s.id === "features")?.reason).toBe("parameter factor changed: 2 -> 3");
    expect(changed.steps.find((s) => s.id === "regression")?.reason).toBe("upstream step 'features' runs");

    // The text plan says the same for people.
    const text = cli(root, "plan", "weather-dag", "--set", "features.factor=3");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/6 steps, 3 to run, 3 cached/);
    expect(text.stdout).toMatch(/features\s+scale\s+joined\s+to run\s+local\s+parameter factor changed: 2 -> 3/);
    expect(text.stdout).toMatch(/joined\s+join\s+left=stations, right=reanalysis\s+cached/);

    const again = json<TrainJson>(cli(root, "train", "weather-dag", "--set", "features.factor=3", "--json"));
    expect(again.run.steps.filter((s) => s.cachedFrom === null).map((s) => s.stepId)).toEqual(["features", "regression", "baseline"]);
    expect(again.models.map((m) => m.ref)).toEqual(["dag-linear/2", "dag-mean/2"]);
  });

  it("reuses cached steps across runs, and --no-cache / --rerun run them anyway with equal results", () => {
    const cached = json<TrainJson>(cli(root, "train", "weather-dag", "--json"));
    expect(cached.run.steps.every((s) => s.cachedFrom !== null)).toBe(true);
    const forced = json<TrainJson>(cli(root, "train", "weather-dag", "--rerun", "joined", "--json"));
    // joined runs again; it produces the same bundle, so everything downstream is cached again.
    expect(forced.run.steps.filter((s) => s.cachedFrom === null).map((s) => s.stepId)).toEqual(["joined"]);
    const fresh = json<TrainJson>(cli(root, "train", "weather-dag", "--no-cache", "--json"));
    expect(fresh.run.steps.every((s) => s.cachedFrom === null)).toBe(true);
    const digests = (run: RunJson): unknown => run.steps.map((s) => [s.stepId, s.outputs, s.stateDigest]);
    expect(digests(fresh.run)).toEqual(digests(cached.run));
  });

  it("gives the same results with one CPU as with all, and runs independent steps at once", () => {
    const serial = json<TrainJson>(cli(root, "train", "weather-dag", "--no-cache", "--cpus", "1", "--json"));
    const parallel = json<TrainJson>(cli(root, "train", "weather-dag", "--no-cache", "--cpus", "2", "--json"));
    const digests = (run: RunJson): unknown => run.steps.map((s) => [s.stepId, s.outputs, s.stateDigest]);
    expect(digests(parallel.run)).toEqual(digests(serial.run));
    const span = (run: RunJson, id: string): [number, number] => {
      const step = run.steps.find((s) => s.stepId === id);
      return [step?.startedAt ?? 0, step?.endedAt ?? 0];
    };
    const overlap = (run: RunJson, a: string, b: string): boolean => span(run, a)[0] < span(run, b)[1] && span(run, b)[0] < span(run, a)[1];
    expect(overlap(parallel.run, "regression", "baseline") || overlap(parallel.run, "stations", "reanalysis")).toBe(true);
    expect(overlap(serial.run, "regression", "baseline")).toBe(false);
    expect(overlap(serial.run, "stations", "reanalysis")).toBe(false);
  });

  it("reuses warm worker processes across the steps of a run, unless --no-workers", () => {
    const pids = (run: RunJson): Set<string> => new Set(run.steps.map((s) => s.placement?.split(":").at(-1) ?? ""));
    const warm = json<TrainJson>(cli(root, "train", "weather-dag", "--no-cache", "--cpus", "1", "--json"));
    expect(pids(warm.run).size).toBe(1);
    const fresh = json<TrainJson>(cli(root, "train", "weather-dag", "--no-cache", "--no-workers", "--json"));
    expect(pids(fresh.run).size).toBe(6);
    const digests = (run: RunJson): unknown => run.steps.map((s) => [s.stepId, s.outputs, s.stateDigest]);
    expect(digests(fresh.run)).toEqual(digests(warm.run));
  });

  it("prunes steps no target needs, and applies a model of a graph to its training sources or new data", () => {
    const plan = json<PlanJson>(cli(root, "plan", "weather-dag", "--target", "baseline", "--json"));
    expect(plan.steps.map((s) => s.id)).not.toContain("regression");
    expect(plan.pruned).toEqual([{ id: "regression", artifact: "linear", reason: "not needed by baseline" }]);
    const applied = json<{ output: string; run: RunJson }>(cli(root, "apply", "dag-linear/1", "--json"));
    expect(applied.run.steps.map((s) => s.stepId)).toEqual(["stations", "reanalysis", "joined", "features", "regression"]);
    // Two sources: --data cannot say which one it replaces.
    const ambiguous = cli(root, "apply", "dag-linear/1", "--data", "points");
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("2 data sources (stations, reanalysis)");
    const noModel = cli(root, "train", "weather-dag", "--target", "features");
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain("train needs a model step, but --target features needs none");
  });

  it("feeds --data to the steps of a graph that have no inputs wired", () => {
    writeFiles(artifacts, {
      "on-data/maelstrom.yaml": "kind: pipeline\nname: on-data\nsteps:\n  - { id: features, ref: scale, parameters: { factor: 3 } }\n  - { id: fit, ref: linear, inputs: { data: features } }\n",
    });
    expect(cli(root, "add", join("artifacts", "on-data")).code).toBe(0);
    const trained = json<TrainJson>(cli(root, "train", "on-data", "--data", "points", "--json"));
    expect(trained.run.steps.map((s) => s.stepId)).toEqual(["points", "features", "fit"]);
    const missing = cli(root, "train", "on-data");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("step 'features' (transform scale) of pipeline on-data has no inputs wired, so it reads --data, but no --data was given");
  });

  it("sweeps a parameter: branches share the upstream steps, the best is registered, the table is recorded", () => {
    const swept = json<TrainJson>(cli(root, "train", "points", "scale", "linear", "--sweep", "ridge=0,5,50", "--select", "rmse:min", "--json"));
    const ran = swept.run.steps.map((s) => s.stepId);
    expect(ran).toEqual(["points", "scale", "linear[ridge=0]", "linear[ridge=5]", "linear[ridge=50]"]);
    const sweep = swept.run.result?.sweep;
    expect(sweep?.branches.map((b) => b.values)).toEqual([{ ridge: 0 }, { ridge: 5 }, { ridge: 50 }]);
    const rmse = sweep?.branches.map((b) => b.metrics["linear"]?.["rmse"] ?? NaN) ?? [];
    expect(rmse[0]).toBeLessThan(rmse[2] ?? 0);
    expect(sweep?.selected).toBe(0);
    expect(swept.models).toHaveLength(1);
    expect(swept.models[0]?.record.parameters["ridge"]).toBe(0);

    // A swept transform parameter: the model is copied per value; a grid over two steps copies the
    // transform per its own values only.
    const upstream = json<TrainJson>(cli(root, "train", "points", "scale", "linear", "--sweep", "factor=1,2", "--sweep", "ridge=0,50", "--select", "rmse:min", "--json"));
    expect(upstream.run.steps.map((s) => s.stepId)).toEqual([
      "points",
      "scale[factor=1]",
      "linear[factor=1,ridge=0]",
      "linear[factor=1,ridge=50]",
      "scale[factor=2]",
      "linear[factor=2,ridge=0]",
      "linear[factor=2,ridge=50]",
    ]);
    expect(upstream.run.result?.sweep?.branches.map((b) => b.values)).toEqual([
      { factor: 1, ridge: 0 },
      { factor: 1, ridge: 50 },
      { factor: 2, ridge: 0 },
      { factor: 2, ridge: 50 },
    ]);
    expect(upstream.models[0]?.record.parameters["ridge"]).toBe(0);
    // In a graph with a model the sweep does not reach, the swept model's metric decides.
    const shared = json<TrainJson>(cli(root, "train", "weather-dag", "--sweep", "regression.ridge=0,50", "--select", "rmse:max", "--json"));
    expect(shared.run.result?.sweep?.selected).toBe(1);
    expect(shared.models.map((m) => m.ref.split("/")[0])).toEqual(["dag-mean", "dag-linear"]);

    const text = cli(root, "train", "points", "scale", "linear", "--sweep", "ridge=0,5", "--select", "rmse:min");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\*\s+0\s+/);
    expect(text.stdout).toContain("steps ran, 4 cached");
  });
});

describe("fused chains (--fuse)", () => {
  let root: string;
  beforeAll(() => {
    ({ root } = fixtureWorkspace());
    addFixtures(root);
  });
  afterAll(() => removeDir(root));

  it("runs a chain of node steps in one process without storing what passes between them; the model is the same", () => {
    const plan = json<PlanJson>(cli(root, "plan", "points", "scale", "linear", "--fuse", "--json"));
    expect(plan.steps.map((s) => [s.id, s.reason])).toEqual([
      ["points", "runs fused: points -> scale -> linear; never run before"],
      ["scale", "runs fused after 'points'"],
      ["linear", "runs fused after 'scale'"],
    ]);
    const fused = json<TrainJson>(cli(root, "train", "points", "scale", "linear", "--fuse", "--json"));
    expect(new Set(fused.run.steps.map((s) => s.placement)).size).toBe(1);
    expect(fused.run.steps.map((s) => [s.stepId, s.status, Object.keys(s.outputs)])).toEqual([
      ["points", "succeeded", []],
      ["scale", "succeeded", []],
      ["linear", "succeeded", ["data"]],
    ]);
    const separate = json<TrainJson>(cli(root, "train", "points", "scale", "linear", "--json"));
    expect(separate.run.steps.every((s) => s.cachedFrom === null)).toBe(true);
    expect(separate.models[0]?.stateDigest).toBe(fused.models[0]?.stateDigest);
    // The fused chain is cached as a whole.
    const again = json<TrainJson>(cli(root, "train", "points", "scale", "linear", "--fuse", "--json"));
    expect(again.run.steps.every((s) => s.cachedFrom !== null)).toBe(true);
    // Metrics logged inside the chain belong to the step that logged them.
    const shown = json<{ metrics: { stepId: string; name: string }[] }>(cli(root, "runs", "show", fused.run.id, "--json"));
    expect(new Set(shown.metrics.map((m) => `${m.stepId}:${m.name}`))).toEqual(new Set(["linear:residual"]));
  });

  it("names the failing step of a fused chain; the others are cancelled", () => {
    const failed = cli(root, "train", "points", "scale", "linear", "--fuse", "--set", "mode=throw", "--set", "ridge=0.5");
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/step 'linear' \(train of model linear\) failed: the fit diverged/);
    const runId = /maelstrom logs (\w+) linear/.exec(failed.stderr)?.[1] ?? "";
    const run = json<RunJson>(cli(root, "runs", "show", runId, "--json"));
    expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([
      ["points", "cancelled"],
      ["scale", "cancelled"],
      ["linear", "failed"],
    ]);
  });
});

describe("command steps", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    writeFiles(artifacts, {
      "greet/maelstrom.yaml": "kind: dataset\nname: greet\nruntime: shell\ncommand: printf '%s' {params.who} > {outputs.data}/who.txt\nparameters:\n  who: { type: string, default: world }\n",
      "shout/maelstrom.yaml": "kind: transform\nname: shout\nruntime: shell\ncommand: tr a-z A-Z < {inputs.data}/who.txt > {outputs.data}/who.txt\n",
      "fail/maelstrom.yaml": "kind: transform\nname: fail\nruntime: shell\ncommand: cat {inputs.data}/who.txt; echo; echo about to fail; exit 3\n",
    });
    for (const name of ["greet", "shout", "fail"]) expect(cli(root, "add", join("artifacts", name)).code).toBe(0);
  });
  afterAll(() => removeDir(root));

  it("runs templated commands; a parameter with shell syntax arrives verbatim and runs nothing", () => {
    const value = `it's $(touch pwned) \`touch pwned2\`; rm -rf / | "x"\nline2 *`;
    const run = json<TrainJson>(cli(root, "run", "greet", "shout", "--set", `who=${value}`, "--json"));
    const output = run.run.steps.at(-1)?.outputs["data"] ?? "";
    expect(existsSync(join(root, "pwned"))).toBe(false);
    expect(existsSync(join(root, "artifacts", "greet", "pwned"))).toBe(false);
    // The command's output, read from the object store: the tree object lists the file's digest.
    const object = (digest: string): string => {
      const hex = digest.slice("sha256:".length);
      return readFileSync(join(root, ".maelstrom", "objects", "sha256", hex.slice(0, 2), hex.slice(2)), "utf8");
    };
    const tree = JSON.parse(object(output)) as { entries: { path: string; digest: string }[] };
    const file = tree.entries.find((e) => e.path === "who.txt");
    expect(file === undefined ? null : object(file.digest)).toBe(value.toUpperCase());
  });

  it("reports a failing command with its exit code and log", () => {
    const result = cli(root, "run", "greet", "fail");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/step 'fail' \(apply of transform fail\): its command exited with code 3; see the log: maelstrom logs \w+ fail/);
    const runId = /maelstrom logs (\w+) fail/.exec(result.stderr)?.[1] ?? "";
    expect(cli(root, "logs", runId, "fail").stdout).toBe("world\nabout to fail\n");
  });
});

describe("resume", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    const steps: string[] = [];
    for (let c = 0; c < 5; c += 1) {
      steps.push(`  - { id: c${c}s0, ref: seed, parameters: { i: ${c * 100} } }`);
      for (let j = 1; j < 10; j += 1) steps.push(`  - { id: c${c}s${j}, ref: append, parameters: { i: ${c * 100 + j} }, inputs: { data: c${c}s${j - 1} } }`);
    }
    writeFiles(artifacts, {
      "seed/maelstrom.yaml": "kind: dataset\nname: seed\nruntime: shell\ncommand: sleep 0.1; echo {params.i} > {outputs.data}/v\nparameters:\n  i: { type: int, default: 0 }\n",
      "append/maelstrom.yaml": "kind: transform\nname: append\nruntime: shell\ncommand: sleep 0.1; cat {inputs.data}/v > {outputs.data}/v; echo {params.i} >> {outputs.data}/v\nparameters:\n  i: { type: int, default: 0 }\n",
      "fifty/maelstrom.yaml": `kind: pipeline\nname: fifty\nsteps:\n${steps.join("\n")}\n`,
    });
    for (const name of ["seed", "append", "fifty"]) expect(cli(root, "add", join("artifacts", name)).code).toBe(0);
  });
  afterAll(() => removeDir(root));

  it("resumes a killed 50-step run without running a finished step again; outputs equal an uninterrupted run", async () => {
    const child = cliProcess(root, "run", "fifty", "--cpus", "2");
    let stderr = "";
    const runId = await new Promise<string>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const id = /run (\w{26}) \(run\)/.exec(stderr)?.[1];
        if (id !== undefined && (stderr.match(/ succeeded in /g) ?? []).length >= 10) {
          child.kill("SIGKILL");
          resolve(id);
        }
      });
      child.on("exit", () => reject(new Error(`the run ended before it was killed:\n${stderr}`)));
    });
    await new Promise((resolve) => child.on("exit", resolve));

    const before = json<RunJson>(cli(root, "runs", "show", runId, "--json"));
    expect(before.status).toBe("failed");
    const finished = before.steps.filter((s) => s.status === "succeeded");
    expect(finished.length).toBeGreaterThanOrEqual(10);
    expect(finished.length).toBeLessThan(50);

    const resumed = json<TrainJson>(cli(root, "resume", runId, "--json"));
    expect(resumed.run.id).toBe(runId);
    expect(resumed.run.status).toBe("succeeded");
    expect(resumed.run.steps.every((s) => s.status === "succeeded")).toBe(true);
    for (const step of finished) {
      const after = resumed.run.steps.find((s) => s.stepId === step.stepId);
      expect(after?.startedAt).toBe(step.startedAt);
      expect(after?.attempt).toBe(step.attempt);
    }

    const uninterrupted = json<TrainJson>(cli(root, "run", "fifty", "--no-cache", "--json"));
    const outputs = (run: RunJson): Record<string, unknown> => Object.fromEntries(run.steps.map((s) => [s.stepId, s.outputs]));
    expect(outputs(resumed.run)).toEqual(outputs(uninterrupted.run));
    expect(cli(root, "resume", runId).stderr).toContain("already succeeded");
  }, 60_000);
});
