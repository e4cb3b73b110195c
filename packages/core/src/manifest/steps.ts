import { InputError } from "@maelstrom/errors";
import type { Node } from "yaml";
import { analyseGraph } from "../graph/graph.js";
import type { GraphStep } from "../graph/graph.js";
import { asList, asMapping, checkName, readFields, readString, readWord, requiredField, scalarValue } from "./fields.js";
import type { Field } from "./fields.js";
import { deref, expectedError, lineOf, locatedError } from "./located.js";
import type { YamlSource } from "./located.js";
import { PARAMETER_NAME_PATTERN } from "./parameters.js";
import type { ParameterValue } from "./parameters.js";
import { NAME_EXPECTATION, isValidName, parseArtifactRef } from "./references.js";
import { yaml } from "./yaml.js";

/** Where a step input comes from: output `output` of the step with id `step`. */
export interface StepSource {
  readonly step: string;
  readonly output: string;
}

/**
 * One step of a pipeline. In the list form (a chain) `id` and `inputs` are null and each step
 * reads the one before. In the graph form every step has an id and `inputs` (empty for a step
 * that reads nothing), and `model` may name the model its training registers.
 */
export interface PipelineStepSpec {
  readonly id: string | null;
  readonly ref: string;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly inputs: Readonly<Record<string, StepSource>> | null;
  readonly model: string | null;
  /** Where the step runs: `local`, `slurm` (the only configured cluster) or `slurm:NAME`; null: the run decides (rules, `--executor`). */
  readonly executor: string | null;
}

const GRAPH_FIELDS = ["id", "ref", "parameters", "inputs", "model", "executor"] as const;
/** Cluster names follow `maelstrom cluster add`'s rule; whether NAME is configured is checked when a run starts (clusters belong to a workspace). */
const EXECUTOR_PATTERN = /^(?:local|slurm(?::[A-Za-z0-9][A-Za-z0-9._-]{0,63})?)$/;
const EXECUTOR_EXPECTATION = "an executor: local, slurm (the only configured cluster) or slurm:NAME (a cluster of maelstrom cluster add)";
const STEP_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const STEP_ID_EXPECTATION = "a step id matching [a-z0-9][a-z0-9_-]* (no dots: 'STEP.OUTPUT' names an output)";
const INPUT_NAME_EXPECTATION = "an input name matching [A-Za-z_][A-Za-z0-9_]*";
const SOURCE_EXPECTATION = "a source 'STEP' or 'STEP.OUTPUT' (a step id, then optionally '.' and an output name matching [A-Za-z_][A-Za-z0-9_]*)";

/** A graph-form step and the nodes its errors point at. */
interface LocatedStep {
  readonly spec: PipelineStepSpec & { readonly id: string; readonly inputs: Readonly<Record<string, StepSource>> };
  readonly path: string;
  readonly idNode: Node | null;
  /** The source nodes, in the order of `inputs`. */
  readonly inputNodes: readonly (Node | null)[];
}

/**
 * `steps: [ transform, { ref: "model:v2", parameters: { trees: 10 } } ]` (a chain), or the graph
 * form `[ { id: a, ref: x }, { id: b, ref: y, inputs: { data: a } } ]`, used as soon as one step
 * has an id or inputs.
 */
export function readSteps(source: YamlSource, node: Node | null): PipelineStepSpec[] {
  const expected = "a non-empty list of steps (artifact references, or { ref, parameters, executor }, or { id, ref, parameters, inputs, model, executor })";
  const list = asList(source, node, "steps", expected);
  if (list.items.length === 0) throw expectedError(source, list, "steps", expected);
  const items = list.items as Node[];
  const isGraph = items.some((item) => {
    const map = deref(source, item);
    return yaml().isMap(map) && (map.has("id") || map.has("inputs"));
  });
  if (!isGraph) return items.map((item, index) => readChainStep(source, item, `steps[${index}]`));
  const steps = items.map((item, index) => readGraphStep(source, item, `steps[${index}]`));
  checkGraph(source, steps);
  return steps.map((step) => step.spec);
}

function readChainStep(source: YamlSource, node: Node | null, path: string): PipelineStepSpec {
  const chain = { id: null, inputs: null, model: null };
  if (typeof scalarValue(source, node) === "string") return { ...chain, ref: readReference(source, node, path), parameters: {}, executor: null };
  const map = asMapping(source, node, path, "an artifact reference like name:tag, or a mapping { ref, parameters, executor }");
  // The graph form's fields are known here too, so that `input: x` gets "did you mean 'inputs'?".
  const fields = readFields(source, map, path, GRAPH_FIELDS);
  const model = fields.get("model");
  if (model !== undefined) {
    throw locatedError(source, model.keyNode, model.path, "expected no 'model' in a list of steps without ids; give every step an id (the graph form) to name the model a step registers");
  }
  const ref = readReference(source, requiredField(source, map, fields, path, "ref", "an artifact reference like name:tag").value, `${path}.ref`);
  return { ...chain, ref, parameters: readStepParameters(source, fields.get("parameters")), executor: readExecutor(source, fields.get("executor")) };
}

function readGraphStep(source: YamlSource, node: Node | null, path: string): LocatedStep {
  const expected = "a mapping { id, ref, parameters, inputs, model, executor }: when one step has an id or inputs, every step needs an id";
  const map = asMapping(source, node, path, expected);
  const fields = readFields(source, map, path, GRAPH_FIELDS);
  const idField = requiredField(source, map, fields, path, "id", `${STEP_ID_EXPECTATION}; when one step has an id or inputs, every step needs one`);
  const id = readWord(source, idField.value, idField.path, STEP_ID_EXPECTATION);
  if (!STEP_ID_PATTERN.test(id)) throw expectedError(source, idField.value, idField.path, STEP_ID_EXPECTATION);
  const ref = readReference(source, requiredField(source, map, fields, path, "ref", "an artifact reference like name:tag").value, `${path}.ref`);
  const modelField = fields.get("model");
  const model = modelField === undefined ? null : readModelName(source, modelField);
  const inputsField = fields.get("inputs");
  const inputs = inputsField === undefined ? [] : readInputs(source, inputsField);
  const spec = {
    id,
    ref,
    parameters: readStepParameters(source, fields.get("parameters")),
    inputs: Object.fromEntries(inputs.map((input) => [input.name, input.source])),
    model,
    executor: readExecutor(source, fields.get("executor")),
  };
  return { spec, path, idNode: idField.value, inputNodes: inputs.map((input) => input.node) };
}

/** `inputs: { left: stations, right: reanalysis.data }`; "STEP" means output "data" of STEP. */
function readInputs(source: YamlSource, field: Field): { name: string; source: StepSource; node: Node | null }[] {
  const map = asMapping(source, field.value, field.path, "a mapping of input name -> source ('STEP' or 'STEP.OUTPUT')");
  return [...readFields(source, map, field.path).values()].map((input) => {
    checkName(source, input.keyNode, input.path, input.key, PARAMETER_NAME_PATTERN, INPUT_NAME_EXPECTATION);
    const text = readWord(source, input.value, input.path, SOURCE_EXPECTATION);
    const dot = text.indexOf(".");
    const step = dot < 0 ? text : text.slice(0, dot);
    const output = dot < 0 ? "data" : text.slice(dot + 1);
    if (!STEP_ID_PATTERN.test(step) || !PARAMETER_NAME_PATTERN.test(output)) throw expectedError(source, input.value, input.path, SOURCE_EXPECTATION);
    return { name: input.key, source: { step, output }, node: input.value };
  });
}

function readModelName(source: YamlSource, field: Field): string {
  const expected = `a model name: ${NAME_EXPECTATION}`;
  const name = readString(source, field.value, field.path, expected);
  if (!isValidName(name)) throw expectedError(source, field.value, field.path, expected);
  return name;
}

/** `executor: slurm:gpu`: where this step runs, whatever the run's default or the workspace's rules say. */
function readExecutor(source: YamlSource, field: Field | undefined): string | null {
  if (field === undefined) return null;
  const text = readString(source, field.value, field.path, EXECUTOR_EXPECTATION);
  if (!EXECUTOR_PATTERN.test(text)) throw expectedError(source, field.value, field.path, EXECUTOR_EXPECTATION);
  return text;
}

/** Unique ids, inputs wired to existing steps, no cycles: the graph module's rules, pointed at the manifest's lines. */
function checkGraph(source: YamlSource, steps: readonly LocatedStep[]): void {
  const graph: GraphStep[] = steps.map(({ spec }) => ({
    id: spec.id,
    sources: Object.entries(spec.inputs).map(([input, from]) => ({ input, step: from.step, output: from.output })),
  }));
  const { problem } = analyseGraph(graph);
  if (problem === null) return;
  const step = steps[problem.step] as LocatedStep;
  if (problem.kind === "duplicate-id") {
    const first = steps[problem.first ?? 0] as LocatedStep;
    const message = `${problem.message}: ${first.path} (line ${lineOf(source, first.idNode)}) and this one; expected a unique id for each step`;
    throw locatedError(source, step.idNode, `${step.path}.id`, message);
  }
  const sourceIndex = problem.source ?? 0;
  const input = Object.keys(step.spec.inputs)[sourceIndex] ?? "";
  const hint = problem.kind === "cycle" ? "; expected inputs that never lead back to their own step" : "";
  throw locatedError(source, step.inputNodes[sourceIndex], `${step.path}.inputs.${input}`, `${problem.message}${hint}`);
}

/** `parameters: { trees: 10, criterion: entropy }`: values fixed for a step. */
function readStepParameters(source: YamlSource, field: Field | undefined): Record<string, ParameterValue> {
  if (field === undefined) return {};
  const map = asMapping(source, field.value, field.path, "a mapping of parameter name -> value");
  const parameters = [...readFields(source, map, field.path).values()].map((entry) => {
    checkName(source, entry.keyNode, entry.path, entry.key, PARAMETER_NAME_PATTERN, "a parameter name matching [A-Za-z_][A-Za-z0-9_]*");
    const value = scalarValue(source, entry.value);
    if (typeof value !== "string" && typeof value !== "boolean" && !(typeof value === "number" && Number.isFinite(value))) {
      throw expectedError(source, entry.value, entry.path, "a number, string or bool");
    }
    return [entry.key, value] as const;
  });
  return Object.fromEntries(parameters);
}

/** A reference as written; its syntax is checked here, whether it exists is for whoever resolves it. */
function readReference(source: YamlSource, node: Node | null, path: string): string {
  const text = readString(source, node, path, "an artifact reference like name, name:tag or name@sha256:<hex>");
  try {
    parseArtifactRef(text);
  } catch (error) {
    if (error instanceof InputError) throw locatedError(source, node, path, error.message);
    throw error;
  }
  return text;
}
