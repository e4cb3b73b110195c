import { yaml } from "./yaml.js";
import type { Node, YAMLMap, YAMLSeq } from "yaml";
import { deref, describeNode, expectedError, locatedError } from "./located.js";
import type { YamlSource } from "./located.js";
import { didYouMean } from "./suggest.js";

/** Typed readers over YAML nodes: each either returns the value or throws an error pointing at the node. */

/** One `key: value` entry of a mapping, with the dotted path used in messages ("parameters.trees.min"). */
export interface Field {
  readonly key: string;
  readonly path: string;
  readonly keyNode: Node;
  /** null for `key:` with nothing after it. */
  readonly value: Node | null;
}

export type Fields = ReadonlyMap<string, Field>;

function childPath(parent: string | null, key: string): string {
  return parent === null ? key : `${parent}.${key}`;
}

/** The node behind an alias, if it is a mapping; otherwise an error "expected <what>". */
export function asMapping(source: YamlSource, node: Node | null, path: string, what = "a mapping"): YAMLMap {
  const target = deref(source, node);
  if (!yaml().isMap(target)) throw expectedError(source, node, path, what);
  return target;
}

export function asList(source: YamlSource, node: Node | null, path: string, what = "a list"): YAMLSeq {
  const target = deref(source, node);
  if (!yaml().isSeq(target)) throw expectedError(source, node, path, what);
  return target;
}

/**
 * The entries of a mapping, by key. With `allowed`, any other key is an error naming it, listing
 * the allowed ones and suggesting a close match.
 */
export function readFields(source: YamlSource, map: YAMLMap, path: string | null, allowed?: readonly string[]): Fields {
  const fields = new Map<string, Field>();
  for (const pair of map.items) {
    const keyNode = deref(source, pair.key);
    const keyValue = yaml().isScalar(keyNode) ? keyNode.value : undefined;
    if (keyNode === null || (typeof keyValue !== "string" && typeof keyValue !== "number")) {
      throw locatedError(source, keyNode ?? map, path, `expected a field name as key, got ${describeNode(source, keyNode)}`);
    }
    const key = String(keyValue);
    const fieldPath = childPath(path, key);
    if (allowed !== undefined && !allowed.includes(key)) {
      const where = path === null ? "top-level field" : `field in '${path}'`;
      throw locatedError(source, keyNode, fieldPath, `unknown ${where}${didYouMean(key, allowed)}; expected one of ${allowed.join(", ")}`);
    }
    const value = pair.value === null || pair.value === undefined ? null : (pair.value as Node);
    fields.set(key, { key, path: fieldPath, keyNode, value });
  }
  return fields;
}

/** The value node of a required field; missing -> an error at the mapping that lacks it. */
export function requiredField(source: YamlSource, map: YAMLMap, fields: Fields, path: string | null, key: string, expected: string): Field {
  const field = fields.get(key);
  if (field === undefined) throw locatedError(source, map, childPath(path, key), `missing required field; expected ${expected}`);
  return field;
}

/** The value of a scalar node (string, number, boolean or null); undefined for mappings and lists. */
export function scalarValue(source: YamlSource, node: Node | null): unknown {
  const target = deref(source, node);
  if (target === null) return null;
  return yaml().isScalar(target) ? target.value : undefined;
}

export function readString(source: YamlSource, node: Node | null, path: string, expected = "a string"): string {
  const value = scalarValue(source, node);
  if (typeof value !== "string") throw expectedError(source, node, path, expected);
  return value;
}

/**
 * A string, or a number as written: ids like `2020` or `01` are numbers to YAML but words to the
 * user, so they keep the digits they were written with.
 */
export function readWord(source: YamlSource, node: Node | null, path: string, expected: string): string {
  const target = deref(source, node);
  const value = scalarValue(source, target);
  if (typeof value === "string") return value;
  if (typeof value === "number" && yaml().isScalar(target) && target.type === "PLAIN" && typeof target.source === "string") return target.source;
  throw expectedError(source, node, path, expected);
}

/** A key that must match a pattern (parameter, variable, input names); the error points at the key. */
export function checkName(source: YamlSource, keyNode: Node, path: string, name: string, pattern: RegExp, expected: string): void {
  if (!pattern.test(name)) throw expectedError(source, keyNode, path, expected);
}

/** One of a fixed set of words; a near miss gets a "did you mean" hint. */
export function readChoice<T extends string>(source: YamlSource, node: Node | null, path: string, choices: readonly T[]): T {
  const value = scalarValue(source, node);
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  const hint = typeof value === "string" ? didYouMean(value, choices) : "";
  throw locatedError(source, node, path, `expected one of ${choices.join(", ")}, got ${describeNode(source, node)}${hint}`);
}

/** An integer >= `min`. */
export function readInteger(source: YamlSource, node: Node | null, path: string, min: number, expected: string): number {
  const value = scalarValue(source, node);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) throw expectedError(source, node, path, expected);
  return value;
}
