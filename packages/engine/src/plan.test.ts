import { describe, expect, it } from "vitest";
import { parseManifest } from "@maelstrom/core";
import type { Digest } from "@maelstrom/store";
import { chainNodes, distributeOverrides, planGraph, planStep, stepIds, type GraphNode } from "./plan.js";
import type { ArtifactVersion } from "./records.js";

function artifact(yaml: string): ArtifactVersion {
  const manifest = parseManifest(yaml, "maelstrom.yaml");
  return {
    digest: `sha256:${"ab".repeat(32)}` as Digest,
    name: manifest.name,
    kind: manifest.kind,
    runtime: manifest.runtime,
    description: manifest.description,
    manifest,
    sourcePath: "/src",
    fileCount: 2,
    totalBytes: 10,
    createdAt: 0,
    tags: ["latest"],
  };
}

const clean = artifact("kind: transform\nname: clean\nruntime: node\nentry: t.ts\nparameters:\n  window: { type: int, default: 3, min: 1 }\n");
const model = artifact(
  "kind: model\nname: forest\nruntime: node\nentry: m.ts\nparameters:\n  trees: { type: int, default: 50, min: 1 }\n  window: { type: int, default: 1 }\ninputs:\n  variables: { t2m: float32, label: string }\noutputs:\n  variables: { label: string }\n",
);
const dataset = artifact("kind: dataset\nname: era5\nruntime: node\nentry: d.ts\n");

describe("planning", () => {
  it("gives repeated artifacts unique step ids", () => {
    expect(stepIds(["clean", "clean", "forest", "clean"])).toEqual(["clean", "clean-2", "forest", "clean-3"]);
  });

  it("sends a --set to every step declaring it, or to one step when scoped", () => {
    const steps = [
      { id: "clean", artifact: clean },
      { id: "forest", artifact: model },
    ];
    expect(Object.fromEntries(distributeOverrides({ window: "5" }, steps))).toEqual({ clean: { window: "5" }, forest: { window: "5" } });
    expect(Object.fromEntries(distributeOverrides({ "forest.window": "2", trees: "9" }, steps))).toEqual({
      clean: {},
      forest: { window: "2", trees: "9" },
    });
    expect(() => distributeOverrides({ depth: "3" }, steps)).toThrow(
      /--set depth=3: parameter 'depth' is not declared by any step; steps and their parameters: clean \(window\); forest \(trees, window\)/,
    );
    expect(() => distributeOverrides({ "nope.trees": "3" }, steps)).toThrow(/no step 'nope' in this run/);
  });

  it("a model needs its inputs when training but not its own outputs when predicting", () => {
    const node = { id: "forest", artifact: model, inputs: {}, model: null };
    expect(planStep(node, "train", {}).requires).toEqual({ data: { t2m: "float32", label: "string" } });
    expect(planStep(node, "predict", {}).requires).toEqual({ data: { t2m: "float32" } });
  });

  const options = { kind: "train", data: null, sets: {}, sweep: null, modelName: null } as const;

  it("plans a chain: dataset get → transforms → model train, each reading the previous output", () => {
    const nodes = chainNodes({ type: "dataset", artifact: dataset, ref: "era5" }, [
      { artifact: clean, overrides: { window: 4 } },
      { artifact: model, overrides: {} },
    ]);
    const plan = planGraph(nodes, { ...options, sets: { trees: "7" } });
    expect(plan.steps.map((s) => [s.id, s.call, s.inputs])).toEqual([
      ["era5", "get", {}],
      ["clean", "transform", { data: { type: "step", step: "era5", output: "data" } }],
      ["forest", "train", { data: { type: "step", step: "clean", output: "data" } }],
    ]);
    expect(plan.steps[1]?.parameters).toEqual({ window: 4 });
    expect(plan.steps[2]?.parameters).toEqual({ trees: 7, window: 1 });
    expect(plan.model).toEqual({ name: "forest", version: null });
    expect(() => planGraph(nodes, { ...options, modelName: "Bad Name" })).toThrow(/model name 'Bad Name' is not valid/);
    expect(() => chainNodes({ type: "dataset", artifact: dataset, ref: "era5" }, [{ artifact: model, overrides: {} }, { artifact: clean, overrides: {} }])).toThrow(
      /step 1 \(forest\) is a model artifact, expected a transform/,
    );
  });

  it("orders a graph by its wiring and expands a sweep into branches sharing upstream steps", () => {
    const nodes: GraphNode[] = [
      { id: "fit", artifact: model, overrides: {}, inputs: { data: { type: "step", step: "prep", output: "data" } }, model: null },
      { id: "prep", artifact: clean, overrides: {}, inputs: { data: { type: "step", step: "src", output: "data" } }, model: null },
      { id: "src", artifact: dataset, overrides: {}, inputs: {}, model: null },
    ];
    const plan = planGraph(nodes, { ...options, sweep: { parameters: { trees: ["1", "2"] }, select: { metric: "rmse", goal: "min" } } });
    expect(plan.steps.map((s) => s.id)).toEqual(["src", "prep", "fit[trees=1]", "fit[trees=2]"]);
    expect(plan.steps.map((s) => s.branch ?? null)).toEqual([null, null, { trees: 1 }, { trees: 2 }]);
    expect(plan.sweep).toEqual({ parameters: { trees: [1, 2] }, select: { metric: "rmse", goal: "min" } });
    // --set values reach the copies of a swept step.
    const withSet = planGraph(nodes, { ...options, sets: { window: "7" }, sweep: { parameters: { trees: ["1", "2"] }, select: null } });
    expect(withSet.steps.map((s) => s.parameters["window"])).toEqual([undefined, 7, 7, 7]);
    // A sweep of the transform's window reaches everything downstream of it.
    const wide = planGraph(nodes, { ...options, sweep: { parameters: { "prep.window": ["2", "3"] }, select: null } });
    expect(wide.steps.map((s) => s.id)).toEqual(["src", "prep[window=2]", "fit[window=2]", "prep[window=3]", "fit[window=3]"]);
  });
});
