import { MANIFEST_FILE, readBundle, type Bundle } from "@maelstrom/core";
import { newRunId } from "@maelstrom/core";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConflictError, InputError, NotFoundError } from "@maelstrom/errors";
import { isDigest, ObjectStore, openSqliteDatabase, type Digest, type GcReport } from "@maelstrom/store";
import { addArtifact, listArtifacts, resolveArtifact, resolveArtifactArgument, type AddResult } from "./artifacts.js";
import { addCluster, readClusters, removeCluster, type ClusterSettings, type Clusters } from "./clusters.js";
import { checkConfigKey, readConfig, writeConfig, type WorkspaceConfig } from "./config.js";
import type { EngineContext } from "./context.js";
import { resolveData, resolveDataArgument } from "./data.js";
import type { RunHooks } from "./events.js";
import { decide, type StepDecision } from "./decide.js";
import { createRun, executeRun, type ExecuteOptions } from "./execute.js";
import { checkLimits, executionLimits } from "./limits.js";
import { buildGraph } from "./graph.js";
import { chooseInterpreters } from "./interpreters.js";
import { buildLineage, type Lineage } from "./lineage.js";
import { checkPartitions, placeSteps, refuseJobsLeftBehind } from "./placement.js";
import { fsckWorkspace, gcWorkspace, type GcOptions, type WorkspaceFsckReport } from "./maintenance.js";
import { listModels, resolveModel, setModelAlias, setModelTag } from "./models.js";
import { parseSelect, planApply, planGraph, prune, type PrunedStep } from "./plan.js";
import type { ArtifactVersion, ModelVersion, RunPlan, RunRecord, RunResult, RunStatus } from "./records.js";
import { rerun, type RerunReport } from "./rerun.js";
import { getRun, listRuns, readRunLogs, reapOrphanedRuns, slurmJobsOf } from "./runs.js";
import { checkout } from "./trees.js";
import { findWorkspace, initWorkspace, workspacePaths } from "./workspace.js";

export interface OpenOptions {
  /** The workspace folder; default: the nearest one from `cwd` upwards. */
  readonly workspace?: string;
  readonly cwd?: string;
  /** Create the workspace in `workspace ?? cwd` when none is found. */
  readonly create?: boolean;
}

/** How a train/run/apply executes: the switches of `maelstrom train/run/apply`. */
export interface ExecutionRequest {
  /** false: run every step, whatever the cache holds (`--no-cache`). */
  readonly useCache?: boolean;
  /** Steps to run even when cached (`--rerun STEP`). */
  readonly rerunSteps?: readonly string[];
  /** Limits for steps running at once (`--cpus`, `--memory`); default: settings, then this machine. */
  readonly cpus?: string;
  readonly memory?: string;
  /** false: a fresh process for every step (`--no-workers`). */
  readonly workers?: boolean;
  /** true: run chains of same-runtime steps in one process without storing what passes between them (`--fuse`). */
  readonly fuse?: boolean;
  /**
   * Where steps run that neither their pipeline (`executor:`) nor a cluster's rule (`--when`) places:
   * `local` (default), `slurm` (the only configured cluster) or `slurm:NAME` (`--executor`).
   */
  readonly executor?: string;
  readonly sessionId?: string;
}

export interface TrainRequest extends ExecutionRequest {
  /** Transforms then the model, or one pipeline: references or artifact folders. */
  readonly steps: readonly (string | ArtifactVersion)[];
  /** A dataset artifact (ref or folder), a .csv file, a Zarr folder or a bundle digest; a graph with its own datasets needs none. */
  readonly data?: string | ArtifactVersion | null;
  /** `--set` values: `name` for every step declaring it, `step.name` for one step. */
  readonly set?: Readonly<Record<string, string>>;
  /** `--sweep name=v1,v2`: a grid over these values; branches share the steps the values do not reach. */
  readonly sweep?: Readonly<Record<string, readonly string[]>>;
  /** `--select metric:max|min`: register only the best branch of a sweep. */
  readonly select?: string;
  /** Register under this name instead of the model artifact's name. */
  readonly modelName?: string;
  /** Run only what these steps need (graph pruning). */
  readonly targets?: readonly string[];
  /** false: keep steps no target needs. */
  readonly prune?: boolean;
}

export interface TrainOutcome {
  readonly run: RunRecord;
  /** The first model version registered (null for a run without models). */
  readonly model: ModelVersion | null;
  readonly models: readonly ModelVersion[];
}

export interface ApplyRequest extends ExecutionRequest {
  readonly model: string;
  /** Parameters of the dataset step (e.g. another period); the trained steps keep theirs. */
  readonly set?: Readonly<Record<string, string>>;
  /** Other data to apply the model to; default: the data it was trained on. */
  readonly data?: string | ArtifactVersion | null;
}

export interface ApplyOutcome {
  readonly run: RunRecord;
  readonly model: ModelVersion;
  readonly outputDigest: Digest;
}

/** How a request executes: the switches, where each step runs and the limits of the steps that run on this machine. */
type RunOptions = Pick<ExecuteOptions, "useCache" | "rerunSteps" | "workers" | "fuse"> & {
  readonly placements: NonNullable<ExecuteOptions["placements"]>;
  readonly limits: NonNullable<ExecuteOptions["limits"]>;
};

/** A plan and what the cache says about each step, before anything runs (`maelstrom plan`). */
export interface RunPreview {
  readonly plan: RunPlan;
  readonly decisions: readonly StepDecision[];
  readonly pruned: readonly PrunedStep[];
}

/**
 * The engine: plans and executes runs against one workspace. A library with no HTTP inside;
 * the CLI and the client use it in-process.
 */
export class Engine implements AsyncDisposable {
  readonly #ctx: EngineContext;

  private constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  static async open(options: OpenOptions = {}): Promise<Engine> {
    const cwd = options.cwd ?? process.cwd();
    let root: string;
    try {
      root = findWorkspace(cwd, options.workspace);
    } catch (error) {
      if (options.create !== true) throw error;
      root = (await initWorkspace(options.workspace ?? cwd)).root;
    }
    const paths = workspacePaths(root);
    const { db, hashCache } = await openSqliteDatabase(paths.database);
    const ctx: EngineContext = { db, objects: new ObjectStore(paths.objects, { hashCache }), paths };
    try {
      await reapOrphanedRuns(ctx);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new Engine(ctx);
  }

  get root(): string {
    return this.#ctx.paths.root;
  }

  addArtifact(dir: string, options: { readonly tag?: string } = {}): Promise<AddResult> {
    return addArtifact(this.#ctx, dir, options.tag);
  }

  listArtifacts(): Promise<ArtifactVersion[]> {
    return listArtifacts(this.#ctx);
  }

  resolveArtifact(ref: string): Promise<ArtifactVersion> {
    return resolveArtifact(this.#ctx, ref);
  }

  /** Plan a train/run without executing it: the steps, which the cache answers, and why the others run. */
  async preview(kind: "train" | "run", request: TrainRequest): Promise<RunPreview> {
    const { plan, pruned, options } = await this.#planGraph(kind, request);
    return { plan, pruned, decisions: await decide(this.#ctx, plan, options) };
  }

  async previewApply(request: ApplyRequest): Promise<RunPreview> {
    const { plan, options } = await this.#planApply(request);
    return { plan, pruned: [], decisions: await decide(this.#ctx, plan, options) };
  }

  /** Train the models of a chain or graph and register them (a sweep: the selected branch, or all). */
  train(request: TrainRequest, hooks: RunHooks = {}): Promise<TrainOutcome> {
    return this.#runGraph("train", request, hooks);
  }

  /** Run a pipeline (any steps; models in it are trained and registered too). */
  run(request: TrainRequest, hooks: RunHooks = {}): Promise<TrainOutcome> {
    return this.#runGraph("run", request, hooks);
  }

  async #planGraph(kind: "train" | "run", request: TrainRequest): Promise<{ plan: RunPlan; pruned: PrunedStep[]; options: RunOptions }> {
    const ctx = this.#ctx;
    const steps = await Promise.all(request.steps.map((s) => (typeof s === "string" ? resolveArtifactArgument(ctx, s) : s)));
    const data = request.data === undefined || request.data === null ? null : await resolveDataArgument(ctx, request.data);
    const nodes = await buildGraph(ctx, steps, data);
    const origin = data === null ? null : data.type === "bundle" ? data.origin : ({ type: "artifact", ref: data.ref, digest: data.artifact.digest } as const);
    const sweep = request.sweep === undefined ? null : { parameters: request.sweep, select: request.select === undefined ? null : parseSelect(request.select) };
    if (request.select !== undefined && sweep === null) {
      throw new InputError(`--select ${request.select} chooses among the branches of a sweep; add --sweep NAME=V1,V2,...`, { code: "PARAMETER_INVALID" });
    }
    const full = planGraph(nodes, { kind, data: origin, sets: request.set ?? {}, sweep, modelName: request.modelName ?? null });
    const { steps: kept, pruned } = prune(full.steps, request.targets ?? [], request.prune !== false);
    if (kind === "train" && !kept.some((s) => s.call === "train")) {
      throw new InputError(`train needs a model step, but --target ${(request.targets ?? []).join(", ")} needs none; use maelstrom run for that`, {
        code: "GRAPH_INVALID",
        details: { steps: [...(request.targets ?? [])] },
      });
    }
    const plan = await chooseInterpreters(ctx, { ...full, steps: kept });
    return { plan, pruned, options: await this.#checked(plan, request) };
  }

  async #runGraph(kind: "train" | "run", request: TrainRequest, hooks: RunHooks): Promise<TrainOutcome> {
    const ctx = this.#ctx;
    const { plan, pruned, options } = await this.#planGraph(kind, request);
    const result = await this.#execute(plan, pruned, request, options, hooks);
    const models = await Promise.all((result.models ?? []).map((m) => resolveModel(ctx, `${m.name}/${m.version}`)));
    return { run: await getRun(ctx, result.runId), model: models[0] ?? null, models };
  }

  async #planApply(request: ApplyRequest): Promise<{ plan: RunPlan; model: ModelVersion; options: RunOptions }> {
    const ctx = this.#ctx;
    const model = await resolveModel(ctx, request.model);
    const training = await getRun(ctx, model.runId);
    const data = request.data === undefined || request.data === null ? null : await resolveDataArgument(ctx, request.data);
    const stepId = model.record.pipeline.find((s) => s.call === "train")?.stepId ?? training.plan.steps.find((s) => s.call === "train")?.id ?? "";
    const plan = await chooseInterpreters(
      ctx,
      planApply(data, training.plan, { name: model.name, version: model.version, stateDigest: model.stateDigest, stepId }, request.set ?? {}),
    );
    return { plan, model, options: await this.#checked(plan, request) };
  }

  async apply(request: ApplyRequest, hooks: RunHooks = {}): Promise<ApplyOutcome> {
    const ctx = this.#ctx;
    const { plan, model, options } = await this.#planApply(request);
    const result = await this.#execute(plan, [], request, options, hooks);
    if (result.outputDigest === null) throw new Error("an apply run has an output");
    return { run: await getRun(ctx, result.runId), model, outputDigest: result.outputDigest };
  }

  /**
   * How to execute a request: where each step runs, after checking the steps staying here against
   * this machine's limits and those going to a cluster against its partition's. An unknown cluster,
   * a bad rule or a step no node could run fails here, before a run is created.
   */
  async #checked(plan: RunPlan, request: ExecutionRequest): Promise<RunOptions> {
    const options = await this.#executeOptions(plan, request);
    checkLimits(
      plan.steps.filter((s) => (options.placements.get(s.id)?.cluster ?? null) === null),
      options.limits,
    );
    await checkPartitions(plan.steps, options.placements);
    return options;
  }

  /** Decide, record the run, tell the caller the plan, execute. */
  async #execute(plan: RunPlan, pruned: readonly PrunedStep[], request: ExecutionRequest, options: RunOptions, hooks: RunHooks): Promise<RunResult & { runId: string }> {
    const ctx = this.#ctx;
    const decisions = await decide(ctx, plan, options);
    const runId = newRunId();
    hooks.onEvent?.({ type: "run-planned", runId, plan, decisions: decisions.map(({ hit: _, ...d }) => d), pruned });
    const recorded = request.executor === undefined ? plan : { ...plan, executor: request.executor };
    await createRun(ctx, runId, recorded, { sessionId: request.sessionId ?? null, decisions });
    const result = await executeRun(ctx, runId, recorded, { ...hooks, ...options });
    return { ...result, runId };
  }

  async #executeOptions(plan: RunPlan, request: ExecutionRequest): Promise<RunOptions> {
    const placements = placeSteps(plan.steps, await readClusters(this.#ctx.paths), request.executor);
    return {
      placements,
      // Only steps on this machine count against them: steps on a cluster wait in its queue.
      limits: await executionLimits(this.#ctx, request),
      ...(request.fuse === undefined ? {} : { fuse: request.fuse }),
      ...(request.useCache === undefined ? {} : { useCache: request.useCache }),
      ...(request.rerunSteps === undefined ? {} : { rerunSteps: request.rerunSteps }),
      ...(request.workers === undefined ? {} : { workers: request.workers }),
    };
  }

  /**
   * Continue a run that did not finish (crashed, killed, cancelled, or failed): its finished steps
   * are kept, the others run.
   */
  async resume(runId: string, request: ExecutionRequest = {}, hooks: RunHooks = {}): Promise<TrainOutcome> {
    const ctx = this.#ctx;
    const run = await getRun(ctx, runId);
    if (run.status === "succeeded") {
      throw new ConflictError(`run ${run.id} already succeeded; nothing to resume (maelstrom rerun ${run.id} executes it again to check reproducibility)`, {
        details: { run: run.id, status: run.status },
      });
    }
    if (run.status === "running" || run.status === "pending") {
      throw new ConflictError(`run ${run.id} is still ${run.status} (process ${run.owner.pid} on ${run.owner.host}); wait for it or cancel it first`, {
        details: { run: run.id, status: run.status },
      });
    }
    // Without --executor, steps are placed as the run placed them.
    const executor = request.executor ?? run.plan.executor;
    // Checked before the run is touched: a refused resume leaves it as it was.
    const options = await this.#checked(run.plan, { ...request, ...(executor === undefined ? {} : { executor }) });
    const interrupted = await slurmJobsOf(ctx, run.id);
    await refuseJobsLeftBehind(ctx, run.id, interrupted, options.placements, await readClusters(ctx.paths));
    await ctx.db
      .updateTable("step_executions")
      .set({ status: "pending", error: null })
      .where("run_id", "=", run.id)
      .where("status", "in", ["failed", "cancelled", "running", "pending"])
      .execute();
    await ctx.db.updateTable("runs").set({ status: "pending", error: null, ended_at: null }).where("id", "=", run.id).execute();
    const result = await executeRun(ctx, run.id, run.plan, { ...hooks, ...options, interrupted });
    const models = await Promise.all((result.models ?? []).map((m) => resolveModel(ctx, `${m.name}/${m.version}`)));
    return { run: await getRun(ctx, run.id), model: models[0] ?? null, models };
  }

  rerun(runId: string, hooks: RunHooks = {}): Promise<RerunReport> {
    return rerun(this.#ctx, runId, hooks);
  }

  listRuns(options: { readonly limit?: number; readonly status?: RunStatus } = {}): Promise<RunRecord[]> {
    return listRuns(this.#ctx, options);
  }

  getRun(id: string): Promise<RunRecord> {
    return getRun(this.#ctx, id);
  }

  readLogs(runId: string, stepId?: string): Promise<string> {
    return readRunLogs(this.#ctx, runId, stepId);
  }

  listModels(name?: string): Promise<ModelVersion[]> {
    return listModels(this.#ctx, name);
  }

  getModel(ref: string): Promise<ModelVersion> {
    return resolveModel(this.#ctx, ref);
  }

  setModelAlias(ref: string, alias: string): Promise<ModelVersion> {
    return setModelAlias(this.#ctx, ref, alias);
  }

  setModelTag(ref: string, key: string, value: string | null): Promise<ModelVersion> {
    return setModelTag(this.#ctx, ref, key, value);
  }

  lineage(ref: string): Promise<Lineage> {
    return buildLineage(this.#ctx, ref);
  }

  /** A stored bundle by digest, or a Zarr folder / CSV file on disk (imported into the store). */
  async locateBundle(pathOrDigest: string): Promise<{ digest: Digest; dir: string }> {
    let digest: Digest;
    if (isDigest(pathOrDigest)) {
      if (!(await this.#ctx.objects.has(pathOrDigest))) {
        throw new NotFoundError(`no bundle ${pathOrDigest} in this workspace's store`, { details: { bundle: pathOrDigest } });
      }
      digest = pathOrDigest;
    } else {
      if (existsSync(join(pathOrDigest, MANIFEST_FILE))) {
        throw new InputError(`${pathOrDigest} is an artifact folder, not a bundle; give a bundle digest, a Zarr folder or a .csv file`, {
          details: { bundle: pathOrDigest },
        });
      }
      const data = await resolveData(this.#ctx, pathOrDigest);
      if (data.type !== "bundle") {
        throw new InputError(`${pathOrDigest} is a dataset artifact, not a bundle; give a bundle digest, a Zarr folder or a .csv file`, {
          details: { bundle: pathOrDigest },
        });
      }
      digest = data.digest;
    }
    return { digest, dir: await checkout(this.#ctx, digest) };
  }

  async readBundle(pathOrDigest: string): Promise<Bundle> {
    return readBundle((await this.locateBundle(pathOrDigest)).dir);
  }

  fsck(): Promise<WorkspaceFsckReport> {
    return fsckWorkspace(this.#ctx);
  }

  gc(options: GcOptions = {}): Promise<GcReport> {
    return gcWorkspace(this.#ctx, options);
  }

  /** Workspace settings (`maelstrom config`). */
  readConfig(): Promise<WorkspaceConfig> {
    return readConfig(this.#ctx.paths);
  }

  /** Set a workspace setting, or remove it with null. */
  setConfig(key: string, value: string | null): Promise<WorkspaceConfig> {
    return writeConfig(this.#ctx.paths, checkConfigKey(key), value);
  }

  /** Slurm clusters configured in this workspace (`maelstrom cluster list`). */
  listClusters(): Promise<Clusters> {
    return readClusters(this.#ctx.paths);
  }

  addCluster(name: string, cluster: ClusterSettings): Promise<ClusterSettings> {
    return addCluster(this.#ctx.paths, name, cluster);
  }

  removeCluster(name: string): Promise<void> {
    return removeCluster(this.#ctx.paths, name);
  }

  async createSession(experiment: string): Promise<string> {
    const id = newRunId();
    await this.#ctx.db.insertInto("sessions").values({ id, experiment, created_at: Date.now(), closed_at: null }).execute();
    return id;
  }

  async closeSession(id: string): Promise<void> {
    await this.#ctx.db.updateTable("sessions").set({ closed_at: Date.now() }).where("id", "=", id).execute();
  }

  async close(): Promise<void> {
    await this.#ctx.db.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
