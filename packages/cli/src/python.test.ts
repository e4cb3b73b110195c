import { spawnSync } from "node:child_process";
import { symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFixtures, cli, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";

/** Python steps need an interpreter with numpy; without one the suite fails under CI's MAELSTROM_REQUIRE_INTEGRATION=1. */
const python = ["python3", "/usr/bin/python3"].find((p) => spawnSync(p, ["-c", "import numpy, sklearn"], { stdio: "ignore" }).status === 0);
const missing = "no python3 with numpy and scikit-learn (Debian: apt-get install python3-numpy python3-sklearn)";
if (python === undefined) {
  console.warn(`SKIPPED Python step tests: ${missing}`);
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("Python steps can be tested", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${missing}`);
  });
}

interface ModelJson {
  ref: string;
  stateDigest: string;
  record: { metrics: Record<string, number>; environment: { python: { python: string; executable: string; packages: Record<string, string> } | null } };
}

describe.skipIf(python === undefined)("Python steps", () => {
  let root: string;
  let artifacts: string;
  beforeAll(() => {
    ({ root, artifacts } = fixtureWorkspace());
    addFixtures(root);
    // The seed's code shape, as a user writes it.
    writeFiles(artifacts, {
      "py-data/maelstrom.yaml": "kind: dataset\nname: py-data\nruntime: python\nentry: data.py\nparameters:\n  variable: { type: string, default: x }\n",
      "py-data/data.py": `import numpy as np
import maelstrom

def get(meta: maelstrom.MetaVariables):
    variable = meta.get("variable")
    x = np.arange(40, dtype=np.float64) / 4
    data = {variable: x, "y": 2 * x + 1 + (np.arange(40) * 7 % 5) / 100, "station": ["st%d" % (i % 3) for i in range(40)]}
    return maelstrom.Bundle(data)
`,
      "py-scale/maelstrom.yaml": "kind: transform\nname: py-scale\nruntime: python\nentry: scale.py\nparameters:\n  factor: { type: float, default: 1 }\ninputs:\n  variables: { x: float64 }\n",
      "py-scale/scale.py": `import maelstrom

def apply(bundle: maelstrom.Bundle, meta: maelstrom.MetaVariables):
    data = bundle.value
    data["x"] = data["x"] * meta.get("factor")
    print("scaled", len(data), "rows")
    return maelstrom.Bundle(data)
`,
      "py-linear/maelstrom.yaml": "kind: model\nname: py-linear\nruntime: python\nentry: model.py\nparameters:\n  mode: { type: string, default: ok }\n",
      "py-linear/model.py": `import numpy as np
import maelstrom

class Line:
    def __init__(self, slope, intercept):
        self.slope, self.intercept = slope, intercept
    def predict(self, x):
        return self.intercept + self.slope * x

def train(bundle: maelstrom.Bundle, meta: maelstrom.MetaVariables):
    mode = meta.get("mode")
    if mode == "throw":
        raise ValueError("the fit diverged")
    x, y = bundle.to_numpy("x"), bundle.to_numpy("y")
    slope, intercept = np.polyfit(x, y, 1)
    model = Line(float(slope), float(intercept))
    residual = y - model.predict(x)
    metrics = {"rmse": float(np.sqrt(np.mean(residual ** 2)))}
    if mode == "not-bundle":
        return model, [1, 2, 3]
    if mode == "ragged":
        return model, maelstrom.Bundle({"a": [[1, 2], [3]]})
    return model, maelstrom.types.Bundle(metrics)

def apply(model, bundle: maelstrom.Bundle):
    return maelstrom.Bundle({"y": model.predict(bundle.to_numpy("x"))})
`,
    });
  });
  afterAll(() => removeDir(root));

  it("the seed's Python code shape trains and applies, and the model records Python and numpy versions", () => {
    const trained = json<{ model: ModelJson }>(
      cli(root, "train", "artifacts/py-scale", "artifacts/py-linear", "--data", "artifacts/py-data", "--set", "factor=2", "--json"),
    ).model;
    expect(trained.record.metrics["rmse"]).toBeLessThan(0.1);
    const env = trained.record.environment.python;
    expect(env?.python).toMatch(/^3\.\d+/);
    expect(env?.packages["numpy"]).toMatch(/^\d+\.\d+/);
    const applied = json<{ output: string }>(cli(root, "apply", trained.ref, "--data", "py-data", "--json"));
    expect(cli(root, "bundle", "show", applied.output).stdout).toMatch(/y\s+data\s+row\s+40\s+float64/);
  });

  it("a fused chain of Python steps (--fuse) runs in one process and trains the same model", () => {
    const steps = ["artifacts/py-data", "artifacts/py-scale", "artifacts/py-linear", "--set", "factor=3", "--json"];
    const fused = json<{ run: { steps: { placement: string; outputs: Record<string, string> }[] }; model: ModelJson & { stateDigest: string } }>(cli(root, "train", ...steps, "--fuse"));
    expect(new Set(fused.run.steps.map((s) => s.placement)).size).toBe(1);
    expect(fused.run.steps.map((s) => Object.keys(s.outputs).length)).toEqual([0, 0, 1]);
    const separate = json<{ model: { stateDigest: string } }>(cli(root, "train", ...steps, "--no-cache"));
    expect(separate.model.stateDigest).toBe(fused.model.stateDigest);
  });

  it("mixed pipelines: a TS dataset into a Python transform into a TS model, and the other way round", () => {
    const tsPyTs = json<{ model: ModelJson }>(cli(root, "train", "artifacts/py-scale", "linear", "--data", "points", "--json")).model;
    const pyTsPy = json<{ model: ModelJson }>(cli(root, "train", "scale", "artifacts/py-linear", "--data", "py-data", "--json")).model;
    expect(tsPyTs.record.metrics["rmse"]).toBeCloseTo(pyTsPy.record.metrics["rmse"] ?? NaN, 6);
    expect(cli(root, "apply", tsPyTs.ref, "--data", "py-data").code).toBe(0);
    expect(cli(root, "apply", pyTsPy.ref, "--data", "points").code).toBe(0);
  });

  const failures: [string, Record<string, string>, RegExp][] = [
    ["a syntax error names the file and line", { "bad/t.py": "def apply(bundle, meta)\n    return bundle\n" }, /could not load its code: .*SyntaxError.*t\.py.*line 1|t\.py:1/],
    ["an ImportError names the package, the interpreter and how to install it", { "bad/t.py": "import surely_not_installed_pkg\n\ndef apply(bundle, meta):\n    return bundle\n" }, /surely_not_installed_pkg.*python.*install/i],
    ["a non-Bundle return value", { "bad/t.py": "def apply(bundle, meta):\n    return [1, 2, 3]\n" }, /apply of bad returned a list of length 3, expected a maelstrom\.Bundle/],
  ];
  for (const [what, files, message] of failures) {
    it(what, () => {
      writeFiles(artifacts, { "bad/maelstrom.yaml": "kind: transform\nname: bad\nruntime: python\nentry: t.py\n", ...files });
      const result = cli(root, "train", "artifacts/bad", "linear", "--data", "points");
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(message);
    });
  }

  it("an exception: its last line in the summary, its traceback in the log", () => {
    const result = cli(root, "train", "artifacts/py-linear", "--data", "points", "--set", "mode=throw");
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/failed: ValueError: the fit diverged \(at .*model\.py:\d+\)/);
    const runId = /maelstrom logs (\S+) py-linear/.exec(result.stderr)?.[1] ?? "";
    expect(cli(root, "logs", runId, "py-linear").stdout).toMatch(/Traceback \(most recent call last\)[\s\S]*ValueError: the fit diverged/);
  });

  it("train returning something other than (model, Bundle), or a Bundle of ragged lists", () => {
    const notBundle = cli(root, "train", "artifacts/py-linear", "--data", "points", "--set", "mode=not-bundle");
    expect(notBundle.code).toBe(4);
    expect(notBundle.stderr).toMatch(/train of py-linear returned/);
    const ragged = cli(root, "train", "artifacts/py-linear", "--data", "points", "--set", "mode=ragged");
    expect(ragged.code).toBe(4);
    expect(ragged.stderr).toMatch(/BundleError: variable 'a': element 0 is a list of length 2; nested lists are not supported/);
  });

  it("the workspace setting chooses the interpreter after the manifest and MAELSTROM_PYTHON", () => {
    const missing = cli(root, "config", "python", "/no/such/python3");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/python \/no\/such\/python3: no such file/);
    expect(cli(root, "config", "python", "no-such-python3").code).toBe(0);
    expect(cli(root, "config").stdout).toContain("python = no-such-python3");
    const refused = cli(root, "train", "artifacts/py-linear", "--data", "points");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the Python interpreter no-such-python3 \(from the workspace setting python \(maelstrom config\)\) cannot run the steps of py-linear: it was not found/);
    expect(cliWithEnv(root, { MAELSTROM_PYTHON: python ?? "" }, "train", "artifacts/py-linear", "--data", "points").code).toBe(0);
    expect(cli(root, "config", "python", "--unset").code).toBe(0);
    expect(cli(root, "config", "python").stdout).toContain("python is not set");
    const unknown = cli(root, "config", "colour", "blue");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown setting 'colour'; settings: python/);
  });

  it("apply prefers the interpreter a model was trained with, while it exists", () => {
    const venv = join(root, "venv-python");
    const resolved = spawnSync(python ?? "python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();
    symlinkSync(resolved, venv);
    const trained = json<{ model: ModelJson }>(cliWithEnv(root, { MAELSTROM_PYTHON: venv }, "train", "artifacts/py-linear", "--data", "points", "--json")).model;
    const interpreters = (args: string[]): (string | null)[] => {
      const applied = json<{ run: { plan: { steps: { interpreter: string | null }[] } } }>(cli(root, ...args, "--json"));
      return applied.run.plan.steps.map((s) => s.interpreter);
    };
    expect(interpreters(["apply", trained.ref, "--data", "points"])).toEqual([null, venv]);
    unlinkSync(venv);
    const [, chosen] = interpreters(["apply", trained.ref, "--data", "points"]);
    expect(chosen).not.toBe(venv);
    expect(chosen).toMatch(/python/);
  });

  it("an interpreter path that does not exist", () => {
    const result = cliWithEnv(root, { MAELSTROM_PYTHON: "/no/such/python3" }, "train", "artifacts/py-linear", "--data", "points");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the Python interpreter \/no\/such\/python3 \(from MAELSTROM_PYTHON\) does not exist/);
  });
});
