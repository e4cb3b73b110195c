import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, fixtureWorkspace, json, removeDir, tempDir, writeFiles } from "./test-support.js";

/** The store holds nothing half-written: no artifact registered, no model version, fsck clean. */
function expectNothingRegistered(root: string, artifactName: string): void {
  const artifacts = json<{ name: string }[]>(cli(root, "artifacts", "--json"));
  expect(artifacts.map((a) => a.name)).not.toContain(artifactName);
  expect(cli(root, "fsck").code).toBe(0);
}

describe("bad manifests are refused by add, with file, line, column and what was expected", () => {
  let root: string;
  beforeAll(() => ({ root } = fixtureWorkspace()));
  afterAll(() => removeDir(root));

  const cases: [string, string, RegExp][] = [
    ["malformed YAML", "kind: model\nname: [broken\n", /maelstrom\.yaml:\d+:\d+/],
    ["unknown kind", "kind: modle\nname: bad-kind\nruntime: node\nentry: m.ts\n", /maelstrom\.yaml:1:7: field 'kind': expected one of dataset, transform, model, pipeline, got 'modle'/],
    ["unknown runtime", "kind: model\nname: bad-runtime\nruntime: julia\nentry: m.ts\n", /maelstrom\.yaml:3:10: field 'runtime'.*node.*python/],
    ["missing field", "kind: model\nruntime: node\nentry: m.ts\n", /maelstrom\.yaml:1:1: .*'name'/],
    ["unknown field", "kind: model\nname: bad-field\nruntime: node\nentry: m.ts\nparamters: {}\n", /maelstrom\.yaml:5:1: .*'paramters'.*did you mean 'parameters'/],
    ["missing entry file", "kind: model\nname: no-entry\nruntime: node\nentry: missing.ts\n", /'entry'.*missing\.ts/],
    ["bad default", "kind: model\nname: bad-default\nruntime: node\nentry: m.ts\nparameters:\n  trees: { type: int, default: -1, min: 1 }\n", /maelstrom\.yaml:6:\d+: .*trees/],
  ];
  for (const [what, manifest, message] of cases) {
    it(what, () => {
      const dir = writeFiles(join(root, "bad", what.replaceAll(" ", "-")), { "maelstrom.yaml": manifest, "m.ts": "export {};\n" });
      const result = cli(root, "add", dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expectNothingRegistered(root, "bad");
    });
  }

  it("a folder that does not exist", () => {
    const result = cli(root, "add", "./no/such/folder");
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/artifact folder \.\/no\/such\/folder does not exist/);
  });
});

describe("bad run inputs fail before or during the run, naming the step, and register nothing", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
  });
  afterAll(() => removeDir(root));

  const models = (): unknown[] => json<unknown[]>(cli(root, "models", "--json"));
  const runs = (): { status: string }[] => json<{ status: string }[]>(cli(root, "runs", "--json"));

  it("parameter out of bounds or of the wrong type: no run is created", () => {
    const negative = cli(root, "train", "scale", "linear", "--data", "points", "--set", "factor=-1");
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/parameter 'factor' of scale: expected a float >= 0, got -1/);
    const text = cli(root, "train", "scale", "linear", "--data", "points", "--set", "rows=abc");
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/parameter 'rows' of points: expected an int/);
    const unknown = cli(root, "train", "scale", "linear", "--data", "points", "--set", "trees=5");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/parameter 'trees' is not declared by any step/);
    const malformed = cli(root, "train", "linear", "--data", "points", "--set", "noequals");
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/noequals/);
    expect(runs()).toEqual([]);
  });

  it("unknown artifact, model and run references, a missing data path, a missing workspace", () => {
    const artifact = cli(root, "train", "nope", "linear", "--data", "points");
    expect(artifact.code).toBe(3);
    expect(artifact.stderr).toMatch(/unknown artifact nope:latest/);
    const model = cli(root, "apply", "ghost/1", "--data", "points");
    expect(model.code).toBe(3);
    expect(model.stderr).toMatch(/unknown model ghost\/1/);
    const run = cli(root, "runs", "show", "01XXXXXXXX");
    expect(run.code).toBe(3);
    const path = cli(root, "train", "linear", "--data", "./missing.csv");
    expect(path.code).toBe(3);
    expect(path.stderr).toMatch(/data path \.\/missing\.csv does not exist/);
    const nowhere = tempDir("nowhere");
    const workspace = cli(nowhere, "artifacts");
    expect(workspace.code).toBe(3);
    expect(workspace.stderr).toMatch(/no Maelstrom workspace in .* or any folder above it; create one with 'maelstrom init'/);
    const explicit = cli(root, "--workspace", join(nowhere, "x"), "artifacts");
    expect(explicit.code).toBe(3);
    expect(explicit.stderr).toMatch(/no Maelstrom workspace at .*x.*maelstrom init/);
    removeDir(nowhere);
  });

  it("bad listing options, digests, tags and model names are refused before anything runs", () => {
    const limit = cli(root, "runs", "--limit", "abc");
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/--limit abc: expected a whole number of runs >= 1/);
    const status = cli(root, "runs", "--status", "bogus");
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/--status bogus: expected one of pending, running, succeeded, failed, cancelled/);
    const digest = cli(root, "bundle", "show", "sha256:abc");
    expect(digest.code).toBe(2);
    expect(digest.stderr).toMatch(/sha256:abc is not a valid bundle digest/);
    const csv = cli(root, "train", "linear", "--data", "nothere.csv");
    expect(csv.code).toBe(3);
    expect(csv.stderr).toMatch(/data path nothere\.csv does not exist/);
    const tag = cli(root, "add", "artifacts/scale", "--tag", "bad tag");
    expect(tag.code).toBe(2);
    expect(tag.stderr).toMatch(/invalid tag 'bad tag'/);
    const name = cli(root, "train", "linear", "--data", "points", "--model-name", "Bad_Name");
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/model name 'Bad_Name' is not valid/);
    const short = cli(root, "runs", "show", "01M");
    expect(short.code).toBe(3);
    expect(short.stderr).toMatch(/run id '01M' is too short/);
    expect(runs()).toEqual([]);
  });

  it("with --json, errors are JSON too", () => {
    const result = cli(root, "train", "linear", "--data", "points", "--set", "ridge=abc", "--json");
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "PARAMETER_INVALID", details: { parameter: "ridge" } } });
  });

  it("a step of the wrong kind in the pipeline", () => {
    const result = cli(root, "train", "linear", "scale", "--data", "points");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/step 1 \(linear\) is a model artifact, expected a transform/);
  });

  const failing: [string, RegExp][] = [
    ["throw", /step 'linear' \(train of model linear\) failed: the fit diverged \(at .*linear\/model\.ts:4:\d+\)/],
    ["exit", /step 'linear' \(train of model linear\) exited with code 3 before it finished/],
    ["kill", /step 'linear' \(train of model linear\) was killed by SIGKILL/],
    ["not-bundle", /train of linear returned \[model, a string \(not metrics\)\], expected \[model, Bundle\]/],
  ];
  for (const [mode, message] of failing) {
    it(`a step that fails (${mode}): exit 4, the run is failed, no model version`, () => {
      const before = models().length;
      const result = cli(root, "train", "linear", "--data", "points", "--set", `mode=${mode}`);
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/see the log: maelstrom logs \S+ linear/);
      expect(models()).toHaveLength(before);
      expect(runs()[0]?.status).toBe("failed");
      expect(cli(root, "fsck").code).toBe(0);
    });
  }

  it("a thrown error's stack lands in the step log", () => {
    const result = cli(root, "train", "linear", "--data", "points", "--set", "mode=throw");
    const runId = /maelstrom logs (\S+) linear/.exec(result.stderr)?.[1] ?? "";
    const run = cli(root, "runs", "show", runId, "--json");
    const steps = json<{ steps: { status: string; error: { message: string } | null }[] }>(run).steps;
    expect(steps.at(-1)?.status).toBe("failed");
    expect(steps.at(-1)?.error?.message).toMatch(/the fit diverged/);
    const logs = cli(root, "logs", runId, "linear");
    expect(logs.stdout).toMatch(/Error: the fit diverged\n\s+at fail \(.*model\.ts:4:\d+\)/);
  });

  it("an entry that does not export what its kind needs", () => {
    writeFiles(artifacts, {
      "no-train/maelstrom.yaml": "kind: model\nname: no-train\nruntime: node\nentry: m.ts\n",
      "no-train/m.ts": "export function fit() { return 1; }\n",
    });
    const result = cli(root, "train", "artifacts/no-train", "--data", "points");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/the entry of no-train does not export a function 'train' \(expected train\(bundle, meta\): \[model, Bundle\]\); it exports: fit/);
  });

  it("a syntax error in step code names the file, line and column", () => {
    writeFiles(artifacts, {
      "broken/maelstrom.yaml": "kind: transform\nname: broken\nruntime: node\nentry: t.ts\n",
      "broken/t.ts": "export function apply(bundle) {\n  return bundle +;\n}\n",
    });
    const result = cli(root, "train", "artifacts/broken", "linear", "--data", "points");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/cannot load the code of broken: t\.ts:2:\d+: Unexpected ";"/);
  });

  it("a transform that returns something that is not a Bundle", () => {
    writeFiles(artifacts, {
      "plain/maelstrom.yaml": "kind: transform\nname: plain\nruntime: node\nentry: t.js\n",
      "plain/t.js": "export function apply(bundle) { return { x: [1, 2] }; }\n",
    });
    const result = cli(root, "train", "artifacts/plain", "linear", "--data", "points");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/apply of plain returned a plain object, expected a Bundle/);
  });

  it("model state that cannot be serialised", () => {
    const result = cli(root, "train", "linear", "--data", "points", "--set", "mode=bad-state");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/model state returned by train of linear cannot be serialised.*export save\(model, dir\) and load\(dir\)/);
  });

  it("apply with data that lacks a variable the model needs", () => {
    json(cli(root, "train", "linear", "--data", "points", "--json"));
    writeFiles(root, { "other.csv": "z,y\n1,2\n3,4\n" });
    const result = cli(root, "apply", "linear", "--data", "other.csv");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/step 'linear' \(linear\) needs variable 'x' \(float64\) in its input, but the input data has: y, z/);
  });

  it("a step whose output breaks its declared outputs contract", () => {
    writeFiles(artifacts, {
      "liar/maelstrom.yaml": "kind: transform\nname: liar\nruntime: node\nentry: t.js\noutputs:\n  variables: { x: float64, y: float64, salinity: float64 }\n",
      "liar/t.js": "export function apply(bundle) { return bundle; }\n",
      "poor/maelstrom.yaml": "kind: transform\nname: poor\nruntime: node\nentry: t.js\noutputs:\n  variables: { salinity: float64 }\n",
      "poor/t.js": "export function apply(bundle) { return bundle; }\n",
    });
    const result = cli(root, "train", "artifacts/liar", "linear", "--data", "points");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/step 'liar' \(liar\) declares variable 'salinity' \(float64\) in its output, but the output has: station, x, y/);
    // When the contracts on both sides say it cannot fit, nothing runs at all.
    const planned = cli(root, "train", "artifacts/poor", "linear", "--data", "points");
    expect(planned.code).toBe(2);
    expect(planned.stderr).toContain("step 'linear' (model linear) input 'data' needs variable 'x' (float64), but step 'poor' (poor) output 'data' declares only: salinity");
  });

  it("a step that exceeds its time limit is stopped", () => {
    writeFiles(artifacts, {
      "slow/maelstrom.yaml": "kind: transform\nname: slow\nruntime: node\nentry: t.js\nresources: { time: 1s }\n",
      "slow/t.js": "export function apply(b) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000); return b; }\n",
    });
    const started = Date.now();
    const result = cli(root, "train", "artifacts/slow", "linear", "--data", "points");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/step 'slow' \(apply of transform slow\) exceeded its time limit of 1s/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("fsck finds a file a step left in its checkout, and gc clears it", () => {
    writeFiles(artifacts, {
      "scribbler/maelstrom.yaml": "kind: transform\nname: scribbler\nruntime: node\nentry: t.js\n",
      "scribbler/t.js": 'import { writeFileSync } from "node:fs";\nexport function apply(bundle) { writeFileSync("scratch.txt", "x"); return bundle; }\n',
    });
    expect(cli(root, "train", "artifacts/scribbler", "linear", "--data", "points").code).toBe(0);
    const dirty = cli(root, "fsck");
    expect(dirty.code).toBe(6);
    expect(dirty.stdout).toMatch(/checkout has files that are not part of it: scratch\.txt/);
    expect(cli(root, "gc").code).toBe(0);
    expect(cli(root, "fsck").code).toBe(0);
  });

  it("fsck names a corrupted object and exits non-zero", () => {
    const objects = join(root, ".maelstrom", "objects", "sha256");
    const fanout = readdirSync(objects)[0] ?? "";
    const file = readdirSync(join(objects, fanout))[0] ?? "";
    const path = join(objects, fanout, file);
    expect(existsSync(path)).toBe(true);
    chmodSync(path, 0o644);
    writeFileSync(path, "corrupted");
    const result = cli(root, "fsck");
    expect(result.code).toBe(6);
    expect(result.stdout).toContain(`sha256:${fanout}${file}`);
    expect(result.stderr).toMatch(/fsck found \d+ problem/);
  });
});

describe("more refusals", () => {
  let root: string;
  beforeAll(() => {
    ({ root } = fixtureWorkspace());
    addFixtures(root);
  });
  afterAll(() => removeDir(root));

  it("bundle show of an artifact folder says it is not a bundle and registers nothing", () => {
    const result = cli(root, "bundle", "show", "artifacts/points");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/artifacts\/points is an artifact folder, not a bundle/);
  });

  it("rerun of a failed run is refused, not reported as irreproducible", () => {
    const failed = cli(root, "train", "linear", "--data", "points", "--set", "mode=throw");
    const runId = /maelstrom logs (\S+) linear/.exec(failed.stderr)?.[1] ?? "";
    const rerun = cli(root, "rerun", runId);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr).toMatch(/ended failed; only a succeeded run has outputs to compare a rerun with/);
  });

  it("a corrupt metadata database is a workspace error, not a crash", () => {
    writeFileSync(join(root, ".maelstrom", "maelstrom.db"), "this is not sqlite, it is long enough to have a header..............................................");
    for (const suffix of ["-wal", "-shm"]) rmSync(join(root, ".maelstrom", `maelstrom.db${suffix}`), { force: true });
    const result = cli(root, "artifacts");
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot open the metadata database .*maelstrom\.db: file is not a database/);
  });
});
