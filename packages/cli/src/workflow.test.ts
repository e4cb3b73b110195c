import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, cliProcess, dataCsv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";

interface ModelJson {
  ref: string;
  version: number;
  stateDigest: string;
  runId: string;
  aliases: string[];
  tags: Record<string, string>;
  record: {
    parameters: Record<string, unknown>;
    metrics: Record<string, number>;
    pipeline: { stepId: string; digest: string }[];
    trainingData: { digest: string; origin: { type: string } };
    resources: { host: string; peakMemoryBytes: number; wallMs: number; cpuMs: number };
    environment: { node: string; os: string; lockfile: { digest: string } | null };
  };
}

describe("the seed workflow from the CLI, on artifacts outside the repository", () => {
  let root: string;
  beforeAll(() => {
    ({ root } = fixtureWorkspace());
    addFixtures(root);
  });
  afterAll(() => removeDir(root));

  it("registers content-addressed versions; identical content is a no-op with the same digest", () => {
    const first = json<{ digest: string; created: boolean }>(cli(root, "add", "artifacts/scale", "--json"));
    const again = json<{ digest: string; created: boolean }>(cli(root, "add", "artifacts/scale", "--tag", "v1", "--json"));
    expect(first.created).toBe(false); // added by addFixtures already
    expect(again.digest).toBe(first.digest);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const shown = json<{ tags: string[]; digest: string }>(cli(root, "show", "scale:v1", "--json"));
    expect(shown.tags).toEqual(["latest", "v1"]);
    const byDigest = json<{ name: string }>(cli(root, "show", `scale@${first.digest.slice(0, 15)}`, "--json"));
    expect(byDigest.name).toBe("scale");
    const list = cli(root, "artifacts");
    expect(list.stdout).toMatch(/points\s+dataset/);
  });

  it("trains, records the model version with its provenance, applies, and reruns bit-identically", () => {
    const trained = json<{ model: ModelJson; run: { id: string; status: string } }>(
      cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=2", "--json"),
    );
    expect(trained.run.status).toBe("succeeded");
    const model = trained.model;
    expect(model.ref).toMatch(/^linear\/\d+$/);
    expect(model.record.metrics["rmse"]).toBeGreaterThan(0);
    expect(model.record.metrics["rmse"]).toBeLessThan(0.1);
    expect(model.record.parameters).toEqual({ mode: "ok", ridge: 0 });
    expect(model.record.pipeline.map((s) => s.stepId)).toEqual(["points", "scale", "linear"]);
    expect(model.record.trainingData.origin.type).toBe("artifact");
    expect(model.record.resources.peakMemoryBytes).toBeGreaterThan(1_000_000);
    expect(model.record.environment.node).toBe(process.version);

    // Same pipeline, same data, same parameters: bit-identical weights, a new version.
    const again = json<{ model: ModelJson }>(cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=2", "--json")).model;
    expect(again.version).toBe(model.version + 1);
    expect(again.stateDigest).toBe(model.stateDigest);
    // A changed parameter: a new version with other weights.
    const changed = json<{ model: ModelJson }>(cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=3", "--json")).model;
    expect(changed.stateDigest).not.toBe(model.stateDigest);

    const rerun = cli(root, "rerun", trained.run.id);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/all outputs are bit-identical/);
    expect(rerun.stdout).toMatch(/linear\s+model state\s+sha256:\S+\s+sha256:\S+\s+bit-identical/);

    // Predictions, with the transform re-applied using the parameters fixed at training.
    const out = join(root, "predictions.csv");
    const applied = cli(root, "apply", model.ref, "--data", "points", "--out", out);
    expect(applied.code, applied.stderr).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe("x,y");
    expect(lines).toHaveLength(41);
    const [x, y] = (lines[2] ?? "").split(",").map(Number);
    expect(x).toBeCloseTo(0.5); // 0.25 scaled by factor 2
    expect(y).toBeCloseTo(1.5, 1); // y = 2 * (x / 2) + 1

    const shown = cli(root, "models", "show", model.ref);
    expect(shown.stdout).toMatch(/weights:\s+sha256:/);
    expect(shown.stdout).toMatch(/factor=2/);
  });

  it("takes a CSV file as data, aliases and tags model versions, and applies by alias", () => {
    writeFiles(root, { "data/raw/points.csv": dataCsv(12) });
    const trained = json<{ model: ModelJson }>(cli(root, "train", "linear", "--data", "data/raw/points.csv", "--model-name", "line-fit", "--json")).model;
    expect(trained.ref).toBe("line-fit/1");
    expect(cli(root, "models", "alias", "line-fit/1", "production").code).toBe(0);
    expect(cli(root, "models", "tag", "line-fit@production", "reviewed=yes").code).toBe(0);
    const shown = json<ModelJson>(cli(root, "models", "show", "line-fit@production", "--json"));
    expect(shown.aliases).toEqual(["production"]);
    expect(shown.tags).toEqual({ reviewed: "yes" });
    const applied = json<{ output: string }>(cli(root, "apply", "line-fit@production", "--data", "data/raw/points.csv", "--json"));
    const bundle = cli(root, "bundle", "show", applied.output);
    expect(bundle.stdout).toMatch(/y\s+data\s+row\s+12\s+float64/);
  });

  it("shows runs, logs and lineage from a prediction back to the dataset", () => {
    const applied = json<{ run: { id: string }; output: string }>(cli(root, "apply", "linear", "--data", "points", "--json"));
    const runs = cli(root, "runs");
    expect(runs.stdout).toContain(applied.run.id);
    const run = json<{ steps: { stepId: string; status: string; placement: string; cachedFrom: string | null }[] }>(cli(root, "runs", "show", applied.run.id, "--json"));
    expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([
      ["points", "succeeded"],
      ["scale", "succeeded"],
      ["linear", "succeeded"],
    ]);
    // The data steps are those of the training, answered by the step cache; the model ran.
    expect(run.steps[0]?.cachedFrom).toMatch(/^\w{26}\/points$/);
    expect(run.steps[2]?.placement).toMatch(/^local:/);
    const logs = cli(root, "logs", applied.run.id, "scale");
    expect(logs.stdout).toContain("scaling 40 rows");

    const lineage = json<{ root: string; nodes: { id: string; type: string; label: string }[] }>(cli(root, "lineage", applied.run.id, "--json"));
    expect(lineage.root).toBe(`data:${applied.output}`);
    const labels = lineage.nodes.map((n) => n.label).join("\n");
    expect(labels).toMatch(/dataset points@sha256:/);
    expect(labels).toMatch(/model linear\/\d+/);
    expect(labels).toMatch(/train run/);
    const text = cli(root, "lineage", applied.run.id);
    expect(text.stdout).toMatch(/weights: model linear\/\d+/);
  });

  it("rerun of a step that is not deterministic reports the difference and exits 7", () => {
    const trained = json<{ run: { id: string } }>(cli(root, "train", "linear", "--data", "points", "--set", "mode=random", "--json"));
    const rerun = cli(root, "rerun", trained.run.id);
    expect(rerun.code).toBe(7);
    expect(rerun.stdout).toMatch(/linear\s+model state\s+sha256:\S+\s+sha256:\S+\s+DIFFERENT/);
    expect(rerun.stderr).toMatch(/differs in: linear \(model state\)/);
  });

  it("a NaN metric is recorded and shown as NaN", () => {
    const trained = cli(root, "train", "linear", "--data", "points", "--set", "mode=nan", "--model-name", "nan-fit");
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/rmse\s+NaN/);
    expect(cli(root, "models").stdout).toMatch(/nan-fit\/1\s+-\s+rmse=NaN/);
  });

  it("a pipeline artifact stands for its steps with the parameters it fixes", () => {
    writeFiles(root, {
      "artifacts/fit-pipeline/maelstrom.yaml": "kind: pipeline\nname: fit-pipeline\nsteps:\n  - { ref: scale, parameters: { factor: 4 } }\n  - linear\n",
    });
    const trained = json<{ model: ModelJson }>(cli(root, "train", "artifacts/fit-pipeline", "--data", "points", "--json")).model;
    expect(trained.ref).toMatch(/^linear\//);
    expect(trained.record.pipeline.map((s) => s.stepId)).toEqual(["points", "scale", "linear"]);
    const shown = cli(root, "models", "show", trained.ref);
    expect(shown.stdout).toMatch(/scale \(transform\) scale@sha256:\S+ factor=4/);
  });

  it("apply --set changes the dataset step's parameters; the trained steps keep theirs", () => {
    const applied = json<{ output: string }>(cli(root, "apply", "linear", "--data", "points", "--set", "rows=10", "--json"));
    expect(cli(root, "bundle", "show", applied.output).stdout).toMatch(/y\s+data\s+row\s+10\s+float64/);
    const refused = cli(root, "apply", "linear", "--data", "points", "--set", "factor=9");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/parameter 'factor' is not declared by any step; steps and their parameters: points \(rows\)/);
  });

  it("concurrent trains of one model get distinct versions, all succeeded", async () => {
    const before = json<{ version: number }[]>(cli(root, "models", "list", "concurrent", "--json")).length;
    const children = [1, 2, 3].map((i) => cliProcess(root, "train", "linear", "--data", "points", "--set", `ridge=${i}`, "--model-name", "concurrent"));
    const codes = await Promise.all(children.map((child) => new Promise<number | null>((done) => child.once("exit", done))));
    expect(codes).toEqual([0, 0, 0]);
    const versions = json<{ version: number }[]>(cli(root, "models", "list", "concurrent", "--json")).map((m) => m.version);
    expect(versions.sort()).toEqual([before + 1, before + 2, before + 3]);
  });

  it("fsck passes and gc keeps everything that is referenced", () => {
    const gc = json<{ removedObjects: number }>(cli(root, "gc", "--grace", "0", "--json"));
    expect(gc.removedObjects).toBe(0);
    const fsck = cli(root, "fsck");
    expect(fsck.code, fsck.stdout).toBe(0);
    expect(fsck.stdout).toMatch(/no problems found/);
  });
});
