/**
 * What a Slurm partition can run, read once per cluster and run (`scontrol -o show partition` and
 * `scontrol -o show node`, through the cluster's transport), and a pure comparison of a step's
 * resources with it: a step the partition could never start is refused before anything is
 * submitted, instead of waiting in the queue forever or being refused by sbatch halfway through a run.
 */
import { ConflictError, InputError } from "@maelstrom/errors";
import type { SlurmTransport } from "./slurm-transport.js";

/** One node of the partition: what a single job can get at most. */
interface PartitionNode {
  readonly name: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly gpus: number;
}

/** The limits of a partition that decide whether a step can ever run there; null: no limit. */
export interface PartitionLimits {
  readonly partition: string;
  /** MaxTime, in minutes, and as Slurm printed it. */
  readonly maxMinutes: number | null;
  readonly maxTimeText: string;
  readonly maxCpusPerNode: number | null;
  readonly maxMemPerNodeMb: number | null;
  readonly maxMemPerCpuMb: number | null;
  /** The partition's nodes (empty when Slurm listed none: then only the partition's own limits are checked). */
  readonly nodes: readonly PartitionNode[];
}

/** What a step asks of Slurm, as its batch script will (`--cpus-per-task`, `--mem`, `--gres=gpu:N`, `--time`). */
export interface SlurmRequest {
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly gpus: number;
  /** Whole minutes; null: the partition's default time. */
  readonly minutes: number | null;
}

/** One resource a step asks for beyond what the partition allows. */
export interface LimitProblem {
  readonly field: "cpus" | "memory" | "gpus" | "time";
  /** What the step asks, e.g. "120 min", "64.0 GiB". */
  readonly asked: string;
  /** The most the partition allows and where that comes from, e.g. "60 min (MaxTime=01:00:00)". */
  readonly limit: string;
}

/**
 * The KEY=VALUE fields of one line of `scontrol -o show …`. Some values hold spaces (OS=Linux 6.1
 * #1 SMP, Reason=… written by an administrator, near the end of a node's line): those are cut at the
 * first space, and the first occurrence of a key wins, so a word of such a value that looks like
 * KEY=VALUE cannot replace a real field printed before it.
 */
export function slurmFields(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const match of line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=(\S*)/g)) {
    const key = match[1] ?? "";
    if (!fields.has(key)) fields.set(key, match[2] ?? "");
  }
  return fields;
}

/** A count or size Slurm prints, or null for UNLIMITED / INFINITE / NONE / anything not a number. */
function limitNumber(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const value = Number(text);
  // Slurm prints "unlimited" as the largest integer of its type on some versions.
  return value >= 0xfffffffe ? null : value;
}

/** Slurm's time notation as printed by scontrol ([D-]HH:MM:SS, MM:SS, or minutes) in whole minutes (seconds round up); null for UNLIMITED. */
export function slurmMinutes(text: string | undefined): number | null {
  const match = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text ?? "");
  if (match === null) return null;
  const [days, a, b, c] = [match[1], match[2], match[3], match[4]].map((part) => (part === undefined ? undefined : Number(part)));
  let seconds: number;
  if (c !== undefined) seconds = ((a ?? 0) * 60 + (b ?? 0)) * 60 + c; // HH:MM:SS
  else if (b !== undefined) seconds = days === undefined ? (a ?? 0) * 60 + b : ((a ?? 0) * 60 + b) * 60; // MM:SS, or D-HH:MM
  else seconds = days === undefined ? (a ?? 0) * 60 : (a ?? 0) * 3600; // minutes, or D-HH
  return (days ?? 0) * 24 * 60 + Math.ceil(seconds / 60);
}

/** GPUs in a node's Gres (gpu:4, gpu:a100:2(S:0-1), gpu:a100:2,gpu:v100:1, mps:100, (null)). */
export function gresGpus(text: string | undefined): number {
  if (text === undefined) return 0;
  let gpus = 0;
  // Commas inside parentheses (socket lists) do not separate entries.
  for (const entry of text.split(/,(?![^(]*\))/)) {
    const parts = entry.replace(/\(.*$/, "").split(":");
    if (parts[0] !== "gpu") continue;
    const last = parts.at(-1) ?? "";
    gpus += parts.length > 1 && /^\d+$/.test(last) ? Number(last) : 1;
  }
  return gpus;
}

/** The limits of `partition` from the output of `scontrol -o show partition NAME` and `scontrol -o show node`; null when the partition is not listed. */
export function partitionLimits(partitionText: string, nodeText: string, partition: string): PartitionLimits | null {
  const fields = partitionText
    .split("\n")
    .map(slurmFields)
    .find((f) => f.get("PartitionName") === partition);
  if (fields === undefined) return null;
  const nodes: PartitionNode[] = [];
  for (const line of nodeText.split("\n")) {
    const node = slurmFields(line);
    const name = node.get("NodeName");
    if (name === undefined || !(node.get("Partitions") ?? "").split(",").includes(partition)) continue;
    nodes.push({
      name,
      // CPUEfctv (Slurm 22.05+) leaves out cores reserved for the system; older versions print CPUTot only.
      cpus: limitNumber(node.get("CPUEfctv")) ?? limitNumber(node.get("CPUTot")) ?? 0,
      memoryMb: limitNumber(node.get("RealMemory")) ?? 0,
      gpus: gresGpus(node.get("Gres")),
    });
  }
  return {
    partition,
    maxMinutes: slurmMinutes(fields.get("MaxTime")),
    maxTimeText: fields.get("MaxTime") ?? "UNLIMITED",
    maxCpusPerNode: limitNumber(fields.get("MaxCPUsPerNode")),
    maxMemPerNodeMb: limitNumber(fields.get("MaxMemPerNode")),
    maxMemPerCpuMb: limitNumber(fields.get("MaxMemPerCPU")),
    nodes,
  };
}

const size = (mb: number): string => (mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${mb} MiB`);
const maxOf = (values: readonly number[]): number => values.reduce((a, b) => Math.max(a, b), 0);

/**
 * What `request` asks beyond what any node of the partition, or the partition's own limits, allow
 * (empty: it can run). Pure. Memory is compared as sbatch's `--mem` (per node, whole MiB).
 */
export function partitionProblems(limits: PartitionLimits, request: SlurmRequest): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const cpus = Math.max(1, Math.ceil(request.cpus));
  const memoryMb = Math.max(1, Math.ceil(request.memoryBytes / 1024 ** 2));
  const gpus = Math.ceil(request.gpus);
  const { nodes } = limits;
  const most = { cpus: maxOf(nodes.map((n) => n.cpus)), memoryMb: maxOf(nodes.map((n) => n.memoryMb)), gpus: maxOf(nodes.map((n) => n.gpus)) };
  const largest = (what: string): string => `the largest of its ${nodes.length} ${nodes.length === 1 ? "node" : "nodes"} has ${what}`;

  if (request.minutes !== null && limits.maxMinutes !== null && request.minutes > limits.maxMinutes) {
    problems.push({ field: "time", asked: `${request.minutes} min`, limit: `${limits.maxMinutes} min (MaxTime=${limits.maxTimeText})` });
  }
  if (limits.maxCpusPerNode !== null && cpus > limits.maxCpusPerNode) {
    problems.push({ field: "cpus", asked: `${cpus} CPUs`, limit: `${limits.maxCpusPerNode} CPUs (MaxCPUsPerNode=${limits.maxCpusPerNode})` });
  } else if (nodes.length > 0 && cpus > most.cpus) {
    problems.push({ field: "cpus", asked: `${cpus} CPUs`, limit: `${most.cpus} CPUs (${largest(`${most.cpus} CPUs`)})` });
  }
  const cpuCap = Math.min(limits.maxCpusPerNode ?? Infinity, nodes.length > 0 ? most.cpus : Infinity);
  if (limits.maxMemPerNodeMb !== null && memoryMb > limits.maxMemPerNodeMb) {
    problems.push({ field: "memory", asked: size(memoryMb), limit: `${size(limits.maxMemPerNodeMb)} (MaxMemPerNode=${limits.maxMemPerNodeMb}M)` });
  } else if (nodes.length > 0 && memoryMb > most.memoryMb) {
    problems.push({ field: "memory", asked: size(memoryMb), limit: `${size(most.memoryMb)} (${largest(`RealMemory=${most.memoryMb}M`)})` });
  } else if (limits.maxMemPerCpuMb !== null && Number.isFinite(cpuCap) && memoryMb > limits.maxMemPerCpuMb * cpuCap) {
    // Slurm raises the CPUs of a job over MaxMemPerCPU to fit its memory: beyond the CPUs of a node it cannot.
    problems.push({
      field: "memory",
      asked: size(memoryMb),
      limit: `${size(limits.maxMemPerCpuMb * cpuCap)} (MaxMemPerCPU=${limits.maxMemPerCpuMb}M × ${cpuCap} CPUs of a node)`,
    });
  }
  if (gpus > 0 && nodes.length > 0 && gpus > most.gpus) {
    problems.push({ field: "gpus", asked: `${gpus} GPUs`, limit: most.gpus === 0 ? "no GPUs (no node of the partition has gres gpu)" : `${most.gpus} GPUs (${largest(`${most.gpus} in its Gres`)})` });
  }
  if (problems.length === 0 && nodes.length > 0 && !nodes.some((n) => n.cpus >= cpus && n.memoryMb >= memoryMb && n.gpus >= gpus)) {
    problems.push({
      field: "cpus",
      asked: `${cpus} CPUs, ${size(memoryMb)}${gpus > 0 ? `, ${gpus} GPUs` : ""} on one node`,
      limit: `no single node has all of them (nodes: ${nodes.map((n) => `${n.name} ${n.cpus} CPUs/${size(n.memoryMb)}/${n.gpus} GPUs`).join(", ")})`,
    });
  }
  return problems;
}

/**
 * Reads a partition's limits through a cluster's transport: one `scontrol -o show partition` (all
 * of them, so that an unknown name can be answered with the ones that exist) and one `scontrol -o
 * show node`. An unknown partition is an InputError naming the cluster's partitions.
 */
export async function readPartitionLimits(transport: SlurmTransport, cluster: string, partition: string): Promise<PartitionLimits> {
  // An unreachable login node, a refused key or missing Slurm commands stop here, before a run exists.
  await transport.check();
  const shown = await transport.run(["scontrol", "-o", "show", "partition"]);
  if (shown.code !== 0) {
    throw new ConflictError(`cannot read the partitions of cluster '${cluster}': scontrol -o show partition: ${shown.stderr.trim() || `exit code ${shown.code}`}`, {
      details: { cluster, partition },
    });
  }
  const known = shown.stdout
    .split("\n")
    .map((line) => slurmFields(line).get("PartitionName"))
    .filter((name): name is string => name !== undefined);
  if (!known.includes(partition)) {
    throw new InputError(
      `cluster '${cluster}': partition '${partition}' does not exist; the cluster's partitions: ${known.join(", ") || "none"} (change it with maelstrom cluster add ${cluster} --partition P)`,
      { details: { cluster, partition, known } },
    );
  }
  const nodes = await transport.run(["scontrol", "-o", "show", "node"]);
  if (nodes.code !== 0) {
    throw new ConflictError(`cannot read the nodes of cluster '${cluster}': scontrol -o show node: ${nodes.stderr.trim() || `exit code ${nodes.code}`}`, {
      details: { cluster, partition },
    });
  }
  return partitionLimits(shown.stdout, nodes.stdout, partition) as PartitionLimits;
}
