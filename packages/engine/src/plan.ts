import { isValidName, resolveParameters, type ParameterValue } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import type { Digest } from "@maelstrom/store";
import type { ResolvedData } from "./data.js";
import type { ArtifactVersion, PlannedStep, RunPlan, StepCall } from "./records.js";

/** Step ids are the artifact names, made unique within a run ("clean", "clean-2"). */
export function stepIds(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}-${count}`;
  });
}

/**
 * Share `--set` values out to steps. `name=value` goes to every step that declares `name`;
 * `step.name=value` (step id or artifact name) to that step only.
 */
export function distributeOverrides(
  sets: Readonly<Record<string, string>>,
  steps: readonly { readonly id: string; readonly artifact: ArtifactVersion }[],
): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>(steps.map((s) => [s.id, {}]));
  for (const [key, value] of Object.entries(sets)) {
    const dot = key.lastIndexOf(".");
    const scope = dot === -1 ? null : key.slice(0, dot);
    const name = dot === -1 ? key : key.slice(dot + 1);
    const targets =
      scope === null
        ? steps.filter((s) => name in s.artifact.manifest.parameters)
        : steps.filter((s) => s.id === scope || s.artifact.name === scope);
    if (targets.length === 0) {
      const declared = steps
        .map((s) => `${s.id} (${Object.keys(s.artifact.manifest.parameters).join(", ") || "no parameters"})`)
        .join("; ");
      const what = scope === null ? `parameter '${name}' is not declared by any step` : `no step '${scope}' in this run`;
      throw new InputError(`--set ${key}=${value}: ${what}; steps and their parameters: ${declared}`, {
        code: "PARAMETER_INVALID",
        details: { parameter: key, value },
      });
    }
    for (const target of targets) {
      const overrides = result.get(target.id);
      if (overrides !== undefined) overrides[name] = value;
    }
  }
  return result;
}

export function planStep(
  id: string,
  call: StepCall,
  artifact: ArtifactVersion,
  overrides: Readonly<Record<string, ParameterValue | string>>,
  stateDigest: Digest | null = null,
): PlannedStep {
  const { manifest } = artifact;
  if (manifest.runtime === null || manifest.entry === null) {
    throw new InputError(`${artifact.name} is a ${artifact.kind} artifact and has no code to run`, { details: { artifact: artifact.name } });
  }
  const provides = manifest.outputs?.variables ?? {};
  const requires = call === "predict" ? predictRequires(manifest.inputs?.variables ?? {}, provides) : (manifest.inputs?.variables ?? {});
  return {
    id,
    call,
    artifact: {
      digest: artifact.digest,
      name: artifact.name,
      kind: artifact.kind,
      runtime: manifest.runtime,
      entry: manifest.entry,
      sourcePath: artifact.sourcePath,
    },
    parameters: resolveParameters(manifest.parameters, overrides, { artifact: artifact.name }),
    resources: manifest.resources,
    requires,
    provides,
    stateDigest,
    python: manifest.python,
    // chooseInterpreters settles it before the run starts.
    interpreter: null,
  };
}

function expectKind(artifact: ArtifactVersion, position: number, expected: "transform" | "model", usage: string): void {
  if (artifact.kind !== expected) {
    throw new InputError(`step ${position} (${artifact.name}) is a ${artifact.kind} artifact, expected a ${expected}; usage: ${usage}`, {
      details: { step: artifact.name, position, kind: artifact.kind, expected },
    });
  }
}

const TRAIN_USAGE = "train TRANSFORM... MODEL --data DATA";

/** The plan of a training: [dataset get] → transforms → model train. */
/** One step of a training pipeline, with parameter values a pipeline artifact fixed for it. */
export interface PipelineItem {
  readonly artifact: ArtifactVersion;
  readonly overrides: Readonly<Record<string, ParameterValue>>;
}

export function planTrain(
  data: ResolvedData,
  items: readonly PipelineItem[],
  sets: Readonly<Record<string, string>>,
  modelName: string | null,
): RunPlan {
  const pipeline = items.map((item) => item.artifact);
  const model = pipeline.at(-1);
  if (model === undefined) throw new InputError(`train needs at least a model step; usage: ${TRAIN_USAGE}`);
  if (modelName !== null && !isValidName(modelName)) {
    throw new InputError(`model name '${modelName}' is not valid: expected [a-z0-9][a-z0-9._-]*, optionally namespaced group/name`, {
      code: "REFERENCE_INVALID",
      details: { modelName },
    });
  }
  pipeline.slice(0, -1).forEach((artifact, i) => expectKind(artifact, i + 1, "transform", TRAIN_USAGE));
  expectKind(model, pipeline.length, "model", TRAIN_USAGE);

  const all = data.type === "dataset" ? [data.artifact, ...pipeline] : [...pipeline];
  const ids = stepIds(all.map((a) => a.name));
  const withIds = all.map((artifact, i) => ({ id: ids[i] ?? artifact.name, artifact }));
  const overrides = distributeOverrides(sets, withIds);
  const offset = data.type === "dataset" ? 1 : 0;
  const steps = withIds.map(({ id, artifact }, i) => {
    const call: StepCall = data.type === "dataset" && i === 0 ? "get" : i === withIds.length - 1 ? "train" : "transform";
    // --set wins over the values a pipeline artifact fixed.
    return planStep(id, call, artifact, { ...(items[i - offset]?.overrides ?? {}), ...(overrides.get(id) ?? {}) });
  });
  return {
    kind: "train",
    inputDigest: data.type === "bundle" ? data.digest : null,
    data: data.type === "bundle" ? data.origin : { type: "artifact", ref: data.ref, digest: data.artifact.digest },
    steps,
    model: { name: modelName ?? model.name, version: null },
  };
}

/**
 * The plan of applying a trained model: [dataset get] → the transforms it was trained with, with
 * their fixed parameters → model predict.
 */
export function planApply(
  data: ResolvedData,
  training: RunPlan,
  model: { readonly name: string; readonly version: number; readonly stateDigest: Digest },
  datasetSets: Readonly<Record<string, string>> = {},
): RunPlan {
  const trainedSteps = training.steps.filter((s) => s.call !== "get");
  const steps: PlannedStep[] = trainedSteps.map((s) =>
    // Interpreters are chosen again, preferring the one used in training while it exists.
    s.call === "train"
      ? {
          ...s,
          call: "predict",
          stateDigest: model.stateDigest,
          requires: predictRequires(s.requires, s.provides),
          interpreter: null,
          trainedWith: s.interpreter,
        }
      : { ...s, interpreter: null, trainedWith: s.interpreter },
  );
  if (data.type === "dataset") {
    const taken = new Set(steps.map((s) => s.id));
    const id = taken.has(data.artifact.name) ? `${data.artifact.name}-data` : data.artifact.name;
    steps.unshift(planStep(id, "get", data.artifact, distributeOverrides(datasetSets, [{ id, artifact: data.artifact }]).get(id) ?? {}));
  } else if (Object.keys(datasetSets).length > 0) {
    throw new InputError("--set on apply sets parameters of the dataset step, but --data is not a dataset artifact; the other steps keep the parameters fixed at training", {
      code: "PARAMETER_INVALID",
    });
  }
  return {
    kind: "apply",
    inputDigest: data.type === "bundle" ? data.digest : null,
    data: data.type === "bundle" ? data.origin : { type: "artifact", ref: data.ref, digest: data.artifact.digest },
    steps,
    model: { name: model.name, version: model.version },
  };
}

/** At inference the model's outputs (the predicted variables) are not needed as inputs. */
function predictRequires(inputs: Readonly<Record<string, string>>, provides: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).filter(([name]) => !(name in provides)));
}
