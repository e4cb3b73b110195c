import { isValidName, orderSteps, resolveParameters, type ParameterValue } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import type { Digest } from "@maelstrom/store";
import type { ResolvedData } from "./data.js";
import type { ArtifactVersion, PlannedStep, RunPlan, StepCall, StepInput, SweepPlan } from "./records.js";

/** A step of a graph before planning: what the user wired, with the values pipelines fixed. */
export interface GraphNode {
  readonly id: string;
  readonly artifact: ArtifactVersion;
  /** Values a pipeline manifest fixed for this step (`--set` wins over them). */
  readonly overrides: Readonly<Record<string, ParameterValue>>;
  readonly inputs: Readonly<Record<string, StepInput>>;
  /** Name to register a trained model under; null: the artifact's name. */
  readonly model: string | null;
  /** Where the pipeline asks this step to run (`executor:`); null: the run decides. */
  readonly executor?: string | null;
}

/** One step of a chain, with parameter values a pipeline artifact fixed for it. */
export interface PipelineItem {
  readonly artifact: ArtifactVersion;
  readonly overrides: Readonly<Record<string, ParameterValue>>;
  /** The pipeline's `executor:` for this step (the innermost pipeline that names one); null: none. */
  readonly executor?: string | null;
}

/** Step ids are the artifact names, made unique within a run ("clean", "clean-2"). */
export function stepIds(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}-${count}`;
  });
}

interface ScopedSteps {
  readonly id: string;
  readonly artifact: ArtifactVersion;
}

/** `step.name` -> { scope: "step", name }; `name` -> { scope: null, name }. */
function scopedKey(key: string): { scope: string | null; name: string } {
  const dot = key.lastIndexOf(".");
  return dot === -1 ? { scope: null, name: key } : { scope: key.slice(0, dot), name: key.slice(dot + 1) };
}

/** Whether a `--set`/`--sweep` key applies to a step: `name` to every step declaring it, `step.name` to that step (id or artifact name). */
function reaches(key: string, step: ScopedSteps): boolean {
  const { scope, name } = scopedKey(key);
  return scope === null ? name in step.artifact.manifest.parameters : step.id === scope || step.artifact.name === scope;
}

/** The steps a `--set`/`--sweep` key (`name` or `step.name`) applies to, or an error naming what exists. */
function targetsOf<T extends ScopedSteps>(option: string, key: string, value: string, steps: readonly T[]): { name: string; targets: T[] } {
  const { scope, name } = scopedKey(key);
  const targets = steps.filter((s) => reaches(key, s));
  if (targets.length === 0) {
    const declared = steps.map((s) => `${s.id} (${Object.keys(s.artifact.manifest.parameters).join(", ") || "no parameters"})`).join("; ");
    const what = scope === null ? `parameter '${name}' is not declared by any step` : `no step '${scope}' in this run`;
    throw new InputError(`${option} ${key}${value === "" ? "" : `=${value}`}: ${what}; steps and their parameters: ${declared}`, {
      code: "PARAMETER_INVALID",
      details: { parameter: key, value },
    });
  }
  return { name, targets };
}

/**
 * Share `--set` values out to steps. `name=value` goes to every step that declares `name`;
 * `step.name=value` (step id or artifact name) to that step only.
 */
export function distributeOverrides(sets: Readonly<Record<string, string>>, steps: readonly ScopedSteps[]): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>(steps.map((s) => [s.id, {}]));
  for (const [key, value] of Object.entries(sets)) {
    const { name, targets } = targetsOf("--set", key, value, steps);
    for (const target of targets) {
      const overrides = result.get(target.id);
      if (overrides !== undefined) overrides[name] = value;
    }
  }
  return result;
}

function callOf(artifact: ArtifactVersion, mode: "train" | "predict"): StepCall {
  switch (artifact.kind) {
    case "dataset":
      return "get";
    case "model":
      return mode;
    default:
      return "transform";
  }
}

const contracts = (named: Readonly<Record<string, { readonly variables: Readonly<Record<string, string>> }>>): Record<string, Readonly<Record<string, string>>> =>
  Object.fromEntries(Object.entries(named).map(([name, contract]) => [name, contract.variables]));

export function planStep(
  node: Pick<GraphNode, "id" | "artifact" | "inputs" | "model" | "executor">,
  call: StepCall,
  overrides: Readonly<Record<string, ParameterValue | string>>,
  stateDigest: Digest | null = null,
): PlannedStep {
  const { artifact } = node;
  const { manifest } = artifact;
  if (manifest.runtime === null || artifact.kind === "pipeline") {
    throw new InputError(`step '${node.id}': ${artifact.name} is a ${artifact.kind} artifact and has no code to run`, { details: { step: node.id, artifact: artifact.name } });
  }
  const provides = contracts(manifest.outputs);
  const requires = contracts(manifest.inputs);
  const needed = call === "predict" ? predictRequires({ requires, provides }) : requires;
  return {
    id: node.id,
    call,
    artifact: {
      digest: artifact.digest,
      name: artifact.name,
      kind: artifact.kind,
      runtime: manifest.runtime,
      entry: manifest.entry,
      command: manifest.command,
      sourcePath: artifact.sourcePath,
    },
    parameters: resolveParameters(manifest.parameters, overrides, { artifact: artifact.name }),
    resources: manifest.resources,
    inputs: node.inputs,
    requires: needed,
    provides,
    stateDigest,
    ...(call === "train" ? { model: node.model ?? artifact.name } : {}),
    ...(node.executor === undefined || node.executor === null ? {} : { executor: node.executor }),
    python: manifest.python,
    // chooseInterpreters settles it before the run starts.
    interpreter: null,
  };
}

/** Check the wiring of a step against its artifact's inputs and its sources' outputs (type contracts). */
function checkWiring(step: PlannedStep, byId: ReadonlyMap<string, PlannedStep>): void {
  const wired = Object.keys(step.inputs);
  const declared = Object.keys(step.requires);
  const label = `step '${step.id}' (${step.artifact.kind} ${step.artifact.name})`;
  for (const name of declared) {
    if (!wired.includes(name)) {
      throw new InputError(`${label} needs input '${name}', which is not wired; in the pipeline: inputs: { ${name}: STEP }`, {
        code: "GRAPH_INVALID",
        details: { steps: [step.id], input: name },
      });
    }
  }
  for (const [name, source] of Object.entries(step.inputs)) {
    if (!declared.includes(name)) {
      throw new InputError(`${label} has input '${name}' wired, but ${step.artifact.name} declares ${declared.length === 0 ? "no inputs" : `the inputs ${declared.join(", ")}`}`, {
        code: "GRAPH_INVALID",
        details: { steps: [step.id], input: name },
      });
    }
    if (source.type !== "step") continue;
    const producer = byId.get(source.step);
    if (producer === undefined) continue; // orderSteps reported it
    const offered = producer.provides[source.output];
    if (offered === undefined) {
      throw new InputError(
        `${label} input '${name}' is wired to '${source.step}.${source.output}', but step '${producer.id}' (${producer.artifact.name}) has the outputs: ${Object.keys(producer.provides).join(", ") || "none"}`,
        { code: "GRAPH_INVALID", details: { steps: [producer.id, step.id], input: name, output: source.output } },
      );
    }
    // A contract is checked where both sides declare one; otherwise when the step runs.
    if (Object.keys(offered).length === 0 || producer.call === "train") continue;
    for (const [variable, dtype] of Object.entries(step.requires[name] ?? {})) {
      const has = offered[variable];
      const from = `step '${producer.id}' (${producer.artifact.name}) output '${source.output}'`;
      if (has === undefined) {
        throw new InputError(`${label} input '${name}' needs variable '${variable}' (${dtype}), but ${from} declares only: ${Object.keys(offered).join(", ")}`, {
          code: "GRAPH_INVALID",
          details: { steps: [producer.id, step.id], variable, expected: dtype },
        });
      }
      if (dtype !== "any" && has !== "any" && has !== dtype) {
        throw new InputError(`${label} input '${name}' needs variable '${variable}' as ${dtype}, but ${from} declares it as ${has}`, {
          code: "GRAPH_INVALID",
          details: { steps: [producer.id, step.id], variable, expected: dtype, actual: has },
        });
      }
    }
  }
}

/** Steps in execution order, after checking ids, wiring and cycles. */
function ordered(steps: readonly PlannedStep[]): PlannedStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const order = orderSteps(
    steps.map((s) => ({
      id: s.id,
      sources: Object.entries(s.inputs).flatMap(([input, source]) => (source.type === "step" ? [{ input, step: source.step, output: source.output }] : [])),
    })),
  );
  const sorted = order.map((id) => byId.get(id) as PlannedStep);
  for (const step of sorted) checkWiring(step, byId);
  return sorted;
}

/** Ids of the steps the targets need (themselves and everything upstream). */
export function upstreamOf(steps: readonly PlannedStep[], targets: readonly string[]): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const needed = new Set<string>();
  const stack = [...targets];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (needed.has(id)) continue;
    needed.add(id);
    for (const source of Object.values(byId.get(id)?.inputs ?? {})) if (source.type === "step") stack.push(source.step);
  }
  return needed;
}

export interface PrunedStep {
  readonly id: string;
  readonly artifact: string;
  readonly reason: string;
}

/**
 * Keep only what the targets need (graph pruning; switch off with prune: false). Targets default
 * to the steps nobody reads from, so without targets nothing is pruned.
 */
export function prune(steps: readonly PlannedStep[], targets: readonly string[], enabled: boolean): { steps: PlannedStep[]; pruned: PrunedStep[] } {
  for (const target of targets) {
    if (!steps.some((s) => s.id === target)) {
      throw new InputError(`--target ${target}: no step '${target}' in this run; steps: ${steps.map((s) => s.id).join(", ")}`, {
        code: "GRAPH_INVALID",
        details: { steps: [target] },
      });
    }
  }
  if (!enabled || targets.length === 0) return { steps: [...steps], pruned: [] };
  const needed = upstreamOf(steps, targets);
  return {
    steps: steps.filter((s) => needed.has(s.id)),
    pruned: steps.filter((s) => !needed.has(s.id)).map((s) => ({ id: s.id, artifact: s.artifact.name, reason: `not needed by ${targets.join(", ")}` })),
  };
}

interface SweepRequest {
  /** `name` or `step.name` -> the values to try, as text. */
  readonly parameters: Readonly<Record<string, readonly string[]>>;
  readonly select: { readonly metric: string; readonly goal: "max" | "min" } | null;
}

/** Parse `--select metric:max|min`. */
export function parseSelect(text: string): { metric: string; goal: "max" | "min" } {
  const match = /^([A-Za-z0-9_.\-/]+):(max|min)$/.exec(text);
  if (match === null) {
    throw new InputError(`--select ${text}: expected METRIC:max or METRIC:min (e.g. accuracy:max, rmse:min)`, { code: "PARAMETER_INVALID", details: { select: text } });
  }
  return { metric: match[1] as string, goal: match[2] as "max" | "min" };
}

/** Every combination of the swept values, in the order given (the last parameter varies fastest). */
function grid(parameters: Readonly<Record<string, readonly string[]>>): Record<string, string>[] {
  let points: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(parameters)) points = points.flatMap((point) => values.map((value) => ({ ...point, [key]: value })));
  return points;
}

const branchLabel = (values: Readonly<Record<string, ParameterValue | string>>): string =>
  Object.entries(values)
    .map(([k, v]) => `${scopedKey(k).name}=${String(v)}`)
    .join(",");

interface GraphOptions {
  readonly kind: RunPlan["kind"];
  readonly data: RunPlan["data"];
  readonly sets: Readonly<Record<string, string>>;
  readonly sweep: SweepRequest | null;
  readonly modelName: string | null;
}

/**
 * Plan a graph for train/run: resolve every step's parameters, expand a sweep into branches that
 * share the steps the swept parameters do not reach, and check the graph.
 */
export function planGraph(nodes: readonly GraphNode[], options: GraphOptions): RunPlan {
  const models = nodes.filter((n) => n.artifact.kind === "model");
  if (options.kind === "train" && models.length === 0) {
    throw new InputError(`train needs at least one model step; the steps are: ${nodes.map((n) => `${n.id} (${n.artifact.kind})`).join(", ")} (use maelstrom run for pipelines without a model)`, {
      details: { steps: nodes.map((n) => n.id) },
    });
  }
  if (options.modelName !== null) {
    if (!isValidName(options.modelName)) {
      throw new InputError(`model name '${options.modelName}' is not valid: expected [a-z0-9][a-z0-9._-]*, optionally namespaced group/name`, {
        code: "REFERENCE_INVALID",
        details: { modelName: options.modelName },
      });
    }
    if (models.length > 1) {
      throw new InputError(`--model-name names one model, but this graph trains ${models.length} (${models.map((m) => m.id).join(", ")}); name them in the pipeline with model: NAME`, {
        details: { steps: models.map((m) => m.id) },
      });
    }
  }
  const overrides = distributeOverrides(options.sets, nodes);
  const valuesOf = (node: GraphNode, extra: Readonly<Record<string, string>> = {}): Record<string, ParameterValue | string> => ({
    ...node.overrides,
    // A sweep's copy ("fit[trees=5]") takes the --set values of the step it copies.
    ...(overrides.get(node.id.split("[")[0] ?? node.id) ?? {}),
    ...extra,
  });
  const planNode = (node: GraphNode, extra?: Readonly<Record<string, string>>): PlannedStep => {
    const model = options.modelName !== null && node.artifact.kind === "model" ? options.modelName : node.model;
    return planStep({ ...node, model }, callOf(node.artifact, "train"), valuesOf(node, extra));
  };

  let steps: PlannedStep[];
  let sweep: SweepPlan | null = null;
  if (options.sweep === null || Object.keys(options.sweep.parameters).length === 0) {
    steps = nodes.map((node) => planNode(node));
  } else {
    ({ steps, sweep } = expandSweep(nodes, options.sweep, planNode));
  }
  const first = models[0];
  return {
    kind: options.kind,
    data: options.data,
    steps: ordered(steps),
    model: { name: options.modelName ?? first?.model ?? first?.artifact.name ?? "", version: null },
    sweep,
  };
}

function expandSweep(
  nodes: readonly GraphNode[],
  request: SweepRequest,
  planNode: (node: GraphNode, extra?: Readonly<Record<string, string>>) => PlannedStep,
): { steps: PlannedStep[]; sweep: SweepPlan } {
  const readers = new Map<string, string[]>();
  for (const node of nodes) {
    for (const source of Object.values(node.inputs)) if (source.type === "step") readers.set(source.step, [...(readers.get(source.step) ?? []), node.id]);
  }
  // Each swept parameter reaches the steps declaring it and everything downstream of them.
  const reach = new Map<string, Set<string>>();
  for (const [key, values] of Object.entries(request.parameters)) {
    if (values.length === 0) throw new InputError(`--sweep ${key}: give at least one value (--sweep ${key}=v1,v2,...)`, { code: "PARAMETER_INVALID", details: { parameter: key } });
    const { name, targets } = targetsOf("--sweep", key, values.join(","), nodes);
    for (const target of targets) {
      if (!(name in target.artifact.manifest.parameters)) {
        throw new InputError(`--sweep ${key}: step '${target.id}' (${target.artifact.name}) does not declare a parameter '${name}'; it declares: ${Object.keys(target.artifact.manifest.parameters).join(", ") || "none"}`, {
          code: "PARAMETER_INVALID",
          details: { parameter: key, step: target.id },
        });
      }
    }
    const reached = new Set<string>();
    const stack = targets.map((t) => t.id);
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (reached.has(id)) continue;
      reached.add(id);
      stack.push(...(readers.get(id) ?? []));
    }
    reach.set(key, reached);
  }
  // A step is copied once per combination of the swept values that reach it, not per grid point.
  const keysOf = (id: string): string[] => [...reach.entries()].filter(([, ids]) => ids.has(id)).map(([key]) => key);
  const only = (point: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> => Object.fromEntries(keys.map((k) => [k, point[k] ?? ""]));
  const branchId = (id: string, point: Readonly<Record<string, string>>): string => {
    const keys = keysOf(id);
    return keys.length === 0 ? id : `${id}[${branchLabel(only(point, keys))}]`;
  };
  const steps = new Map<string, PlannedStep>();
  // Branch values as the steps declaring them resolved them (typed: "5" -> 5).
  const typed = new Map<string, Map<string, ParameterValue>>(Object.keys(request.parameters).map((key) => [key, new Map()]));
  for (const point of grid(request.parameters)) {
    for (const node of nodes) {
      const id = branchId(node.id, point);
      if (steps.has(id)) continue;
      const keys = keysOf(node.id);
      const extra: Record<string, string> = {};
      for (const key of keys) {
        const name = sweptName(key, node);
        if (name !== null) extra[name] = point[key] ?? "";
      }
      const inputs = Object.fromEntries(Object.entries(node.inputs).map(([name, source]) => [name, source.type === "step" ? { ...source, step: branchId(source.step, point) } : source]));
      try {
        const planned = planNode({ ...node, id, inputs }, extra);
        for (const key of keys) {
          const name = sweptName(key, node);
          const value = name === null ? undefined : planned.parameters[name];
          if (value !== undefined) typed.get(key)?.set(point[key] ?? "", value);
        }
        steps.set(id, { ...planned, ...(keys.length === 0 ? {} : { branch: only(point, keys) }) });
      } catch (error) {
        if (error instanceof InputError) {
          throw new InputError(`--sweep ${branchLabel(only(point, keys))}: step '${node.id}': ${error.message}`, { code: "PARAMETER_INVALID", details: { ...error.details, step: node.id }, cause: error });
        }
        throw error;
      }
    }
  }
  const resolved = [...steps.values()].map((step) =>
    step.branch === undefined || step.branch === null ? step : { ...step, branch: Object.fromEntries(Object.entries(step.branch).map(([k, v]) => [k, typed.get(k)?.get(String(v)) ?? v])) },
  );
  const parameters = Object.fromEntries(Object.entries(request.parameters).map(([key, values]) => [key, values.map((v) => typed.get(key)?.get(v) ?? v)]));
  return { steps: resolved, sweep: { parameters, select: request.select } };
}

/** The parameter a sweep key (`name` or `step.name`) sets on this node, or null when it does not reach it. */
function sweptName(key: string, node: GraphNode): string | null {
  return reaches(key, node) ? scopedKey(key).name : null;
}

/**
 * Steps of a graph for a chain (the list form): [dataset get] → transforms → model, each reading
 * the previous step's output `data`.
 */
export function chainNodes(data: ResolvedData | null, items: readonly PipelineItem[]): GraphNode[] {
  // In a chain only the first step may be a dataset and only the last a model.
  items.forEach(({ artifact }, i) => {
    const last = i === items.length - 1;
    const first = i === 0 && data === null;
    if ((artifact.kind === "model" && !last) || (artifact.kind === "dataset" && !first)) {
      const expected = last ? "a transform or a model" : first ? "a dataset or a transform" : "a transform";
      throw new InputError(`step ${i + 1} (${artifact.name}) is a ${artifact.kind} artifact, expected ${expected}; usage: train [DATASET] TRANSFORM... MODEL [--data DATA]`, {
        details: { step: artifact.name, position: i + 1, kind: artifact.kind },
      });
    }
  });
  const all = data?.type === "dataset" ? [{ artifact: data.artifact, overrides: {}, executor: null }, ...items] : [...items];
  const ids = stepIds(all.map((item) => item.artifact.name));
  return all.map((item, i) => {
    const previous = ids[i - 1];
    let inputs: Record<string, StepInput> = {};
    if (previous !== undefined) inputs = { data: { type: "step", step: previous, output: "data" } };
    else if (data?.type === "bundle" && item.artifact.kind !== "dataset") inputs = { data: { type: "bundle", digest: data.digest } };
    return { id: ids[i] ?? item.artifact.name, artifact: item.artifact, overrides: item.overrides, inputs, model: null, executor: item.executor ?? null };
  });
}

/** The steps a trained model needs at inference: its upstream steps, the model called as predict. */
export function planApply(
  data: ResolvedData | null,
  training: RunPlan,
  model: { readonly name: string; readonly version: number; readonly stateDigest: Digest; readonly stepId: string },
  datasetSets: Readonly<Record<string, string>> = {},
): RunPlan {
  const needed = upstreamOf(training.steps, [model.stepId]);
  let steps: PlannedStep[] = training.steps
    .filter((s) => needed.has(s.id))
    .map((s) =>
      // Interpreters are chosen again, preferring the one used in training while it exists.
      s.id === model.stepId
        ? { ...s, call: "predict", stateDigest: model.stateDigest, requires: predictRequires(s), interpreter: null, trainedWith: s.interpreter }
        : { ...s, interpreter: null, trainedWith: s.interpreter },
    );
  if (data !== null) steps = replaceSource(steps, data, datasetSets, `${model.name}/${model.version}`);
  else if (Object.keys(datasetSets).length > 0) {
    throw new InputError("--set on apply sets parameters of the dataset step given with --data; without --data the steps keep the parameters fixed at training", {
      code: "PARAMETER_INVALID",
    });
  }
  return { kind: "apply", data: data === null ? training.data : data.type === "bundle" ? data.origin : { type: "artifact", ref: data.ref, digest: data.artifact.digest }, steps: ordered(steps), model: { name: model.name, version: model.version }, sweep: null };
}

/** At inference the model's outputs (the predicted variables) are not needed as inputs. */
function predictRequires(step: Pick<PlannedStep, "requires" | "provides">): PlannedStep["requires"] {
  const predicted = new Set(Object.values(step.provides).flatMap((vars) => Object.keys(vars)));
  return Object.fromEntries(Object.entries(step.requires).map(([n, vars]) => [n, Object.fromEntries(Object.entries(vars).filter(([v]) => !predicted.has(v)))]));
}

/** Apply to other data: the one source of the model's graph (a dataset step or a stored bundle) is swapped for `--data`. */
function replaceSource(steps: readonly PlannedStep[], data: ResolvedData, sets: Readonly<Record<string, string>>, model: string): PlannedStep[] {
  const getSteps = steps.filter((s) => s.call === "get");
  const bundleReaders = steps.filter((s) => Object.values(s.inputs).some((i) => i.type === "bundle"));
  const sources = [...getSteps.map((s) => s.id), ...(bundleReaders.length > 0 ? ["the input data"] : [])];
  if (sources.length !== 1) {
    throw new InputError(`${model} was trained on a graph with ${sources.length} data sources (${sources.join(", ")}); --data can replace only one: apply it without --data to use the training sources`, {
      details: { sources },
    });
  }
  if (data.type === "bundle" && Object.keys(sets).length > 0) {
    throw new InputError("--set on apply sets parameters of the dataset step, but --data is not a dataset artifact; the other steps keep the parameters fixed at training", {
      code: "PARAMETER_INVALID",
    });
  }
  const oldGet = getSteps[0];
  const taken = new Set(steps.filter((s) => s !== oldGet).map((s) => s.id));
  let newGet: PlannedStep | null = null;
  let source: StepInput;
  if (data.type === "dataset") {
    const id = taken.has(data.artifact.name) ? `${data.artifact.name}-data` : data.artifact.name;
    newGet = planStep({ id, artifact: data.artifact, inputs: {}, model: null }, "get", distributeOverrides(sets, [{ id, artifact: data.artifact }]).get(id) ?? {});
    source = { type: "step", step: id, output: "data" };
  } else {
    source = { type: "bundle", digest: data.digest };
  }
  const rewired = steps
    .filter((s) => s !== oldGet)
    .map((s) => ({
      ...s,
      inputs: Object.fromEntries(
        Object.entries(s.inputs).map(([name, input]) => [name, input.type === "bundle" || (oldGet !== undefined && input.type === "step" && input.step === oldGet.id) ? source : input]),
      ),
    }));
  return newGet === null ? rewired : [newGet, ...rewired];
}
