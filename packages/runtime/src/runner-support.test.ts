import { describe, expect, it } from "vitest";
import { Bundle } from "@maelstrom/core";
import { pythonImports } from "./python.js";
import { describeValue, errorLocation, scalarMetrics } from "./runner-support.js";

describe("runner support", () => {
  it("describes returned values in a user's words", () => {
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue([1, 2])).toBe("an array of length 2");
    expect(describeValue({ a: 1 })).toBe("a plain object");
    expect(describeValue(new Map())).toBe("an instance of Map");
    expect(describeValue("x")).toBe("a string (x)");
  });

  it("finds the first stack frame in user code", () => {
    const stack = [
      "Error: boom",
      "    at check (/work/ws/.maelstrom/trees/ab/model.ts:12:5)",
      "    at main (/usr/lib/maelstrom/packages/runtime/dist/node-runner.js:10:1)",
    ].join("\n");
    expect(errorLocation(stack)).toBe("/work/ws/.maelstrom/trees/ab/model.ts:12:5");
    const internal = ["Error: x", "    at resolve (node:internal/modules/esm/resolve:322:10)", "    at f (file:///home/u/step.js:3:9)"].join("\n");
    expect(errorLocation(internal)).toBe("/home/u/step.js:3:9");
    expect(errorLocation(["Error: y", "    at apply (file:///builds/ab.mjs?step=12:7:3)"].join("\n"))).toBe("/builds/ab.mjs:7:3");
    expect(errorLocation(null)).toBeNull();
  });

  it("takes single-valued numeric variables of a metrics bundle as metrics", () => {
    const bundle = Bundle.fromVariables({
      accuracy: { dims: [], data: [0.9] },
      epochs: { dims: [], dtype: "int32", data: [3] },
      curve: { dims: ["epoch"], data: [1, 2] },
      label: { dims: [], data: ["x"] },
    });
    expect(scalarMetrics(bundle)).toEqual({ accuracy: 0.9, epochs: 3 });
  });
});

describe("pythonImports", () => {
  it("lists top-level third-party imports, without the step's own modules and maelstrom", () => {
    const source = [
      "import numpy as np",
      "import os, sys",
      "from sklearn.ensemble import RandomForestClassifier",
      "from . import helpers",
      "import maelstrom",
      "from features import table",
      "    import torch  # indented: conditional, not required",
    ].join("\n");
    expect(pythonImports(source, new Set(["features"]))).toEqual(["numpy", "os", "sklearn", "sys"]);
  });
});
