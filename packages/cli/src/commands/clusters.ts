import type { Command } from "commander";
import type { Clusters } from "@maelstrom/engine";
import { InputError } from "@maelstrom/errors";
import { print, printJson, withEngine } from "../context.js";

/** `--retries`: a whole number of resubmissions, 0 to 10. */
function retriesOption(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 10) throw new InputError(`--retries ${text}: expected a whole number from 0 to 10`, { details: { option: "--retries", value: text } });
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface AddFlags {
  readonly partition: string;
  readonly account?: string;
  readonly qos?: string;
  readonly constraint?: string;
  readonly time?: string;
  readonly maxTime?: string;
  readonly retries?: string;
  readonly setup: string[];
  readonly python?: string;
  readonly when: string[];
  readonly ssh?: string;
  readonly identity?: string;
  readonly knownHosts?: string;
}

type Transport = Clusters[string]["transport"];

/** `--ssh [user@]host[:port]` (an IPv6 address in brackets when a port follows) with `--identity` and `--known-hosts`. */
function sshTransport(flags: AddFlags): Transport {
  if (flags.ssh === undefined) {
    if (flags.identity !== undefined || flags.knownHosts !== undefined) throw new InputError("--identity and --known-hosts go with --ssh [user@]host[:port]");
    return "local";
  }
  const at = flags.ssh.lastIndexOf("@");
  const user = at < 0 ? undefined : flags.ssh.slice(0, at);
  let host = flags.ssh.slice(at + 1);
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(host);
  if (bracketed !== null) [host, port] = [bracketed[1] ?? "", bracketed[2]];
  else if (host.split(":").length === 2) [host, port] = host.split(":") as [string, string];
  if (port !== undefined && !/^\d+$/.test(port)) throw new InputError(`--ssh ${flags.ssh}: the port '${port}' is not a number; expected [user@]host[:port]`);
  return {
    kind: "ssh",
    host,
    ...(port === undefined ? {} : { port: Number(port) }),
    ...(user === undefined ? {} : { user }),
    ...(flags.identity === undefined ? {} : { identity: flags.identity }),
    ...(flags.knownHosts === undefined ? {} : { knownHosts: flags.knownHosts }),
  };
}

/** How `cluster list` shows a transport. */
function describeTransport(transport: Transport): string {
  if (transport === "local") return "transport local";
  const where = `${transport.user === undefined ? "" : `${transport.user}@`}${transport.host}${transport.port === undefined ? "" : `:${transport.port}`}`;
  return [`transport ssh ${where}`, transport.identity && `identity ${transport.identity}`, transport.knownHosts && `known hosts ${transport.knownHosts}`].filter(Boolean).join(", ");
}

/** `maelstrom cluster add/list/remove`: the Slurm clusters steps go to (a pipeline's `executor:`, `--when` rules, `--executor slurm[:NAME]`). */
export function registerClusterCommands(program: Command): void {
  const cluster = program.command("cluster").description("Slurm clusters that steps can run on (executor: in a pipeline, --when rules, --executor slurm[:NAME])");

  cluster
    .command("add")
    .description("add (or replace) a Slurm cluster; its commands (sbatch, squeue, scancel) run on this machine, a login node, or over SSH on one (--ssh)")
    .argument("<name>", "a name for the cluster")
    .requiredOption("--partition <partition>", "the partition jobs go to")
    .option("--account <account>", "the account jobs are charged to")
    .option("--qos <qos>", "the quality of service of jobs")
    .option("--constraint <features>", "node features jobs need (sbatch --constraint)")
    .option("--time <duration>", "time limit of steps that declare no resources.time, e.g. 1h or 00:30:00")
    .option("--max-time <duration>", "a step that hits its time limit is submitted again with twice the time, up to this (default: not resubmitted)")
    .option("--retries <n>", "how often a step is submitted again after a node failure, preemption, boot failure or time limit (default 2)")
    .option("--setup <line>", "a shell line run before each step, e.g. 'module load Python' (repeatable, in order)", collect, [])
    .option("--python <path>", "Python interpreter for Python steps on the cluster")
    .option(
      "--when <rule>",
      "send steps whose resources match to this cluster, e.g. 'gpus>0', 'cpus>=8 and memory>32GiB', 'time>4h' (fields cpus, memory, gpus, time; repeatable: any rule matching is enough)",
      collect,
      [],
    )
    .option("--ssh <destination>", "run Slurm's commands over SSH on this login node: [user@]host[:port] (key-based; the workspace must be at the same path there)")
    .option("--identity <file>", "with --ssh: the private key to log in with (only this key is offered)")
    .option("--known-hosts <file>", "with --ssh: a known_hosts file with the login node's host key (default ~/.ssh/known_hosts)")
    .action(async (name: string, flags: AddFlags, command: Command) => {
      const settings = {
        partition: flags.partition,
        ...(flags.account === undefined ? {} : { account: flags.account }),
        ...(flags.qos === undefined ? {} : { qos: flags.qos }),
        ...(flags.constraint === undefined ? {} : { constraint: flags.constraint }),
        ...(flags.time === undefined ? {} : { time: flags.time }),
        ...(flags.maxTime === undefined ? {} : { maxTime: flags.maxTime }),
        ...(flags.retries === undefined ? {} : { retries: retriesOption(flags.retries) }),
        ...(flags.setup.length === 0 ? {} : { setup: flags.setup }),
        ...(flags.python === undefined ? {} : { python: flags.python }),
        ...(flags.when.length === 0 ? {} : { when: flags.when }),
        transport: sshTransport(flags),
      };
      const added = await withEngine(command, (engine) => engine.addCluster(name, settings));
      const rules = flags.when.length === 0 ? "" : `; steps matching ${flags.when.map((rule) => `'${rule}'`).join(" or ")} go to it`;
      print(`cluster ${name} added: partition ${added.partition}, ${describeTransport(added.transport)}${rules}; use it with --executor slurm:${name} or executor: slurm:${name} in a pipeline`);
    });

  cluster
    .command("list")
    .description("list the configured clusters")
    .option("--json", "print the clusters as JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const clusters = await withEngine(command, (engine) => engine.listClusters());
      if (flags.json === true) return printJson(clusters);
      const entries = Object.entries(clusters);
      if (entries.length === 0) print("no clusters; add one with maelstrom cluster add NAME --partition P");
      for (const [name, c] of entries) {
        const extras = [c.account && `account ${c.account}`, c.qos && `qos ${c.qos}`, c.constraint && `constraint ${c.constraint}`, c.time && `time ${c.time}`, c.maxTime && `max time ${c.maxTime}`, c.retries !== undefined && `retries ${c.retries}`, c.python && `python ${c.python}`];
        print(`${name}: partition ${c.partition}${extras.filter(Boolean).map((e) => `, ${String(e)}`).join("")} (${describeTransport(c.transport)})`);
        for (const line of c.setup ?? []) print(`  setup: ${line}`);
        for (const rule of c.when ?? []) print(`  when: ${rule}`);
      }
    });

  cluster
    .command("remove")
    .description("remove a configured cluster")
    .argument("<name>", "the cluster's name")
    .action(async (name: string, _flags: unknown, command: Command) => {
      await withEngine(command, (engine) => engine.removeCluster(name));
      print(`cluster ${name} removed`);
    });
}
