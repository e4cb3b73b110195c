import { InputError } from "@maelstrom/errors";
import { didYouMean } from "../manifest/suggest.js";

/** One step of a graph: its id and, for each of its inputs, the step and output it reads. */
export interface GraphStep {
  readonly id: string;
  readonly sources: readonly { readonly input: string; readonly step: string; readonly output: string }[];
}

/** What makes a graph unusable, with indices so that a caller can point at the place it came from. */
export interface GraphProblem {
  readonly kind: "duplicate-id" | "unknown-source" | "cycle";
  readonly message: string;
  /** The step to blame: the second of two with one id, the step with the bad source, the cycle's first step. */
  readonly step: number;
  /** Index into that step's sources: the unknown one, or the one that closes the cycle; null for a duplicate id. */
  readonly source: number | null;
  /** For a duplicate id, the first step that has it; null otherwise. */
  readonly first: number | null;
  /** The ids the problem is about: the duplicate id, the step with the bad source, or the cycle in data-flow order. */
  readonly steps: readonly string[];
}

type GraphAnalysis = { readonly order: string[]; readonly problem: null } | { readonly order: null; readonly problem: GraphProblem };

// Messages list at most this many ids, so that a graph of thousands of steps gives a readable error.
const LISTED_IDS = 20;

/**
 * The ids in an order where every step comes after the steps it reads from. Among the steps that
 * are ready at the same time, the one declared first goes first, so the order depends only on the
 * graph. Throws InputError GRAPH_INVALID for a duplicate id, a source naming no step, or a cycle.
 */
export function orderSteps(steps: readonly GraphStep[]): string[] {
  const analysis = analyseGraph(steps);
  if (analysis.order !== null) return analysis.order;
  const { problem } = analysis;
  const source = problem.source === null ? undefined : steps[problem.step]?.sources[problem.source];
  throw new InputError(problem.message, {
    code: "GRAPH_INVALID",
    details: {
      problem: problem.kind,
      steps: problem.steps,
      input: source?.input ?? null,
      source: problem.kind === "unknown-source" ? (source?.step ?? null) : null,
    },
  });
}

/** orderSteps without the throw: the order, or the first problem found (duplicates, then sources, then cycles). */
export function analyseGraph(steps: readonly GraphStep[]): GraphAnalysis {
  const index = new Map<string, number>();
  for (const [position, step] of steps.entries()) {
    const first = index.get(step.id);
    if (first !== undefined) {
      const message = `two steps have the id '${step.id}'`;
      return { order: null, problem: { kind: "duplicate-id", message, step: position, source: null, first, steps: [step.id] } };
    }
    index.set(step.id, position);
  }
  // predecessors[i][j]: the index of the step that source j of step i reads.
  const predecessors: number[][] = [];
  for (const [position, step] of steps.entries()) {
    const found: number[] = [];
    for (const [sourceIndex, source] of step.sources.entries()) {
      const predecessor = index.get(source.step);
      if (predecessor === undefined) {
        const message =
          `step '${step.id}' input '${source.input}' is wired to step '${source.step}', which does not exist` +
          `${didYouMean(source.step, index.keys())}; steps: ${listIds([...index.keys()])}`;
        return { order: null, problem: { kind: "unknown-source", message, step: position, source: sourceIndex, first: null, steps: [step.id] } };
      }
      found.push(predecessor);
    }
    predecessors.push(found);
  }
  const order = topologicalOrder(predecessors);
  if (order.length === steps.length) return { order: order.map((position) => (steps[position] as GraphStep).id), problem: null };
  return { order: null, problem: cycleProblem(steps, predecessors, order) };
}

/** Kahn's algorithm with a min-heap of declaration indices: O((steps + edges) log steps). */
function topologicalOrder(predecessors: readonly (readonly number[])[]): number[] {
  const waiting = predecessors.map((sources) => sources.length);
  const consumers: number[][] = predecessors.map(() => []);
  for (const [position, sources] of predecessors.entries()) {
    for (const predecessor of sources) (consumers[predecessor] as number[]).push(position);
  }
  const ready = new MinHeap();
  for (const [position, count] of waiting.entries()) if (count === 0) ready.push(position);
  const order: number[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    order.push(next);
    for (const consumer of consumers[next] as number[]) {
      const left = (waiting[consumer] as number) - 1;
      waiting[consumer] = left;
      if (left === 0) ready.push(consumer);
    }
  }
  return order;
}

/**
 * A cycle among the steps the order could not reach. Each of them reads from at least one other
 * unreached step, so walking backwards from any of them must come round to a step seen before.
 */
function cycleProblem(steps: readonly GraphStep[], predecessors: readonly (readonly number[])[], order: readonly number[]): GraphProblem {
  const reached = new Set(order);
  let start = 0;
  while (reached.has(start)) start++;
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  let current = start;
  while (!seenAt.has(current)) {
    seenAt.set(current, walk.length);
    walk.push(current);
    current = (predecessors[current] as number[]).find((predecessor) => !reached.has(predecessor)) as number;
  }
  // The walk went against the data flow; turn it round and start at the step declared first.
  const cycle = walk.slice(seenAt.get(current)).reverse();
  const first = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)));
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  const head = rotated[0] as number;
  const last = rotated[rotated.length - 1] as number;
  const ids = rotated.map((position) => (steps[position] as GraphStep).id);
  return {
    kind: "cycle",
    message: `steps form a cycle: ${[...ids, ids[0]].join(" -> ")}`,
    step: head,
    source: (predecessors[head] as number[]).indexOf(last),
    first: null,
    steps: ids,
  };
}

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, LISTED_IDS).join(", ");
  return ids.length > LISTED_IDS ? `${shown}, … (${ids.length - LISTED_IDS} more)` : shown;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const items = this.items;
    let at = items.push(value) - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[at] = items[parent] as number;
      at = parent;
    }
    items[at] = value;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[at] = items[child] as number;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
