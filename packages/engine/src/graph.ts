import { InputError } from "@maelstrom/errors";
import { expandPipelines, resolveArtifact } from "./artifacts.js";
import type { EngineContext } from "./context.js";
import type { ResolvedData } from "./data.js";
import { chainNodes, stepIds, type GraphNode } from "./plan.js";
import type { ArtifactVersion, StepInput } from "./records.js";

const isGraph = (artifact: ArtifactVersion): boolean => artifact.kind === "pipeline" && artifact.manifest.steps.some((s) => s.id !== null);

/**
 * The steps a train/run request names: a chain (artifacts and list-form pipelines, each step
 * reading the previous one's output), or one pipeline in DAG form with its own wiring.
 */
export async function buildGraph(ctx: EngineContext, artifacts: readonly ArtifactVersion[], data: ResolvedData | null): Promise<GraphNode[]> {
  const graph = artifacts.find(isGraph);
  if (graph === undefined) {
    const items = await expandPipelines(ctx, artifacts);
    if (data === null && items[0]?.artifact.kind !== "dataset") {
      throw new InputError(`${items[0]?.artifact.name ?? "the first step"} reads data: give it with --data (a dataset artifact, a .csv file, a Zarr folder or a bundle digest)`, {
        details: { step: items[0]?.artifact.name ?? null },
      });
    }
    return chainNodes(data, items);
  }
  if (artifacts.length > 1) {
    throw new InputError(`pipeline ${graph.name} is a graph (its steps have ids and inputs); give it on its own: maelstrom train ${graph.name} [--data DATA]`, {
      details: { pipeline: graph.name },
    });
  }
  return graphNodes(ctx, graph, data);
}

/** The steps of a DAG pipeline. Steps that are not datasets and have no inputs wired read `--data`. */
async function graphNodes(ctx: EngineContext, pipeline: ArtifactVersion, data: ResolvedData | null): Promise<GraphNode[]> {
  const nodes: GraphNode[] = [];
  const ids = new Set(pipeline.manifest.steps.map((s) => s.id ?? ""));
  let dataStep: GraphNode | null = null;
  const dataInput = (id: string, artifact: ArtifactVersion): StepInput => {
    if (data === null) {
      throw new InputError(
        `step '${id}' (${artifact.kind} ${artifact.name}) of pipeline ${pipeline.name} has no inputs wired, so it reads --data, but no --data was given; wire it in the pipeline (inputs: { data: STEP }) or pass --data`,
        { code: "GRAPH_INVALID", details: { steps: [id] } },
      );
    }
    if (data.type === "bundle") return { type: "bundle", digest: data.digest };
    if (dataStep === null) {
      const stepId = stepIds([...ids, data.artifact.name]).at(-1) ?? data.artifact.name;
      dataStep = { id: stepId, artifact: data.artifact, overrides: {}, inputs: {}, model: null, executor: null };
    }
    return { type: "step", step: dataStep.id, output: "data" };
  };
  // A graph of thousands of steps names a few artifacts many times: resolve each reference once.
  const resolved = new Map<string, Promise<ArtifactVersion>>();
  for (const step of pipeline.manifest.steps) {
    const id = step.id ?? "";
    let resolving = resolved.get(step.ref);
    if (resolving === undefined) resolved.set(step.ref, (resolving = resolveArtifact(ctx, step.ref)));
    const artifact = await resolving;
    if (artifact.kind === "pipeline") {
      throw new InputError(`step '${id}' of pipeline ${pipeline.name} refers to pipeline ${artifact.name}; the steps of a graph are datasets, transforms and models`, {
        code: "GRAPH_INVALID",
        details: { steps: [id] },
      });
    }
    let inputs: Record<string, StepInput> = {};
    if (step.inputs !== null && Object.keys(step.inputs).length > 0) {
      inputs = Object.fromEntries(Object.entries(step.inputs).map(([name, source]) => [name, { type: "step", step: source.step, output: source.output } as const]));
    } else if (artifact.kind !== "dataset") {
      inputs = { data: dataInput(id, artifact) };
    }
    nodes.push({ id, artifact, overrides: step.parameters, inputs, model: step.model, executor: step.executor });
  }
  if (data !== null && !nodes.some((n) => Object.values(n.inputs).some((i) => i.type === "bundle" || i.step === dataStep?.id))) {
    throw new InputError(`--data was given, but every step of pipeline ${pipeline.name} has its inputs wired or is a dataset; leave --data out`, {
      details: { pipeline: pipeline.name },
    });
  }
  return dataStep === null ? nodes : [dataStep, ...nodes];
}
