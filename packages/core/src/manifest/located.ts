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
  const source = { file, document, lineCounter };
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

/** Where a node starts; the start of the file when the node has no range (an absent value). */
function positionOf(source: YamlSource, node: Node | null | undefined): Position {
  return positionAt(source, node?.range?.[0] ?? 0);
}

/**
 * `file:line:column: field 'a.b': <problem>` with details { file, line, column, field }.
 * `field` is null for errors about the document as a whole.
 */
export function locatedError(source: YamlSource, node: Node | null | undefined, field: string | null, problem: string): InputError {
  const { line, column } = positionOf(source, node);
  const subject = field === null ? "" : `field '${field}': `;
  return new InputError(`${source.file}:${line}:${column}: ${subject}${problem}`, {
    code: "MANIFEST_INVALID",
    details: { file: source.file, line, column, field },
  });
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
