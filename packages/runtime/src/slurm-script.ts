/**
 * The batch script of a step on Slurm. Pure: the same options give the same script. Every value
 * that comes from a user (paths, parameters inside the rendered command, environment values) is one
 * single-quoted shell word; values in `#SBATCH` lines are checked to hold no whitespace or quotes
 * (sbatch parses those lines itself), and the job name is reduced to safe characters.
 */
import { shellWord } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import type { TransportSettings } from "./slurm-transport.js";

/** A named Slurm cluster as configured in the workspace (`maelstrom cluster add`). */
export interface SlurmCluster {
  readonly partition: string;
  readonly account?: string;
  readonly qos?: string;
  readonly constraint?: string;
  /** Time limit of a step that declares none, e.g. 1h (Slurm's default for the partition when unset). */
  readonly time?: string;
  /** Shell lines run before the step (module load ..., source venv/bin/activate), written by the cluster's owner. */
  readonly setup?: readonly string[];
  /** Python interpreter for Python steps on the cluster. */
  readonly python?: string;
  /** How Slurm commands are run: `local` (on this machine, a login node) or over SSH on a login node. */
  readonly transport: TransportSettings;
}

/** Fields of a cluster that go into `#SBATCH` lines. */
const SBATCH_FIELDS = ["partition", "account", "qos", "constraint"] as const;

/** A value for an `#SBATCH` line: sbatch splits those lines itself, so no whitespace, quotes or backslashes. */
export function checkSbatchValue(field: string, value: string): string {
  if (value === "" || /[\s'"\\]/.test(value)) {
    throw new InputError(`cluster ${field} '${value}': expected a non-empty Slurm name without spaces, quotes or backslashes`, {
      details: { field, value },
    });
  }
  return value;
}

export interface BatchScriptOptions {
  readonly cluster: SlurmCluster;
  readonly jobName: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly gpus: number;
  /** Whole minutes, or null for the cluster's default time. */
  readonly minutes: number | null;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** The runner's command line, as a local one-shot step would start it. */
  readonly argv: readonly string[];
  /** Where fd 3 (the runner's events) goes. */
  readonly eventsFile: string;
  /** Where the wrapper writes the runner's exit code once it has ended. */
  readonly exitCodeFile: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function batchScript(options: BatchScriptOptions): string {
  const { cluster } = options;
  const sbatch = [
    `--job-name=${options.jobName.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64) || "maelstrom"}`,
    ...SBATCH_FIELDS.flatMap((field) => {
      const value = cluster[field];
      return value === undefined ? [] : [`--${field}=${checkSbatchValue(field, value)}`];
    }),
    `--cpus-per-task=${Math.max(1, Math.ceil(options.cpus))}`,
    `--mem=${Math.max(1, Math.ceil(options.memoryBytes / 1024 ** 2))}M`,
    ...(options.gpus > 0 ? [`--gres=gpu:${Math.ceil(options.gpus)}`] : []),
    ...(options.minutes === null ? [] : [`--time=${options.minutes}`]),
    // A job Slurm would requeue (node failure, preemption) ends instead: a second attempt would append
    // to the first one's events and log. The engine reports the state; `resume` submits the step again.
    "--no-requeue",
  ];
  const exports = Object.entries(options.env).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new InputError(`environment variable name '${name}' is not a valid shell name`, { details: { name } });
    return `export ${name}=${shellWord(value)}`;
  });
  const exitTmp = `${options.exitCodeFile}.tmp`;
  return [
    "#!/bin/sh",
    ...sbatch.map((option) => `#SBATCH ${option}`),
    "# Written by Maelstrom: the step's runner, as a local step runs it; its exit code goes to a file.",
    ...(cluster.setup ?? []),
    `cd ${shellWord(options.cwd)} || exit 1`,
    ...exports,
    `exec 3>>${shellWord(options.eventsFile)}`,
    options.argv.map(shellWord).join(" "),
    "code=$?",
    `printf '%s\\n' "$code" > ${shellWord(exitTmp)} && mv ${shellWord(exitTmp)} ${shellWord(options.exitCodeFile)}`,
    'exit "$code"',
    "",
  ].join("\n");
}
