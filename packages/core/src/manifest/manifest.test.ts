import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "@maelstrom/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FILE, expectManifestError, manifestError } from "../test-support.js";
import { MANIFEST_FILE, loadManifest, parseManifest } from "./manifest.js";

/** Four valid lines; test snippets appended to it start on line 5. */
const MODEL = "kind: model\nname: m\nruntime: node\nentry: model.ts\n";
const PYTHON_MODEL = "kind: model\nname: m\nruntime: python\nentry: model.py\n";
const PIPELINE = "kind: pipeline\nname: p\n";
const ALL_FIELDS = "kind, name, description, runtime, entry, command, parameters, resources, inputs, outputs, steps, python";

describe("parseManifest: a valid manifest", () => {
  it("reads the design's example", () => {
    const text = [
      "kind: model                      # dataset | transform | model | pipeline",
      "name: seattle-weather-classifier",
      "description: Random forest on daily observations",
      "runtime: node",
      "entry: model.ts",
      "parameters:",
      "  trees: { type: int, default: 50, min: 1, description: number of trees }",
      "  seed:  { type: int, default: 42 }",
      "resources: { cpus: 2, memory: 4GiB, gpus: 0, time: 30m }",
      "inputs:  { variables: { temp_max: float32, weather: string } }",
      "outputs: { variables: { weather: string } }",
      "",
    ].join("\n");
    expect(parseManifest(text, FILE)).toEqual({
      kind: "model",
      name: "seattle-weather-classifier",
      description: "Random forest on daily observations",
      runtime: "node",
      entry: "model.ts",
      command: null,
      parameters: {
        trees: { type: "int", default: 50, min: 1, description: "number of trees" },
        seed: { type: "int", default: 42 },
      },
      resources: { cpus: 2, memoryBytes: 4 * 1024 ** 3, gpus: 0, timeoutMs: 30 * 60_000 },
      inputs: { data: { variables: { temp_max: "float32", weather: "string" } } },
      outputs: { data: { variables: { weather: "string" } } },
      steps: [],
      python: null,
    });
  });

  it("fills defaults for the optional fields", () => {
    expect(parseManifest(MODEL, FILE)).toEqual({
      kind: "model",
      name: "m",
      description: "",
      runtime: "node",
      entry: "model.ts",
      command: null,
      parameters: {},
      resources: { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0, timeoutMs: null },
      inputs: { data: { variables: {} } },
      outputs: { data: { variables: {} } },
      steps: [],
      python: null,
    });
  });

  it("reads a pipeline's steps, plain and with parameter overrides", () => {
    const text = `${PIPELINE}steps:\n  - transform\n  - ref: "weather/classifier:v2"\n    parameters: { trees: 10, criterion: entropy, bootstrap: false, rate: 0.5 }\n  - model@sha256:abcdef\n`;
    const manifest = parseManifest(text, FILE);
    expect(manifest).toMatchObject({ kind: "pipeline", name: "p", runtime: null, entry: null, command: null, python: null, inputs: {}, outputs: {} });
    const chain = { id: null, inputs: null, model: null, executor: null };
    expect(manifest.steps).toEqual([
      { ...chain, ref: "transform", parameters: {} },
      { ...chain, ref: "weather/classifier:v2", parameters: { trees: 10, criterion: "entropy", bootstrap: false, rate: 0.5 } },
      { ...chain, ref: "model@sha256:abcdef", parameters: {} },
    ]);
  });

  it("reads a python interpreter for runtime python", () => {
    expect(parseManifest(`${PYTHON_MODEL}python: /usr/bin/python3\n`, FILE)).toMatchObject({
      runtime: "python",
      entry: "model.py",
      python: "/usr/bin/python3",
    });
  });

  it("normalises the entry path", () => {
    expect(parseManifest("kind: transform\nname: t\nruntime: node\nentry: ./src//clean.mjs\n", FILE).entry).toBe("src/clean.mjs");
  });

  it("reads every parameter type, bound and choice", () => {
    const text = `${MODEL}parameters:
  rate: { type: float, default: 1, min: 0, max: 1.5 }
  mode: { type: string, default: fast, choices: [fast, slow] }
  flag: { type: bool, default: false }
  region: { type: string, description: "no default: callers must pass one" }
  k: { type: int, choices: [1, 3, 5], min: 1 }
`;
    expect(parseManifest(text, FILE).parameters).toEqual({
      rate: { type: "float", default: 1, min: 0, max: 1.5 },
      mode: { type: "string", default: "fast", choices: ["fast", "slow"] },
      flag: { type: "bool", default: false },
      region: { type: "string", description: "no default: callers must pass one" },
      k: { type: "int", choices: [1, 3, 5], min: 1 },
    });
  });

  it("follows YAML anchors and aliases", () => {
    const text = `${MODEL}parameters:\n  seed: &seed { type: int, default: 42 }\n  other_seed: *seed\n`;
    expect(parseManifest(text, FILE).parameters).toEqual({
      seed: { type: "int", default: 42 },
      other_seed: { type: "int", default: 42 },
    });
  });

  it.each([
    ["{ memory: 1073741824 }", { memoryBytes: 1024 ** 3 }],
    ["{ memory: 512MiB, cpus: 8, gpus: 2 }", { memoryBytes: 512 * 1024 ** 2, cpus: 8, gpus: 2 }],
    ["{ time: 1h30m }", { timeoutMs: 90 * 60_000 }],
    ["{ time: 1-00:00:00 }", { timeoutMs: 24 * 3_600_000 }],
    ["{ time: 1:30:00 }", { timeoutMs: 90 * 60_000 }],
    ["{ time: null }", { timeoutMs: null }],
    ["{}", { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0, timeoutMs: null }],
  ])("reads resources %s", (resources, expected) => {
    expect(parseManifest(`${MODEL}resources: ${resources}\n`, FILE).resources).toMatchObject(expected);
  });

});

describe("parseManifest: errors about the document", () => {
  it.each([
    ["malformed YAML", "kind: model\nname: [a\n", 3, 1, "invalid YAML: Flow sequence in block collection must be sufficiently indented"],
    ["a duplicate key", "kind: model\nkind: dataset\n", 2, 1, "invalid YAML: Map keys must be unique"],
    ["tabs as indentation", "parameters:\n\ttrees: 1\n", 2, 1, "invalid YAML: Tabs are not allowed as indentation"],
    ["a list at the top", "- kind: model\n", 1, 1, `expected a mapping with fields ${ALL_FIELDS}, got a list`],
    ["a scalar at the top", "model\n", 1, 1, `expected a mapping with fields ${ALL_FIELDS}, got 'model'`],
    ["an empty file", "", 1, 1, `expected a mapping with fields ${ALL_FIELDS}, got an empty document`],
    ["a file of comments", "# nothing yet\n", 1, 1, `expected a mapping with fields ${ALL_FIELDS}, got an empty document`],
    ["a complex key", `${MODEL}? [a, b]\n: c\n`, 5, 3, "expected a field name as key, got a list"],
    ["an empty key", `${MODEL}: c\n`, 5, 1, "expected a field name as key, got nothing"],
  ])("%s", (_title, text, line, column, expected) => {
    const error = manifestError(text);
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain(`${FILE}:${line}:${column}: ${expected}`);
    expect(error.details).toMatchObject({ file: FILE, line, column, field: null });
  });
});

describe("parseManifest: errors about a field", () => {
  const cases: [string, string, number, number, string, string][] = [
    // kind, name, description
    ["kind missing", "name: m\n", 1, 1, "kind", "missing required field; expected one of dataset, transform, model, pipeline"],
    ["kind misspelt", "kind: modle\nname: m\n", 1, 7, "kind", "expected one of dataset, transform, model, pipeline, got 'modle' (did you mean 'model'?)"],
    ["kind a number", "kind: 5\nname: m\n", 1, 7, "kind", "expected one of dataset, transform, model, pipeline, got 5"],
    ["name missing", "kind: model\nruntime: node\nentry: model.ts\n", 1, 1, "name", "missing required field; expected a name matching [a-z0-9][a-z0-9._-]*"],
    ["name invalid", "kind: model\nname: Seattle Weather\n", 2, 7, "name", "expected a name matching [a-z0-9][a-z0-9._-]*, optionally namespaced as group/name, got 'Seattle Weather'"],
    ["name a number", "kind: model\nname: 123\n", 2, 7, "name", "got 123"],
    ["name too deep", "kind: model\nname: a/b/c\n", 2, 7, "name", "optionally namespaced as group/name, got 'a/b/c'"],
    ["description a list", `${MODEL}description: [a, b]\n`, 5, 14, "description", "expected a string, got a list"],
    // unknown top-level fields
    ["unknown field, close to a known one", `${MODEL}paramters:\n  trees: { type: int }\n`, 5, 1, "paramters", `unknown top-level field (did you mean 'parameters'?); expected one of ${ALL_FIELDS}`],
    ["unknown field", `${MODEL}colour: red\n`, 5, 1, "colour", `unknown top-level field; expected one of ${ALL_FIELDS}`],
    // runtime, entry, python
    ["runtime missing", "kind: model\nname: m\nentry: model.ts\n", 1, 1, "runtime", "missing required field; expected one of node, python, shell"],
    ["runtime unknown", "kind: model\nname: m\nruntime: java\nentry: model.ts\n", 3, 10, "runtime", "expected one of node, python, shell, got 'java'"],
    ["runtime misspelt", "kind: model\nname: m\nruntime: pyhton\nentry: model.py\n", 3, 10, "runtime", "got 'pyhton' (did you mean 'python'?)"],
    ["entry missing", "kind: model\nname: m\nruntime: node\n", 1, 1, "entry", "missing required field; expected the path of the entry module, relative to the artifact directory"],
    ["entry empty", "kind: model\nname: m\nruntime: node\nentry:\n", 4, 7, "entry", "expected a relative path inside the artifact directory (no '..', not absolute, '/' as separator), got nothing"],
    ["entry outside", "kind: model\nname: m\nruntime: node\nentry: ../model.ts\n", 4, 8, "entry", "expected a relative path inside the artifact directory (no '..', not absolute, '/' as separator), got '../model.ts'"],
    ["entry escaping midway", "kind: model\nname: m\nruntime: node\nentry: src/../../model.ts\n", 4, 8, "entry", "got 'src/../../model.ts'"],
    ["entry absolute", "kind: model\nname: m\nruntime: node\nentry: /home/me/model.ts\n", 4, 8, "entry", "not absolute"],
    ["entry a Windows path", "kind: model\nname: m\nruntime: node\nentry: 'C:\\model.ts'\n", 4, 8, "entry", "got 'C:\\model.ts'"],
    ["entry a directory", "kind: model\nname: m\nruntime: node\nentry: src/\n", 4, 8, "entry", "got 'src/'"],
    ["entry an empty string", "kind: model\nname: m\nruntime: node\nentry: ''\n", 4, 8, "entry", "got ''"],
    ["entry of another language", "kind: model\nname: m\nruntime: node\nentry: model.py\n", 4, 8, "entry", "expected a .ts, .mts, .cts, .js, .mjs, .cjs file for runtime node, got 'model.py'"],
    ["entry of node for python", "kind: model\nname: m\nruntime: python\nentry: model.ts\n", 4, 8, "entry", "expected a .py file for runtime python, got 'model.ts'"],
    ["python for runtime node", `${MODEL}python: /usr/bin/python3\n`, 5, 1, "python", "expected no python interpreter for runtime node"],
    ["python not a string", `${PYTHON_MODEL}python: 3\n`, 5, 9, "python", "expected the path or command of a Python interpreter, got 3"],
    // kind-dependent fields
    ["steps outside a pipeline", `${MODEL}steps: [a]\n`, 5, 1, "steps", "expected no steps: only kind pipeline has steps"],
    ["pipeline without steps", PIPELINE, 1, 1, "steps", "missing required field for kind pipeline; expected a non-empty list of artifact references"],
    ["pipeline with empty steps", `${PIPELINE}steps: []\n`, 3, 8, "steps", "expected a non-empty list of steps (artifact references, or { ref, parameters, executor }, or { id, ref, parameters, inputs, model, executor }), got an empty list"],
    ["pipeline steps not a list", `${PIPELINE}steps: transform\n`, 3, 8, "steps", "expected a non-empty list of steps (artifact references, or { ref, parameters, executor }, or { id, ref, parameters, inputs, model, executor }), got 'transform'"],
    ["pipeline with entry", `${PIPELINE}entry: main.ts\nsteps: [a]\n`, 3, 1, "entry", "expected no runtime, entry, command or python for kind pipeline"],
    ["pipeline with runtime", `${PIPELINE}runtime: node\nsteps: [a]\n`, 3, 1, "runtime", "expected no runtime, entry, command or python for kind pipeline"],
    ["step with a bad reference", `${PIPELINE}steps:\n  - transform\n  - Model:v1\n`, 5, 5, "steps[1]", "invalid reference 'Model:v1': invalid name 'Model'; expected a name matching"],
    ["step with a bad digest", `${PIPELINE}steps:\n  - { ref: 'x@sha256:12' }\n`, 4, 12, "steps[0].ref", "invalid reference 'x@sha256:12': 'sha256:12' is not a digest; expected a digest like sha256:<hex prefix of at least 6 digits>"],
    ["step without ref", `${PIPELINE}steps:\n  - parameters: { trees: 5 }\n`, 4, 5, "steps[0].ref", "missing required field; expected an artifact reference like name:tag"],
    ["step with an unknown field", `${PIPELINE}steps:\n  - ref: model\n    parameter: { trees: 5 }\n`, 5, 5, "steps[0].parameter", "unknown field in 'steps[0]' (did you mean 'parameters'?); expected one of id, ref, parameters, inputs, model, executor"],
    ["step as a list", `${PIPELINE}steps:\n  - [a]\n`, 4, 5, "steps[0]", "expected an artifact reference like name:tag, or a mapping { ref, parameters, executor }, got a list"],
    ["step parameter a list", `${PIPELINE}steps:\n  - ref: model\n    parameters: { trees: [1] }\n`, 5, 26, "steps[0].parameters.trees", "expected a number, string or bool, got a list"],
    ["step parameter null", `${PIPELINE}steps:\n  - ref: model\n    parameters: { trees: null }\n`, 5, 26, "steps[0].parameters.trees", "expected a number, string or bool, got null"],
    ["step parameter badly named", `${PIPELINE}steps:\n  - ref: model\n    parameters: { 1x: 5 }\n`, 5, 19, "steps[0].parameters.1x", "expected a parameter name matching [A-Za-z_][A-Za-z0-9_]*, got '1x'"],
    ["step parameters not a mapping", `${PIPELINE}steps:\n  - ref: model\n    parameters: [5]\n`, 5, 17, "steps[0].parameters", "expected a mapping of parameter name -> value, got a list"],
  ];
  it.each(cases)("%s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});

describe("parseManifest: errors in parameters", () => {
  const params = (...lines: string[]): string => `${MODEL}parameters:\n${lines.map((line) => `  ${line}\n`).join("")}`;
  const cases: [string, string, number, number, string, string][] = [
    ["not a mapping", `${MODEL}parameters: [trees]\n`, 5, 13, "parameters", "expected a mapping of parameter name -> { type, default, ... }, got a list"],
    ["a bad name", params("1trees: { type: int }"), 6, 3, "parameters.1trees", "expected a parameter name matching [A-Za-z_][A-Za-z0-9_]*, got '1trees'"],
    ["a dashed name", params("n-trees: { type: int }"), 6, 3, "parameters.n-trees", "got 'n-trees'"],
    ["a spec that is a value", params("trees: 5"), 6, 10, "parameters.trees", "expected a mapping like { type: int, default: 1 }, got 5"],
    ["no type", params("trees: { default: 5 }"), 6, 10, "parameters.trees.type", "missing required field; expected one of int, float, string, bool"],
    ["an unknown type", params("trees: { type: integer }"), 6, 18, "parameters.trees.type", "expected one of int, float, string, bool, got 'integer'"],
    ["an unknown field", params("trees: { type: int, defualt: 5 }"), 6, 23, "parameters.trees.defualt", "unknown field in 'parameters.trees' (did you mean 'default'?); expected one of type, default, min, max, choices, description"],
    ["a default of the wrong type", params("trees: { type: int, default: abc }"), 6, 32, "parameters.trees.default", "expected an int, got 'abc'"],
    ["a fractional int default", params("trees: { type: int, default: 1.5 }"), 6, 32, "parameters.trees.default", "expected an int, got 1.5"],
    ["a default below min", params("trees: { type: int, default: 0, min: 1 }"), 6, 32, "parameters.trees.default", "expected an int >= 1, got 0"],
    ["a default above max", params("rate: { type: float, default: 2.5, max: 1 }"), 6, 33, "parameters.rate.default", "expected a float <= 1, got 2.5"],
    ["a default outside choices", params("mode: { type: string, default: fast, choices: [slow, medium] }"), 6, 34, "parameters.mode.default", "expected one of 'slow', 'medium', got 'fast'"],
    ["a YAML 1.1 bool", params("flag: { type: bool, default: yes }"), 6, 32, "parameters.flag.default", "expected a bool, got 'yes'"],
    ["a null default", params("seed: { type: int, default: null }"), 6, 31, "parameters.seed.default", "expected an int, got null"],
    ["a number for a string", params("label: { type: string, default: 42 }"), 6, 35, "parameters.label.default", "expected a string, got 42"],
    ["min on a string", params("name: { type: string, min: 1 }"), 6, 25, "parameters.name.min", "expected no 'min' for a string parameter; bounds apply to int and float parameters only"],
    ["max on a bool", params("flag: { type: bool, max: 1 }"), 6, 23, "parameters.flag.max", "expected no 'max' for a bool parameter"],
    ["min not a number", params("trees: { type: int, min: one }"), 6, 28, "parameters.trees.min", "expected an int, got 'one'"],
    ["a fractional int bound", params("trees: { type: int, min: 0.5 }"), 6, 28, "parameters.trees.min", "expected an int, got 0.5"],
    ["an infinite float bound", params("rate: { type: float, max: .inf }"), 6, 29, "parameters.rate.max", "expected a finite number, got Infinity"],
    ["min above max", params("trees: { type: int, min: 5, max: 2 }"), 6, 36, "parameters.trees.max", "expected a number >= min (5), got 2"],
    ["empty choices", params("mode: { type: string, choices: [] }"), 6, 34, "parameters.mode.choices", "expected a non-empty list of string values, got an empty list"],
    ["choices not a list", params("mode: { type: string, choices: slow }"), 6, 34, "parameters.mode.choices", "expected a non-empty list of string values, got 'slow'"],
    ["a choice of the wrong type", params("mode: { type: string, choices: [slow, 3] }"), 6, 41, "parameters.mode.choices[1]", "expected a string, got 3"],
    ["a choice out of bounds", params("k: { type: int, min: 1, choices: [1, 0] }"), 6, 40, "parameters.k.choices[1]", "expected an int >= 1, got 0"],
    ["a description that is not text", params("k: { type: int, description: [a] }"), 6, 32, "parameters.k.description", "expected a string, got a list"],
  ];
  it.each(cases)("%s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});

describe("parseManifest: errors in resources", () => {
  const resources = (line: string): string => `${MODEL}resources:\n  ${line}\n`;
  const size = "expected a positive size like 4GiB, 512MiB, 1.5G or a number of bytes";
  const duration = "expected a duration like 90s, 30m, 2h, 1h30m, 1-00:00:00 or 00:30:00 (a bare number is ambiguous: add a unit)";
  const cases: [string, string, number, number, string, string][] = [
    ["not a mapping", `${MODEL}resources: big\n`, 5, 12, "resources", "expected a mapping like { cpus: 2, memory: 4GiB, gpus: 0, time: 30m }, got 'big'"],
    ["an unknown field", resources("memroy: 4GiB"), 6, 3, "resources.memroy", "unknown field in 'resources' (did you mean 'memory'?); expected one of cpus, memory, gpus, time"],
    ["zero cpus", resources("cpus: 0"), 6, 9, "resources.cpus", "expected a positive integer number of CPUs, got 0"],
    ["fractional cpus", resources("cpus: 1.5"), 6, 9, "resources.cpus", "expected a positive integer number of CPUs, got 1.5"],
    ["cpus as words", resources("cpus: two"), 6, 9, "resources.cpus", "got 'two'"],
    ["negative gpus", resources("gpus: -1"), 6, 9, "resources.gpus", "expected an integer number of GPUs >= 0, got -1"],
    ["memory as words", resources("memory: lots"), 6, 11, "resources.memory", `${size}, got 'lots'`],
    ["zero memory", resources("memory: 0"), 6, 11, "resources.memory", `${size}, got 0`],
    ["zero memory with a unit", resources("memory: 0GiB"), 6, 11, "resources.memory", `${size}, got '0GiB'`],
    ["fractional bytes", resources("memory: 1.5"), 6, 11, "resources.memory", `${size}, got 1.5`],
    ["a time without unit", resources("time: 30"), 6, 9, "resources.time", `${duration}, got 30`],
    ["a time as words", resources("time: forever"), 6, 9, "resources.time", `${duration}, got 'forever'`],
    ["a zero time", resources("time: 0s"), 6, 9, "resources.time", `${duration}, got '0s'`],
  ];
  it.each(cases)("%s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});

describe("parseManifest: runtime shell", () => {
  /** Three valid lines; the command or the snippet starts on line 4. */
  const SHELL = "kind: transform\nname: regrid\nruntime: shell\n";
  const NO_CONTRACT = { variables: {} };

  it("reads a command step", () => {
    const text = `${SHELL}command: cdo -f nc4 remapbil,{params.grid} {inputs.data}/t2m.nc {outputs.data}/t2m.nc\nparameters: { grid: { type: string, default: r360x180 } }\n`;
    expect(parseManifest(text, FILE)).toEqual({
      kind: "transform",
      name: "regrid",
      description: "",
      runtime: "shell",
      entry: null,
      command: "cdo -f nc4 remapbil,{params.grid} {inputs.data}/t2m.nc {outputs.data}/t2m.nc",
      parameters: { grid: { type: "string", default: "r360x180" } },
      resources: { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0, timeoutMs: null },
      inputs: { data: NO_CONTRACT },
      outputs: { data: NO_CONTRACT },
      steps: [],
      python: null,
    });
  });

  it("names inputs and outputs after the command's placeholders, with the declared contracts", () => {
    const text = `${SHELL}command: |
  cdo mul {inputs.data}/t.nc {inputs.mask}/m.nc {outputs.masked}/t.nc
  awk '{{print $1}}' {inputs.data}/s.csv > {outputs.report}/r.csv
inputs:
  variables: { t2m: float32 }
outputs:
  report: { variables: { station: string } }
`;
    const manifest = parseManifest(text, FILE);
    expect(manifest.inputs).toEqual({ data: { variables: { t2m: "float32" } }, mask: NO_CONTRACT });
    expect(manifest.outputs).toEqual({ masked: NO_CONTRACT, report: { variables: { station: "string" } } });
  });

  it("gives a command without {inputs.NAME} no inputs, and a dataset's command its outputs", () => {
    expect(parseManifest(`${SHELL}command: date > {outputs.data}/now.txt\n`, FILE)).toMatchObject({ inputs: {}, outputs: { data: NO_CONTRACT } });
    const dataset = "kind: dataset\nname: era5\nruntime: shell\ncommand: fetch --year {params.year} --to {outputs.data}\nparameters: { year: { type: int, default: 2020 } }\n";
    expect(parseManifest(dataset, FILE)).toMatchObject({ runtime: "shell", inputs: {}, outputs: { data: NO_CONTRACT } });
  });

  const cases: [string, string, number, number, string, string][] = [
    ["no command", SHELL, 1, 1, "command", "missing required field; expected the command line to run, like cdo remapbil,{params.grid} {inputs.data}/t.nc {outputs.data}/t.nc"],
    ["an entry", `${SHELL}entry: run.sh\ncommand: ./run.sh\n`, 4, 1, "entry", "expected no entry for runtime shell; its command is what runs"],
    ["a python interpreter", `${SHELL}python: /usr/bin/python3\ncommand: ./run.sh\n`, 4, 1, "python", "expected no python interpreter for runtime shell; it applies to runtime python only"],
    ["a command for runtime node", `${MODEL}command: ./run.sh\n`, 5, 1, "command", "expected no command for runtime node; it applies to runtime shell only"],
    ["a command in a pipeline", `${PIPELINE}command: ./run.sh\nsteps: [a]\n`, 3, 1, "command", "expected no runtime, entry, command or python for kind pipeline"],
    ["a command that is a list", `${SHELL}command: [cdo, x]\n`, 4, 10, "command", "expected a command line, like cdo remapbil,{params.grid} {inputs.data}/t.nc {outputs.data}/t.nc, got a list"],
    ["an empty command", `${SHELL}command: '  '\n`, 4, 10, "command", "expected a command line, like cdo remapbil,{params.grid} {inputs.data}/t.nc {outputs.data}/t.nc, got '  '"],
    [
      "a misspelt placeholder kind",
      `${SHELL}command: cdo remapbil,{param.grid} {inputs.data} {outputs.data}\n`,
      4,
      23,
      "command",
      "'{param.grid}' at character 14: unknown placeholder kind 'param' (did you mean 'params'?); expected {params.NAME}, {inputs.NAME} or {outputs.NAME}, and {{ or }} for a literal brace",
    ],
    ["shell braces", `${SHELL}command: "awk '{print $1}' {inputs.data}"\n`, 4, 16, "command", "'{print $1}' at character 6 is not a placeholder"],
    ["an unclosed brace", `${SHELL}command: cp {inputs.data {outputs.data}\n`, 4, 13, "command", "'{' at character 4 is not closed; expected {params.NAME}"],
    ["a lone closing brace", `${SHELL}command: 'cp {inputs.data} }'\n`, 4, 28, "command", "'}' at character 18 is not part of a placeholder"],
    [
      "an undeclared parameter",
      `${SHELL}command: cdo remapbil,{params.gird} {inputs.data} {outputs.data}\nparameters: { grid: { type: string }, n: { type: int } }\n`,
      4,
      23,
      "command",
      "'{params.gird}' at character 14: no parameter 'gird' (did you mean 'grid'?); expected {params.NAME} for a declared parameter (declared: grid, n)",
    ],
    ["a parameter when none are declared", `${SHELL}command: echo {params.x}\n`, 4, 15, "command", "'{params.x}' at character 6: no parameter 'x'; expected {params.NAME} for a declared parameter (none are declared)"],
    [
      "an input in a dataset's command",
      "kind: dataset\nname: d\nruntime: shell\ncommand: cp {inputs.data} {outputs.data}\n",
      4,
      13,
      "command",
      "'{inputs.data}' at character 4: a dataset reads no input; expected only {params.NAME} and {outputs.NAME} in a dataset's command",
    ],
    [
      "a placeholder on a later line of a block",
      `${SHELL}command: |\n  cdo copy {inputs.data} {outputs.data}\n  rm {output.data}/tmp\n`,
      6,
      6,
      "command",
      "'{output.data}' at character 42: unknown placeholder kind 'output' (did you mean 'outputs'?)",
    ],
    // An escape inside the placeholder: its text is not in the file as written, so the error points at the value.
    ["a placeholder written with escapes", `${SHELL}command: "cp {inputs.data} {outputs.d\\x61ta} {params.\\x78}"\n`, 4, 10, "command", "'{params.x}' at character 33: no parameter 'x'"],
    [
      "a contract for an input the command does not use",
      `${SHELL}command: cp {inputs.data} {outputs.data}\ninputs:\n  dat: { variables: { a: int8 } }\n`,
      6,
      3,
      "inputs.dat",
      "the command has no {inputs.dat} (did you mean 'data'?); expected contracts only for the inputs the command uses: data",
    ],
    [
      "a single-form contract when the command has no {inputs.data}",
      `${SHELL}command: cp {inputs.left} {outputs.data}\ninputs:\n  variables: { a: int8 }\n`,
      6,
      3,
      "inputs.variables",
      "the command has no {inputs.data} (a contract given as { variables } is for the one input named 'data'); expected contracts only for the inputs the command uses: left",
    ],
    ["a contract for outputs of a command without any", `${SHELL}command: cat {inputs.data}\noutputs:\n  variables: {}\n`, 6, 3, "outputs.variables", "expected contracts only for the outputs the command uses: none"],
  ];
  it.each(cases)("refuses %s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});

describe("loadManifest", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "maelstrom-manifest-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads maelstrom.yaml from a directory whose entry exists", async () => {
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "model.py"), "def train(bundle, meta): ...\n");
    await writeFile(join(dir, MANIFEST_FILE), "kind: model\nname: sst\nruntime: python\nentry: src/model.py\n");
    expect(await loadManifest(dir)).toMatchObject({ kind: "model", name: "sst", entry: "src/model.py" });
  });

  it("names the path when there is no manifest", async () => {
    const error = await loadManifest(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe("MANIFEST_INVALID");
    expect((error as InputError).message).toContain(join(dir, MANIFEST_FILE));
    expect((error as InputError).message).toContain("not found");
  });

  it("names the manifest, the entry field and the missing path", async () => {
    await writeFile(join(dir, MANIFEST_FILE), "kind: transform\nname: clean\nruntime: node\nentry: clean.ts\n");
    const error = await loadManifest(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const { message, details } = error as InputError;
    expect(message).toContain(`${join(dir, MANIFEST_FILE)}:4:8: field 'entry': file ${join(dir, "clean.ts")} does not exist`);
    expect(details).toEqual({ file: join(dir, MANIFEST_FILE), line: 4, column: 8, field: "entry" });
  });

  it("rejects an entry that is a directory", async () => {
    await mkdir(join(dir, "clean.ts"));
    await writeFile(join(dir, MANIFEST_FILE), "kind: transform\nname: clean\nruntime: node\nentry: clean.ts\n");
    await expect(loadManifest(dir)).rejects.toThrow("field 'entry'");
  });

  it("reports manifest errors with the file's path", async () => {
    await writeFile(join(dir, MANIFEST_FILE), "kind: modle\nname: m\n");
    await expect(loadManifest(dir)).rejects.toThrow(`${join(dir, MANIFEST_FILE)}:1:7: field 'kind'`);
  });

  it("does not look for an entry in a pipeline or a command step", async () => {
    await writeFile(join(dir, MANIFEST_FILE), `${PIPELINE}steps: [transform, model]\n`);
    expect((await loadManifest(dir)).steps).toHaveLength(2);
    await writeFile(join(dir, MANIFEST_FILE), "kind: transform\nname: t\nruntime: shell\ncommand: cp -r {inputs.data} {outputs.data}\n");
    expect(await loadManifest(dir)).toMatchObject({ runtime: "shell", entry: null });
  });
});
