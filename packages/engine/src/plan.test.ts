import { describe, expect, it } from "vitest";
import { parseManifest } from "@maelstrom/core";
import type { Digest } from "@maelstrom/store";
import { distributeOverrides, planStep, planTrain, stepIds } from "./plan.js";
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
    expect(planStep("forest", "train", model, {}).requires).toEqual({ t2m: "float32", label: "string" });
    expect(planStep("forest", "predict", model, {}).requires).toEqual({ t2m: "float32" });
  });

  it("plans dataset get → transforms → model train with resolved parameters", () => {
    const item = (artifact: ArtifactVersion, overrides = {}): { artifact: ArtifactVersion; overrides: Record<string, number> } => ({ artifact, overrides });
    const plan = planTrain({ type: "dataset", artifact: dataset, ref: "era5" }, [item(clean, { window: 4 }), item(model)], { trees: "7" }, null);
    expect(plan.steps.map((s) => [s.id, s.call])).toEqual([
      ["era5", "get"],
      ["clean", "transform"],
      ["forest", "train"],
    ]);
    expect(plan.steps[1]?.parameters).toEqual({ window: 4 });
    expect(plan.steps[2]?.parameters).toEqual({ trees: 7, window: 1 });
    expect(plan.model).toEqual({ name: "forest", version: null });
    expect(() => planTrain({ type: "dataset", artifact: dataset, ref: "era5" }, [item(model)], {}, "Bad Name")).toThrow(/model name 'Bad Name' is not valid/);
    expect(() => planTrain({ type: "dataset", artifact: dataset, ref: "era5" }, [item(model), item(clean)], {}, null)).toThrow(
      /step 1 \(forest\) is a model artifact, expected a transform/,
    );
  });
});
