import { InputError } from "@maelstrom/errors";
import { didYouMean } from "../manifest/suggest.js";

/** One step of a graph: its id and, for each of its inputs, the step and output it reads. */
export interface GraphStep {
  readonly id: string;
  readonly sources: readonly { readonly input: string; readonly step: string; readonly output: string }[];
}

/** What makes a graph unusable, with indices so that a caller can point at the place it came from. */
interface GraphProblem {
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
  for (let position = 0; position < steps.length; position++) {
    const { id } = steps[position] as GraphStep;
    const first = index.get(id);
    if (first !== undefined) {
      const message = `two steps have the id '${id}'`;
      return { order: null, problem: { kind: "duplicate-id", message, step: position, source: null, first, steps: [id] } };
    }
    index.set(id, position);
  }
  const edges = wire(steps, index);
  if ("kind" in edges) return { order: null, problem: edges };
  const order = topologicalOrder(edges);
  if (order.length < steps.length) return { order: null, problem: cycleProblem(steps, edges, order) };
  return { order: Array.from(order, (position) => (steps[position] as GraphStep).id), problem: null };
}

/**
 * The graph as flat arrays (compressed rows), which keeps a graph of many thousand steps to a few
 * allocations: the sources of step i are `reads[readStart[i] .. readStart[i + 1]]`, its
 * consumers (one entry per source that reads it) `feeds[feedStart[i] .. feedStart[i + 1]]`.
 */
interface Edges {
  readonly readStart: Int32Array;
  readonly reads: Int32Array;
  readonly feedStart: Int32Array;
  readonly feeds: Int32Array;
}

function wire(steps: readonly GraphStep[], index: ReadonlyMap<string, number>): Edges | GraphProblem {
  const count = steps.length;
  const readStart = new Int32Array(count + 1);
  for (let position = 0; position < count; position++) {
    readStart[position + 1] = (readStart[position] as number) + (steps[position] as GraphStep).sources.length;
  }
  const reads = new Int32Array(readStart[count] as number);
  const feedStart = new Int32Array(count + 1);
  for (let position = 0; position < count; position++) {
    const step = steps[position] as GraphStep;
    for (let sourceIndex = 0; sourceIndex < step.sources.length; sourceIndex++) {
      const source = step.sources[sourceIndex] as GraphStep["sources"][number];
      const predecessor = index.get(source.step);
      if (predecessor === undefined) {
        const message =
          `step '${step.id}' input '${source.input}' is wired to step '${source.step}', which does not exist` +
          `${didYouMean(source.step, index.keys())}; steps: ${listIds([...index.keys()])}`;
        return { kind: "unknown-source", message, step: position, source: sourceIndex, first: null, steps: [step.id] };
      }
      reads[(readStart[position] as number) + sourceIndex] = predecessor;
      feedStart[predecessor + 1] = (feedStart[predecessor + 1] as number) + 1;
    }
  }
  for (let position = 0; position < count; position++) feedStart[position + 1] = (feedStart[position + 1] as number) + (feedStart[position] as number);
  const feeds = new Int32Array(reads.length);
  const filled = feedStart.slice(0, count);
  for (let position = 0; position < count; position++) {
    for (let at = readStart[position] as number; at < (readStart[position + 1] as number); at++) {
      const predecessor = reads[at] as number;
      feeds[filled[predecessor] as number] = position;
      filled[predecessor] = (filled[predecessor] as number) + 1;
    }
  }
  return { readStart, reads, feedStart, feeds };
}

/** Kahn's algorithm, taking the lowest declaration index among ready steps: O((steps + edges) log steps). */
function topologicalOrder(edges: Edges): Int32Array {
  const count = edges.readStart.length - 1;
  const waiting = new Int32Array(count);
  const ready = new MinHeap(count);
  for (let position = 0; position < count; position++) {
    waiting[position] = (edges.readStart[position + 1] as number) - (edges.readStart[position] as number);
    if (waiting[position] === 0) ready.push(position);
  }
  const order = new Int32Array(count);
  let done = 0;
  while (ready.size > 0) {
    const next = ready.pop();
    order[done++] = next;
    for (let at = edges.feedStart[next] as number; at < (edges.feedStart[next + 1] as number); at++) {
      const consumer = edges.feeds[at] as number;
      waiting[consumer] = (waiting[consumer] as number) - 1;
      if (waiting[consumer] === 0) ready.push(consumer);
    }
  }
  return order.subarray(0, done);
}

/**
 * A cycle among the steps the order could not reach. Each of them reads from at least one other
 * unreached step, so walking backwards from any of them must come round to a step seen before.
 */
function cycleProblem(steps: readonly GraphStep[], edges: Edges, order: Int32Array): GraphProblem {
  const reached = new Uint8Array(steps.length);
  for (const position of order) reached[position] = 1;
  const firstUnreached = (from: number): number => {
    let at = edges.readStart[from] as number;
    while (reached[edges.reads[at] as number] === 1) at++;
    return at - (edges.readStart[from] as number);
  };
  const seenAt = new Int32Array(steps.length).fill(-1);
  const walk: number[] = [];
  let current = reached.indexOf(0);
  while (seenAt[current] === -1) {
    seenAt[current] = walk.length;
    walk.push(current);
    current = edges.reads[(edges.readStart[current] as number) + firstUnreached(current)] as number;
  }
  // The walk went against the data flow; turn it round and start at the step declared first.
  const cycle = walk.slice(seenAt[current]).reverse();
  const first = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)));
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  const head = rotated[0] as number;
  const last = rotated[rotated.length - 1] as number;
  const ids = rotated.map((position) => (steps[position] as GraphStep).id);
  return {
    kind: "cycle",
    message: `steps form a cycle: ${[...ids, ids[0]].join(" -> ")}`,
    step: head,
    source: Array.from(edges.reads.subarray(edges.readStart[head], edges.readStart[head + 1])).indexOf(last),
    first: null,
    steps: ids,
  };
}

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, LISTED_IDS).join(", ");
  return ids.length > LISTED_IDS ? `${shown}, … (${ids.length - LISTED_IDS} more)` : shown;
}

/** A binary min-heap of at most `capacity` numbers. */
class MinHeap {
  private readonly items: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Int32Array(capacity);
  }

  push(value: number): void {
    const items = this.items;
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[at] = items[parent] as number;
      at = parent;
    }
    items[at] = value;
  }

  /** The smallest number; only when size > 0. */
  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items[--this.size] as number;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[at] = items[child] as number;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
