import { InputError } from "@maelstrom/errors";
import { yaml } from "./yaml.js";
import type { Document, LineCounter, Node } from "yaml";

/** 1-based line and column in the source text. */
interface Position {
  readonly line: number;
  readonly column: number;
}

/** A parsed YAML file that can point at its own nodes in error messages. */
export interface YamlSource {
  readonly file: string;
  /** The text as read, to find characters inside a value (see locatedErrorInValue). */
  readonly text: string;
  readonly document: Document;
  readonly lineCounter: LineCounter;
}

/**
 * Parses one YAML document, keeping line information. YAML syntax errors (including duplicate
 * keys) become an InputError at the position yaml reports.
 */
export function parseYaml(text: string, file: string): YamlSource {
  const lineCounter = new (yaml().LineCounter)();
  // prettyErrors off: we format the position ourselves, in the same file:line:column form as every other error.
  const document = yaml().parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const source = { file, text, document, lineCounter };
  const [first] = document.errors;
  if (first !== undefined) {
    const position = positionAt(source, first.pos[0]);
    throw new InputError(`${file}:${position.line}:${position.column}: invalid YAML: ${first.message}`, {
      code: "MANIFEST_INVALID",
      details: { file, line: position.line, column: position.column, field: null, yamlError: first.code },
    });
  }
  return source;
}

function positionAt(source: YamlSource, offset: number): Position {
  const { line, col } = source.lineCounter.linePos(offset);
  // linePos reports line 0 before the first recorded line start; clamp to the first line.
  return line === 0 ? { line: 1, column: offset + 1 } : { line, column: col };
}

/**
 * `file:line:column: field 'a.b': <problem>` with details { file, line, column, field }.
 * `field` is null for errors about the document as a whole.
 */
export function locatedError(source: YamlSource, node: Node | null | undefined, field: string | null, problem: string): InputError {
  return errorAt(source, node?.range?.[0] ?? 0, field, problem);
}

/**
 * An error about the characters at `at.offset` (`at.length` of them) in the value of a string scalar: it
 * points at them where they can be found in the text as written (the same number of times before
 * and in all), else at the start of the value (escapes and folded lines change the text).
 */
export function locatedErrorInValue(
  source: YamlSource,
  node: Node | null,
  field: string,
  problem: string,
  at: { readonly offset: number; readonly length: number },
): InputError {
  const target = deref(source, node);
  const value = yaml().isScalar(target) ? target.value : undefined;
  const range = target?.range;
  if (typeof value !== "string" || range === undefined || range === null) return locatedError(source, node, field, problem);
  const snippet = value.slice(at.offset, at.offset + Math.max(1, at.length));
  const written = source.text.slice(range[0], range[1]);
  const inValue = occurrences(value, snippet);
  const inText = occurrences(written, snippet);
  const index = inValue.indexOf(at.offset);
  const found = inValue.length === inText.length ? inText[index] : undefined;
  return found === undefined ? locatedError(source, node, field, problem) : errorAt(source, range[0] + found, field, problem);
}

/** Every index at which `part` starts in `text`, overlaps included. */
function occurrences(text: string, part: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) found.push(at);
  return found;
}

function errorAt(source: YamlSource, offset: number, field: string | null, problem: string): InputError {
  const { line, column } = positionAt(source, offset);
  const subject = field === null ? "" : `field '${field}': `;
  return new InputError(`${source.file}:${line}:${column}: ${subject}${problem}`, {
    code: "MANIFEST_INVALID",
    details: { file: source.file, line, column, field },
  });
}

/** The line a node starts on, to refer to another place in a message ("steps[0] (line 4)"). */
export function lineOf(source: YamlSource, node: Node | null | undefined): number {
  return positionAt(source, node?.range?.[0] ?? 0).line;
}

/** The shorthand for the common case: "expected <what>, got <node as written>". */
export function expectedError(source: YamlSource, node: Node | null | undefined, field: string, expected: string): InputError {
  return locatedError(source, node, field, `expected ${expected}, got ${describeNode(source, node)}`);
}

/** Follows an alias (`*anchor`) to the node it names. */
export function deref(source: YamlSource, node: unknown): Node | null {
  if (yaml().isAlias(node)) return (node.resolve(source.document) as Node | undefined) ?? null;
  return yaml().isScalar(node) || yaml().isMap(node) || yaml().isSeq(node) ? node : null;
}

/** The value of a node as a user would recognise it: 'text', 42, true, null, a mapping, a list. */
export function describeNode(source: YamlSource, node: Node | null | undefined): string {
  const target = deref(source, node);
  if (target === null) return "nothing";
  if (yaml().isMap(target)) return target.items.length === 0 ? "an empty mapping" : "a mapping";
  if (yaml().isSeq(target)) return target.items.length === 0 ? "an empty list" : "a list";
  if (yaml().isScalar(target)) {
    const value = target.value;
    // `key:` with nothing after it and `key: null` both parse to null; say which one the user wrote.
    if (value === null || value === undefined) return target.source === "" ? "nothing" : "null";
    if (typeof value === "string") return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
    return String(value);
  }
  return "an unsupported value";
}
