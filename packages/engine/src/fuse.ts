import type { Digest } from "@maelstrom/store";
import { cacheKey, keyParts, resolvedExecutable, type CacheKeyParts } from "./cache.js";
import type { PlannedStep } from "./records.js";

/**
 * Chains of steps that can run in one process, passing bundles in memory (`--fuse`): each step but
 * the last has one output, read by exactly one step, the next, as its only input, in the same
 * runtime (and Python interpreter), on the same executor (`executorOf`: a chain is one process, so
 * it cannot be half local and half a Slurm job). A step that more than one step reads is never
 * fused into one of them: its output is written and shared (and cached).
 */
export function fusionGroups(steps: readonly PlannedStep[], executorOf: (step: PlannedStep) => string = () => "local"): PlannedStep[][] {
  const readers = new Map<string, PlannedStep[]>();
  for (const step of steps) {
    for (const input of Object.values(step.inputs)) if (input.type === "step") readers.set(input.step, [...(readers.get(input.step) ?? []), step]);
  }
  const fusesInto = (from: PlannedStep): PlannedStep | null => {
    const to = readers.get(from.id);
    if (to?.length !== 1) return null;
    const next = to[0] as PlannedStep;
    const inputs = Object.values(next.inputs);
    const onlyData = Object.keys(from.provides).length === 1 && "data" in from.provides;
    const readsIt = inputs.length === 1 && "data" in next.inputs && inputs[0]?.type === "step" && inputs[0].output === "data";
    const sameRuntime =
      from.artifact.runtime === next.artifact.runtime &&
      from.artifact.runtime !== "shell" &&
      (from.artifact.runtime !== "python" || resolvedExecutable(from.interpreter ?? "") === resolvedExecutable(next.interpreter ?? ""));
    return onlyData && readsIt && sameRuntime && executorOf(from) === executorOf(next) && from.call !== "train" && next.call !== "get" ? next : null;
  };
  const grouped = new Set<string>();
  const groups: PlannedStep[][] = [];
  for (const step of steps) {
    if (grouped.has(step.id)) continue;
    const group = [step];
    for (let next = fusesInto(step); next !== null; next = fusesInto(next)) group.push(next);
    if (group.length < 2) continue;
    for (const member of group) grouped.add(member.id);
    groups.push(group);
  }
  return groups;
}

/** What stands for a fused step's output, which is never written, in the next step's cache key. */
const fusedInput = (key: string): Digest => `fused:${key}` as Digest;

/**
 * Cache keys of a fused chain: the first from its real inputs, each next one from the previous key
 * in place of the bundle that was never written. Only the last step's results are cached.
 */
export function fusedKeys(group: readonly PlannedStep[], inputs: Readonly<Record<string, Digest>>): { key: string; parts: CacheKeyParts }[] {
  const keys: { key: string; parts: CacheKeyParts }[] = [];
  for (const step of group) {
    const previous = keys.at(-1);
    const parts = keyParts(step, previous === undefined ? inputs : { data: fusedInput(previous.key) });
    keys.push({ key: cacheKey(parts), parts });
  }
  return keys;
}
