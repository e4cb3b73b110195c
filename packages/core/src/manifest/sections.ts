import { InputError } from "@maelstrom/errors";
import type { Node } from "yaml";
import { asList, asMapping, checkName, readChoice, readFields, readInteger, readString, requiredField, scalarValue } from "./fields.js";
import { expectedError, locatedError } from "./located.js";
import type { YamlSource } from "./located.js";
import { PARAMETER_NAME_PATTERN, PARAMETER_TYPES, conformsTo, describeExpectation, isValueOfType } from "./parameters.js";
import type { ParameterSpec } from "./parameters.js";
import { parseDuration, parseSize } from "./sizes.js";

/** Readers for the parameters and resources sections of a manifest (contracts.ts and steps.ts have the others). */

export interface Resources {
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly gpus: number;
  readonly timeoutMs: number | null;
}

export const DEFAULT_RESOURCES: Resources = { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0, timeoutMs: null };

const PARAMETER_FIELDS = ["type", "default", "min", "max", "choices", "description"] as const;
const RESOURCE_FIELDS = ["cpus", "memory", "gpus", "time"] as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `parameters: { trees: { type: int, default: 50, min: 1 } }` */
export function readParameters(source: YamlSource, node: Node | null): Record<string, ParameterSpec> {
  const map = asMapping(source, node, "parameters", "a mapping of parameter name -> { type, default, ... }");
  const fields = readFields(source, map, "parameters");
  return Object.fromEntries(
    [...fields.values()].map((field) => {
      checkName(source, field.keyNode, field.path, field.key, PARAMETER_NAME_PATTERN, "a parameter name matching [A-Za-z_][A-Za-z0-9_]*");
      return [field.key, readParameterSpec(source, field.value, field.path)];
    }),
  );
}

function readParameterSpec(source: YamlSource, node: Node | null, path: string): ParameterSpec {
  const map = asMapping(source, node, path, "a mapping like { type: int, default: 1 }");
  const fields = readFields(source, map, path, PARAMETER_FIELDS);
  const typeField = requiredField(source, map, fields, path, "type", `one of ${PARAMETER_TYPES.join(", ")}`);
  const type = readChoice(source, typeField.value, typeField.path, PARAMETER_TYPES);
  const spec: Mutable<ParameterSpec> = { type };

  for (const bound of ["min", "max"] as const) {
    const field = fields.get(bound);
    if (field === undefined) continue;
    if (type !== "int" && type !== "float") {
      throw locatedError(source, field.keyNode, field.path, `expected no '${bound}' for a ${type} parameter; bounds apply to int and float parameters only`);
    }
    const value = scalarValue(source, field.value);
    if (!isValueOfType(type, value) || typeof value !== "number") {
      throw expectedError(source, field.value, field.path, type === "int" ? "an int" : "a finite number");
    }
    spec[bound] = value;
  }
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
    const max = fields.get("max") as { value: Node | null; path: string };
    throw expectedError(source, max.value, max.path, `a number >= min (${spec.min})`);
  }

  const choicesField = fields.get("choices");
  if (choicesField !== undefined) {
    const list = asList(source, choicesField.value, choicesField.path, `a non-empty list of ${type} values`);
    if (list.items.length === 0) throw expectedError(source, list, choicesField.path, `a non-empty list of ${type} values`);
    const allowed = describeExpectation({ type, ...bounds(spec) });
    spec.choices = list.items.map((item, index) => {
      const value = scalarValue(source, item as Node);
      if (!conformsTo({ type, ...bounds(spec) }, value)) throw expectedError(source, item as Node, `${choicesField.path}[${index}]`, allowed);
      return value;
    });
  }

  const defaultField = fields.get("default");
  if (defaultField !== undefined) {
    const value = scalarValue(source, defaultField.value);
    if (!conformsTo(spec, value)) throw expectedError(source, defaultField.value, defaultField.path, describeExpectation(spec));
    spec.default = value;
  }

  const descriptionField = fields.get("description");
  if (descriptionField !== undefined) spec.description = readString(source, descriptionField.value, descriptionField.path);
  return spec;
}

function bounds(spec: ParameterSpec): { min?: number; max?: number } {
  return { ...(spec.min === undefined ? {} : { min: spec.min }), ...(spec.max === undefined ? {} : { max: spec.max }) };
}

/** `resources: { cpus: 2, memory: 4GiB, gpus: 0, time: 30m }`; every field optional. */
export function readResources(source: YamlSource, node: Node | null): Resources {
  const map = asMapping(source, node, "resources", "a mapping like { cpus: 2, memory: 4GiB, gpus: 0, time: 30m }");
  const fields = readFields(source, map, "resources", RESOURCE_FIELDS);
  const resources: Mutable<Resources> = { ...DEFAULT_RESOURCES };
  const cpus = fields.get("cpus");
  if (cpus !== undefined) resources.cpus = readInteger(source, cpus.value, cpus.path, 1, "a positive integer number of CPUs");
  const gpus = fields.get("gpus");
  if (gpus !== undefined) resources.gpus = readInteger(source, gpus.value, gpus.path, 0, "an integer number of GPUs >= 0");
  const memory = fields.get("memory");
  if (memory !== undefined) resources.memoryBytes = readMemory(source, memory.value, memory.path);
  const time = fields.get("time");
  if (time !== undefined) resources.timeoutMs = readTime(source, time.value, time.path);
  return resources;
}

function readMemory(source: YamlSource, node: Node | null, path: string): number {
  const expected = "a positive size like 4GiB, 512MiB, 1.5G or a number of bytes";
  const value = scalarValue(source, node);
  const bytes = typeof value === "number" ? value : typeof value === "string" ? attempt(() => parseSize(value)) : undefined;
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes <= 0) throw expectedError(source, node, path, expected);
  return bytes;
}

function readTime(source: YamlSource, node: Node | null, path: string): number | null {
  const value = scalarValue(source, node);
  if (value === null) return null; // `time:` left empty: no limit
  const expected = "a duration like 90s, 30m, 2h, 1h30m, 1-00:00:00 or 00:30:00 (a bare number is ambiguous: add a unit)";
  const ms = typeof value === "string" ? attempt(() => parseDuration(value)) : undefined;
  if (ms === undefined || ms <= 0) throw expectedError(source, node, path, expected);
  return ms;
}

/** The result of a parser, or undefined when it rejects its input. */
function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InputError) return undefined;
    throw error;
  }
}
