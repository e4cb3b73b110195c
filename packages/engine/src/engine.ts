import { MANIFEST_FILE, readBundle, type Bundle } from "@maelstrom/core";
import { newRunId } from "@maelstrom/core";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { isDigest, ObjectStore, openSqliteDatabase, type Digest, type GcReport } from "@maelstrom/store";
import { addArtifact, expandPipelines, listArtifacts, resolveArtifact, resolveArtifactArgument, type AddResult } from "./artifacts.js";
import { checkConfigKey, readConfig, writeConfig, type WorkspaceConfig } from "./config.js";
import type { EngineContext } from "./context.js";
import { resolveData, resolveDataArgument } from "./data.js";
import type { RunHooks } from "./events.js";
import { chooseInterpreters, createRun, executeRun } from "./execute.js";
import { buildLineage, type Lineage } from "./lineage.js";
import { fsckWorkspace, gcWorkspace, type GcOptions, type WorkspaceFsckReport } from "./maintenance.js";
import { listModels, resolveModel, setModelAlias, setModelTag } from "./models.js";
import { planApply, planTrain } from "./plan.js";
import type { ArtifactVersion, ModelVersion, RunRecord, RunStatus } from "./records.js";
import { rerun, type RerunReport } from "./rerun.js";
import { getRun, listRuns, readRunLogs, reapOrphanedRuns } from "./runs.js";
import { checkout } from "./trees.js";
import { findWorkspace, initWorkspace, workspacePaths } from "./workspace.js";

export interface OpenOptions {
  /** The workspace folder; default: the nearest one from `cwd` upwards. */
  readonly workspace?: string;
  readonly cwd?: string;
  /** Create the workspace in `workspace ?? cwd` when none is found. */
  readonly create?: boolean;
}

export interface TrainRequest {
  /** Transforms then the model: references or artifact folders. */
  readonly steps: readonly (string | ArtifactVersion)[];
  /** A dataset artifact (ref or folder), a .csv file, a Zarr folder or a bundle digest. */
  readonly data: string | ArtifactVersion;
  /** `--set` values: `name` for every step declaring it, `step.name` for one step. */
  readonly set?: Readonly<Record<string, string>>;
  /** Register under this name instead of the model artifact's name. */
  readonly modelName?: string;
  readonly sessionId?: string;
}

export interface TrainOutcome {
  readonly run: RunRecord;
  readonly model: ModelVersion;
}

export interface ApplyRequest {
  readonly model: string;
  /** Parameters of the dataset step (e.g. another period); the trained steps keep theirs. */
  readonly set?: Readonly<Record<string, string>>;
  readonly data: string | ArtifactVersion;
  readonly sessionId?: string;
}

export interface ApplyOutcome {
  readonly run: RunRecord;
  readonly model: ModelVersion;
  readonly outputDigest: Digest;
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

  async train(request: TrainRequest, hooks: RunHooks = {}): Promise<TrainOutcome> {
    const ctx = this.#ctx;
    const steps = await Promise.all(request.steps.map((s) => (typeof s === "string" ? resolveArtifactArgument(ctx, s) : s)));
    const data = await resolveDataArgument(ctx, request.data);
    const plan = await chooseInterpreters(ctx, planTrain(data, await expandPipelines(ctx, steps), request.set ?? {}, request.modelName ?? null));
    const runId = newRunId();
    await createRun(ctx, runId, plan, { sessionId: request.sessionId ?? null });
    const result = await executeRun(ctx, runId, plan, hooks);
    if (result.model === null) throw new Error("a train run registers a model");
    return { run: await getRun(ctx, runId), model: await resolveModel(ctx, `${result.model.name}/${result.model.version}`) };
  }

  async apply(request: ApplyRequest, hooks: RunHooks = {}): Promise<ApplyOutcome> {
    const ctx = this.#ctx;
    const model = await resolveModel(ctx, request.model);
    const training = await getRun(ctx, model.runId);
    const data = await resolveDataArgument(ctx, request.data);
    const plan = await chooseInterpreters(
      ctx,
      planApply(data, training.plan, { name: model.name, version: model.version, stateDigest: model.stateDigest }, request.set ?? {}),
    );
    const runId = newRunId();
    await createRun(ctx, runId, plan, { sessionId: request.sessionId ?? null });
    const result = await executeRun(ctx, runId, plan, hooks);
    if (result.outputDigest === null) throw new Error("an apply run has an output");
    return { run: await getRun(ctx, runId), model, outputDigest: result.outputDigest };
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
