/**
 * Named Slurm clusters of a workspace (`maelstrom cluster add/list/remove`), kept in
 * .maelstrom/clusters.json, and the choice of executor for a run (`--executor slurm[:NAME]`).
 */
import { join } from "node:path";
import { parseDuration } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import { checkSbatchValue, type SlurmCluster } from "@maelstrom/runtime";
import { readSettings, writeSettings } from "./config.js";
import type { WorkspacePaths } from "./workspace.js";

export type Clusters = Readonly<Record<string, SlurmCluster>>;

function clustersFile(paths: WorkspacePaths): string {
  return join(paths.meta, "clusters.json");
}

export function readClusters(paths: WorkspacePaths): Promise<Clusters> {
  return readSettings<Clusters>(clustersFile(paths), "the cluster settings", "fix the file, or delete it and add the clusters again");
}

function writeClusters(paths: WorkspacePaths, clusters: Clusters): Promise<void> {
  return writeSettings(clustersFile(paths), clusters);
}

/** Adds or replaces a cluster after checking its fields (nothing reaches sbatch unchecked). */
export async function addCluster(paths: WorkspacePaths, name: string, cluster: SlurmCluster): Promise<SlurmCluster> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new InputError(`cluster name '${name}': expected letters, digits, '-', '_' or '.', starting with a letter or digit`, { details: { cluster: name } });
  }
  for (const field of ["partition", "account", "qos", "constraint"] as const) {
    const value = cluster[field];
    if (value !== undefined) checkSbatchValue(field, value);
  }
  if (cluster.time !== undefined) parseDuration(cluster.time);
  if (cluster.maxTime !== undefined && cluster.time !== undefined && parseDuration(cluster.maxTime) < parseDuration(cluster.time)) {
    throw new InputError(`cluster ${name}: --max-time ${cluster.maxTime} is shorter than --time ${cluster.time}`, { details: { cluster: name } });
  }
  if (cluster.maxTime !== undefined) parseDuration(cluster.maxTime);
  if (cluster.retries !== undefined && !(Number.isInteger(cluster.retries) && cluster.retries >= 0 && cluster.retries <= 10)) {
    throw new InputError(`cluster ${name}: retries ${cluster.retries}: expected a whole number from 0 to 10`, { details: { cluster: name } });
  }
  for (const line of cluster.setup ?? []) {
    if (line.includes("\n")) throw new InputError("a --setup line must be one line; give --setup once per line", { details: { cluster: name } });
  }
  await writeClusters(paths, { ...(await readClusters(paths)), [name]: cluster });
  return cluster;
}

export async function removeCluster(paths: WorkspacePaths, name: string): Promise<void> {
  const clusters = await readClusters(paths);
  if (!Object.hasOwn(clusters, name)) throw unknownCluster(name, clusters);
  const { [name]: _, ...rest } = clusters;
  await writeClusters(paths, rest);
}

function unknownCluster(name: string, clusters: Clusters): InputError {
  const known = Object.keys(clusters);
  return new InputError(
    `unknown cluster '${name}'; ${known.length === 0 ? "no cluster is configured (add one: maelstrom cluster add NAME --partition P)" : `configured: ${known.join(", ")}`}`,
    { details: { cluster: name, known } },
  );
}

/**
 * The cluster `--executor` names: null for `local` (or none given); `slurm` is the only configured
 * cluster, `slurm:NAME` a configured one by name. Anything else is an InputError (nothing submitted).
 */
export async function chooseCluster(paths: WorkspacePaths, executor: string | undefined): Promise<{ readonly name: string; readonly cluster: SlurmCluster } | null> {
  if (executor === undefined || executor === "local") return null;
  const match = /^slurm(?::(.*))?$/.exec(executor);
  if (match === null) {
    throw new InputError(`--executor ${executor}: expected local, slurm (the only configured cluster) or slurm:NAME`, { details: { executor } });
  }
  const clusters = await readClusters(paths);
  const names = Object.keys(clusters);
  const name = match[1] ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new InputError(
      names.length === 0
        ? "--executor slurm: no cluster is configured; add one with maelstrom cluster add NAME --partition P"
        : `--executor slurm: ${names.length} clusters are configured (${names.join(", ")}); name one: --executor slurm:NAME`,
      { details: { executor, known: names } },
    );
  }
  const cluster = clusters[name];
  if (cluster === undefined || !Object.hasOwn(clusters, name)) throw unknownCluster(name, clusters);
  return { name, cluster };
}
