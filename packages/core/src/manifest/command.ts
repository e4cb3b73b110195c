import { InputError } from "@maelstrom/errors";
import type { ParameterValue } from "./parameters.js";
import { didYouMean } from "./suggest.js";

/**
 * Command lines of `runtime: shell` artifacts: `cdo remapbil,{params.grid} {inputs.data}/t.nc
 * {outputs.data}/t.nc`. A placeholder is `{KIND.NAME}`; `{{` and `}}` stand for literal braces.
 */

type PlaceholderKind = "params" | "inputs" | "outputs";

/** A placeholder and where it stands in the command (offset and length in UTF-16 units). */
interface Placeholder {
  readonly kind: PlaceholderKind;
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

/** Literal text (braces already unescaped) or a placeholder. */
type CommandPart = { readonly text: string } | Placeholder;

/** Why a command cannot be read, and the characters to blame. */
interface CommandProblem {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
}

type CommandScan = { readonly parts: readonly CommandPart[]; readonly problem: null } | { readonly parts: null; readonly problem: CommandProblem };

const KINDS: readonly PlaceholderKind[] = ["params", "inputs", "outputs"];
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KIND_PATTERN = /^[A-Za-z_]+$/;
const EXPECTED = "expected {params.NAME}, {inputs.NAME} or {outputs.NAME}, and {{ or }} for a literal brace";

/** The command split into literal text and placeholders, or the first thing wrong with its braces. */
export function scanCommand(command: string): CommandScan {
  const parts: CommandPart[] = [];
  let text = "";
  let at = 0;
  while (at < command.length) {
    const char = command[at];
    const next = command[at + 1];
    if ((char === "{" && next === "{") || (char === "}" && next === "}")) {
      text += char;
      at += 2;
    } else if (char === "}") {
      return problem(at, 1, `'}' at character ${at + 1} is not part of a placeholder; ${EXPECTED}`);
    } else if (char === "{") {
      const close = command.indexOf("}", at + 1);
      const reopen = command.indexOf("{", at + 1);
      if (close < 0 || (reopen >= 0 && reopen < close)) return problem(at, 1, `'{' at character ${at + 1} is not closed; ${EXPECTED}`);
      const placeholder = readPlaceholder(command.slice(at + 1, close), at);
      if ("message" in placeholder) return { parts: null, problem: placeholder };
      if (text !== "") parts.push({ text });
      parts.push(placeholder);
      text = "";
      at = close + 1;
    } else {
      text += char;
      at += 1;
    }
  }
  if (text !== "") parts.push({ text });
  return { parts, problem: null };
}

/** `inner` is what stands between the braces of the placeholder starting at `offset`. */
function readPlaceholder(inner: string, offset: number): Placeholder | CommandProblem {
  const length = inner.length + 2;
  const shown = `'{${inner}}' at character ${offset + 1}`;
  const dot = inner.indexOf(".");
  const kind = dot < 0 ? "" : inner.slice(0, dot);
  const name = inner.slice(dot + 1);
  if (!KIND_PATTERN.test(kind)) return { offset, length, message: `${shown} is not a placeholder; ${EXPECTED}` };
  if (!(KINDS as readonly string[]).includes(kind)) {
    return { offset, length, message: `${shown}: unknown placeholder kind '${kind}'${didYouMean(kind, KINDS)}; ${EXPECTED}` };
  }
  if (!NAME_PATTERN.test(name)) {
    return { offset, length, message: `${shown}: expected a name matching [A-Za-z_][A-Za-z0-9_]* after '${kind}.'` };
  }
  return { kind: kind as PlaceholderKind, name, offset, length };
}

function problem(offset: number, length: number, message: string): CommandScan {
  return { parts: null, problem: { offset, length, message } };
}

function readCommand(command: string): readonly CommandPart[] {
  const scan = scanCommand(command);
  if (scan.parts !== null) return scan.parts;
  throw new InputError(`invalid command: ${scan.problem.message}`, { code: "INPUT_INVALID", details: { offset: scan.problem.offset } });
}

/**
 * The names a command uses, per kind, each once, in order of first use. Throws InputError
 * INPUT_INVALID for a malformed placeholder or a lone brace.
 */
export function commandPlaceholders(command: string): { params: string[]; inputs: string[]; outputs: string[] } {
  const names = { params: new Set<string>(), inputs: new Set<string>(), outputs: new Set<string>() };
  for (const part of readCommand(command)) if ("kind" in part) names[part.kind].add(part.name);
  return { params: [...names.params], inputs: [...names.inputs], outputs: [...names.outputs] };
}

/**
 * The command with every placeholder replaced by its value as one POSIX shell word in single
 * quotes, so that no value can add shell syntax; the literal text is the author's own shell code.
 * Throws InputError INPUT_INVALID for a malformed command, a placeholder without a value, or a
 * value with a NUL character (no shell word can hold one).
 */
export function renderCommand(
  command: string,
  values: {
    params: Readonly<Record<string, ParameterValue>>;
    inputs: Readonly<Record<string, string>>;
    outputs: Readonly<Record<string, string>>;
  },
): string {
  return readCommand(command)
    .map((part) => {
      if (!("kind" in part)) return part.text;
      const given: Readonly<Record<string, ParameterValue>> = values[part.kind];
      const value = Object.hasOwn(given, part.name) ? given[part.name] : undefined;
      const placeholder = `{${part.kind}.${part.name}}`;
      if (value === undefined) {
        const names = Object.keys(given);
        throw new InputError(`command placeholder ${placeholder} has no value; ${part.kind} given: ${names.length === 0 ? "none" : names.join(", ")}`, {
          code: "INPUT_INVALID",
          details: { placeholder, given: names },
        });
      }
      const text = String(value);
      if (text.includes("\0")) {
        throw new InputError(`the value of command placeholder ${placeholder} contains a NUL character, which no shell word can hold`, {
          code: "INPUT_INVALID",
          details: { placeholder },
        });
      }
      return shellWord(text);
    })
    .join("");
}

/** 'text' with each ' written as '\'' (close the quotes, an escaped quote, reopen): inert in any POSIX shell. */
/** `text` as one POSIX shell word in single quotes: no character in it has a meaning to the shell. */
export function shellWord(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
