/**
 * Named Slurm clusters of a workspace (`maelstrom cluster add/list/remove`), kept in
 * .maelstrom/clusters.json, with their executor rules (`--when`), and what an executor name
 * (`local`, `slurm`, `slurm:NAME`) stands for.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDuration } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import { checkSbatchValue, type SlurmCluster, type SshSettings } from "@maelstrom/runtime";
import { readSettings, writeSettings } from "./config.js";
import { parseRule } from "./rules.js";
import type { WorkspacePaths } from "./workspace.js";

/** A cluster as configured: how to submit to it, and which steps go to it by rule. */
export type ClusterSettings = SlurmCluster & {
  /** Executor rules (`--when 'gpus>0'`): a step whose resources match any of them runs on this cluster. */
  readonly when?: readonly string[];
};

export type Clusters = Readonly<Record<string, ClusterSettings>>;

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
export async function addCluster(paths: WorkspacePaths, name: string, cluster: ClusterSettings): Promise<ClusterSettings> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new InputError(`cluster name '${name}': expected letters, digits, '-', '_' or '.', starting with a letter or digit`, { details: { cluster: name } });
  }
  for (const field of ["partition", "account", "qos", "constraint"] as const) {
    const value = cluster[field];
    if (value !== undefined) checkSbatchValue(field, value);
  }
  const duration = (option: string, text: string): number => {
    try {
      return parseDuration(text);
    } catch (error) {
      throw new InputError(`cluster ${name}: ${option} ${text}: ${error instanceof Error ? error.message : String(error)}`, { details: { cluster: name, option }, cause: error });
    }
  };
  if (cluster.time !== undefined) duration("--time", cluster.time);
  if (cluster.maxTime !== undefined) duration("--max-time", cluster.maxTime);
  if (cluster.maxTime !== undefined && cluster.time !== undefined && duration("--max-time", cluster.maxTime) < duration("--time", cluster.time)) {
    throw new InputError(`cluster ${name}: --max-time ${cluster.maxTime} is shorter than --time ${cluster.time}`, { details: { cluster: name } });
  }
  if (cluster.retries !== undefined && !(Number.isInteger(cluster.retries) && cluster.retries >= 0 && cluster.retries <= 10)) {
    throw new InputError(`cluster ${name}: retries ${cluster.retries}: expected a whole number from 0 to 10`, { details: { cluster: name } });
  }
  for (const rule of cluster.when ?? []) parseRule(rule);
  for (const line of cluster.setup ?? []) {
    if (line.includes("\n")) throw new InputError("a --setup line must be one line; give --setup once per line", { details: { cluster: name } });
  }
  const checked = { ...cluster, transport: cluster.transport === "local" ? ("local" as const) : checkSsh(name, cluster.transport) };
  await writeClusters(paths, { ...(await readClusters(paths)), [name]: checked });
  return checked;
}

/** A file the ssh client is given, as an absolute path (clusters.json is read from any folder). */
function sshFile(cluster: string, option: string, path: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new InputError(`cluster '${cluster}': ${option} ${path}: no such file`, { details: { cluster, field: option, path: absolute } });
  }
  // ssh reads -o values as words that may be double-quoted: a quote or newline would change them.
  if (/["\n\r]/.test(absolute)) throw new InputError(`cluster '${cluster}': ${option} ${path}: the path may not hold double quotes or newlines`, { details: { cluster, field: option } });
  return absolute;
}

/** SSH settings checked: a host and user that cannot be read as ssh options, a port in range, key files that exist. */
function checkSsh(cluster: string, ssh: SshSettings): SshSettings {
  const bad = (field: string, value: string, expected: string): InputError =>
    new InputError(`cluster '${cluster}': SSH ${field} '${value}': expected ${expected}`, { details: { cluster, field, value } });
  if (ssh.kind !== "ssh") throw bad("transport", String(ssh.kind), "local or ssh");
  if (!/^[A-Za-z0-9_:][A-Za-z0-9._:%-]*$/.test(ssh.host)) throw bad("host", ssh.host, "a host name, an address or a Host alias of ~/.ssh/config");
  if (ssh.user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(ssh.user)) throw bad("user", ssh.user, "a user name (letters, digits, '.', '_', '-')");
  if (ssh.port !== undefined && !(Number.isInteger(ssh.port) && ssh.port >= 1 && ssh.port <= 65535)) throw bad("port", String(ssh.port), "a port number from 1 to 65535");
  return {
    kind: "ssh",
    host: ssh.host,
    ...(ssh.port === undefined ? {} : { port: ssh.port }),
    ...(ssh.user === undefined ? {} : { user: ssh.user }),
    ...(ssh.identity === undefined ? {} : { identity: sshFile(cluster, "--identity", ssh.identity) }),
    ...(ssh.knownHosts === undefined ? {} : { knownHosts: sshFile(cluster, "--known-hosts", ssh.knownHosts) }),
  };
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
 * The cluster an executor name stands for: null for `local`; `slurm` is the only configured cluster,
 * `slurm:NAME` a configured one by name. Anything else is an InputError that starts with `where`
 * (`--executor slurm`, `step 'fit': executor slurm`) and suggests `option` (`--executor`,
 * `executor:`): nothing is submitted.
 */
export function resolveExecutor(where: string, option: string, executor: string, clusters: Clusters): { readonly name: string; readonly cluster: ClusterSettings } | null {
  if (executor === "local") return null;
  const match = /^slurm(?::(.*))?$/.exec(executor);
  if (match === null) {
    throw new InputError(`${where}: expected local, slurm (the only configured cluster) or slurm:NAME`, { details: { executor } });
  }
  const names = Object.keys(clusters);
  const name = match[1] ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new InputError(
      names.length === 0
        ? `${where}: no cluster is configured; add one with maelstrom cluster add NAME --partition P`
        : `${where}: ${names.length} clusters are configured (${names.join(", ")}); name one: ${option} slurm:NAME`,
      { details: { executor, known: names } },
    );
  }
  const cluster = clusters[name];
  if (cluster === undefined || !Object.hasOwn(clusters, name)) {
    const error = unknownCluster(name, clusters);
    throw new InputError(`${where}: ${error.message}`, { details: error.details });
  }
  return { name, cluster };
}
