import { readFile, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { InputError } from "@maelstrom/errors";
import { yaml } from "./yaml.js";
import type { Node } from "yaml";
import { readChoice, readFields, readString, requiredField } from "./fields.js";
import type { Field, Fields } from "./fields.js";
import { scanCommand } from "./command.js";
import { readSide } from "./contracts.js";
import type { SideRules, VariableContract } from "./contracts.js";
import { describeNode, expectedError, locatedError, locatedErrorInValue, parseYaml } from "./located.js";
import type { YamlSource } from "./located.js";
import type { ParameterSpec } from "./parameters.js";
import { NAME_EXPECTATION, isValidName } from "./references.js";
import { DEFAULT_RESOURCES, readParameters, readResources } from "./sections.js";
import type { Resources } from "./sections.js";
import { readSteps } from "./steps.js";
import type { PipelineStepSpec } from "./steps.js";
import { didYouMean } from "./suggest.js";

export type ArtifactKind = "dataset" | "transform" | "model" | "pipeline";
export type RuntimeName = "node" | "python" | "shell";

export interface Manifest {
  readonly kind: ArtifactKind;
  readonly name: string;
  readonly description: string;
  /** null only for kind pipeline. */
  readonly runtime: RuntimeName | null;
  /** Path relative to the artifact directory, normalised ("./model.ts" -> "model.ts"); null for pipeline and runtime shell. */
  readonly entry: string | null;
  /** For runtime shell, the command line as written, placeholders unrendered (see renderCommand); null otherwise. */
  readonly command: string | null;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  readonly resources: Resources;
  /**
   * Input name -> contract; an empty `variables` means no contract. Not declared: `{ data }` for a
   * transform or model, `{}` for a dataset or pipeline. For runtime shell the names are the
   * command's `{inputs.NAME}`.
   */
  readonly inputs: Readonly<Record<string, VariableContract>>;
  /** Output name -> contract, as `inputs`; not declared: `{ data }`, except `{}` for a pipeline. */
  readonly outputs: Readonly<Record<string, VariableContract>>;
  /** Only for kind pipeline; [] otherwise. */
  readonly steps: readonly PipelineStepSpec[];
  /** Interpreter for runtime python (e.g. /usr/bin/python3); null = the runtime's default. */
  readonly python: string | null;
}

export const MANIFEST_FILE = "maelstrom.yaml";

const KINDS: readonly ArtifactKind[] = ["dataset", "transform", "model", "pipeline"];
const RUNTIMES: readonly RuntimeName[] = ["node", "python", "shell"];
const TOP_LEVEL_FIELDS = [
  "kind",
  "name",
  "description",
  "runtime",
  "entry",
  "command",
  "parameters",
  "resources",
  "inputs",
  "outputs",
  "steps",
  "python",
] as const;
const ENTRY_EXTENSIONS: Readonly<Record<Exclude<RuntimeName, "shell">, readonly string[]>> = {
  node: [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"],
  python: [".py"],
};

/** A manifest and the node of its `entry`, so that later checks can point at the line. */
interface LocatedManifest {
  readonly manifest: Manifest;
  readonly source: YamlSource;
  readonly entryNode: Node | null;
}

/**
 * Parses and validates the text of a maelstrom.yaml. Pure: `file` is only used in messages. Every
 * error is an InputError (code MANIFEST_INVALID) whose message starts with `file:line:column:`.
 */
export function parseManifest(text: string, file: string): Manifest {
  return parseLocated(text, file).manifest;
}

/** Reads `dir/maelstrom.yaml`, validates it and checks that its entry file exists. */
export async function loadManifest(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : `cannot be read (${(error as Error).message})`;
    throw new InputError(`manifest ${file} ${reason}: expected an artifact directory containing ${MANIFEST_FILE}`, {
      code: "MANIFEST_INVALID",
      details: { file },
      cause: error,
    });
  }
  const { manifest, source, entryNode } = parseLocated(text, file);
  if (manifest.entry !== null) {
    const entryPath = join(dir, manifest.entry);
    const isFile = await stat(entryPath).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (!isFile) {
      throw locatedError(source, entryNode, "entry", `file ${entryPath} does not exist; expected the path of the entry module, relative to ${dir}`);
    }
  }
  return manifest;
}

function parseLocated(text: string, file: string): LocatedManifest {
  const source = parseYaml(text, file);
  const root = source.document.contents;
  if (!yaml().isMap(root)) {
    const got = root === null ? "an empty document" : describeNode(source, root);
    throw locatedError(source, root, null, `expected a mapping with fields ${TOP_LEVEL_FIELDS.join(", ")}, got ${got}`);
  }
  const fields = readFields(source, root, null, TOP_LEVEL_FIELDS);
  const required = (key: string, expected: string): Field => requiredField(source, root, fields, null, key, expected);

  const kindField = required("kind", `one of ${KINDS.join(", ")}`);
  const kind = readChoice(source, kindField.value, kindField.path, KINDS);
  const nameField = required("name", NAME_EXPECTATION);
  const name = readString(source, nameField.value, nameField.path, NAME_EXPECTATION);
  if (!isValidName(name)) throw expectedError(source, nameField.value, nameField.path, NAME_EXPECTATION);

  const optional = <T>(key: string, read: (field: Field) => T, fallback: T): T => {
    const field = fields.get(key);
    return field === undefined ? fallback : read(field);
  };
  const description = optional("description", (f) => readString(source, f.value, f.path), "");
  const parameters = optional("parameters", (f) => readParameters(source, f.value), {});
  const code = kind === "pipeline" ? readPipelineFields(source, fields) : readCodeFields(source, fields, required, kind, parameters);
  const manifest: Manifest = {
    kind,
    name,
    description,
    runtime: code.runtime,
    entry: code.entry,
    command: code.command,
    parameters,
    resources: optional("resources", (f) => readResources(source, f.value), DEFAULT_RESOURCES),
    inputs: readSide(source, fields.get("inputs"), "inputs", sideRules(kind, "inputs", code.commandNames)),
    outputs: readSide(source, fields.get("outputs"), "outputs", sideRules(kind, "outputs", code.commandNames)),
    steps: code.steps,
    python: code.python,
  };
  return { manifest, source, entryNode: code.entryNode };
}

/** The input and output names a shell command uses. */
interface CommandNames {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

interface CodeFields {
  readonly runtime: RuntimeName | null;
  readonly entry: string | null;
  readonly entryNode: Node | null;
  readonly command: string | null;
  readonly commandNames: CommandNames | null;
  readonly python: string | null;
  readonly steps: readonly PipelineStepSpec[];
}

function sideRules(kind: ArtifactKind, side: "inputs" | "outputs", command: CommandNames | null): SideRules {
  if (kind === "pipeline") return { refusal: "a pipeline's steps declare their own", defaults: [], commandNames: null };
  if (kind === "dataset" && side === "inputs") return { refusal: "a dataset reads no input", defaults: [], commandNames: null };
  return { refusal: null, defaults: ["data"], commandNames: command === null ? null : command[side] };
}

/** A pipeline runs other artifacts' code: steps, and no runtime, entry, command or interpreter of its own. */
function readPipelineFields(source: YamlSource, fields: Fields): CodeFields {
  for (const key of ["runtime", "entry", "command", "python"]) {
    const field = fields.get(key);
    if (field !== undefined) {
      throw locatedError(source, field.keyNode, key, "expected no runtime, entry, command or python for kind pipeline; each step's artifact brings its own");
    }
  }
  const steps = fields.get("steps");
  if (steps === undefined) {
    const root = source.document.contents as Node;
    throw locatedError(source, root, "steps", "missing required field for kind pipeline; expected a non-empty list of artifact references");
  }
  const none = { runtime: null, entry: null, entryNode: null, command: null, commandNames: null, python: null };
  return { ...none, steps: readSteps(source, steps.value) };
}

function readCodeFields(
  source: YamlSource,
  fields: Fields,
  required: (key: string, expected: string) => Field,
  kind: ArtifactKind,
  parameters: Readonly<Record<string, ParameterSpec>>,
): CodeFields {
  const steps = fields.get("steps");
  if (steps !== undefined) {
    throw locatedError(source, steps.keyNode, "steps", "expected no steps: only kind pipeline has steps");
  }
  const runtimeField = required("runtime", `one of ${RUNTIMES.join(", ")}`);
  const runtime = readChoice(source, runtimeField.value, runtimeField.path, RUNTIMES);
  const pythonField = fields.get("python");
  if (pythonField !== undefined && runtime !== "python") {
    throw locatedError(source, pythonField.keyNode, "python", `expected no python interpreter for runtime ${runtime}; it applies to runtime python only`);
  }
  const python = pythonField === undefined ? null : readString(source, pythonField.value, "python", "the path or command of a Python interpreter");
  if (runtime === "shell") {
    const entryField = fields.get("entry");
    if (entryField !== undefined) {
      throw locatedError(source, entryField.keyNode, "entry", "expected no entry for runtime shell; its command is what runs");
    }
    const commandField = required("command", "the command line to run, like cdo remapbil,{params.grid} {inputs.data}/t.nc {outputs.data}/t.nc");
    const { command, names } = readCommand(source, commandField, kind, parameters);
    return { runtime, entry: null, entryNode: null, command, commandNames: names, python, steps: [] };
  }
  const commandField = fields.get("command");
  if (commandField !== undefined) {
    throw locatedError(source, commandField.keyNode, "command", `expected no command for runtime ${runtime}; it applies to runtime shell only`);
  }
  const entryField = required("entry", "the path of the entry module, relative to the artifact directory");
  const entry = readEntry(source, entryField.value, runtime);
  return { runtime, entry, entryNode: entryField.value, command: null, commandNames: null, python, steps: [] };
}

/**
 * The command of runtime shell: well-formed placeholders, `{params.NAME}` only for declared
 * parameters, no `{inputs.NAME}` in a dataset. Errors point at the placeholder where they can.
 */
function readCommand(
  source: YamlSource,
  field: Field,
  kind: ArtifactKind,
  parameters: Readonly<Record<string, ParameterSpec>>,
): { command: string; names: CommandNames } {
  const expected = "a command line, like cdo remapbil,{params.grid} {inputs.data}/t.nc {outputs.data}/t.nc";
  const command = readString(source, field.value, field.path, expected);
  if (command.trim() === "") throw expectedError(source, field.value, field.path, expected);
  const scan = scanCommand(command);
  if (scan.parts === null) throw locatedErrorInValue(source, field.value, field.path, scan.problem.message, scan.problem);
  const names = { inputs: new Set<string>(), outputs: new Set<string>() };
  const declared = Object.keys(parameters);
  for (const part of scan.parts) {
    if (!("kind" in part)) continue;
    const shown = `'{${part.kind}.${part.name}}' at character ${part.offset + 1}`;
    if (part.kind === "params" && !Object.hasOwn(parameters, part.name)) {
      const listed = declared.length === 0 ? "none are declared" : `declared: ${declared.join(", ")}`;
      const problem = `${shown}: no parameter '${part.name}'${didYouMean(part.name, declared)}; expected {params.NAME} for a declared parameter (${listed})`;
      throw locatedErrorInValue(source, field.value, field.path, problem, part);
    }
    if (part.kind === "inputs" && kind === "dataset") {
      const problem = `${shown}: a dataset reads no input; expected only {params.NAME} and {outputs.NAME} in a dataset's command`;
      throw locatedErrorInValue(source, field.value, field.path, problem, part);
    }
    if (part.kind !== "params") names[part.kind].add(part.name);
  }
  return { command, names: { inputs: [...names.inputs], outputs: [...names.outputs] } };
}

/** A relative path inside the artifact directory with an extension the runtime can load. */
function readEntry(source: YamlSource, node: Node | null, runtime: Exclude<RuntimeName, "shell">): string {
  const expectedPath = "a relative path inside the artifact directory (no '..', not absolute, '/' as separator)";
  const text = readString(source, node, "entry", expectedPath);
  const escapes = text.split("/").includes("..");
  const absolute = text.startsWith("/") || /^[A-Za-z]:/.test(text);
  const normalized = posix.normalize(text);
  if (text.trim() === "" || escapes || absolute || text.includes("\\") || normalized === "." || normalized.endsWith("/")) {
    throw expectedError(source, node, "entry", expectedPath);
  }
  const extensions = ENTRY_EXTENSIONS[runtime];
  if (!extensions.some((extension) => normalized.endsWith(extension))) {
    throw expectedError(source, node, "entry", `a ${extensions.join(", ")} file for runtime ${runtime}`);
  }
  return normalized;
}
