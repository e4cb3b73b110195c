/**
 * The batch script of a step on Slurm. Pure: the same options give the same script. Every value
 * that comes from a user (paths, parameters inside the rendered command, environment values) is one
 * single-quoted shell word; values in `#SBATCH` lines are checked to hold no whitespace or quotes
 * (sbatch parses those lines itself), and the job name is reduced to safe characters.
 */
import { join } from "node:path";
import { parseDuration, shellWord } from "@maelstrom/core";
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
  /** The longest time a step that hit its time limit may be resubmitted with (doubling each time); unset: no resubmission on TIMEOUT. */
  readonly maxTime?: string;
  /** How many times a step whose job was lost (NODE_FAIL, PREEMPTED, BOOT_FAIL) or timed out is resubmitted (default 2). */
  readonly retries?: number;
  /** Shell lines run before the step (module load ..., source venv/bin/activate), written by the cluster's owner. */
  readonly setup?: readonly string[];
  /** Python interpreter for Python steps on the cluster. */
  readonly python?: string;
  /** How Slurm commands are run: `local` (on this machine, a login node) or over SSH on a login node. */
  readonly transport: TransportSettings;
}

/** A job name Slurm takes as it is: safe characters only, at most 64 of them. */
export function slurmJobName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64) || "maelstrom";
}

/**
 * The whole minutes a step's job asks for (`--time`): its own time limit, else the cluster's
 * `--time`, else null (the partition's default).
 */
export function jobMinutes(timeoutMs: number | null, cluster: Pick<SlurmCluster, "time">): number | null {
  if (timeoutMs !== null) return Math.max(1, Math.ceil(timeoutMs / 60_000));
  return durationMinutes(cluster.time);
}

/** A duration setting (`--time`, `--max-time`) in whole minutes, rounded up; null when unset. */
export function durationMinutes(text: string | undefined): number | null {
  return text === undefined ? null : Math.ceil(parseDuration(text) / 60_000);
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

/** What a job asks Slurm for: the `#SBATCH` lines of a step's script and of an array of such steps. */
export interface JobRequest {
  readonly cluster: SlurmCluster;
  readonly jobName: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly gpus: number;
  /** Whole minutes, or null for the cluster's default time. */
  readonly minutes: number | null;
  /** Nodes the job must not run on (a resubmission after a node failure). */
  readonly exclude?: readonly string[];
}

export interface BatchScriptOptions extends JobRequest {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** The runner's command line, as a local one-shot step would start it. */
  readonly argv: readonly string[];
  /** The step's folder: events, exit code and usage files are written there (see stepFiles). */
  readonly dir: string;
}

/** The files a step's job writes into its folder, read by the engine. */
export function stepFiles(dir: string): { readonly events: string; readonly exitCode: string; readonly usage: string; readonly script: string } {
  return { events: eventsFile(dir, 0), exitCode: join(dir, "exit-code"), usage: join(dir, "usage"), script: join(dir, "job.sh") };
}

/** The events of a job's first run, and of each restart after Slurm requeued it (a fresh file each, so runs never mix). */
export function eventsFile(dir: string, restart: number): string {
  return join(dir, restart === 0 ? "events.jsonl" : `events.${restart}.jsonl`);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The options of a job's `#SBATCH` lines, the job name first. Steps whose options agree apart from
 * the name ask for the same resources and can go out as one job array.
 */
export function sbatchOptions(options: JobRequest): string[] {
  const { cluster } = options;
  return [
    `--job-name=${slurmJobName(options.jobName)}`,
    ...SBATCH_FIELDS.flatMap((field) => {
      const value = cluster[field];
      return value === undefined ? [] : [`--${field}=${checkSbatchValue(field, value)}`];
    }),
    `--cpus-per-task=${Math.max(1, Math.ceil(options.cpus))}`,
    `--mem=${Math.max(1, Math.ceil(options.memoryBytes / 1024 ** 2))}M`,
    ...(options.gpus > 0 ? [`--gres=gpu:${Math.ceil(options.gpus)}`] : []),
    ...(options.minutes === null ? [] : [`--time=${options.minutes}`]),
    ...(options.exclude === undefined || options.exclude.length === 0 ? [] : [`--exclude=${options.exclude.map((node) => checkSbatchValue("node", node)).join(",")}`]),
    // Slurm may run the job again (node failure, preemption with requeue, scontrol requeue): each
    // restart writes its own events file and a fresh exit code, so attempts never mix.
    "--requeue",
  ];
}

export function batchScript(options: BatchScriptOptions): string {
  const { cluster } = options;
  const sbatch = sbatchOptions(options);
  const exports = Object.entries(options.env).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new InputError(`environment variable name '${name}' is not a valid shell name`, { details: { name } });
    return `export ${name}=${shellWord(value)}`;
  });
  const files = stepFiles(options.dir);
  return [
    "#!/bin/sh",
    ...sbatch.map((option) => `#SBATCH ${option}`),
    "# Written by Maelstrom: the step's runner, as a local step runs it; its exit code and usage go to files.",
    `rm -f ${shellWord(files.exitCode)} ${shellWord(files.usage)}`,
    `events=${shellWord(files.events)}`,
    'if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then',
    `  events=${shellWord(join(options.dir, "events."))}"$SLURM_RESTART_COUNT".jsonl`,
    // The id Maelstrom records: ARRAYJOB_TASK for a task of an array (its SLURM_JOB_ID is another number).
    '  job=${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}',
    '  echo "--- Slurm restarted job ${job:-$SLURM_JOB_ID} (restart $SLURM_RESTART_COUNT) on $(hostname) ---"',
    "fi",
    ...(cluster.setup ?? []),
    `cd ${shellWord(options.cwd)} || exit 1`,
    ...exports,
    'exec 3>>"$events"',
    options.argv.map(shellWord).join(" "),
    "code=$?",
    // CPU time of the step (the shell's children) and Slurm's own peak memory and energy of this job.
    "{ times; if command -v sstat >/dev/null 2>&1; then sstat --noheader --parsable2 --jobs=\"$SLURM_JOB_ID.batch\" --format=MaxRSS,ConsumedEnergy 2>/dev/null; fi; }" +
      ` > ${shellWord(`${files.usage}.tmp`)} && mv ${shellWord(`${files.usage}.tmp`)} ${shellWord(files.usage)}`,
    `printf '%s\\n' "$code" > ${shellWord(`${files.exitCode}.tmp`)} && mv ${shellWord(`${files.exitCode}.tmp`)} ${shellWord(files.exitCode)}`,
    'exit "$code"',
    "",
  ].join("\n");
}

/** One task of a job array: a step's own script, and the log its output goes to. */
export interface ArrayTask {
  readonly scriptFile: string;
  readonly logFile: string;
}

/**
 * The script of a job array whose task i runs step i's own job.sh (the script that step would be
 * submitted with alone), its stdout and stderr appended to the step's log: sbatch's --output names
 * one file pattern for the whole array, and the steps' logs are in different folders. `sbatch` are
 * the options of the steps' `#SBATCH` lines (equal for all of them but the name).
 */
export function arrayScript(sbatch: readonly string[], tasks: readonly ArrayTask[]): string {
  return [
    "#!/bin/sh",
    ...sbatch.map((option) => `#SBATCH ${option}`),
    "# Written by Maelstrom: array task i runs step i's job.sh (which can be submitted alone too), output to its log.",
    'case "$SLURM_ARRAY_TASK_ID" in',
    ...tasks.map((task, i) => `${i}) exec /bin/sh ${shellWord(task.scriptFile)} >>${shellWord(task.logFile)} 2>&1 ;;`),
    `*) echo "maelstrom: no step for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;`,
    "esac",
    "",
  ].join("\n");
}
