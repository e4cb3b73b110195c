import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";

/** Each bad graph input: exit 2, a message naming the step ids involved, and no run recorded. */
describe("bad graph input", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    const pipeline = (name: string, steps: string): string => `kind: pipeline\nname: ${name}\nsteps:\n${steps}`;
    writeFiles(artifacts, {
      "ints/maelstrom.yaml": "kind: dataset\nname: ints\nruntime: node\nentry: get.ts\noutputs:\n  variables: { x: int64, y: float64 }\n",
      "ints/get.ts": `import { Bundle } from "@maelstrom/sdk";\nexport function get(): Bundle { return Bundle.fromTable({ x: BigInt64Array.from([1n, 2n]), y: Float64Array.from([1, 2]) }); }\n`,
      "pair/maelstrom.yaml": "kind: transform\nname: pair\nruntime: node\nentry: pair.ts\ninputs:\n  left: { variables: {} }\n  right: { variables: {} }\n",
      "pair/pair.ts": `import type { Bundle } from "@maelstrom/sdk";\nexport function apply(inputs: { left: Bundle }): Bundle { return inputs.left; }\n`,
      "greedy/maelstrom.yaml": "kind: transform\nname: greedy\nruntime: node\nentry: t.ts\nresources: { cpus: 64 }\n",
      "greedy/t.ts": `import type { Bundle } from "@maelstrom/sdk";\nexport function apply(b: Bundle): Bundle { return b; }\n`,
      "hungry/maelstrom.yaml": "kind: transform\nname: hungry\nruntime: node\nentry: t.ts\nresources: { memory: 100TiB }\n",
      "hungry/t.ts": `import type { Bundle } from "@maelstrom/sdk";\nexport function apply(b: Bundle): Bundle { return b; }\n`,
      "mismatch/maelstrom.yaml": pipeline("mismatch", "  - { id: source, ref: ints }\n  - { id: features, ref: scale, inputs: { data: source } }\n"),
      "no-output/maelstrom.yaml": pipeline("no-output", "  - { id: source, ref: points }\n  - { id: features, ref: scale, inputs: { data: source.train } }\n"),
      "half-wired/maelstrom.yaml": pipeline("half-wired", "  - { id: a, ref: points }\n  - { id: both, ref: pair, inputs: { left: a } }\n"),
    });
    for (const name of ["ints", "pair", "greedy", "hungry", "mismatch", "no-output", "half-wired"]) {
      const added = cli(root, "add", join("artifacts", name));
      expect(added.code, added.stderr).toBe(0);
    }
  });
  afterAll(() => removeDir(root));

  const expectRejected = (args: readonly string[], message: RegExp | string): void => {
    const result = cli(root, ...args);
    expect(result.code, result.stderr).toBe(2);
    if (typeof message === "string") expect(result.stderr).toContain(message);
    else expect(result.stderr).toMatch(message);
    expect(json<unknown[]>(cli(root, "runs", "--json"))).toEqual([]);
  };

  it("rejects a graph with a cycle, an unknown step or two steps with one id when it is added, naming the steps", () => {
    const cases: [string, string, RegExp][] = [
      [
        "cyclic",
        "  - { id: a, ref: scale, inputs: { data: c } }\n  - { id: b, ref: scale, inputs: { data: a } }\n  - { id: c, ref: scale, inputs: { data: b } }\n",
        /maelstrom\.yaml:\d+:\d+: .*steps form a cycle: a -> b -> c -> a/,
      ],
      ["dangling", "  - { id: source, ref: points }\n  - { id: features, ref: scale, inputs: { data: sourse } }\n", /step 'features' input 'data' is wired to step 'sourse', which does not exist \(did you mean 'source'\?\)/],
      ["twice", "  - { id: source, ref: points }\n  - { id: source, ref: points }\n", /maelstrom\.yaml:5:\d+: .*source.*steps\[0\] \(line 4\)/],
    ];
    for (const [name, steps, message] of cases) {
      writeFiles(artifacts, { [`${name}/maelstrom.yaml`]: `kind: pipeline\nname: ${name}\nsteps:\n${steps}` });
      const added = cli(root, "add", join("artifacts", name));
      expect(added.code, added.stderr).toBe(2);
      expect(added.stderr).toMatch(message);
      expect(cli(root, "artifacts").stdout).not.toContain(name);
    }
  });

  it("rejects a type mismatch between an output and the input it feeds, showing both types", () => {
    expectRejected(["train", "mismatch", "linear"], "pipeline mismatch is a graph");
    expectRejected(["run", "mismatch"], "step 'features' (transform scale) input 'data' needs variable 'x' as float64, but step 'source' (ints) output 'data' declares it as int64");
  });

  it("rejects an input wired to an output that does not exist", () => {
    expectRejected(["run", "no-output"], "step 'features' (transform scale) input 'data' is wired to 'source.train', but step 'source' (points) has the outputs: data");
  });

  it("rejects a step whose declared input is not wired", () => {
    expectRejected(["run", "half-wired"], "step 'both' (transform pair) needs input 'right', which is not wired");
  });

  it("rejects a sweep over an undeclared parameter or with a value out of bounds", () => {
    expectRejected(["train", "points", "scale", "linear", "--sweep", "depth=1,2"], "--sweep depth=1,2: parameter 'depth' is not declared by any step");
    expectRejected(["train", "points", "scale", "linear", "--sweep", "factor=2,-1"], /--sweep factor=-1: step 'scale': .*factor.*-1/);
    expectRejected(["train", "points", "scale", "linear", "--select", "rmse:min"], "--select rmse:min chooses among the branches of a sweep");
    expectRejected(["train", "points", "scale", "linear", "--sweep", "ridge=1,2", "--select", "rmse"], "--select rmse: expected METRIC:max or METRIC:min");
  });

  it("rejects a step that declares more CPUs or memory than the machine allows", () => {
    expectRejected(["run", "points", "greedy"], /step 'greedy' \(greedy\) declares 64 CPUs, but steps may use \d+ here/);
    expectRejected(["run", "points", "hungry"], /step 'hungry' \(hungry\) declares 102400\.0 GiB of memory, but steps may use/);
  });

  it("rejects --rerun and --target of steps that are not in the run", () => {
    expectRejected(["train", "points", "scale", "linear", "--rerun", "nope"], "--rerun nope: no step 'nope' in this run; steps: points, scale, linear");
    expectRejected(["train", "points", "scale", "linear", "--target", "nope"], "--target nope: no step 'nope' in this run");
  });
});
