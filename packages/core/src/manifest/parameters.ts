import { InputError } from "@maelstrom/errors";
import { didYouMean } from "./suggest.js";

export type ParameterType = "int" | "float" | "string" | "bool";
export type ParameterValue = number | string | boolean;

export interface ParameterSpec {
  readonly type: ParameterType;
  readonly default?: ParameterValue;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly ParameterValue[];
  readonly description?: string;
}

export const PARAMETER_TYPES: readonly ParameterType[] = ["int", "float", "string", "bool"];
export const PARAMETER_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const TRUE_WORDS = new Set(["true", "1", "yes"]);
const FALSE_WORDS = new Set(["false", "0", "no"]);
const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A value as a user would write it in a message: strings quoted, the rest bare. */
function formatValue(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : String(value);
}

/** "an int >= 1", "a float between 0 and 1", "one of 'rf', 'gbm'", "a bool". */
export function describeExpectation(spec: ParameterSpec): string {
  if (spec.choices !== undefined) return `one of ${spec.choices.map(formatValue).join(", ")}`;
  const article = spec.type === "int" ? "an" : "a";
  const base = `${article} ${spec.type}`;
  if (spec.min !== undefined && spec.max !== undefined) return `${base} between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `${base} >= ${spec.min}`;
  if (spec.max !== undefined) return `${base} <= ${spec.max}`;
  return base;
}

/** True when `value` has the declared type and lies within the bounds and choices. */
export function isValueOfType(type: ParameterType, value: unknown): value is ParameterValue {
  switch (type) {
    case "int":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "float":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
  }
}

export function conformsTo(spec: ParameterSpec, value: unknown): value is ParameterValue {
  if (!isValueOfType(spec.type, value)) return false;
  if (typeof value === "number") {
    if (spec.min !== undefined && value < spec.min) return false;
    if (spec.max !== undefined && value > spec.max) return false;
  }
  return spec.choices === undefined || spec.choices.includes(value);
}

/**
 * Converts a command-line string to the declared type ("5" -> 5 for an int; "yes" -> true for a
 * bool). Non-string values are returned unchanged; undefined when the text is not of the type.
 */
function coerceParameterValue(type: ParameterType, value: ParameterValue): ParameterValue | undefined {
  if (typeof value !== "string" || type === "string") return value;
  const text = value.trim();
  switch (type) {
    case "int":
      return INT_TEXT.test(text) ? Number(text) : undefined;
    case "float":
      return FLOAT_TEXT.test(text) ? Number(text) : undefined;
    case "bool": {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return undefined;
    }
  }
}

/**
 * Every declared parameter with its value: the override if given, else the default. Override
 * strings are converted to the declared type; every value is checked against type, bounds and
 * choices. Keys come out sorted, so the result hashes the same however it was assembled.
 */
export function resolveParameters(
  specs: Readonly<Record<string, ParameterSpec>>,
  overrides: Readonly<Record<string, ParameterValue | string>>,
  context: { artifact: string },
): Record<string, ParameterValue> {
  const declared = Object.keys(specs).sort();
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(specs, name)) throw unknownParameter(context.artifact, name, value, declared);
  }
  // Object.fromEntries defines own properties, so a parameter named __proto__ stays a plain key.
  return Object.fromEntries(
    declared.map((name) => {
      const spec = specs[name] as ParameterSpec;
      const given = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
      const value = given === undefined ? defaultValue(context.artifact, name, spec) : overrideValue(context.artifact, name, spec, given);
      return [name, value];
    }),
  );
}

function overrideValue(artifact: string, name: string, spec: ParameterSpec, given: ParameterValue): ParameterValue {
  const value = coerceParameterValue(spec.type, given);
  if (value === undefined) {
    const expected = spec.type === "bool" ? "a bool (true/false, yes/no, 1/0)" : describeExpectation({ type: spec.type });
    throw parameterError(artifact, name, given, formatValue(given), expected);
  }
  if (!conformsTo(spec, value)) throw parameterError(artifact, name, given, formatValue(value), describeExpectation(spec));
  return value;
}

function defaultValue(artifact: string, name: string, spec: ParameterSpec): ParameterValue {
  if (spec.default === undefined) {
    const expected = describeExpectation(spec);
    throw new InputError(`parameter '${name}' of ${artifact}: no value given and no default declared; expected ${expected}`, {
      code: "PARAMETER_INVALID",
      details: { artifact, parameter: name, value: null, expected },
    });
  }
  // Defaults are checked when the manifest is parsed; specs built in code get the same check here.
  if (!conformsTo(spec, spec.default)) {
    throw parameterError(artifact, name, spec.default, `default ${formatValue(spec.default)}`, describeExpectation(spec));
  }
  return spec.default;
}

function parameterError(artifact: string, parameter: string, value: ParameterValue, shown: string, expected: string): InputError {
  return new InputError(`parameter '${parameter}' of ${artifact}: expected ${expected}, got ${shown}`, {
    code: "PARAMETER_INVALID",
    details: { artifact, parameter, value, expected },
  });
}

function unknownParameter(artifact: string, parameter: string, value: ParameterValue, declared: readonly string[]): InputError {
  const expected = declared.length === 0 ? "no parameters (none are declared)" : `one of ${declared.join(", ")}`;
  const listing = declared.length === 0 ? `${artifact} declares no parameters` : `declared parameters: ${declared.join(", ")}`;
  return new InputError(`parameter '${parameter}' of ${artifact}: unknown parameter${didYouMean(parameter, declared)}; ${listing}`, {
    code: "PARAMETER_INVALID",
    details: { artifact, parameter, value, expected },
  });
}

/** ["trees=5", "a.b=x=y"] -> { trees: "5", "a.b": "x=y" }: split at the first '='; a later assignment wins. */
export function parseSetArguments(args: readonly string[]): Record<string, string> {
  const values = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const name = eq < 0 ? "" : arg.slice(0, eq).trim();
    if (name === "") {
      const problem = eq < 0 ? "no '='" : "empty name";
      throw new InputError(`invalid parameter assignment '${arg}' (${problem}): expected name=value, e.g. trees=100`, {
        code: "PARAMETER_INVALID",
        details: { value: arg, expected: "name=value" },
      });
    }
    values.set(name, arg.slice(eq + 1));
  }
  return Object.fromEntries(values);
}
