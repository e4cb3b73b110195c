import { describe, expect, it } from "vitest";
import { FILE, expectManifestError } from "../test-support.js";
import { parseManifest } from "./manifest.js";

/** Four valid lines; test snippets appended to it start on line 5. */
const MODEL = "kind: model\nname: m\nruntime: node\nentry: model.ts\n";
const NO_CONTRACT = { variables: {} };

describe("parseManifest: inputs and outputs", () => {
  it("reads the single form as the one input or output named data", () => {
    const text = `${MODEL}inputs:\n  variables:\n    time: datetime64[ns]\n    t2m: float32\n    count: uint16\n    flag: bool\n    anything: any\noutputs: { variables: { y: float64 } }\n`;
    const manifest = parseManifest(text, FILE);
    expect(manifest.inputs).toEqual({
      data: { variables: { time: "datetime64[ns]", t2m: "float32", count: "uint16", flag: "bool", anything: "any" } },
    });
    expect(manifest.outputs).toEqual({ data: { variables: { y: "float64" } } });
  });

  it("reads named inputs and outputs", () => {
    const text = `kind: transform
name: join
runtime: python
entry: join.py
inputs:
  left: { variables: { station: string, t2m: float32 } }
  right: { variables: {} }
outputs:
  joined: { variables: { t2m: float32 } }
  report: { variables: { rows: int64 } }
`;
    const manifest = parseManifest(text, FILE);
    expect(manifest.inputs).toEqual({ left: { variables: { station: "string", t2m: "float32" } }, right: NO_CONTRACT });
    expect(manifest.outputs).toEqual({ joined: { variables: { t2m: "float32" } }, report: { variables: { rows: "int64" } } });
  });

  it.each([
    ["dataset", "kind: dataset\nname: d\nruntime: node\nentry: d.ts\n", {}, { data: NO_CONTRACT }],
    ["transform", "kind: transform\nname: t\nruntime: node\nentry: t.ts\n", { data: NO_CONTRACT }, { data: NO_CONTRACT }],
    ["model", MODEL, { data: NO_CONTRACT }, { data: NO_CONTRACT }],
    ["pipeline", "kind: pipeline\nname: p\nsteps: [a]\n", {}, {}],
  ])("gives a %s without contracts its default inputs and outputs", (_kind, text, inputs, outputs) => {
    expect(parseManifest(text, FILE)).toMatchObject({ inputs, outputs });
  });

  it("reads a dataset's outputs", () => {
    const text = "kind: dataset\nname: d\nruntime: node\nentry: d.ts\noutputs: { stations: { variables: { id: string } }, data: { variables: {} } }\n";
    expect(parseManifest(text, FILE)).toMatchObject({ inputs: {}, outputs: { stations: { variables: { id: "string" } }, data: NO_CONTRACT } });
  });
});

describe("parseManifest: errors in inputs and outputs", () => {
  const dtypes = "int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, string, datetime64[ns], any";
  const forms = "expected a mapping like { variables: { t2m: float32 } }, or named inputs like { left: { variables: {...} }, right: { variables: {...} } }";
  const cases: [string, string, number, number, string, string][] = [
    ["not a mapping", `${MODEL}inputs: [a]\n`, 5, 9, "inputs", `${forms}, got a list`],
    ["an empty mapping", `${MODEL}inputs: {}\n`, 5, 9, "inputs", `${forms}, got an empty mapping`],
    ["nothing", `${MODEL}outputs:\n`, 5, 9, "outputs", "expected a mapping like { variables: { t2m: float32 } }, or named outputs like"],
    [
      "a misspelt single form",
      `${MODEL}outputs: { vars: { a: int8 } }\n`,
      5,
      12,
      "outputs.vars",
      "unknown field in 'outputs', or an output named 'vars' without 'variables'; expected 'variables' (the one output, named 'data'), or output names each with their own { variables: {...} }",
    ],
    ["a near miss of variables", `${MODEL}inputs: { variabls: { a: int8 } }\n`, 5, 11, "inputs.variabls", "unknown field in 'inputs' (did you mean 'variables'?), or an input named 'variabls'"],
    ["a misspelt field of a named input", `${MODEL}inputs: { left: { varables: { a: int8 } } }\n`, 5, 19, "inputs.left.varables", "unknown field in 'inputs.left' (did you mean 'variables'?); expected one of variables"],
    [
      "a name next to variables",
      `${MODEL}inputs:\n  variables: { a: int8 }\n  left: { variables: {} }\n`,
      7,
      3,
      "inputs.left",
      "expected only 'variables' next to 'variables', which declares the one input named 'data'; for named inputs, give each its own { variables } ('variables' cannot be a name)",
    ],
    ["a bad input name", `${MODEL}inputs: { 1x: { variables: {} } }\n`, 5, 11, "inputs.1x", "expected an input name matching [A-Za-z_][A-Za-z0-9_]*, or 'variables', got '1x'"],
    ["a dashed output name", `${MODEL}outputs: { a-b: { variables: {} } }\n`, 5, 12, "outputs.a-b", "expected an output name matching [A-Za-z_][A-Za-z0-9_]*, or 'variables', got 'a-b'"],
    ["a named input that is a value", `${MODEL}inputs: { left: 5 }\n`, 5, 17, "inputs.left", "expected a mapping like { variables: { t2m: float32 } }, got 5"],
    ["variables not a mapping", `${MODEL}inputs: { variables: [a] }\n`, 5, 22, "inputs.variables", "expected a mapping of variable name -> dtype, got a list"],
    ["named variables not a mapping", `${MODEL}inputs: { left: { variables: a } }\n`, 5, 30, "inputs.left.variables", "expected a mapping of variable name -> dtype, got 'a'"],
    ["an unknown dtype", `${MODEL}inputs:\n  variables:\n    t2m: flaot32\n`, 7, 10, "inputs.variables.t2m", `expected one of ${dtypes}, got 'flaot32' (did you mean 'float32'?)`],
    ["an unknown dtype of a named output", `${MODEL}outputs:\n  right:\n    variables: { t2m: f32 }\n`, 7, 23, "outputs.right.variables.t2m", `expected one of ${dtypes}, got 'f32'`],
    ["a dtype left out", `${MODEL}outputs:\n  variables:\n    t2m:\n`, 7, 9, "outputs.variables.t2m", "got nothing"],
    ["a hidden variable name", `${MODEL}inputs:\n  variables:\n    .zattrs: float32\n`, 7, 5, "inputs.variables..zattrs", "expected a variable name matching [A-Za-z0-9_][A-Za-z0-9_.-]*, got '.zattrs'"],
    ["inputs of a dataset", "kind: dataset\nname: d\nruntime: node\nentry: d.ts\ninputs: { variables: {} }\n", 5, 1, "inputs", "expected no inputs: a dataset reads no input"],
    ["inputs of a pipeline", "kind: pipeline\nname: p\nsteps: [a]\ninputs: { variables: {} }\n", 4, 1, "inputs", "expected no inputs: a pipeline's steps declare their own"],
    ["outputs of a pipeline", "kind: pipeline\nname: p\nsteps: [a]\noutputs: { variables: {} }\n", 4, 1, "outputs", "expected no outputs: a pipeline's steps declare their own"],
  ];
  it.each(cases)("%s", (_title, text, line, column, field, expected) => {
    expectManifestError(text, line, column, field, expected);
  });
});
