/**
 * Fused chains (StepSpec.next): several steps run in one runner process, each handing its output
 * Bundle to the next in memory. Checked against the same steps run one by one, in both runners,
 * one-shot (runStepProcess) and warm (WorkerPool).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBundle, type FusedCall, type MetricEvent, type StepEvent, type StepSpec } from "@maelstrom/core";
import { runStepProcess, WorkerPool, type StepProcessOptions, type StepProcessResult } from "@maelstrom/runtime";
import { nodeModule, python, pythonModule, stepCase, testFolder, valuesOf } from "./test-support.js";

const { fresh } = testFolder("fused-chain");

/**
 * Each language's step code, one artifact folder each: `source` (get), `scale` (a transform that
 * reports progress and a metric, and throws or returns a non-Bundle when told; it records in its
 * attrs the cwd, the variable STEP_LABEL and the label of the helper module next to it, so a call
 * that ran with another call's surroundings shows), `mean` (a model that logs a loss series).
 */
const languages = [
  {
    name: "node",
    runner: { kind: "node" } as const,
    source: () =>
      nodeModule(
        fresh("source"),
        `import { Bundle } from "SDK";
export function get(meta) {
  return Bundle.fromTable({ x: [1, 2, 3] }, { attrs: { source: meta.get("name") } });
}
`,
      ),
    scale(label: string): string {
      const dir = fresh(`scale-${label}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "helper.mjs"), `export const LABEL = ${JSON.stringify(label)};\n`);
      return nodeModule(
        dir,
        `import { basename } from "node:path";
import { Bundle, logMetric, reportProgress } from "SDK";
import { LABEL } from "./helper.mjs";
export function apply(bundle, meta) {
  const factor = meta.get("factor");
  reportProgress(0.5, \`scaling by \${factor}\`);
  logMetric("factor", factor);
  if (meta.get("mode") === "throw") throw new Error(\`boom with factor \${factor}\`);
  if (meta.get("mode") === "plain") return { x: [1] };
  const seen = { [\`\${LABEL}_cwd\`]: basename(process.cwd()), [\`\${LABEL}_env\`]: process.env.STEP_LABEL ?? "-" };
  return Bundle.fromTable({ x: Float64Array.from(bundle.variable("x").data, (v) => v * factor) }, { attrs: { ...bundle.attrs, ...seen } });
}
`,
      );
    },
    mean: () =>
      nodeModule(
        fresh("mean"),
        `import { Bundle, logMetric } from "SDK";
export function train(bundle, meta) {
  const x = bundle.variable("x").data;
  for (let epoch = 0; epoch < 3; epoch++) logMetric("loss", 1 / (epoch + 1), epoch);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return [{ mean }, { mean, rows: x.length }];
}
export function apply(model, bundle) {
  return Bundle.fromTable({ x: Float64Array.from(bundle.variable("x").data, () => model.mean) });
}
`,
      ),
    plainReturn: "apply of middle returned a plain object, expected a Bundle (build one with Bundle.fromTable or Bundle.fromVariables)",
  },
  {
    name: "python",
    runner: { kind: "python", interpreter: python ?? "/usr/bin/python3" } as const,
    source: () =>
      pythonModule(
        fresh("source"),
        `import numpy as np
import maelstrom

def get(meta):
    return maelstrom.Bundle({"x": np.array([1.0, 2.0, 3.0])}, attrs={"source": meta.get("name")})
`,
      ),
    scale(label: string): string {
      const dir = fresh(`scale-${label}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "helper.py"), `LABEL = ${JSON.stringify(label)}\n`);
      return pythonModule(
        dir,
        `import os
import maelstrom
from helper import LABEL

def apply(bundle, meta):
    factor = meta.get("factor")
    maelstrom.report_progress(0.5, f"scaling by {factor}")
    maelstrom.log_metric("factor", factor)
    if meta.get("mode") == "throw":
        raise RuntimeError(f"boom with factor {factor}")
    if meta.get("mode") == "plain":
        return {"x": [1]}
    seen = {f"{LABEL}_cwd": os.path.basename(os.getcwd()), f"{LABEL}_env": os.environ.get("STEP_LABEL", "-")}
    return maelstrom.Bundle({"x": bundle.to_numpy("x") * factor}, attrs={**bundle.attrs, **seen})
`,
      );
    },
    mean: () =>
      pythonModule(
        fresh("mean"),
        `import numpy as np
import maelstrom

def train(bundle, meta):
    x = bundle.to_numpy("x")
    for epoch in range(3):
        maelstrom.log_metric("loss", 1 / (epoch + 1), epoch)
    return {"mean": float(x.mean())}, {"mean": float(x.mean()), "rows": len(x)}

def apply(model, bundle):
    return maelstrom.Bundle({"x": np.full(len(bundle.to_numpy("x")), model["mean"])})
`,
      ),
    plainReturn: "apply of middle returned a dict (keys: x), expected a maelstrom.Bundle (build one with maelstrom.Bundle({...}) from a dict of arrays, a pandas.DataFrame or an xarray.Dataset)",
  },
];

type Parameters = FusedCall["parameters"];

/** A fused call of `module`, in its folder (its artifact folder, as the engine fuses it). */
function fused(call: FusedCall["call"], artifact: string, module: string, parameters: Parameters, extra: Partial<Pick<FusedCall, "state" | "env">> = {}): FusedCall {
  return { call, artifact, module, parameters, state: null, cwd: dirname(module), env: {}, ...extra };
}

/** Every file below `dir` (relative path -> bytes). */
function filesOf(dir: string): Record<string, Buffer> {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Object.fromEntries(entries.map((entry) => [join(entry.parentPath, entry.name).slice(dir.length + 1), readFileSync(join(entry.parentPath, entry.name))]));
}

const modes = [
  { mode: "one-shot", warm: false },
  { mode: "warm", warm: true },
] as const;

describe.each(languages.flatMap((language) => modes.map((mode) => ({ ...language, ...mode }))))(
  "fused chains ($name, $mode)",
  ({ name, runner, source, scale, mean, plainReturn, warm }) => {
    const skip = name === "python" && python === undefined;
    const pool = new WorkerPool();
    afterAll(() => pool.close());
    const run = (options: StepProcessOptions): Promise<StepProcessResult> => (warm ? pool.run(options) : runStepProcess(options));

    /** Runs a step (a chain when `next` is given) and returns what it reported and where its files went. */
    async function step(spec: Pick<StepSpec, "call" | "module"> & Partial<StepSpec>, env: Record<string, string> = {}) {
      const pids: number[] = [];
      const ran = stepCase(fresh, runner, spec, { env, onStart: (pid) => pids.push(Number(pid)) });
      const result = await run(ran.options);
      const out = ran.options.spec.outputs["data"] ?? "";
      return { result, events: ran.events, out, dir: dirname(out), pid: pids[0], log: ran.log };
    }

    /** A chain that starts with a `source` get (its parameter name: `name`) and goes on with `next`. */
    const chain = (name: string, next: readonly FusedCall[]) => step({ call: "get", artifact: "source", module: source(), parameters: { name }, next });

    /** source → middle (a scale in `mode`) → last. */
    const middleIn = (mode: "throw" | "plain") =>
      chain(mode, [fused("transform", "middle", scale("a"), { factor: 3, mode }), fused("transform", "last", scale("b"), { factor: 1, mode: "ok" })]);

    const withIndex = (events: readonly StepEvent[], type: "metric" | "progress") =>
      events.filter((event) => event.type === type).map((event) => ({ index: "index" in event ? event.index : undefined, ...(event.type === "metric" ? { name: event.name } : {}) }));

    it.skipIf(skip)("get → transform → transform writes only the last output, the same bytes as the three steps run one by one", async () => {
      const [get, first, second] = [source(), scale("a"), scale("b")];
      const parameters = (factor: number): Parameters => ({ factor, mode: "ok" });
      const chain = await step(
        {
          call: "get",
          artifact: "source",
          module: get,
          parameters: { name: "chain" },
          next: [fused("transform", "first", first, parameters(2), { env: { STEP_LABEL: "first" } }), fused("transform", "second", second, parameters(10), { env: { STEP_LABEL: "second" } })],
        },
        { STEP_LABEL: "own" },
      );
      expect(chain.result.outcome, JSON.stringify(chain.result.failure)).toBe("succeeded");
      expect(readdirSync(chain.dir).sort()).toEqual(["out", "spec.json", "step.log"]);
      expect(await valuesOf(chain.out, "x")).toEqual([20, 40, 60]);
      expect(chain.result.done?.metrics).toEqual({});

      // The same steps, one process each, through bundles on disk.
      const got = await step({ call: "get", artifact: "source", module: get, parameters: { name: "chain" } }, { STEP_LABEL: "own" });
      const once = await step({ call: "transform", artifact: "first", module: first, parameters: parameters(2), inputs: { data: got.out } }, { STEP_LABEL: "first" });
      const twice = await step({ call: "transform", artifact: "second", module: second, parameters: parameters(10), inputs: { data: once.out } }, { STEP_LABEL: "second" });
      for (const separate of [got, once, twice]) expect(separate.result.outcome).toBe("succeeded");
      expect(filesOf(chain.out)).toEqual(filesOf(twice.out));
      // Each call ran in its own folder with its own variables and its own helper module.
      expect((await readBundle(chain.out)).attrs).toMatchObject({ source: "chain", a_cwd: basename(dirname(first)), a_env: "first", b_cwd: basename(dirname(second)), b_env: "second" });

      // Events of a chain carry the index of their call; those of a step without `next` none.
      expect(withIndex(chain.events, "progress")).toEqual([{ index: 1 }, { index: 2 }]);
      expect(withIndex(chain.events, "metric")).toEqual([
        { index: 1, name: "factor" },
        { index: 2, name: "factor" },
      ]);
      expect(chain.events.filter((event) => event.type === "done")).toHaveLength(1);
      expect(withIndex(twice.events, "metric")).toEqual([{ index: undefined, name: "factor" }]);
      if (warm) expect(new Set([chain.pid, got.pid, once.pid, twice.pid]).size).toBe(1);
    });

    it.skipIf(skip)("a chain ending in train saves the model at the last call's state and reports its metrics; predict fuses too", async () => {
      const [first, model, state] = [scale("a"), mean(), fresh("state")];
      const trained = await chain("train", [fused("transform", "first", first, { factor: 2, mode: "ok" }), fused("train", "model", model, {}, { state })]);
      expect(trained.result.outcome, JSON.stringify(trained.result.failure)).toBe("succeeded");
      expect(trained.result.done?.metrics).toEqual({ mean: 4, rows: 3 });
      expect(readdirSync(state).length).toBeGreaterThan(0);
      expect(await valuesOf(trained.out, "mean")).toEqual([4]);
      const metrics = trained.events.filter((event): event is MetricEvent => event.type === "metric");
      expect(metrics.map((event) => [event.index, event.name, event.step])).toEqual([
        [1, "factor", null],
        [2, "loss", 0],
        [2, "loss", 1],
        [2, "loss", 2],
      ]);

      // The saved model (mean 4), loaded by a predict in the middle of another chain.
      const predicted = await chain("predict", [fused("predict", "model", model, {}, { state }), fused("transform", "first", first, { factor: 10, mode: "ok" })]);
      expect(predicted.result.outcome, JSON.stringify(predicted.result.failure)).toBe("succeeded");
      expect(await valuesOf(predicted.out, "x")).toEqual([40, 40, 40]);
    });

    it.skipIf(skip)("a failure in the middle call is reported with index 1 and the call's artifact; nothing is written", async () => {
      const failed = await middleIn("throw");
      expect(failed.result).toMatchObject({ outcome: "failed", exitCode: 1, done: null });
      expect(failed.result.failure).toMatchObject({ reason: "user", index: 1 });
      expect(failed.result.failure?.message).toMatch(/^middle: .*boom with factor 3$/);
      expect(failed.log()).toContain("boom with factor 3");
      expect(existsSync(failed.out)).toBe(false);
      expect(withIndex(failed.events, "progress")).toEqual([{ index: 1 }]);
    });

    it.skipIf(skip)("a middle call that returns no Bundle is a contract failure naming it", async () => {
      const failed = await middleIn("plain");
      expect(failed.result.outcome).toBe("failed");
      expect(failed.result.failure).toMatchObject({ reason: "contract", index: 1, message: plainReturn });
      expect(existsSync(failed.out)).toBe(false);
    });

    it.skipIf(skip)("a call whose module cannot be loaded, or a train before the end, fails with that call's index", async () => {
      const gone = fresh("gone");
      mkdirSync(gone);
      const missing = await chain("load", [fused("transform", "gone", join(gone, name === "node" ? "step.mjs" : "step.py"), {})]);
      expect(missing.result.failure).toMatchObject({ reason: "load", index: 1 });
      expect(missing.result.failure?.message).toMatch(/^gone: /);
      const early = await chain("early", [fused("train", "model", mean(), {}, { state: fresh("state") }), fused("transform", "first", scale("a"), { factor: 1, mode: "ok" })]);
      expect(early.result.failure).toMatchObject({
        reason: "contract",
        index: 1,
        message:
          "the step spec fuses model as call 1 of a chain of 3: it is a train before the end, but only the last call of a chain may train (its model and metrics are the chain's result)",
      });
    });
  },
);
