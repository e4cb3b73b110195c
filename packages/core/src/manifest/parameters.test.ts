import { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { parseSetArguments, resolveParameters } from "./parameters.js";
import type { ParameterSpec, ParameterValue } from "./parameters.js";
import { closestMatch } from "./suggest.js";

const ARTIFACT = { artifact: "seattle-weather-classifier" };
const SPECS: Record<string, ParameterSpec> = {
  trees: { type: "int", default: 50, min: 1, description: "number of trees" },
  seed: { type: "int", default: 42 },
  learning_rate: { type: "float", default: 0.1, min: 0, max: 1 },
  criterion: { type: "string", default: "gini", choices: ["gini", "entropy"] },
  bootstrap: { type: "bool", default: true },
  label: { type: "string", default: "weather" },
};

function parameterError(overrides: Record<string, ParameterValue>, specs: Record<string, ParameterSpec> = SPECS): InputError {
  try {
    resolveParameters(specs, overrides, ARTIFACT);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

describe("resolveParameters", () => {
  it("takes defaults, applies overrides and sorts the keys", () => {
    const resolved = resolveParameters(SPECS, { trees: "5", bootstrap: "no", learning_rate: "0.5", label: "42" }, ARTIFACT);
    expect(resolved).toEqual({ bootstrap: false, criterion: "gini", label: "42", learning_rate: 0.5, seed: 42, trees: 5 });
    expect(Object.keys(resolved)).toEqual(["bootstrap", "criterion", "label", "learning_rate", "seed", "trees"]);
  });

  it("accepts typed values as they are", () => {
    expect(resolveParameters(SPECS, { trees: 7, bootstrap: false, learning_rate: 1 }, ARTIFACT)).toMatchObject({
      trees: 7,
      bootstrap: false,
      learning_rate: 1,
    });
  });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["yes", true],
    ["1", true],
    ["false", false],
    ["No", false],
    ["0", false],
  ])("coerces bool %s", (text, value) => {
    expect(resolveParameters(SPECS, { bootstrap: text }, ARTIFACT)["bootstrap"]).toBe(value);
  });

  it.each([
    ["1e-3", 0.001],
    [".25", 0.25],
    ["1", 1],
    ["+0.5", 0.5],
  ])("coerces float %s", (text, value) => {
    expect(resolveParameters(SPECS, { learning_rate: text }, ARTIFACT)["learning_rate"]).toBe(value);
  });

  it.each([
    ["+12", 12],
    [" 12 ", 12],
    ["-3", -3],
  ])("coerces int %j", (text, value) => {
    expect(resolveParameters(SPECS, { seed: text }, ARTIFACT)["seed"]).toBe(value);
  });

  it("names the artifact, parameter, value and bound: trees=-1", () => {
    const error = parameterError({ trees: "-1" });
    expect(error.message).toBe("parameter 'trees' of seattle-weather-classifier: expected an int >= 1, got -1");
    expect(error.code).toBe("PARAMETER_INVALID");
    expect(error.details).toEqual({ artifact: "seattle-weather-classifier", parameter: "trees", value: "-1", expected: "an int >= 1" });
  });

  it.each([
    [{ trees: "abc" }, "parameter 'trees' of seattle-weather-classifier: expected an int, got 'abc'"],
    [{ trees: "1.5" }, "parameter 'trees' of seattle-weather-classifier: expected an int, got '1.5'"],
    [{ trees: 1.5 }, "parameter 'trees' of seattle-weather-classifier: expected an int >= 1, got 1.5"],
    [{ trees: "" }, "parameter 'trees' of seattle-weather-classifier: expected an int, got ''"],
    [{ trees: true }, "parameter 'trees' of seattle-weather-classifier: expected an int >= 1, got true"],
    [{ learning_rate: "2" }, "parameter 'learning_rate' of seattle-weather-classifier: expected a float between 0 and 1, got 2"],
    [{ learning_rate: "fast" }, "parameter 'learning_rate' of seattle-weather-classifier: expected a float, got 'fast'"],
    [{ learning_rate: "Infinity" }, "expected a float, got 'Infinity'"],
    [{ criterion: "gain" }, "parameter 'criterion' of seattle-weather-classifier: expected one of 'gini', 'entropy', got 'gain'"],
    [{ bootstrap: "maybe" }, "parameter 'bootstrap' of seattle-weather-classifier: expected a bool (true/false, yes/no, 1/0), got 'maybe'"],
    [{ label: 42 }, "parameter 'label' of seattle-weather-classifier: expected a string, got 42"],
  ])("rejects %j", (overrides, message) => {
    const error = parameterError(overrides);
    expect(error.code).toBe("PARAMETER_INVALID");
    expect(error.message).toContain(message);
  });

  it("rejects an unknown name, listing the declared ones and suggesting a close one", () => {
    const error = parameterError({ treees: "5" });
    expect(error.message).toBe(
      "parameter 'treees' of seattle-weather-classifier: unknown parameter (did you mean 'trees'?); declared parameters: bootstrap, criterion, label, learning_rate, seed, trees",
    );
    expect(error.details).toMatchObject({ parameter: "treees", value: "5" });
  });

  it("lists the declared names without a guess when nothing is close", () => {
    const error = parameterError({ depth: "5" });
    expect(error.message).not.toContain("did you mean");
    expect(error.message).toContain("declared parameters: bootstrap, criterion, label, learning_rate, seed, trees");
  });

  it("says when an artifact declares no parameters", () => {
    expect(parameterError({ trees: "5" }, {}).message).toContain("seattle-weather-classifier declares no parameters");
    expect(parameterError({ constructor: "5" }, {}).message).toContain("unknown parameter");
  });

  it("requires a value for a parameter without default", () => {
    const specs: Record<string, ParameterSpec> = { region: { type: "string", choices: ["arctic", "antarctic"] } };
    const error = parameterError({}, specs);
    expect(error.message).toBe(
      "parameter 'region' of seattle-weather-classifier: no value given and no default declared; expected one of 'arctic', 'antarctic'",
    );
    expect(resolveParameters(specs, { region: "arctic" }, ARTIFACT)).toEqual({ region: "arctic" });
  });

  it("checks defaults of specs built in code", () => {
    const error = parameterError({}, { trees: { type: "int", default: 0, min: 1 } });
    expect(error.message).toBe("parameter 'trees' of seattle-weather-classifier: expected an int >= 1, got default 0");
  });

  it("checks the upper bound inclusively", () => {
    const specs: Record<string, ParameterSpec> = { p: { type: "float", max: 1 } };
    expect(resolveParameters(specs, { p: "1" }, ARTIFACT)).toEqual({ p: 1 });
    expect(parameterError({ p: "1.01" }, specs).message).toContain("expected a float <= 1, got 1.01");
  });
});

describe("parseSetArguments", () => {
  it("splits at the first '='", () => {
    expect(parseSetArguments(["trees=5", "a.b=x=y", "empty=", "trees=6"])).toEqual({ trees: "6", "a.b": "x=y", empty: "" });
  });

  it("keeps __proto__ as a plain key", () => {
    const values = parseSetArguments(["__proto__=x"]);
    expect(Object.keys(values)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
  });

  it.each([
    ["trees", "no '='"],
    ["=5", "empty name"],
    [" =5", "empty name"],
  ])("rejects %j, showing the argument", (arg, problem) => {
    expect(() => parseSetArguments(["ok=1", arg])).toThrow(`invalid parameter assignment '${arg}' (${problem}): expected name=value`);
  });
});

describe("closestMatch", () => {
  it.each([
    ["paramters", ["kind", "parameters", "python"], "parameters"],
    ["Trees", ["trees", "seed"], "trees"],
    ["sede", ["trees", "seed"], "seed"],
    ["depth", ["trees", "seed"], undefined],
  ])("%s -> %s", (given, candidates, expected) => {
    expect(closestMatch(given, candidates)).toBe(expected);
  });
});
