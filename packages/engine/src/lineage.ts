import { NotFoundError } from "@maelstrom/errors";
import { isDigest } from "@maelstrom/store";
import type { EngineContext } from "./context.js";
import { resolveModel } from "./models.js";
import type { DataOrigin, RunRecord } from "./records.js";
import { getRun } from "./runs.js";

export type LineageNodeType = "data" | "run" | "step" | "artifact" | "model";

export interface LineageNode {
  readonly id: string;
  readonly type: LineageNodeType;
  readonly label: string;
}

/** `from` was derived from / made by / made with `to`. */
export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly relation: "output of" | "input" | `input ${string}` | "code" | "weights" | "trained by" | "step of" | "source" | "result";
}

export interface Lineage {
  readonly root: string;
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

const short = (digest: string): string => digest.slice(0, 19);

function originLabel(origin: DataOrigin): string {
  switch (origin.type) {
    case "artifact":
      return `dataset artifact ${origin.ref}`;
    case "path":
      return `${origin.format} file ${origin.path}`;
    case "bundle":
      return `stored bundle ${short(origin.digest)}`;
    case "run":
      return `output of step ${origin.stepId} of run ${origin.runId}`;
  }
}

class LineageBuilder {
  readonly nodes = new Map<string, LineageNode>();
  readonly edges: LineageEdge[] = [];
  readonly #runsDone = new Set<string>();

  constructor(private readonly ctx: EngineContext) {}

  node(id: string, type: LineageNodeType, label: string): string {
    if (!this.nodes.has(id)) this.nodes.set(id, { id, type, label });
    return id;
  }

  edge(from: string, to: string, relation: LineageEdge["relation"]): void {
    if (!this.edges.some((e) => e.from === from && e.to === to && e.relation === relation)) this.edges.push({ from, to, relation });
  }

  async addModel(name: string, version: number): Promise<string> {
    const model = await resolveModel(this.ctx, `${name}/${version}`);
    const id = this.node(`model:${model.ref}`, "model", `model ${model.ref} (weights ${short(model.stateDigest)}, trained in run ${model.runId})`);
    const run = await getRun(this.ctx, model.runId);
    await this.addRun(run);
    const stepId = model.record.pipeline.find((s) => s.call === "train")?.stepId;
    const trainStep = run.plan.steps.find((s) => s.call === "train" && (stepId === undefined || s.id === stepId));
    if (trainStep !== undefined) this.edge(id, `step:${run.id}:${trainStep.id}`, "trained by");
    return id;
  }

  async addRun(run: RunRecord): Promise<string> {
    const id = `run:${run.id}`;
    this.node(id, "run", `${run.kind} run ${run.id} (${run.status})`);
    if (this.#runsDone.has(run.id)) return id;
    this.#runsDone.add(run.id);
    const origin = run.plan.data;
    // A node per step output, so that each input edge points at what the step read.
    const produced = new Map<string, string>();
    const executions = new Map(run.steps.map((s) => [s.stepId, s]));
    for (const planned of run.plan.steps) {
      const execution = executions.get(planned.id);
      const call = planned.call === "predict" ? "apply" : planned.call;
      const stepNode = this.node(`step:${run.id}:${planned.id}`, "step", `step ${planned.id}: ${[call, formatParameters(planned.parameters)].filter(Boolean).join(" ")}`);
      this.edge(stepNode, id, "step of");
      const code = this.node(`artifact:${planned.artifact.digest}`, "artifact", `${planned.artifact.kind} ${planned.artifact.name}@${short(planned.artifact.digest)}`);
      this.edge(stepNode, code, "code");
      const label = (name: string): LineageEdge["relation"] => (name === "data" ? "input" : `input ${name}`);
      for (const [name, source] of Object.entries(planned.inputs)) {
        if (source.type === "bundle") {
          const described = origin === null ? `data ${short(source.digest)}` : `data ${short(source.digest)} from ${originLabel(origin)}`;
          this.edge(stepNode, this.node(`data:${source.digest}`, "data", described), label(name));
        } else {
          this.edge(stepNode, produced.get(`${source.step}.${source.output}`) ?? `step:${run.id}:${source.step}`, label(name));
        }
      }
      if (planned.call === "get" && origin !== null && origin.type === "artifact" && origin.digest === planned.artifact.digest) {
        this.edge(stepNode, this.node(`origin:${run.id}`, "data", originLabel(origin)), "source");
      }
      if (planned.call === "predict" && run.plan.model.version !== null) {
        this.edge(stepNode, await this.addModel(run.plan.model.name, run.plan.model.version), "weights");
      }
      for (const [name, output] of Object.entries(execution?.outputs ?? {})) {
        const node = this.node(`data:${output}`, "data", `bundle ${short(output)}${name === "data" ? "" : ` (${name})`}`);
        produced.set(`${planned.id}.${name}`, node);
        this.edge(node, stepNode, "output of");
      }
    }
    const last = run.result?.outputDigest;
    if (last !== null && last !== undefined) this.edge(id, `data:${last}`, "result");
    return id;
  }

  build(root: string): Lineage {
    return { root, nodes: [...this.nodes.values()], edges: this.edges };
  }
}

function formatParameters(parameters: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(parameters);
  return entries.length === 0 ? "" : `(${entries.map(([k, v]) => `${k}=${String(v)}`).join(", ")})`;
}

/**
 * The graph from a result back to the raw data: a model ref (`name/3`, `name@alias`), a run id,
 * or a bundle digest produced by a run.
 */
export async function buildLineage(ctx: EngineContext, ref: string): Promise<Lineage> {
  const builder = new LineageBuilder(ctx);
  if (isDigest(ref)) {
    const producer = await ctx.db.selectFrom("step_executions").select(["run_id"]).where("output_digest", "=", ref).orderBy("run_id").executeTakeFirst();
    if (producer === undefined) throw new NotFoundError(`no run produced the bundle ${ref}`, { details: { ref } });
    await builder.addRun(await getRun(ctx, producer.run_id));
    return builder.build(`data:${ref}`);
  }
  if (/^[0-9A-Za-z]{26}$/.test(ref) || (/^[0-9A-Z]{4,25}$/.test(ref) && !ref.includes("/"))) {
    const run = await getRun(ctx, ref);
    await builder.addRun(run);
    const output = run.result?.outputDigest;
    return builder.build(output === null || output === undefined ? `run:${run.id}` : `data:${output}`);
  }
  const model = await resolveModel(ctx, ref);
  return builder.build(await builder.addModel(model.name, model.version));
}

/** Lineage as an indented tree, from the root back to the raw data. */
export function renderLineage(lineage: Lineage): string {
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const lines: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string, depth: number, relation: string | null): void => {
    const node = byId.get(id);
    if (node === undefined) return;
    const prefix = depth === 0 ? "" : `${"  ".repeat(depth - 1)}└─ ${relation ?? ""}: `;
    const again = seen.has(id);
    lines.push(`${prefix}${node.label}${again ? " (see above)" : ""}`);
    if (again) return;
    seen.add(id);
    let edges = lineage.edges.filter((e) => e.from === id && e.relation !== "step of");
    // Identical data made by several runs: the text follows the first producer; --json has them all.
    const producers = edges.filter((e) => e.relation === "output of");
    if (producers.length > 1) edges = edges.filter((e) => e.relation !== "output of" || e === producers[0]);
    for (const edge of edges) visit(edge.to, depth + 1, edge.relation);
  };
  visit(lineage.root, 0, null);
  return lines.join("\n");
}
