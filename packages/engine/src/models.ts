import { formatModelRef, parseModelRef, type PythonEnvironment, type StepResourceUsage } from "@maelstrom/core";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { fromJsonColumn, toJsonColumn, type Digest, type ModelVersionTable } from "@maelstrom/store";
import { thisHost, type EngineContext } from "./context.js";
import { captureEnvironment } from "./environment.js";
import type { ComputeResources, ModelRecord, ModelVersion, PlannedStep, RunPlan, RunResult } from "./records.js";

/**
 * The Python the model was trained with: the train step's interpreter when it is a Python step,
 * else the last Python step's; packages are the union over the Python steps, the model's winning.
 * Each step's own environment stays in its step execution.
 */
function mergePythonEnvironments(steps: readonly TrainedStep[]): PythonEnvironment | null {
  const envs = steps.map((s) => s.environment).filter((e): e is PythonEnvironment => e !== null);
  const model = steps.at(-1)?.environment ?? envs.at(-1);
  if (model === undefined || model === null) return null;
  return { ...model, packages: Object.assign({}, ...envs.map((e) => e.packages), model.packages) as Record<string, string> };
}

interface TrainedStep {
  readonly step: PlannedStep;
  readonly outputDigest: Digest;
  readonly stateDigest: Digest | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: StepResourceUsage;
  readonly environment: PythonEnvironment | null;
}

function sumResources(steps: readonly TrainedStep[]): ComputeResources {
  return {
    host: thisHost,
    cpus: Math.max(...steps.map((s) => s.step.resources.cpus)),
    peakMemoryBytes: Math.max(...steps.map((s) => s.resources.maxRssBytes)),
    wallMs: steps.reduce((sum, s) => sum + s.resources.wallMs, 0),
    cpuMs: steps.reduce((sum, s) => sum + s.resources.userCpuMs + s.resources.systemCpuMs, 0),
  };
}

/**
 * Register the result of a successful train run as the next version of its model name, and mark
 * the run succeeded in the same transaction: a model version never outlives a failed run.
 */
export async function registerModelVersion(
  ctx: EngineContext,
  input: { readonly runId: string; readonly plan: RunPlan; readonly results: readonly TrainedStep[] },
): Promise<number> {
  const trained = input.results.at(-1);
  if (trained === undefined || trained.stateDigest === null) throw new Error("a train run ends with a model step");
  const stateDigest = trained.stateDigest;
  const modelInput = input.results.at(-2)?.outputDigest ?? input.plan.inputDigest;
  const firstData = input.plan.steps[0]?.call === "get" ? input.results[0]?.outputDigest : input.plan.inputDigest;
  if (modelInput === undefined || modelInput === null || firstData === undefined || firstData === null) {
    throw new Error("a train run has input data");
  }
  const record: ModelRecord = {
    pipeline: input.results.map(({ step }) => ({
      stepId: step.id,
      call: step.call,
      artifact: step.artifact.name,
      digest: step.artifact.digest,
      parameters: step.parameters,
    })),
    parameters: trained.step.parameters,
    trainingData: { origin: input.plan.data, digest: firstData, modelInputDigest: modelInput },
    metrics: trained.metrics,
    resources: sumResources(input.results),
    environment: { ...captureEnvironment(trained.step.artifact.sourcePath), python: mergePythonEnvironments(input.results) },
  };
  const name = input.plan.model.name;
  return ctx.db.transaction().execute(async (trx) => {
    // Write first, so SQLite takes the write lock (waiting its busy timeout) before the read below.
    await trx.updateTable("runs").set({ status: "succeeded", ended_at: Date.now() }).where("id", "=", input.runId).execute();
    const latest = await trx.selectFrom("model_versions").select((eb) => eb.fn.max("version").as("v")).where("name", "=", name).executeTakeFirst();
    const version = Number(latest?.v ?? 0) + 1;
    await trx
      .insertInto("model_versions")
      .values({
        name,
        version,
        run_id: input.runId,
        artifact_digest: trained.step.artifact.digest,
        state_digest: stateDigest,
        description: "",
        record: toJsonColumn(record),
        created_at: Date.now(),
      })
      .execute();
    const result: RunResult = { outputDigest: trained.outputDigest, model: { name, version } };
    await trx.updateTable("runs").set({ result: toJsonColumn(result) }).where("id", "=", input.runId).execute();
    return version;
  });
}

async function toModelVersion(ctx: EngineContext, row: ModelVersionTable): Promise<ModelVersion> {
  const aliases = await ctx.db.selectFrom("model_aliases").select("alias").where("name", "=", row.name).where("version", "=", row.version).execute();
  const tags = await ctx.db.selectFrom("model_tags").select(["key", "value"]).where("name", "=", row.name).where("version", "=", row.version).execute();
  return {
    name: row.name,
    version: row.version,
    ref: `${row.name}/${row.version}`,
    runId: row.run_id,
    artifactDigest: row.artifact_digest as Digest,
    stateDigest: row.state_digest as Digest,
    description: row.description,
    record: fromJsonColumn<ModelRecord>(row.record),
    aliases: aliases.map((a) => a.alias).sort(),
    tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    createdAt: Number(row.created_at),
  };
}

/** Model versions, newest first; only those of `name` when given. */
export async function listModels(ctx: EngineContext, name?: string): Promise<ModelVersion[]> {
  let query = ctx.db.selectFrom("model_versions").selectAll();
  if (name !== undefined) query = query.where("name", "=", name);
  const rows = await query.orderBy("created_at", "desc").orderBy("version", "desc").execute();
  return Promise.all(rows.map((row) => toModelVersion(ctx, row)));
}

/** `name/3`, `name@alias`, or `name` (its latest version). */
export async function resolveModel(ctx: EngineContext, text: string): Promise<ModelVersion> {
  const ref = parseModelRef(text);
  let version: number | undefined;
  if ("version" in ref) {
    version = ref.version;
  } else if (ref.alias === "latest") {
    const row = await ctx.db.selectFrom("model_versions").select((eb) => eb.fn.max("version").as("v")).where("name", "=", ref.name).executeTakeFirst();
    version = row?.v === null || row?.v === undefined ? undefined : Number(row.v);
  } else {
    const row = await ctx.db.selectFrom("model_aliases").select("version").where("name", "=", ref.name).where("alias", "=", ref.alias).executeTakeFirst();
    version = row?.version;
  }
  const row =
    version === undefined
      ? undefined
      : await ctx.db.selectFrom("model_versions").selectAll().where("name", "=", ref.name).where("version", "=", version).executeTakeFirst();
  if (row === undefined) {
    const versions = await ctx.db.selectFrom("model_versions").select("version").where("name", "=", ref.name).orderBy("version").execute();
    const hint =
      versions.length === 0
        ? "; no model of that name is registered (maelstrom models lists them; train one with maelstrom train)"
        : `; ${ref.name} has versions ${versions.map((v) => v.version).join(", ")}`;
    throw new NotFoundError(`unknown model ${formatModelRef(ref)}${hint}`, { details: { ref: text } });
  }
  return toModelVersion(ctx, row);
}

/** Point `alias` (e.g. production) at a model version, moving it if it pointed elsewhere. */
export async function setModelAlias(ctx: EngineContext, text: string, alias: string): Promise<ModelVersion> {
  const model = await resolveModel(ctx, text);
  // An alias must work in a reference (name@alias); 'latest' always means the newest version.
  parseModelRef(`${model.name}@${alias}`);
  if (alias === "latest" || /^\d+$/.test(alias)) {
    throw new InputError(`alias '${alias}' is not allowed: 'latest' always means the newest version, and numbers are versions`, {
      code: "REFERENCE_INVALID",
      details: { alias },
    });
  }
  await ctx.db
    .insertInto("model_aliases")
    .values({ name: model.name, alias, version: model.version, updated_at: Date.now() })
    .onConflict((oc) => oc.columns(["name", "alias"]).doUpdateSet({ version: model.version, updated_at: Date.now() }))
    .execute();
  return resolveModel(ctx, model.ref);
}

/** Set (or with value null, remove) a tag `key=value` on a model version. */
export async function setModelTag(ctx: EngineContext, text: string, key: string, value: string | null): Promise<ModelVersion> {
  if (key.length === 0) throw new InputError("a model tag needs a key: maelstrom models tag MODEL key=value", { details: { key } });
  const model = await resolveModel(ctx, text);
  if (value === null) {
    await ctx.db.deleteFrom("model_tags").where("name", "=", model.name).where("version", "=", model.version).where("key", "=", key).execute();
  } else {
    await ctx.db
      .insertInto("model_tags")
      .values({ name: model.name, version: model.version, key, value })
      .onConflict((oc) => oc.columns(["name", "version", "key"]).doUpdateSet({ value }))
      .execute();
  }
  return resolveModel(ctx, model.ref);
}
