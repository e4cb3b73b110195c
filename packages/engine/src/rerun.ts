import { newRunId } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import type { Digest } from "@maelstrom/store";
import type { EngineContext } from "./context.js";
import type { RunHooks } from "./events.js";
import { createRun, executeRun } from "./execute.js";
import { getRun } from "./runs.js";

export interface OutputComparison {
  readonly stepId: string;
  /** "bundle" (the output named data), "output NAME", or "model state". */
  readonly output: string;
  readonly original: Digest | null;
  readonly rerun: Digest | null;
  readonly identical: boolean;
}

export interface RerunReport {
  readonly originalRunId: string;
  readonly runId: string;
  readonly comparisons: readonly OutputComparison[];
  readonly identical: boolean;
}

/**
 * Execute a run again from its stored plan alone (same artifact versions, parameters and input
 * digests) and compare every output with the original, digest against digest.
 */
export async function rerun(ctx: EngineContext, originalId: string, hooks: RunHooks = {}): Promise<RerunReport> {
  const original = await getRun(ctx, originalId);
  if (original.status !== "succeeded") {
    throw new InputError(`run ${original.id} ${original.status === "running" || original.status === "pending" ? "has not finished" : `ended ${original.status}`}; only a succeeded run has outputs to compare a rerun with`, {
      details: { run: original.id, status: original.status },
    });
  }
  const runId = newRunId();
  await createRun(ctx, runId, original.plan, { rerunOf: original.id, sessionId: original.sessionId });
  // Every step executes again: a cached result would prove nothing.
  await executeRun(ctx, runId, original.plan, { ...hooks, registerModel: false, useCache: false });
  const again = await getRun(ctx, runId);
  const comparisons: OutputComparison[] = [];
  for (const step of original.steps) {
    const redone = again.steps.find((s) => s.stepId === step.stepId);
    const names = [...new Set([...Object.keys(step.outputs), ...Object.keys(redone?.outputs ?? {})])].sort();
    for (const name of names) {
      const before = step.outputs[name] ?? null;
      const after = redone?.outputs[name] ?? null;
      comparisons.push({ stepId: step.stepId, output: name === "data" ? "bundle" : `output ${name}`, original: before, rerun: after, identical: before !== null && before === after });
    }
    if (step.stateDigest !== null) {
      comparisons.push({
        stepId: step.stepId,
        output: "model state",
        original: step.stateDigest,
        rerun: redone?.stateDigest ?? null,
        identical: step.stateDigest === redone?.stateDigest,
      });
    }
  }
  return { originalRunId: original.id, runId, comparisons, identical: comparisons.every((c) => c.identical) };
}
