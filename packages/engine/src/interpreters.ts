import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { choosePython, pythonImports, type RequestedPython } from "@maelstrom/runtime";
import type { EngineContext } from "./context.js";
import { readConfig } from "./config.js";
import type { PlannedStep, RunPlan } from "./records.js";

/**
 * Choose each Python step's interpreter before anything runs: the manifest field `python`, then
 * (applying a model) the interpreter it was trained with while that exists, then MAELSTROM_PYTHON,
 * then the workspace setting, then the first interpreter found that imports numpy and the step's
 * imports. A missing interpreter fails the run up front.
 */
export async function chooseInterpreters(ctx: EngineContext, plan: RunPlan): Promise<RunPlan> {
  const configured = (await readConfig(ctx.paths)).python;
  const steps: PlannedStep[] = [];
  for (const step of plan.steps) {
    if (step.artifact.runtime !== "python") {
      steps.push(step);
      continue;
    }
    const requested: RequestedPython[] = [];
    // Relative paths mean: from the artifact's folder (manifest), from here (environment, setting);
    // the step itself runs elsewhere, so they are made absolute now.
    const absolute = (path: string, base: string): string => (path.includes("/") ? resolve(base, path) : path);
    const fromManifest = step.python ?? null;
    if (fromManifest !== null) {
      requested.push({ path: absolute(fromManifest, step.artifact.sourcePath), source: `the 'python' field of ${step.artifact.name}'s maelstrom.yaml` });
    }
    // A model is applied with the interpreter it was trained with (its pickles need the same
    // packages), as long as that interpreter is still there; else the usual choice applies.
    const trainedWith = step.trainedWith ?? null;
    if (trainedWith !== null && (!trainedWith.includes("/") || existsSync(trainedWith))) {
      requested.push({ path: trainedWith, source: `the interpreter ${plan.model.name}/${plan.model.version ?? "?"} was trained with` });
    }
    const fromEnv = process.env["MAELSTROM_PYTHON"];
    if (fromEnv !== undefined && fromEnv !== "") requested.push({ path: absolute(fromEnv, process.cwd()), source: "MAELSTROM_PYTHON" });
    if (configured !== undefined) requested.push({ path: absolute(configured, ctx.paths.root), source: "the workspace setting python (maelstrom config)" });
    steps.push({ ...step, interpreter: choosePython(requested, step.artifact.name, await entryImports(ctx, step)) });
  }
  return { ...plan, steps };
}

/** What the step's entry file imports, read from the stored artifact version. */
async function entryImports(ctx: EngineContext, step: PlannedStep): Promise<string[]> {
  const tree = await ctx.objects.readTree(step.artifact.digest);
  const entry = tree.entries.find((e) => e.path === step.artifact.entry);
  if (entry === undefined) return [];
  const local = new Set(tree.entries.map((e) => e.path.split("/")[0]?.replace(/\.py$/, "") ?? ""));
  return pythonImports((await ctx.objects.readBytes(entry.digest)).toString("utf8"), local);
}
