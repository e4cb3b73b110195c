import type { Bundle } from "@maelstrom/core";

/** A short, user-facing description of a value's type, for "returned X, expected Y" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `an instance of ${name}` : "a plain object";
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/** The first stack frame in user code ("/path/model.ts:12:5"), skipping node internals and Maelstrom itself. */
export function errorLocation(stack: string | null): string | null {
  if (stack === null) return null;
  for (const line of stack.split("\n").slice(1)) {
    if (line.includes("node:")) continue;
    // A warm worker loads each step's module with a query (`?step=3`): not part of the file name.
    const match = /\(?((?:file:\/\/)?\/[^()?]+?)(?:\?[^():]*)?:(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    const file = (match[1] ?? "").replace(/^file:\/\//, "");
    if (file.includes("/node_modules/") || file.includes("/packages/runtime/") || file.includes("/packages/core/")) continue;
    return `${file}:${match[2]}:${match[3]}`;
  }
  return null;
}

/** Metrics are the numeric variables of a train's metrics bundle that hold a single value. */
export function scalarMetrics(bundle: Bundle): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const name of bundle.variables) {
    const variable = bundle.variable(name);
    if (variable.data.length !== 1 || Array.isArray(variable.data)) continue;
    const value = Number(variable.data[0]);
    if (Number.isFinite(value) || Number.isNaN(value)) metrics[name] = value;
  }
  return metrics;
}
