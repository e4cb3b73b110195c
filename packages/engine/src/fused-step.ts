import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FusedCall, StepEvent, StepSpec } from "@maelstrom/core";
import { CancelledError, toErrorJson } from "@maelstrom/errors";
import { runStepProcess, type StepProcessOptions, type StepProcessResult } from "@maelstrom/runtime";
import { toJsonColumn, type Digest } from "@maelstrom/store";
import type { CacheKeyParts, StepResult } from "./cache.js";
import { stepNodePaths } from "./environment.js";
import type { MetricPoint, PlannedStep } from "./records.js";
import { checkVariables, commitStep, ensureBuild, finishStep, mainDigest, placementOf, statusRecorder, stepError, storeOutputs, type StepContext } from "./step.js";
import { checkout } from "./trees.js";

/**
 * Run a fused chain of steps in one process (`--fuse`): the first reads its inputs from the store,
 * each next one gets the previous output in memory, only the last one's outputs are written and
 * cached. Every step keeps its own row: the ones before the last record that they ran fused.
 */
export async function executeFused(
  sc: StepContext,
  unit: readonly PlannedStep[],
  inputs: Readonly<Record<string, Digest>>,
  keys: readonly { readonly key: string; readonly parts: CacheKeyParts }[],
): Promise<Map<string, StepResult>> {
  const { ctx, runId, hooks } = sc;
  const head = unit[0] as PlannedStep;
  const last = unit.at(-1) as PlannedStep;
  if (hooks.signal?.aborted) throw new CancelledError(`run ${runId} was cancelled before step '${head.id}'`);
  const rows = (ids: readonly string[]) => ctx.db.updateTable("step_executions").where("run_id", "=", runId).where("step_id", "in", ids);
  const ids = unit.map((s) => s.id);

  // One process, one folder and one log (the first step's), shared by the chain's rows.
  const dir = join(ctx.paths.runs, runId, head.id);
  const logPath = join(dir, "step.log");
  const stateOut = join(dir, "state");
  const existed = (await mkdir(dir, { recursive: true })) === undefined;
  const previous = sc.interrupted?.get(head.id);
  const attachTo = previous === undefined ? null : ((await sc.pool?.reattach?.(previous, logPath)) ?? null);
  // As for one step: a clean slate, unless the chain's job from before still runs (or finished well).
  if (existed && attachTo === null) {
    await rm(join(dir, "out"), { recursive: true, force: true });
    await rm(stateOut, { recursive: true, force: true });
  }
  const outputs = Object.fromEntries(Object.keys(last.provides).map((name) => [name, join(dir, "out", name)]));
  const startedAt = Date.now();
  await ctx.db.transaction().execute(async (trx) => {
    for (const [i, step] of unit.entries()) {
      await trx
        .updateTable("step_executions")
        .set((eb) => ({
          status: "running",
          attempt: eb("attempt", "+", 1),
          started_at: startedAt,
          inputs: toJsonColumn(step === head ? inputs : {}),
          input_digest: step === head ? mainDigest(inputs) : null,
          cache_key: keys[i]?.key ?? null,
          log_path: logPath,
          // Cleared: the next poll reports the job's state (a new job's, or the one re-attached to).
          scheduler_status: null,
        }))
        .where("run_id", "=", runId)
        .where("step_id", "=", step.id)
        .execute();
    }
  });
  for (const step of unit) hooks.onEvent?.({ type: "step-started", runId, stepId: step.id, index: sc.index, total: sc.total });

  const metrics: MetricPoint[] = [];
  const finished = (status: "succeeded" | "failed" | "cancelled", wallMs: number, failing: PlannedStep | null = null): void => {
    for (const step of unit) hooks.onEvent?.({ type: "step-finished", runId, stepId: step.id, status: failing === null || step === failing ? status : "cancelled", wallMs });
  };
  // The failing step records the error; the others in the chain did not finish either.
  const fail = async (error: unknown, status: "failed" | "cancelled", failing: PlannedStep, wallMs: number): Promise<never> => {
    await finishStep(ctx, runId, failing.id, status, toErrorJson(error), metrics);
    const others = ids.filter((id) => id !== failing.id);
    if (others.length > 0) await rows(others).set({ status: "cancelled", ended_at: Date.now() }).execute();
    finished(status, wallMs, failing);
    throw error;
  };
  let result: StepProcessResult;
  const codeDirs: string[] = [];
  let placement: Promise<unknown> = Promise.resolve();
  // The chain is one job: its state shows on each of its steps.
  const status = statusRecorder((json) => rows(ids).set({ scheduler_status: json }).execute());
  try {
    const inputDirs: Record<string, string> = {};
    for (const [name, digest] of Object.entries(inputs)) {
      const inputDir = await checkout(ctx, digest);
      inputDirs[name] = inputDir;
      await checkVariables(head, head.requires[name] ?? {}, inputDir, `step '${head.id}' (${head.artifact.name}) needs`, `in its input${name === "data" ? "" : ` '${name}'`}, but the input`);
    }
    const calls: { codeDir: string; module: string; state: string | null }[] = [];
    for (const step of unit) {
      const codeDir = await checkout(ctx, step.artifact.digest);
      codeDirs.push(codeDir);
      const module = step.artifact.runtime === "node" ? await ensureBuild(ctx, step, codeDir) : join(codeDir, step.artifact.entry ?? "");
      const state = step.call === "train" ? stateOut : step.stateDigest === null ? null : await checkout(ctx, step.stateDigest);
      calls.push({ codeDir, module, state });
    }
    const next: FusedCall[] = unit.slice(1).map((step, i) => {
      const call = calls[i + 1] as (typeof calls)[number];
      return {
        call: step.call as FusedCall["call"],
        artifact: step.artifact.name,
        module: call.module,
        parameters: step.parameters,
        state: call.state,
        cwd: call.codeDir,
        env: { MAELSTROM_ARTIFACT_DIR: call.codeDir },
      };
    });
    const first = calls[0] as (typeof calls)[number];
    const spec: StepSpec = { call: head.call, artifact: head.artifact.name, module: first.module, parameters: head.parameters, inputs: inputDirs, outputs, state: first.state, next };
    const limits = unit.map((s) => s.resources.timeoutMs);
    const options: StepProcessOptions = {
      runner: head.interpreter === null ? { kind: "node" } : { kind: "python", interpreter: head.interpreter },
      spec,
      specFile: join(dir, "spec.json"),
      logFile: logPath,
      cwd: first.codeDir,
      env: { NODE_PATH: stepNodePaths(head.artifact.sourcePath, ctx.paths.root).join(":"), MAELSTROM_ARTIFACT_DIR: first.codeDir, MAELSTROM_WORKSPACE: ctx.paths.root },
      // The chain may take as long as its steps together.
      timeoutMs: limits.some((l) => l === null) ? null : limits.reduce((sum: number, l) => sum + (l ?? 0), 0),
      resources: { cpus: Math.max(...unit.map((s) => s.resources.cpus)), memoryBytes: Math.max(...unit.map((s) => s.resources.memoryBytes)), gpus: Math.max(...unit.map((s) => s.resources.gpus)) },
      name: head.id,
      ...(attachTo === null ? {} : { attachTo }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      onStart: (id: string) => {
        placement = rows(ids)
          .set({ placement: placementOf(sc.pool, id) })
          .execute()
          .catch(() => undefined);
      },
      onStatus: status.onStatus,
      onEvent: (event: StepEvent) => {
        const step = "index" in event && event.index !== undefined ? (unit[event.index] ?? head) : head;
        if (event.type === "metric") {
          metrics.push({ stepId: step.id, name: event.name, value: event.value, step: event.step, time: event.time });
          hooks.onEvent?.({ type: "metric", runId, stepId: step.id, name: event.name, value: event.value, step: event.step });
        } else if (event.type === "progress") {
          hooks.onEvent?.({ type: "step-progress", runId, stepId: step.id, fraction: event.fraction, message: event.message });
        }
      },
    };
    result = sc.pool === null ? await runStepProcess(options) : await sc.pool.run(options);
  } catch (error) {
    await status.settled();
    return fail(error, "failed", head, Date.now() - startedAt);
  }
  await status.settled();
  if (result.outcome !== "succeeded" || result.done === null) {
    const index = result.failure?.index ?? 0;
    const failing = unit[index] ?? head;
    // The runner prefixes a chain's failure with the artifact; the error names the step already.
    const prefix = `${failing.artifact.name}: `;
    const failure = result.failure === null ? null : { ...result.failure, message: result.failure.message.startsWith(prefix) ? result.failure.message.slice(prefix.length) : result.failure.message };
    return fail(stepError(runId, failing, { ...result, failure }, codeDirs[index] ?? ""), result.outcome === "cancelled" ? "cancelled" : "failed", failing, result.wallMs);
  }
  const done = result.done;
  const results = new Map<string, StepResult>();
  try {
    await placement;
    const committed = await storeOutputs(ctx, last, { outputs, stateOut, done });
    const fusedBefore: StepResult = { outputs: {}, stateDigest: null, metrics: {}, resources: done.resources, environment: committed.environment };
    const before = unit.slice(0, -1);
    const lastKey = keys.at(-1) as { key: string; parts: CacheKeyParts };
    await commitStep(ctx, runId, last, {
      key: lastKey.key,
      parts: lastKey.parts,
      result: committed,
      metrics,
      also: async (trx) => {
        if (before.length === 0) return;
        await trx
          .updateTable("step_executions")
          .set({ status: "succeeded", outputs: toJsonColumn({}), metrics: toJsonColumn({}), resources: toJsonColumn(done.resources), ended_at: Date.now() })
          .where("run_id", "=", runId)
          .where("step_id", "in", before.map((s) => s.id))
          .execute();
      },
    });
    await rm(join(dir, "out"), { recursive: true, force: true });
    await rm(stateOut, { recursive: true, force: true });
    for (const step of before) results.set(step.id, fusedBefore);
    results.set(last.id, committed);
  } catch (error) {
    return fail(error, "failed", last, result.wallMs);
  }
  finished("succeeded", result.wallMs);
  return results;
}
