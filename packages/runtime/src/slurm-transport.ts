/**
 * How Slurm's commands (sbatch, squeue, scontrol, scancel) reach a cluster: run on this machine when
 * it is a login node, or over SSH on a login node. Either way the store is on a filesystem both
 * sides see at the same paths, so no file is copied: job scripts, logs and exit codes are shared.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { shellWord } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";

interface TransportResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How Slurm commands reach the cluster: locally on a login node, or over SSH; a REST transport can implement the same. */
export interface SlurmTransport {
  /** Runs `command` (argv, no shell) with `stdin`, to its end; its exit code is the Slurm command's own. */
  run(command: readonly string[], stdin?: string): Promise<TransportResult>;
  /** Checks, before a run is created, that Slurm's commands can be run; throws an InputError saying what is wrong. */
  check(): Promise<void>;
  /** Releases what the transport holds (an SSH connection); the transport is not used after it. */
  close(): Promise<void>;
}

/** A login node reached with the system's `ssh` client, key-based (`maelstrom cluster add NAME --ssh [user@]host[:port]`). */
export interface SshSettings {
  readonly kind: "ssh";
  /** A host name, an address, or a Host alias of ~/.ssh/config. */
  readonly host: string;
  /** Default: ssh's (22, or the port ~/.ssh/config gives the host). */
  readonly port?: number;
  /** Default: ssh's (this machine's user name, or the User ~/.ssh/config gives the host). */
  readonly user?: string;
  /** The private key to log in with; only this key is offered. Default: ssh's keys and agent. */
  readonly identity?: string;
  /** A known_hosts file holding the login node's host key. Default: ~/.ssh/known_hosts. */
  readonly knownHosts?: string;
}

export type TransportSettings = "local" | SshSettings;

/** Runs `tool args` with `stdin` to its end; a missing tool is an InputError from `missing`. */
function runProcess(tool: string, args: readonly string[], stdin: string | undefined, missing: (error: Error) => InputError): Promise<TransportResult> {
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C at the terminal reaches the engine, which scancels its jobs, and
    // not a Slurm or ssh command in flight (a killed sbatch may leave a job whose id nobody knows).
    const child = spawn(tool, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT" ? missing(error) : error));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
  });
}

/** Slurm commands run on this machine (a login node), with this process's environment (SLURM_CONF too). */
class LocalTransport implements SlurmTransport {
  run(command: readonly string[], stdin?: string): Promise<TransportResult> {
    const [tool, ...args] = command;
    if (tool === undefined) return Promise.reject(new Error("empty Slurm command"));
    return runProcess(
      tool,
      args,
      stdin,
      (cause) =>
        new InputError(`${tool} is not installed on this machine (or not on PATH); the Slurm executor runs Slurm's commands on a login node`, {
          details: { command: tool },
          cause,
        }),
    );
  }

  async check(): Promise<void> {
    const result = await this.run(["sinfo", "--version"]);
    if (result.code !== 0) throw new InputError(`sinfo --version failed on this machine: ${result.stderr.trim() || `exit code ${result.code}`}`, { details: { command: "sinfo" } });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A value of an ssh `-o` option or `-i`: ssh expands `%` tokens in paths, and splits `-o` values at whitespace unless quoted. */
function sshPath(path: string, quote: boolean): string {
  const escaped = path.replaceAll("%", "%%");
  return quote && /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

/** `user@host:port` as messages name it (ssh's defaults filled in). */
function sshWhere(settings: SshSettings): { readonly hostPort: string; readonly login: string } {
  const hostPort = `${settings.host}:${settings.port ?? 22}`;
  return { hostPort, login: `${settings.user ?? userInfo().username}@${hostPort}` };
}

/**
 * The `ssh` command line that runs `command` on the login node. ssh hands the words after the
 * destination to the remote login shell as one line, which that shell parses again: each word is
 * single-quoted so that spaces, quotes, `$(…)` and backticks in paths reach Slurm verbatim.
 * `controlPath` (a socket in a private folder) shares one connection between the commands.
 */
export function sshCommand(settings: SshSettings, command: readonly string[], controlPath: string | null): string[] {
  return [
    "ssh",
    // Key-based only: never a password or passphrase prompt, nor a host-key question.
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    // A connection that silently stops answering (a network gone) ends after 30 s instead of hanging a poll.
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
    ...(settings.port === undefined ? [] : ["-p", String(settings.port)]),
    // Only the configured key is offered, so a refusal means that key.
    ...(settings.identity === undefined ? [] : ["-i", sshPath(settings.identity, false), "-o", "IdentitiesOnly=yes"]),
    ...(settings.knownHosts === undefined ? [] : ["-o", `UserKnownHostsFile=${sshPath(settings.knownHosts, true)}`]),
    ...(controlPath === null ? [] : ["-o", "ControlMaster=auto", "-o", `ControlPath=${sshPath(controlPath, true)}`, "-o", "ControlPersist=60"]),
    "--",
    settings.user === undefined ? settings.host : `${settings.user}@${settings.host}`,
    command.map(shellWord).join(" "),
  ];
}

/** Commands at a time over one connection: sshd's MaxSessions is 10 by default. */
const MAX_SESSIONS = 8;

/**
 * Slurm commands run on a login node with the system's `ssh` client. Exit code 255 is ssh's own
 * failure (host unreachable, key refused, host key unknown): an InputError naming the host, the
 * user and the key, never mistaken for a Slurm command's exit code. Commands share one connection
 * (ControlMaster, a socket in a private temp folder), so a poll does not pay an SSH handshake.
 */
class SshTransport implements SlurmTransport {
  readonly #cluster: string;
  readonly #settings: SshSettings;
  #controlDir: string | null = null;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(cluster: string, settings: SshSettings) {
    this.#cluster = cluster;
    this.#settings = settings;
  }

  async run(command: readonly string[], stdin?: string): Promise<TransportResult> {
    // A finished command hands its slot to the next waiting one, so no more than MAX_SESSIONS run.
    if (this.#active >= MAX_SESSIONS) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#active += 1;
    try {
      this.#controlDir ??= mkdtempSync(join(tmpdir(), "maelstrom-ssh-"));
      const [tool, ...args] = sshCommand(this.#settings, command, join(this.#controlDir, "control"));
      const result = await runProcess(
        tool ?? "ssh",
        args,
        stdin,
        (cause) => new InputError(`ssh is not installed on this machine (or not on PATH); cluster '${this.#cluster}' is reached over SSH`, { details: { cluster: this.#cluster }, cause }),
      );
      if (result.code === 255) throw this.#failure(result.stderr);
      return result;
    } finally {
      const next = this.#queue.shift();
      if (next === undefined) this.#active -= 1;
      else next();
    }
  }

  async check(): Promise<void> {
    const result = await this.run(["sinfo", "--version"]);
    if (result.code === 0) return;
    const { login } = sshWhere(this.#settings);
    throw new InputError(
      result.code === 127
        ? `sinfo is not on the PATH of a non-interactive login to ${login} (cluster '${this.#cluster}'): ${result.stderr.trim()}; Slurm's commands must run there without an interactive shell (put module loads in the login node's ~/.bashrc)`
        : `sinfo --version failed on ${login} (cluster '${this.#cluster}'): ${result.stderr.trim() || `exit code ${result.code}`}`,
      { details: this.#details() },
    );
  }

  async close(): Promise<void> {
    const dir = this.#controlDir;
    if (dir === null) return;
    this.#controlDir = null;
    const [tool, ...args] = sshCommand(this.#settings, [], join(dir, "control"));
    // Stops the shared connection now rather than when ControlPersist expires.
    await runProcess(tool ?? "ssh", ["-O", "exit", ...args.slice(0, -1)], undefined, (cause) => new InputError("ssh is not installed", { cause })).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }

  #details(): Record<string, string | number | null> {
    const s = this.#settings;
    return { cluster: this.#cluster, host: s.host, port: s.port ?? 22, user: s.user ?? null, identity: s.identity ?? null, knownHosts: s.knownHosts ?? null };
  }

  /** ssh's own failure (exit 255) as a message that says which of host, key or host key is wrong. */
  #failure(stderr: string): InputError {
    const s = this.#settings;
    const { hostPort, login } = sshWhere(s);
    // ssh's message, without the warnings it may print before it.
    const said = stderr.trim().split("\n").filter((line) => line.trim() !== "").slice(-3).join(" ") || "ssh exited with code 255";
    const cluster = `cluster '${this.#cluster}'`;
    let message: string;
    if (/Permission denied/.test(said)) {
      const key = s.identity === undefined ? "ssh's default keys and agent (no --identity given)" : `the identity file ${s.identity}`;
      message = `${login} refused the SSH key (${cluster}): ${key} was refused (${said}); add its public key to ~/.ssh/authorized_keys of ${s.user ?? "that user"} on the login node, or give another key with --identity FILE`;
    } else if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/.test(said)) {
      const file = s.knownHosts ?? "~/.ssh/known_hosts";
      message = `the host key of ${hostPort} is not known or has changed (${cluster}): ${said}; add the login node's host key to ${file} (ssh-keyscan -p ${s.port ?? 22} ${s.host} >> ${file}, after checking it) or give one with --known-hosts FILE`;
    } else if (/Connection refused|timed out|Could not resolve|No route to host|Network is unreachable|Name or service not known|Connection closed|Connection reset/.test(said)) {
      message = `cannot reach the SSH host ${hostPort} (${cluster}): ${said}; check the host and port (maelstrom cluster add ${this.#cluster} --partition P --ssh [user@]host[:port]) and that the login node is up`;
    } else {
      message = `SSH to ${login} failed (${cluster}): ${said}`;
    }
    return new InputError(message, { details: this.#details() });
  }
}

/** The transport a cluster's settings name; `local` for clusters written before transports had settings. */
export function slurmTransport(cluster: string, settings: TransportSettings | undefined): SlurmTransport {
  if (settings === undefined || settings === "local") return new LocalTransport();
  if (typeof settings === "object" && settings.kind === "ssh" && typeof settings.host === "string") return new SshTransport(cluster, settings);
  throw new InputError(`cluster '${cluster}': transport ${JSON.stringify(settings)} is not known; expected "local" or { "kind": "ssh", "host": … }`, {
    details: { cluster },
  });
}
