import type { Node } from "yaml";
import { asMapping, checkName, readChoice, readFields, requiredField, scalarValue } from "./fields.js";
import type { Field } from "./fields.js";
import { locatedError } from "./located.js";
import type { YamlSource } from "./located.js";
import { PARAMETER_NAME_PATTERN } from "./parameters.js";
import { closestMatch, didYouMean } from "./suggest.js";

/**
 * Variable name -> dtype (int8..uint64, float32, float64, bool, string, datetime64[ns]) or "any".
 * No variables means no check: that is what an input or output without a declared contract gets.
 */
export interface VariableContract {
  readonly variables: Readonly<Record<string, string>>;
}

type Side = "inputs" | "outputs";

/** How one side (inputs or outputs) of an artifact is read. */
export interface SideRules {
  /** Why the side cannot be declared ("a dataset reads no input"), or null when it can. */
  readonly refusal: string | null;
  /** The names it has when not declared: ["data"], or [] (a dataset's inputs, a pipeline's). */
  readonly defaults: readonly string[];
  /** For runtime shell, the names the command uses (`{inputs.NAME}`); they are the side's names. */
  readonly commandNames: readonly string[] | null;
}

/** The name of the one input or output that the single form `{ variables: {...} }` declares. */
const SINGLE_NAME = "data";
const NO_CONTRACT: VariableContract = { variables: {} };
const CONTRACT_DTYPES = [
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float32",
  "float64",
  "bool",
  "string",
  "datetime64[ns]",
  "any",
] as const;
// Variables become Zarr array directories: no '/', no leading '.' (reserved for .zarray/.zattrs).
const VARIABLE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A declared contract and the key node that names it. */
interface Declared {
  readonly contract: VariableContract;
  readonly keyNode: Node;
  readonly path: string;
  /** Declared in the single form, where the name 'data' is implied. */
  readonly single: boolean;
}

/**
 * `inputs: { variables: { t2m: float32 } }` (the one input, named data) or
 * `inputs: { left: { variables: {...} }, right: { variables: {...} } }`, per the side's rules.
 */
export function readSide(source: YamlSource, field: Field | undefined, side: Side, rules: SideRules): Record<string, VariableContract> {
  if (field !== undefined && rules.refusal !== null) throw locatedError(source, field.keyNode, side, `expected no ${side}: ${rules.refusal}`);
  const declared = field === undefined ? null : readDeclared(source, field.value, side);
  if (rules.commandNames !== null) {
    const used = rules.commandNames;
    for (const [name, entry] of declared ?? []) {
      if (used.includes(name)) continue;
      const single = entry.single ? ` (a contract given as { variables } is for the one ${singular(side)} named '${SINGLE_NAME}')` : "";
      const listed = used.length === 0 ? "none" : used.join(", ");
      const problem = `the command has no {${side}.${name}}${single}${didYouMean(name, used)}; expected contracts only for the ${side} the command uses: ${listed}`;
      throw locatedError(source, entry.keyNode, entry.path, problem);
    }
    return Object.fromEntries(used.map((name) => [name, declared?.get(name)?.contract ?? NO_CONTRACT]));
  }
  if (declared === null) return Object.fromEntries(rules.defaults.map((name) => [name, NO_CONTRACT]));
  return Object.fromEntries([...declared].map(([name, entry]) => [name, entry.contract]));
}

function readDeclared(source: YamlSource, node: Node | null, side: Side): Map<string, Declared> {
  const expected = `a mapping like { variables: { t2m: float32 } }, or named ${side} like { left: { variables: {...} }, right: { variables: {...} } }`;
  const map = asMapping(source, node, side, expected);
  const fields = readFields(source, map, side);
  if (fields.size === 0) throw locatedError(source, map, side, `expected ${expected}, got an empty mapping`);
  const variables = fields.get("variables");
  if (variables !== undefined) {
    const other = [...fields.values()].find((field) => field.key !== "variables");
    if (other !== undefined) {
      const problem =
        `expected only 'variables' next to 'variables', which declares the one ${singular(side)} named '${SINGLE_NAME}'; ` +
        `for named ${side}, give each its own { variables } ('variables' cannot be a name)`;
      throw locatedError(source, other.keyNode, other.path, problem);
    }
    return new Map([[SINGLE_NAME, { contract: readVariables(source, variables), keyNode: variables.keyNode, path: variables.path, single: true }]]);
  }
  const declared = new Map<string, Declared>();
  for (const field of fields.values()) {
    checkName(source, field.keyNode, field.path, field.key, PARAMETER_NAME_PATTERN, `an ${singular(side)} name matching [A-Za-z_][A-Za-z0-9_]*, or 'variables'`);
    const contractMap = asMapping(source, field.value, field.path, "a mapping like { variables: { t2m: float32 } }");
    if (!contractMap.has("variables") && !contractMap.items.some((pair) => closestMatch(String(scalarValue(source, pair.key as Node)), ["variables"]) !== undefined)) {
      // `vars: { t2m: float32 }` is more likely a misspelt single form than an output named vars.
      const problem =
        `unknown field in '${side}'${didYouMean(field.key, ["variables"])}, or an ${singular(side)} named '${field.key}' without 'variables'; ` +
        `expected 'variables' (the one ${singular(side)}, named '${SINGLE_NAME}'), or ${singular(side)} names each with their own { variables: {...} }`;
      throw locatedError(source, field.keyNode, field.path, problem);
    }
    const contractFields = readFields(source, contractMap, field.path, ["variables"]);
    const variablesField = requiredField(source, contractMap, contractFields, field.path, "variables", "a mapping of variable name -> dtype");
    declared.set(field.key, { contract: readVariables(source, variablesField), keyNode: field.keyNode, path: field.path, single: false });
  }
  return declared;
}

/** `variables: { temp_max: float32, weather: string }` */
function readVariables(source: YamlSource, field: Field): VariableContract {
  const map = asMapping(source, field.value, field.path, "a mapping of variable name -> dtype");
  const variables = [...readFields(source, map, field.path).values()].map((entry) => {
    checkName(source, entry.keyNode, entry.path, entry.key, VARIABLE_NAME_PATTERN, "a variable name matching [A-Za-z0-9_][A-Za-z0-9_.-]*");
    return [entry.key, readChoice(source, entry.value, entry.path, CONTRACT_DTYPES)] as const;
  });
  return { variables: Object.fromEntries(variables) };
}

function singular(side: Side): string {
  return side === "inputs" ? "input" : "output";
}
