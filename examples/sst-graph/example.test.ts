import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, "..", "..", "packages", "cli", "bin", "maelstrom.js");
const workspace = mkdtempSync(join(tmpdir(), "maelstrom-sst-graph-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** The README's commands, as a user runs them. */
function maelstrom(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, "-w", workspace, ...args], { encoding: "utf8", env: { ...process.env, CI: "true" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json<T>(...args: string[]): T {
  const result = maelstrom(...args, "--json");
  if (result.code !== 0) throw new Error(`maelstrom ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface Plan {
  steps: { id: string; status: string; reason: string }[];
}

describe("examples/sst-graph", () => {
  it("trains two models on two matched sources; a change re-runs only what it reaches; a sweep shares the upstream steps", () => {
    expect(maelstrom("init").code).toBe(0);
    for (const artifact of ["buoy-sst", "era5-point", "match-days", "sst-features", "sst-linear", "sst-climatology", "sst-dag"]) {
      expect(maelstrom("add", join(here, artifact)).code).toBe(0);
    }
    const trained = json<{ models: { ref: string; record: { metrics: Record<string, number> } }[] }>("train", "sst-dag");
    expect(trained.models.map((m) => m.ref)).toEqual(["sst-dag-linear/1", "sst-dag-baseline/1"]);
    const [linear, baseline] = trained.models.map((m) => m.record.metrics["rmse"] ?? NaN);
    // The weather explains the SST far better than the climatology alone.
    expect(linear).toBeLessThan((baseline ?? 0) / 2);

    const plan = json<Plan>("plan", "sst-dag", "--set", "features.harmonics=3");
    expect(plan.steps.map((s) => [s.id, s.status])).toEqual([
      ["buoy", "cached"],
      ["era5", "cached"],
      ["matched", "cached"],
      ["features", "run"],
      ["linear", "run"],
      ["baseline", "run"],
    ]);
    expect(plan.steps[3]?.reason).toBe("parameter harmonics changed: 2 -> 3");

    const swept = json<{ run: { steps: { stepId: string; cachedFrom: string | null }[] }; models: { ref: string }[] }>(
      "train",
      "sst-dag",
      "--sweep",
      "linear.ridge=0,1,10",
      "--select",
      "rmse:min",
    );
    // Only the new branches train: the data steps, the baseline and ridge=0 (the first training) are cached.
    expect(swept.run.steps.filter((s) => s.cachedFrom === null).map((s) => s.stepId)).toEqual(["linear[ridge=1]", "linear[ridge=10]"]);
    expect(swept.models.map((m) => m.ref)).toEqual(["sst-dag-baseline/2", "sst-dag-linear/2"]);

    const applied = json<{ run: { steps: { stepId: string; cachedFrom: string | null }[] } }>("apply", "sst-dag-linear/1");
    expect(applied.run.steps.filter((s) => s.cachedFrom === null).map((s) => s.stepId)).toEqual(["linear"]);
  });
});
