/**
 * A private `sshd` on a free loopback port for tests of the SSH transport: a temp folder with a
 * generated host key, a generated client key in its own authorized_keys, a known_hosts file for
 * the client, and an sshd_config whose `SetEnv` points remote commands at the test cluster's
 * slurm.conf. Every command that arrives is appended to a log by an authorized_keys `command=`
 * wrapper, so a test can prove what went over SSH. Stopped by pid. Used by the tests beside this file only.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { freePort, readPid, sleep } from "./slurm-test-cluster.js";

const SSHD = "/usr/sbin/sshd";

/** Why a private sshd cannot be started here, or null when it can. */
function missingSshd(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (Debian: apt-get install openssh-server)`;
  for (const tool of ["ssh", "ssh-keygen"]) {
    if (spawnSync(tool, ["-V"]).error !== undefined) return `${tool} is not installed (Debian: apt-get install openssh-client)`;
  }
  if (process.getuid?.() !== 0) return "the private sshd logs in as the user running the tests, which needs root here (sshd runs without privilege separation otherwise)";
  return null;
}

export const sshdMissing = missingSshd();

if (sshdMissing !== null) {
  console.warn(`SKIPPED SSH transport tests: ${sshdMissing}`);
  // Under CI's MAELSTROM_REQUIRE_INTEGRATION=1 a skip is a failure.
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("the SSH transport tests can run", () => {
    throw new Error(`MAELSTROM_REQUIRE_INTEGRATION=1 but ${sshdMissing}`);
  });
}

export interface TestSshServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key authorized_keys accepts. */
  readonly identity: string;
  /** A private key the server does not accept. */
  readonly refusedIdentity: string;
  /** known_hosts with the server's host key. */
  readonly knownHosts: string;
  /** The commands the server ran, in order (SSH_ORIGINAL_COMMAND). */
  readonly commands: () => string[];
  /** The login node goes away: sshd and every connection it serves end (until `restart`). */
  readonly drop: () => void;
  /** sshd listens again, on the same port with the same keys. */
  readonly restart: () => void;
  readonly stop: () => void;
}

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr ?? String(result.error)}`);
  return result.stdout;
}

/** Starts sshd on 127.0.0.1 (a free port); remote commands get `env` (e.g. SLURM_CONF) through SetEnv. */
export async function startSshServer(env: Readonly<Record<string, string>>): Promise<TestSshServer> {
  const dir = mkdtempSync(join(tmpdir(), "maelstrom-sshd-"));
  const port = await freePort();
  const key = (name: string): string => {
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `maelstrom-test-${name}`, "-f", join(dir, name)]);
    return join(dir, name);
  };
  const hostKey = key("host_key");
  const identity = key("client_key");
  const refusedIdentity = key("refused_key");
  const log = join(dir, "commands.log");
  // The wrapper logs the command and runs it as the login shell would have.
  const wrapper = join(dir, "log-command.sh");
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> '${log}'\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n`);
  chmodSync(wrapper, 0o755);
  const authorized = join(dir, "authorized_keys");
  writeFileSync(authorized, `command="${wrapper}" ${readFileSync(`${identity}.pub`, "utf8")}`);
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8")}`);
  const pidFile = join(dir, "sshd.pid");
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorized}`,
      // The temp folder is not owned the way sshd insists on for ~/.ssh.
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "LogLevel VERBOSE",
      ...Object.entries(env).map(([name, value]) => `SetEnv ${name}=${value}`),
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  const end = (pid: number, signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
      for (let i = 0; i < 50; i += 1) {
        process.kill(pid, 0);
        sleep(100);
      }
    } catch {
      // Gone.
    }
  };
  const drop = (): void => {
    const pid = readPid(pidFile);
    if (pid === null) return;
    // The sshd serving each connection is a child of the listening one.
    const children = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
    end(pid, "SIGTERM");
    for (const child of children) end(child, "SIGKILL");
    rmSync(pidFile, { force: true });
  };
  const stop = (): void => {
    const pid = readPid(pidFile);
    if (pid !== null) end(pid, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  const user = run("id", ["-un"]).trim();
  /** Starts sshd (without -D it forks into the background once listening and writes its PidFile); true once a login works. */
  const listen = (): boolean => {
    run(SSHD, ["-f", config, "-E", join(dir, "sshd.log")]);
    for (let i = 0; i < 100; i += 1) {
      const probe = spawnSync("ssh", ["-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-i", identity, "-p", String(port), `${user}@127.0.0.1`, "true"], { timeout: 10_000 });
      if (probe.status === 0 && readPid(pidFile) !== null) return true;
      sleep(100);
    }
    return false;
  };
  try {
    if (listen()) {
      rmSync(log, { force: true });
      return {
        host: "127.0.0.1",
        port,
        user,
        identity,
        refusedIdentity,
        knownHosts,
        commands: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(0, -1) : []),
        drop,
        restart: () => {
          if (!listen()) throw new Error("the private sshd did not accept a login within 10 s of its restart");
        },
        stop,
      };
    }
    throw new Error(`the private sshd did not accept a login within 10 s:\n${existsSync(join(dir, "sshd.log")) ? readFileSync(join(dir, "sshd.log"), "utf8").slice(-2000) : ""}`);
  } catch (error) {
    stop();
    throw error;
  }
}
