import { formatModelRef, parseModelRef, type PythonEnvironment } from "@maelstrom/core";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { fromJsonColumn, toJsonColumn, type Digest, type ModelVersionTable } from "@maelstrom/store";
import { sumSlurmJobs } from "./accounting.js";
import { thisHost, type EngineContext } from "./context.js";
import { captureEnvironment } from "./environment.js";
import type { StepResult } from "./cache.js";
import { upstreamOf } from "./plan.js";
import type { ComputeResources, DataOrigin, ModelRecord, ModelVersion, PlannedStep, RunPlan, RunResult, SweepResult } from "./records.js";

/**
 * The Python the model was trained with: the train step's interpreter when it is a Python step,
 * else the last Python step's; packages are the union over the Python steps, the model's winning.
 * Each step's own environment stays in its step execution.
 */
function mergePythonEnvironments(steps: readonly TrainedStep[]): PythonEnvironment | null {
  const envs = steps.map((s) => s.result.environment).filter((e): e is PythonEnvironment => e !== null);
  const model = steps.at(-1)?.result.environment ?? envs.at(-1);
  if (model === undefined || model === null) return null;
  return { ...model, packages: Object.assign({}, ...envs.map((e) => e.packages), model.packages) as Record<string, string> };
}

interface TrainedStep {
  readonly step: PlannedStep;
  readonly result: StepResult;
}

function sumResources(steps: readonly TrainedStep[]): ComputeResources {
  const slurm = sumSlurmJobs(steps.map((s) => ({ stepId: s.step.id, resources: s.result.resources })));
  return {
    host: thisHost,
    cpus: Math.max(...steps.map((s) => s.step.resources.cpus)),
    peakMemoryBytes: Math.max(...steps.map((s) => s.result.resources.maxRssBytes)),
    wallMs: steps.reduce((sum, s) => sum + s.result.resources.wallMs, 0),
    cpuMs: steps.reduce((sum, s) => sum + s.result.resources.userCpuMs + s.result.resources.systemCpuMs, 0),
    // Local trainings keep the record they always had.
    ...(slurm === null ? {} : { slurm }),
  };
}

/** What a model version records about how it was made. */
function modelRecord(plan: RunPlan, model: PlannedStep, results: ReadonlyMap<string, StepResult>): ModelRecord {
  // The steps the model needs, in plan order, ending with the model step.
  const needed = upstreamOf(plan.steps, [model.id]);
  const steps = plan.steps.filter((s) => needed.has(s.id)).map((step) => ({ step, result: results.get(step.id) as StepResult }));
  const trained = steps.at(-1) as TrainedStep;
  // The first source of the model's graph: a dataset step's output or the bundle given as data.
  const source = steps.find((s) => s.step.call === "get" || Object.values(s.step.inputs).some((i) => i.type === "bundle"));
  const sourceInput = source === undefined ? undefined : Object.values(source.step.inputs).find((i) => i.type === "bundle");
  const firstData = sourceInput?.type === "bundle" ? sourceInput.digest : (source?.result.outputs["data"] ?? null);
  const modelInput = Object.values(model.inputs)[0];
  const modelInputDigest = modelInput === undefined ? null : modelInput.type === "bundle" ? modelInput.digest : (results.get(modelInput.step)?.outputs[modelInput.output] ?? null);
  // Without a dataset step, the graph read a stored bundle (given as --data).
  const given: DataOrigin | null = sourceInput?.type === "bundle" ? (plan.data ?? { type: "bundle", digest: sourceInput.digest }) : plan.data;
  const origin: DataOrigin | null = source?.step.call === "get" ? { type: "artifact", ref: source.step.artifact.name, digest: source.step.artifact.digest } : given;
  if (origin === null) throw new Error(`model step '${model.id}' reads no data source`);
  return {
    pipeline: steps.map(({ step }) => ({ stepId: step.id, call: step.call, artifact: step.artifact.name, digest: step.artifact.digest, parameters: step.parameters })),
    parameters: model.parameters,
    trainingData: { origin, digest: firstData, modelInputDigest },
    metrics: trained.result.metrics,
    resources: sumResources(steps),
    environment: { ...captureEnvironment(model.artifact.sourcePath), python: mergePythonEnvironments(steps) },
  };
}

/**
 * Register the trained models of a successful run as the next versions of their names, and mark
 * the run succeeded in the same transaction: a model version never outlives a failed run.
 */
export async function registerModelVersions(
  ctx: EngineContext,
  input: {
    readonly runId: string;
    readonly plan: RunPlan;
    readonly models: readonly PlannedStep[];
    readonly results: ReadonlyMap<string, StepResult>;
    readonly outputDigest: Digest | null;
    readonly sweep: SweepResult | null;
  },
): Promise<RunResult> {
  const records = input.models.map((step) => ({ step, record: modelRecord(input.plan, step, input.results), state: input.results.get(step.id)?.stateDigest ?? null }));
  return ctx.db.transaction().execute(async (trx) => {
    // Write first, so SQLite takes the write lock (waiting its busy timeout) before the reads below.
    await trx.updateTable("runs").set({ status: "succeeded", ended_at: Date.now() }).where("id", "=", input.runId).execute();
    const registered: { stepId: string; name: string; version: number }[] = [];
    for (const { step, record, state } of records) {
      if (state === null) throw new Error(`model step '${step.id}' left no state`);
      const name = step.model ?? step.artifact.name;
      const latest = await trx.selectFrom("model_versions").select((eb) => eb.fn.max("version").as("v")).where("name", "=", name).executeTakeFirst();
      const version = Number(latest?.v ?? 0) + 1;
      await trx
        .insertInto("model_versions")
        .values({
          name,
          version,
          run_id: input.runId,
          artifact_digest: step.artifact.digest,
          state_digest: state,
          description: "",
          record: toJsonColumn(record),
          created_at: Date.now(),
        })
        .execute();
      registered.push({ stepId: step.id, name, version });
    }
    const first = registered[0];
    const result: RunResult = {
      outputDigest: input.outputDigest,
      model: first === undefined ? null : { name: first.name, version: first.version },
      models: registered,
      sweep: input.sweep,
    };
    await trx.updateTable("runs").set({ result: toJsonColumn(result) }).where("id", "=", input.runId).execute();
    return result;
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
