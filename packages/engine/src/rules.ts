/**
 * Executor rules of a cluster (`maelstrom cluster add NAME --when 'gpus>0'`): a step whose declared
 * resources match one of a cluster's rules runs on that cluster. A rule is one comparison, or
 * several joined by `and`: `FIELD OP VALUE` with FIELD cpus, memory, gpus or time and OP >, >=, <,
 * <= or =. Parsed strictly: anything else is an InputError saying what was expected.
 */
import { parseDuration, parseSize, type Resources } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";

const FIELDS = ["cpus", "memory", "gpus", "time"] as const;
type RuleField = (typeof FIELDS)[number];
const OPERATORS = [">=", "<=", ">", "<", "="] as const;
type Operator = (typeof OPERATORS)[number];

interface Comparison {
  readonly field: RuleField;
  readonly operator: Operator;
  /** CPUs, GPUs, bytes or milliseconds. */
  readonly value: number;
}

/** A parsed rule: all its comparisons must hold. */
export type Rule = readonly Comparison[];

const GRAMMAR =
  "expected FIELD OP VALUE, or several joined by 'and', with FIELD one of cpus, memory, gpus, time and OP one of >, >=, <, <=, = (e.g. 'gpus>0', 'cpus>=8 and memory>32GiB', 'time>4h')";

function ruleError(text: string, what: string): InputError {
  return new InputError(`executor rule '${text}': ${what}; ${GRAMMAR}`, { details: { rule: text } });
}

function parseComparison(rule: string, text: string): Comparison {
  const match = /^([A-Za-z_]+)\s*(>=|<=|==|=>|=<|!=|[<>=]+)\s*(.*)$/.exec(text.trim());
  if (match === null) throw ruleError(rule, `'${text.trim()}' is not a comparison`);
  const [, field = "", operator = "", value = ""] = match;
  if (!(FIELDS as readonly string[]).includes(field)) throw ruleError(rule, `unknown field '${field}'`);
  if (!(OPERATORS as readonly string[]).includes(operator)) throw ruleError(rule, `unknown operator '${operator}'`);
  if (value === "") throw ruleError(rule, `no value after '${field}${operator}'`);
  return { field: field as RuleField, operator: operator as Operator, value: parseValue(rule, field as RuleField, value) };
}

function parseValue(rule: string, field: RuleField, text: string): number {
  if (field === "cpus" || field === "gpus") {
    if (!/^\d+$/.test(text)) throw ruleError(rule, `${field} '${text}' is not a whole number`);
    return Number(text);
  }
  try {
    return field === "memory" ? parseSize(text) : parseDuration(text);
  } catch {
    throw ruleError(rule, field === "memory" ? `memory '${text}' is not a size like 32GiB or 512MiB` : `time '${text}' is not a duration like 4h, 90m or 01:30:00`);
  }
}

/** Parses a rule, or throws an InputError naming what is wrong in it. */
export function parseRule(text: string): Rule {
  if (text.trim() === "") throw ruleError(text, "the rule is empty");
  if (/\s(or)\s/i.test(text)) throw ruleError(text, "'or' is not supported: give --when once per alternative (any rule that matches is enough)");
  const parts = text.trim().split(/(?:^|\s+)and(?:\s+|$)/);
  if (parts.some((part) => part.trim() === "")) throw ruleError(text, "a comparison is missing before or after 'and'");
  return parts.map((part) => parseComparison(text, part));
}

function holds(comparison: Comparison, actual: number): boolean {
  switch (comparison.operator) {
    case ">":
      return actual > comparison.value;
    case ">=":
      return actual >= comparison.value;
    case "<":
      return actual < comparison.value;
    case "<=":
      return actual <= comparison.value;
    case "=":
      return actual === comparison.value;
  }
}

/** Whether a step's declared resources match a rule. A step that declares no time matches no `time` comparison. */
export function ruleMatches(rule: Rule, resources: Resources): boolean {
  return rule.every((comparison) => {
    switch (comparison.field) {
      case "cpus":
        return holds(comparison, resources.cpus);
      case "gpus":
        return holds(comparison, resources.gpus);
      case "memory":
        return holds(comparison, resources.memoryBytes);
      case "time":
        return resources.timeoutMs !== null && holds(comparison, resources.timeoutMs);
    }
  });
}
