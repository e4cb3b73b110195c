import type { Bundle, ParameterValue } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import { Engine, type ArtifactVersion, type ComputeResources, type ModelVersion, type RunHooks, type RunRecord } from "@maelstrom/engine";

export interface ClientOpenOptions {
  /** Workspace folder; default: the nearest `.maelstrom/` from the current folder up, else a new one here. */
  readonly workspace?: string;
}

/** A registered artifact version, as the client hands it out. */
export type Artifact = ArtifactVersion;
/** A trained model version from the model database. */
export type TrainedModel = ModelVersion;

export interface TrainOptions {
  /** A dataset artifact, its reference or folder, a .csv file, a Zarr folder or a bundle digest. */
  readonly data: Artifact | string;
  /** Parameter values: `name` for every step declaring it, `step.name` for one step. */
  readonly parameters?: Readonly<Record<string, ParameterValue>>;
  readonly modelName?: string;
  readonly hooks?: RunHooks;
}

export interface TrainStats {
  readonly runId: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly resources: ComputeResources;
  readonly run: RunRecord;
}

export interface Inference {
  readonly runId: string;
  readonly model: TrainedModel;
  /** Digest of the output bundle in the store. */
  readonly digest: string;
  readonly run: RunRecord;
  /** Load the predictions. */
  bundle(): Promise<Bundle>;
}

/** A working context: groups runs under an experiment; closed by `await using` or close(). */
export class Session implements AsyncDisposable {
  readonly #engine: Engine;
  readonly id: string;
  #closed = false;

  constructor(engine: Engine, id: string) {
    this.#engine = engine;
    this.id = id;
  }

  async train(steps: readonly (Artifact | string)[], options: TrainOptions): Promise<{ model: TrainedModel; stats: TrainStats }> {
    const set = Object.fromEntries(Object.entries(options.parameters ?? {}).map(([k, v]) => [k, String(v)]));
    const { run, model } = await this.#engine.train(
      { steps, data: options.data, set, sessionId: this.id, ...(options.modelName === undefined ? {} : { modelName: options.modelName }) },
      options.hooks ?? {},
    );
    if (model === null) throw new Error("a train run registers a model");
    return { model, stats: { runId: run.id, metrics: model.record.metrics, resources: model.record.resources, run } };
  }

  async apply(
    model: TrainedModel | string,
    options: { readonly data: Artifact | string; readonly parameters?: Readonly<Record<string, ParameterValue>>; readonly hooks?: RunHooks },
  ): Promise<Inference> {
    const ref = typeof model === "string" ? model : model.ref;
    const set = Object.fromEntries(Object.entries(options.parameters ?? {}).map(([k, v]) => [k, String(v)]));
    const outcome = await this.#engine.apply({ model: ref, data: options.data, set, sessionId: this.id }, options.hooks ?? {});
    const engine = this.#engine;
    return {
      runId: outcome.run.id,
      model: outcome.model,
      digest: outcome.outputDigest,
      run: outcome.run,
      bundle: () => engine.readBundle(outcome.outputDigest),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#engine.closeSession(this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The seed API. `Client.open()` runs the engine in-process against the workspace around the
 * current folder (embedded mode). Server mode (`Client.open(url)`, talking to `maelstrom serve`)
 * does not exist yet and says so.
 */
export class Client implements AsyncDisposable {
  readonly #engine: Engine;

  private constructor(engine: Engine) {
    this.#engine = engine;
  }

  static async open(target?: string | ClientOpenOptions, options: ClientOpenOptions = {}): Promise<Client> {
    if (typeof target === "string" && /^https?:\/\//.test(target)) {
      throw new InputError(`server mode (${target}) is not available in this version; use Client.open() for the embedded engine`, {
        details: { url: target },
      });
    }
    const opts = typeof target === "string" ? { ...options, workspace: target } : { ...options, ...target };
    const engine = await Engine.open({ create: true, ...(opts.workspace === undefined ? {} : { workspace: opts.workspace }) });
    return new Client(engine);
  }

  /** The engine behind this client, for everything beyond the seed API (runs, lineage, fsck, ...). */
  get engine(): Engine {
    return this.#engine;
  }

  async addArtifact(dir: string, options: { readonly tag?: string } = {}): Promise<Artifact> {
    return (await this.#engine.addArtifact(dir, options)).artifact;
  }

  async enterSession(options: { readonly experiment?: string } = {}): Promise<Session> {
    return new Session(this.#engine, await this.#engine.createSession(options.experiment ?? "default"));
  }

  async close(): Promise<void> {
    await this.#engine.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
