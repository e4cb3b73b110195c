/**
 * A private single-node Slurm cluster for tests (Debian's slurm-wlm and munge, as
 * /work/shared/ENVIRONMENT.md describes): a slurm.conf in a temp folder, slurmctld and slurmd
 * started with `-f` on free ports, and stopped by pid. Used by the tests beside this file only.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";

/** Why a private cluster cannot be started here, or null when it can. */
function missingSlurm(): string | null {
  for (const tool of ["slurmctld", "slurmd", "sbatch", "munged"]) {
    const paths = [`/usr/sbin/${tool}`, `/usr/bin/${tool}`];
    if (!paths.some((p) => existsSync(p))) return `${tool} is not installed (Debian: apt-get install slurm-wlm munge)`;
  }
  if (process.getuid?.() !== 0) return "the private Slurm cluster runs slurmd as root, and these tests do not run as root";
  return null;
}

export const slurmMissing = missingSlurm();

if (slurmMissing !== null) {
  console.warn(`SKIPPED Slurm tests: ${slurmMissing}`);
  // Under CI's MAELSTROM_REQUIRE_INTEGRATION=1 a skip is a failure.
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("the Slurm tests can run", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${slurmMissing}`);
  });
}

export interface TestCluster {
  /** The slurm.conf every Slurm command of a test must be given (as SLURM_CONF). */
  readonly conf: string;
  /** SLURM_CONF for the commands of a test. */
  readonly env: Readonly<Record<string, string>>;
  readonly partition: string;
  /** The cluster's one node (this machine's short host name). */
  readonly node: string;
  /** Runs a Slurm command against this cluster. */
  readonly command: (tool: string, ...args: string[]) => { code: number | null; stdout: string; stderr: string };
  readonly stop: () => void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sh(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: "utf8", env, timeout: 30_000 });
  return { code: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
}

/** munged, started if `munge -n | unmunge` does not work yet (it is shared by whoever runs on this machine). */
function ensureMunge(): void {
  const works = (): boolean => sh("/bin/sh", ["-c", "munge -n | unmunge"]).code === 0;
  if (works()) return;
  if (!existsSync("/etc/munge/munge.key")) sh("mungekey", ["-c"]);
  mkdirSync("/run/munge", { recursive: true });
  sh("chown", ["munge:munge", "/run/munge", "/etc/munge/munge.key"]);
  sh("su", ["munge", "-s", "/bin/sh", "-c", "/usr/sbin/munged"]);
  for (let i = 0; i < 50 && !works(); i += 1) sleep(100);
  if (!works()) throw new Error("munged did not start: `munge -n | unmunge` fails");
}

/** Blocks this thread for `ms` (the harnesses wait for daemons between synchronous commands). */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The pid a daemon wrote to its pid file, or null. */
export function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export interface TestClusterOptions {
  /**
   * Adds a partition `urgent` on the same node whose jobs preempt (cancel) jobs of `debug`
   * (PreemptType=preempt/partition_prio, PreemptMode=CANCEL).
   */
  readonly preemption?: boolean;
  /** The cluster's MaxArraySize (Slurm's default 1001: arrays of up to 1001 tasks, ids 0..1000). */
  readonly maxArraySize?: number;
}

/** Starts a private cluster with one node (this machine, all CPUs) and one partition `debug`. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  ensureMunge();
  const dir = mkdtempSync(join(tmpdir(), "maelstrom-slurm-"));
  const host = hostname().split(".")[0] ?? "localhost";
  const cpus = availableParallelism();
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? "2097152");
  // Leave headroom for the machine itself; jobs get DefMemPerCPU unless they ask.
  const realMemoryMb = Math.max(512, Math.floor(memTotalKb / 1024) - 1024);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  for (const sub of ["state", "spool"]) mkdirSync(join(dir, sub));
  const conf = join(dir, "slurm.conf");
  writeFileSync(
    conf,
    [
      "ClusterName=maelstromtest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      "AuthType=auth/munge",
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core_Memory",
      "SlurmUser=root",
      "SlurmdUser=root",
      `StateSaveLocation=${join(dir, "state")}`,
      `SlurmdSpoolDir=${join(dir, "spool")}`,
      `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
      `SlurmdLogFile=${join(dir, "slurmd.log")}`,
      "JobAcctGatherType=jobacct_gather/linux",
      // Sample each job's memory every second and kill it over its --mem, as many clusters without cgroups do.
      "JobAcctGatherFrequency=1",
      "JobAcctGatherParams=OverMemoryKill",
      // A requeued job may start again after 10 s (the default credential lifetime, 120 s, makes it wait 2 min).
      "AuthInfo=cred_expire=10",
      "AccountingStorageType=accounting_storage/none",
      "JobCompType=jobcomp/filetxt",
      `JobCompLoc=${join(dir, "jobcomp.txt")}`,
      // Finished jobs stay known to `scontrol show job` for an hour: accounting comes from there.
      "MinJobAge=3600",
      `MaxArraySize=${options.maxArraySize ?? 1001}`,
      // A job over its time limit is killed 1 s after its SIGTERM (default 30 s).
      "KillWait=1",
      "ReturnToService=2",
      "MpiDefault=none",
      "SwitchType=switch/none",
      "SchedulerType=sched/backfill",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${realMemoryMb} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=60 DefMemPerCPU=${Math.min(1024, Math.floor(realMemoryMb / cpus))} State=UP PriorityTier=1`,
      ...(options.preemption === true
        ? ["PreemptType=preempt/partition_prio", "PreemptMode=CANCEL", `PartitionName=urgent Nodes=${host} MaxTime=60 DefMemPerCPU=256 State=UP PriorityTier=2`]
        : []),
      "",
    ].join("\n"),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const command = (tool: string, ...args: string[]) => sh(tool, args, env);
  const stop = (): void => {
    for (const file of ["slurmd.pid", "slurmctld.pid"]) {
      const pid = readPid(join(dir, file));
      if (pid === null) continue;
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        continue;
      }
      for (let i = 0; i < 50; i += 1) {
        try {
          process.kill(pid, 0);
          sleep(100);
        } catch {
          break;
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const daemon of ["slurmctld", "slurmd"]) {
      const started = command(`/usr/sbin/${daemon}`, "-f", conf);
      if (started.code !== 0) throw new Error(`${daemon} -f ${conf} failed: ${started.stderr}`);
    }
    for (let i = 0; i < 150; i += 1) {
      const states = command("sinfo", "--noheader", "--format=%t").stdout.trim().split("\n");
      if (states.every((state) => state === "idle")) return { conf, env: { SLURM_CONF: conf }, partition: "debug", node: host, command, stop };
      sleep(200);
    }
    const log = (name: string): string => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8").slice(-2000) : "");
    throw new Error(`the private Slurm node did not become idle within 30 s\nslurmctld.log:\n${log("slurmctld.log")}\nslurmd.log:\n${log("slurmd.log")}`);
  } catch (error) {
    stop();
    throw error;
  }
}
