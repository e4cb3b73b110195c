import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { PythonEnvironment, SchedulerStatus, StepResourceUsage } from "@maelstrom/core";
import { MaelstromError, NotFoundError, toErrorJson, type ErrorJson } from "@maelstrom/errors";
import { fromJsonColumn, toJsonColumn, type Digest, type RunTable } from "@maelstrom/store";
import { storedResources } from "./accounting.js";
import { thisHost, type EngineContext } from "./context.js";
import type { RunPlan, RunRecord, RunResult, RunStatus, StepCall, StepExecution } from "./records.js";

function nullableJson<T>(text: string | null): T | null {
  return text === null ? null : fromJsonColumn<T>(text);
}

async function toRunRecord(ctx: EngineContext, row: RunTable): Promise<RunRecord> {
  const steps = await ctx.db.selectFrom("step_executions").selectAll().where("run_id", "=", row.id).orderBy("position").execute();
  const metrics = await ctx.db.selectFrom("metrics").selectAll().where("run_id", "=", row.id).orderBy("time").execute();
  return {
    id: row.id,
    kind: row.kind as RunRecord["kind"],
    status: row.status as RunStatus,
    plan: fromJsonColumn<RunPlan>(row.plan),
    sessionId: row.session_id,
    rerunOf: row.rerun_of,
    owner: { host: row.owner_host, pid: row.owner_pid },
    error: nullableJson<ErrorJson>(row.error),
    result: nullableJson<RunResult>(row.result),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    steps: steps.map(
      (s): StepExecution => ({
        runId: s.run_id,
        stepId: s.step_id,
        position: s.position,
        call: s.call as StepCall,
        artifactDigest: s.artifact_digest as Digest,
        status: s.status as RunStatus,
        attempt: s.attempt,
        placement: s.placement,
        schedulerStatus: nullableJson<SchedulerStatus>(s.scheduler_status),
        inputDigest: s.input_digest as Digest | null,
        outputDigest: s.output_digest as Digest | null,
        inputs: nullableJson<Record<string, Digest>>(s.inputs) ?? {},
        outputs: nullableJson<Record<string, Digest>>(s.outputs) ?? {},
        stateDigest: s.state_digest as Digest | null,
        cachedFrom: s.cached_from,
        cacheKey: s.cache_key,
        resources: s.resources === null ? null : storedResources(fromJsonColumn<StepResourceUsage>(s.resources)),
        environment: nullableJson<PythonEnvironment>(s.environment),
        error: nullableJson<ErrorJson>(s.error),
        logPath: s.log_path,
        startedAt: s.started_at === null ? null : Number(s.started_at),
        endedAt: s.ended_at === null ? null : Number(s.ended_at),
      }),
    ),
    metrics: metrics.map((m) => ({ stepId: m.step_id, name: m.name, value: m.value, step: m.step, time: Number(m.time) })),
  };
}

/** Runs, newest first. */
export async function listRuns(ctx: EngineContext, options: { readonly limit?: number; readonly status?: RunStatus } = {}): Promise<RunRecord[]> {
  let query = ctx.db.selectFrom("runs").selectAll().orderBy("id", "desc").limit(options.limit ?? 50);
  if (options.status !== undefined) query = query.where("status", "=", options.status);
  const rows = await query.execute();
  return Promise.all(rows.map((row) => toRunRecord(ctx, row)));
}

/** A run by its id or a unique prefix of it (at least 4 characters). */
export async function getRun(ctx: EngineContext, id: string): Promise<RunRecord> {
  const needle = id.toUpperCase();
  if (needle.length < 4) {
    throw new NotFoundError(`run id '${id}' is too short: give the run id or at least its first 4 characters (maelstrom runs lists them)`, { details: { run: id } });
  }
  const rows = await ctx.db.selectFrom("runs").selectAll().where("id", "like", `${needle}%`).limit(2).execute();
  const row = rows[0];
  if (row === undefined) {
    throw new NotFoundError(`unknown run ${id}; maelstrom runs lists the runs of this workspace`, { details: { run: id } });
  }
  if (rows.length > 1) throw new NotFoundError(`run id prefix ${id} is ambiguous; give more characters`, { details: { run: id } });
  return toRunRecord(ctx, row);
}

/** The log of one step, or of every step in order with a header line each. */
export async function readRunLogs(ctx: EngineContext, runId: string, stepId?: string): Promise<string> {
  const run = await getRun(ctx, runId);
  const steps = stepId === undefined ? run.steps : run.steps.filter((s) => s.stepId === stepId);
  if (steps.length === 0) {
    throw new NotFoundError(`run ${run.id} has no step '${stepId ?? ""}'; its steps: ${run.steps.map((s) => s.stepId).join(", ")}`, {
      details: { run: run.id, step: stepId ?? null },
    });
  }
  const parts: string[] = [];
  for (const step of steps) {
    // A cached step did not run: its log is that of the execution whose results it reused.
    let logPath = step.logPath;
    if (step.cachedFrom !== null) {
      const [fromRun = "", fromStep = ""] = [step.cachedFrom.slice(0, step.cachedFrom.indexOf("/")), step.cachedFrom.slice(step.cachedFrom.indexOf("/") + 1)];
      const original = await ctx.db.selectFrom("step_executions").select("log_path").where("run_id", "=", fromRun).where("step_id", "=", fromStep).executeTakeFirst();
      logPath = original?.log_path ?? logPath;
    }
    const text = existsSync(logPath) ? await readFile(logPath, "utf8") : "";
    const status = step.cachedFrom === null ? step.status : `cached from ${step.cachedFrom}`;
    parts.push(stepId === undefined ? `=== ${step.stepId} (${status}) ===\n${text}` : text);
  }
  return parts.join(stepId === undefined ? "\n" : "");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs whose engine process died (kill -9, power loss) would look "running" forever.
 * Any engine opening the workspace marks such runs of this host failed.
 */
export async function reapOrphanedRuns(ctx: EngineContext): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom("runs")
    .select(["id", "owner_pid"])
    .where("status", "in", ["pending", "running"])
    .where("owner_host", "=", thisHost)
    .execute();
  const orphans = rows.filter((row) => row.owner_pid !== process.pid && !isAlive(row.owner_pid));
  for (const orphan of orphans) {
    const error = toErrorJson(
      new MaelstromError("RUN_INTERRUPTED", `the engine process (pid ${orphan.owner_pid}) running this run ended before it finished (killed or crashed)`),
    );
    const now = Date.now();
    await ctx.db.transaction().execute(async (trx) => {
      await trx.updateTable("runs").set({ status: "failed", ended_at: now, error: toJsonColumn(error) }).where("id", "=", orphan.id).execute();
      await trx
        .updateTable("step_executions")
        .set({ status: "failed", ended_at: now, error: toJsonColumn(error) })
        .where("run_id", "=", orphan.id)
        .where("status", "=", "running")
        .execute();
      await trx.updateTable("step_executions").set({ status: "cancelled" }).where("run_id", "=", orphan.id).where("status", "=", "pending").execute();
    });
  }
  return orphans.map((o) => o.id);
}

/**
 * The batch jobs of a run's steps that did not succeed: step id → placement (`slurm:CLUSTER:JOBID`).
 * A resume waits for those of them still queued or running (or that ended well while no engine
 * watched) rather than submitting them again.
 */
export async function slurmJobsOf(ctx: EngineContext, runId: string): Promise<Map<string, string>> {
  const rows = await ctx.db
    .selectFrom("step_executions")
    .select(["step_id", "placement"])
    .where("run_id", "=", runId)
    .where("status", "!=", "succeeded")
    .where("placement", "like", "slurm:%")
    .execute();
  return new Map(rows.flatMap((row) => (row.placement === null ? [] : [[row.step_id, row.placement] as const])));
}
