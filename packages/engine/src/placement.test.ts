import { describe, expect, it } from "vitest";
import { parseManifest } from "@maelstrom/core";
import type { Digest } from "@maelstrom/store";
import type { Clusters } from "./clusters.js";
import { fusionGroups } from "./fuse.js";
import { placeSteps } from "./placement.js";
import { planStep } from "./plan.js";
import type { ArtifactVersion, PlannedStep } from "./records.js";
import { parseRule, ruleMatches } from "./rules.js";

function step(id: string, resources: string, options: { executor?: string; input?: string } = {}): PlannedStep {
  const manifest = parseManifest(`kind: transform\nname: ${id}\nruntime: node\nentry: t.ts\nresources: ${resources}\n`, "maelstrom.yaml");
  const artifact: ArtifactVersion = {
    digest: `sha256:${"ab".repeat(32)}` as Digest,
    name: id,
    kind: manifest.kind,
    runtime: manifest.runtime,
    description: "",
    manifest,
    sourcePath: "/src",
    fileCount: 1,
    totalBytes: 1,
    createdAt: 0,
    tags: [],
  };
  const inputs = options.input === undefined ? {} : { data: { type: "step", step: options.input, output: "data" } as const };
  return planStep({ id, artifact, inputs, model: null, executor: options.executor ?? null }, "transform", {});
}

const resources = (text: string) => step("x", text).resources;

describe("executor rules", () => {
  it("parses comparisons over cpus, memory, gpus and time, joined by 'and'", () => {
    expect(parseRule("gpus>0")).toEqual([{ field: "gpus", operator: ">", value: 0 }]);
    expect(parseRule(" cpus >= 8 and memory>32GiB ")).toEqual([
      { field: "cpus", operator: ">=", value: 8 },
      { field: "memory", operator: ">", value: 32 * 1024 ** 3 },
    ]);
    expect(parseRule("time<=1h30m")).toEqual([{ field: "time", operator: "<=", value: 90 * 60_000 }]);
    expect(parseRule("cpus=4")).toEqual([{ field: "cpus", operator: "=", value: 4 }]);
  });

  it.each([
    ["", "the rule is empty"],
    ["gpu>0", "unknown field 'gpu'"],
    ["cpus=>8", "unknown operator '=>'"],
    ["cpus==8", "unknown operator '=='"],
    ["cpus!=8", "unknown operator '!='"],
    ["cpus>", "no value after 'cpus>'"],
    ["cpus>1.5", "cpus '1.5' is not a whole number"],
    ["memory>lots", "memory 'lots' is not a size like 32GiB or 512MiB"],
    ["time>8", "time '8' is not a duration like 4h, 90m or 01:30:00"],
    ["gpus>0 or cpus>8", "'or' is not supported: give --when once per alternative (any rule that matches is enough)"],
    ["gpus>>0", "unknown operator '>>'"],
    ["gpus>0 and", "a comparison is missing before or after 'and'"],
    ["and cpus>1", "a comparison is missing before or after 'and'"],
    ["big", "'big' is not a comparison"],
  ])("refuses %j: %s", (text, message) => {
    expect(() => parseRule(text)).toThrow(`executor rule '${text}': ${message}; expected FIELD OP VALUE, or several joined by 'and', with FIELD one of cpus, memory, gpus, time`);
  });

  it("matches a step's declared resources; a step without a time matches no time comparison", () => {
    expect(ruleMatches(parseRule("gpus>0"), resources("{ gpus: 1 }"))).toBe(true);
    expect(ruleMatches(parseRule("gpus>0"), resources("{ cpus: 16 }"))).toBe(false);
    expect(ruleMatches(parseRule("cpus>=8 and memory>32GiB"), resources("{ cpus: 8, memory: 64GiB }"))).toBe(true);
    expect(ruleMatches(parseRule("cpus>=8 and memory>32GiB"), resources("{ cpus: 8, memory: 32GiB }"))).toBe(false);
    expect(ruleMatches(parseRule("time>4h"), resources("{ time: 5h }"))).toBe(true);
    expect(ruleMatches(parseRule("time<4h"), resources("{ cpus: 1 }"))).toBe(false);
  });
});

describe("placing steps", () => {
  const clusters: Clusters = {
    gpu: { partition: "gpu", transport: "local", when: ["gpus>0"] },
    big: { partition: "batch", transport: "local", when: ["cpus>8", "memory>=64GiB"] },
  };
  const steps = [step("prep", "{ cpus: 1 }"), step("fit", "{ gpus: 1 }"), step("wide", "{ cpus: 16 }"), step("pinned", "{ gpus: 2 }", { executor: "local" })];
  const where = (placements: ReturnType<typeof placeSteps>) => Object.fromEntries([...placements].map(([id, p]) => [id, [p.executor, p.reason]]));

  it("most specific first: the pipeline's executor:, a cluster's rule, --executor, local", () => {
    expect(where(placeSteps(steps, clusters, undefined))).toEqual({
      prep: ["local", "default"],
      fit: ["slurm:gpu", "rule 'gpus>0' of cluster gpu"],
      wide: ["slurm:big", "rule 'cpus>8' of cluster big"],
      pinned: ["local", "executor: local in the pipeline"],
    });
    expect(where(placeSteps(steps, clusters, "slurm:big"))).toMatchObject({ prep: ["slurm:big", "--executor slurm:big"], fit: ["slurm:gpu", "rule 'gpus>0' of cluster gpu"], pinned: ["local", "executor: local in the pipeline"] });
    expect(placeSteps(steps, clusters, undefined).get("fit")?.cluster).toEqual({ name: "gpu", settings: clusters["gpu"] });
  });

  it("refuses a step two clusters' rules claim, an unknown cluster, and a bad rule in the settings", () => {
    expect(() => placeSteps([step("huge", "{ gpus: 1, cpus: 32 }")], clusters, undefined)).toThrow(
      "step 'huge' (transform huge) matches the rules of 2 clusters: 'gpus>0' of gpu, 'cpus>8' of big; give the step an executor in its pipeline (executor: slurm:NAME) or narrow the rules",
    );
    // The step's own choice settles it.
    expect(placeSteps([step("huge", "{ gpus: 1, cpus: 32 }", { executor: "slurm:big" })], clusters, undefined).get("huge")?.executor).toBe("slurm:big");
    expect(() => placeSteps([step("fit", "{}", { executor: "slurm:juwels" })], clusters, undefined)).toThrow("step 'fit': executor slurm:juwels (in its pipeline): unknown cluster 'juwels'; configured: gpu, big");
    expect(() => placeSteps([step("fit", "{}", { executor: "slurm" })], clusters, undefined)).toThrow(
      "step 'fit': executor slurm (in its pipeline): 2 clusters are configured (gpu, big); name one: executor: slurm:NAME",
    );
    expect(() => placeSteps(steps, clusters, "kubernetes")).toThrow("--executor kubernetes: expected local, slurm (the only configured cluster) or slurm:NAME");
    expect(() => placeSteps(steps, { gpu: { partition: "gpu", transport: "local", when: ["gpus>>0"] } }, undefined)).toThrow(
      "cluster 'gpu' in .maelstrom/clusters.json: executor rule 'gpus>>0': unknown operator '>>'",
    );
  });

  it("never fuses a chain across executors", () => {
    const chain = [step("a", "{ cpus: 1 }"), step("b", "{ cpus: 1 }", { input: "a" }), step("c", "{ gpus: 1 }", { input: "b" }), step("d", "{ gpus: 1 }", { input: "c" })];
    const placements = placeSteps(chain, clusters, undefined);
    expect(fusionGroups(chain).map((g) => g.map((s) => s.id))).toEqual([["a", "b", "c", "d"]]);
    expect(fusionGroups(chain, (s) => placements.get(s.id)?.executor ?? "local").map((g) => g.map((s) => s.id))).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
  });
});
