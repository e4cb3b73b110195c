import { describe, expect, it } from "vitest";
import { FILE, expectManifestError, manifestError } from "../test-support.js";
import { parseManifest } from "./manifest.js";

/** Three lines; the list of steps starts on line 4. */
const PIPELINE = "kind: pipeline\nname: weather\nsteps:\n";

function steps(...lines: string[]): string {
  return `${PIPELINE}${lines.map((line) => `  ${line}\n`).join("")}`;
}

describe("parseManifest: pipeline steps as a graph", () => {
  it("reads the graph form", () => {
    const text = steps(
      "- { id: stations, ref: noaa-stations }",
      "- { id: reanalysis, ref: era5-sample, parameters: { year: 2020 } }",
      "- id: joined",
      "  ref: join-sources",
      "  inputs: { left: stations, right: reanalysis.data }   # 'STEP' means output data",
      "- { id: forest, ref: 'forest-model:v2', inputs: { data: joined }, model: weather-forest }",
    );
    expect(parseManifest(text, FILE).steps).toEqual([
      { id: "stations", ref: "noaa-stations", parameters: {}, inputs: {}, model: null, executor: null },
      { id: "reanalysis", ref: "era5-sample", parameters: { year: 2020 }, inputs: {}, model: null, executor: null },
      {
        id: "joined",
        ref: "join-sources",
        parameters: {},
        inputs: { left: { step: "stations", output: "data" }, right: { step: "reanalysis", output: "data" } },
        model: null,
        executor: null,
      },
      { id: "forest", ref: "forest-model:v2", parameters: {}, inputs: { data: { step: "joined", output: "data" } }, model: "weather-forest", executor: null },
    ]);
  });

  it("keeps the declared order, reads named outputs and allows steps that read later ones", () => {
    const text = steps("- { id: fit, ref: m, inputs: { train: split.train, test: split.test } }", "- { id: split, ref: s }");
    expect(parseManifest(text, FILE).steps.map((step) => [step.id, step.inputs])).toEqual([
      ["fit", { train: { step: "split", output: "train" }, test: { step: "split", output: "test" } }],
      ["split", {}],
    ]);
  });

  it("takes numbers as ids as they are written", () => {
    const text = steps("- { id: 2020, ref: era5 }", "- { id: 01, ref: era5 }", "- { id: m, ref: x, inputs: { a: 2020, b: 01 } }");
    expect(parseManifest(text, FILE).steps.map((step) => [step.id, step.inputs])).toEqual([
      ["2020", {}],
      ["01", {}],
      ["m", { a: { step: "2020", output: "data" }, b: { step: "01", output: "data" } }],
    ]);
  });

  it("reads where a step runs, in the graph form and in a chain", () => {
    const graph = steps("- { id: prep, ref: clean, executor: local }", "- { id: fit, ref: forest, inputs: { data: prep }, executor: slurm:gpu-01 }", "- { id: more, ref: x, executor: slurm }");
    expect(parseManifest(graph, FILE).steps.map((step) => [step.id, step.executor])).toEqual([
      ["prep", "local"],
      ["fit", "slurm:gpu-01"],
      ["more", "slurm"],
    ]);
    const chain = steps("- clean", "- { ref: forest, executor: 'slurm:juwels' }");
    expect(parseManifest(chain, FILE).steps.map((step) => step.executor)).toEqual([null, "slurm:juwels"]);
  });

  it("uses the graph form as soon as one step has inputs", () => {
    const error = manifestError(steps("- { ref: a }", "- { ref: b, inputs: { data: a } }"));
    expect(error.message).toContain(`${FILE}:4:5: field 'steps[0].id': missing required field; expected a step id matching [a-z0-9][a-z0-9_-]*`);
    expect(error.message).toContain("when one step has an id or inputs, every step needs one");
  });
});

describe("parseManifest: errors in graph-form steps", () => {
  const id = "expected a step id matching [a-z0-9][a-z0-9_-]* (no dots: 'STEP.OUTPUT' names an output)";
  const source = "expected a source 'STEP' or 'STEP.OUTPUT' (a step id, then optionally '.' and an output name matching [A-Za-z_][A-Za-z0-9_]*)";
  const cases: [string, string, number, number, string, string][] = [
    [
      "a reference among mappings",
      steps("- { id: a, ref: x }", "- transform"),
      5,
      5,
      "steps[1]",
      "expected a mapping { id, ref, parameters, inputs, model, executor }: when one step has an id or inputs, every step needs an id, got 'transform'",
    ],
    ["a step without id", steps("- { id: a, ref: x }", "- { ref: y }"), 5, 5, "steps[1].id", "missing required field; expected a step id matching"],
    ["an id with a dot", steps("- { id: a.b, ref: x }"), 4, 11, "steps[0].id", `${id}, got 'a.b'`],
    ["an id in capitals", steps("- { id: Joined, ref: x }"), 4, 11, "steps[0].id", `${id}, got 'Joined'`],
    ["an id starting with '-'", steps("- { id: -a, ref: x }"), 4, 11, "steps[0].id", `${id}, got '-a'`],
    ["an id that is a list", steps("- { id: [a], ref: x }"), 4, 11, "steps[0].id", `${id}, got a list`],
    ["an id that is a bool", steps("- { id: true, ref: x }"), 4, 11, "steps[0].id", `${id}, got true`],
    ["a step without ref", steps("- { id: a }"), 4, 5, "steps[0].ref", "missing required field; expected an artifact reference like name:tag"],
    ["a bad reference", steps("- { id: a, ref: 'X:1' }"), 4, 19, "steps[0].ref", "invalid reference 'X:1'"],
    ["a misspelt field", steps("- { id: a, ref: x, input: { data: b } }"), 4, 22, "steps[0].input", "unknown field in 'steps[0]' (did you mean 'inputs'?); expected one of id, ref, parameters, inputs, model, executor"],
    [
      "a duplicate id",
      steps("- { id: a, ref: x }", "- { id: b, ref: x }", "- { id: a, ref: y }"),
      6,
      11,
      "steps[2].id",
      "two steps have the id 'a': steps[0] (line 4) and this one; expected a unique id for each step",
    ],
    ["inputs not a mapping", steps("- { id: a, ref: x, inputs: [b] }"), 4, 30, "steps[0].inputs", "expected a mapping of input name -> source ('STEP' or 'STEP.OUTPUT'), got a list"],
    ["a bad input name", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { 1x: a } }"), 5, 32, "steps[1].inputs.1x", "expected an input name matching [A-Za-z_][A-Za-z0-9_]*, got '1x'"],
    ["a source with two dots", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { d: a.b.c } }"), 5, 35, "steps[1].inputs.d", `${source}, got 'a.b.c'`],
    ["a source with an empty output", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { d: a. } }"), 5, 35, "steps[1].inputs.d", `${source}, got 'a.'`],
    ["a source with a bad output name", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { d: a.1x } }"), 5, 35, "steps[1].inputs.d", `${source}, got 'a.1x'`],
    ["a source in capitals", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { d: A } }"), 5, 35, "steps[1].inputs.d", `${source}, got 'A'`],
    ["a source left out", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { d: } }"), 5, 35, "steps[1].inputs.d", `${source}, got nothing`],
    [
      "a source naming no step",
      steps("- { id: stations, ref: x }", "- { id: joined, ref: y, inputs: { left: stations, right: statons.data } }"),
      5,
      60,
      "steps[1].inputs.right",
      "step 'joined' input 'right' is wired to step 'statons', which does not exist (did you mean 'stations'?); steps: stations, joined",
    ],
    [
      "a cycle",
      steps("- { id: a, ref: x, inputs: { x: c } }", "- { id: b, ref: x, inputs: { x: a } }", "- { id: c, ref: x, inputs: { x: b } }"),
      4,
      35,
      "steps[0].inputs.x",
      "steps form a cycle: a -> b -> c -> a; expected inputs that never lead back to their own step",
    ],
    ["a step reading itself", steps("- { id: a, ref: x }", "- { id: b, ref: x, inputs: { x: a, y: b.other } }"), 5, 41, "steps[1].inputs.y", "steps form a cycle: b -> b"],
    ["a bad model name", steps("- { id: a, ref: x, model: Weather Forest }"), 4, 29, "steps[0].model", "expected a model name: a name matching [a-z0-9][a-z0-9._-]*, optionally namespaced as group/name, got 'Weather Forest'"],
    ["a model name that is a number", steps("- { id: a, ref: x, model: 5 }"), 4, 29, "steps[0].model", "expected a model name: a name matching"],
    ["an unknown executor", steps("- { id: a, ref: x, executor: kubernetes }"), 4, 32, "steps[0].executor", "expected an executor: local, slurm (the only configured cluster) or slurm:NAME (a cluster of maelstrom cluster add), got 'kubernetes'"],
    ["an executor with an empty cluster name", steps("- { id: a, ref: x, executor: 'slurm:' }"), 4, 32, "steps[0].executor", "expected an executor: local, slurm"],
    ["an executor with a bad cluster name", steps("- ref: x", "  executor: slurm:a b"), 5, 15, "steps[0].executor", "got 'slurm:a b'"],
    ["an executor that is a list", steps("- { id: a, ref: x, executor: [local] }"), 4, 32, "steps[0].executor", "expected an executor: local, slurm (the only configured cluster) or slurm:NAME (a cluster of maelstrom cluster add), got a list"],
    [
      "a model in a chain",
      steps("- transform", "- { ref: forest, model: weather-forest }"),
      5,
      20,
      "steps[1].model",
      "expected no 'model' in a list of steps without ids; give every step an id (the graph form) to name the model a step registers",
    ],
  ];
  it.each(cases)("%s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});
