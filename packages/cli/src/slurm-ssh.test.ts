import { spawn } from "node:child_process";
import { mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, slurmMissing, startTestCluster, type TestCluster } from "./slurm-test-cluster.js";
import { sshdMissing, startSshServer, type TestSshServer } from "./ssh-test-server.js";
import { addFixtures, cli, cliWithEnv, fixtureWorkspace, json, removeDir, writeFiles } from "./test-support.js";
import type { RunJson, TrainJson } from "./slurm-test-json.js";

const cliPath = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "maelstrom.js");

describe.skipIf(slurmMissing !== null || sshdMissing !== null)("Slurm over SSH: a private sshd in front of a private single-node cluster", () => {
  let cluster: TestCluster;
  let ssh: TestSshServer;
  let parent: string;
  let root: string;
  /**
   * The CLI with a SLURM_CONF that reaches no cluster: only the sshd's SetEnv can point Slurm's
   * commands at the private one, so a step that runs proves its commands went over SSH.
   */
  const run = (...args: string[]) => cliWithEnv(root, { SLURM_CONF: join(parent, "no-such-slurm.conf") }, ...args);
  const runs = (): RunJson[] => json<RunJson[]>(run("runs", "list", "--json"));
  const train = (executor: string) => run("train", "scale", "linear", "--data", "points", "--set", "factor=2", "--executor", executor, "--no-cache", "--json");

  beforeAll(async () => {
    cluster = await startTestCluster();
    ssh = await startSshServer(cluster.env);
    const fixture = fixtureWorkspace();
    // The workspace path holds a space, quotes and $(…): it goes on sbatch's command line, through the remote shell.
    parent = fixture.root;
    root = join(fixture.root, `it's a "ws" $(echo injected)`);
    mkdirSync(root);
    for (const entry of [".maelstrom", "artifacts"]) renameSync(join(fixture.root, entry), join(root, entry));
    addFixtures(root);
    writeFiles(join(root, "artifacts"), {
      "nap/maelstrom.yaml": "kind: dataset\nname: nap\nruntime: shell\ncommand: echo napping; sleep {params.seconds}\nparameters:\n  seconds: { type: int, default: 600 }\nresources: { time: 1m }\n",
    });
    expect(cli(root, "add", join("artifacts", "nap")).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    ssh?.stop();
    cluster?.stop();
    if (parent !== undefined) removeDir(parent);
  });

  it("cluster add --ssh checks what it is given, and cluster list shows the transport", () => {
    expect(run("cluster", "add", "x", "--partition", "debug", "--ssh", "127.0.0.1:ssh").stderr).toContain("--ssh 127.0.0.1:ssh: the port 'ssh' is not a number");
    expect(run("cluster", "add", "x", "--partition", "debug", "--ssh", "127.0.0.1", "--identity", join(parent, "nokey")).stderr).toContain(`--identity ${join(parent, "nokey")}: no such file`);
    expect(run("cluster", "add", "x", "--partition", "debug", "--ssh=-oProxyCommand=x").stderr).toContain("SSH host '-oProxyCommand=x': expected a host name");
    expect(run("cluster", "add", "x", "--partition", "debug", "--identity", ssh.identity).stderr).toContain("--identity and --known-hosts go with --ssh");
    for (const bad of [["--ssh", "127.0.0.1:70000"], ["--ssh", "ro ot@127.0.0.1"]]) expect(run("cluster", "add", "x", "--partition", "debug", ...bad).code).toBe(2);

    const added = run("cluster", "add", "remote", "--partition", cluster.partition, "--ssh", `${ssh.user}@${ssh.host}:${ssh.port}`, "--identity", ssh.identity, "--known-hosts", ssh.knownHosts);
    expect(added.code).toBe(0);
    expect(run("cluster", "list").stdout).toContain(
      `remote: partition debug (transport ssh ${ssh.user}@127.0.0.1:${ssh.port}, identity ${ssh.identity}, known hosts ${ssh.knownHosts})`,
    );
    expect(json<Record<string, { transport: unknown }>>(run("cluster", "list", "--json"))["remote"]?.transport).toEqual({
      kind: "ssh",
      host: "127.0.0.1",
      port: ssh.port,
      user: ssh.user,
      identity: ssh.identity,
      knownHosts: ssh.knownHosts,
    });
  });

  it("an unreachable host: exit 2 naming host:port and ssh's message; no run is recorded, nothing is submitted", async () => {
    const port = await freePort();
    expect(run("cluster", "add", "down", "--partition", "debug", "--ssh", `127.0.0.1:${port}`, "--identity", ssh.identity).code).toBe(0);
    const before = runs().length;
    const refused = train("slurm:down");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`cannot reach the SSH host 127.0.0.1:${port} (cluster 'down'): ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
    expect(runs()).toHaveLength(before);
    expect(cluster.command("squeue", "--noheader", "--states=all").stdout.trim()).toBe("");
  });

  it("a key the login node refuses: exit 2 naming user@host and the key; no run, nothing queued", () => {
    expect(
      run("cluster", "add", "refused", "--partition", "debug", "--ssh", `${ssh.user}@${ssh.host}:${ssh.port}`, "--identity", ssh.refusedIdentity, "--known-hosts", ssh.knownHosts).code,
    ).toBe(0);
    const before = runs().length;
    const refused = train("slurm:refused");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${ssh.user}@127.0.0.1:${ssh.port} refused the SSH key (cluster 'refused'): the identity file ${ssh.refusedIdentity} was refused`);
    expect(refused.stderr).toContain("Permission denied (publickey)");
    expect(runs()).toHaveLength(before);
    expect(cluster.command("squeue", "--noheader", "--states=all").stdout.trim()).toBe("");
    expect(ssh.commands()).toEqual([]);
  });

  it("a login node whose host key is not in known_hosts: exit 2 saying so, nothing submitted", () => {
    // The refused key's public half is no known_hosts entry for the server.
    const args = ["--partition", "debug", "--ssh", `${ssh.user}@${ssh.host}:${ssh.port}`, "--identity", ssh.identity, "--known-hosts", `${ssh.refusedIdentity}.pub`];
    expect(run("cluster", "add", "stranger", ...args).code).toBe(0);
    const refused = train("slurm:stranger");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the host key of 127.0.0.1:${ssh.port} is not known or has changed (cluster 'stranger'): `);
    expect(refused.stderr).toContain("Host key verification failed.");
    expect(refused.stderr).toContain(`add the login node's host key to ${ssh.refusedIdentity}.pub`);
    expect(ssh.commands()).toEqual([]);
  });

  it("trains on Slurm through the SSH transport: jobs placed on the cluster, the weights and outputs equal a local train", () => {
    const remote = json<TrainJson>(train("slurm:remote"));
    expect(remote.run.status).toBe("succeeded");
    const shown = json<RunJson>(run("runs", "show", remote.run.id, "--json"));
    for (const step of shown.steps) {
      const jobId = /^slurm:remote:(\d+)$/.exec(step.placement ?? "")?.[1];
      expect(jobId).toBeDefined();
      expect(step.resources?.scheduler).toMatchObject({ cluster: "remote", jobId, state: "COMPLETED" });
    }
    // Every Slurm command went over SSH, each word quoted once (the workspace path too).
    const commands = ssh.commands();
    expect(commands[0]).toBe("'sinfo' '--version'");
    const submissions = commands.filter((line) => line.startsWith("'sbatch' '--parsable' "));
    expect(submissions).toHaveLength(shown.steps.length);
    expect(submissions[0]).toContain(`'--chdir=${root.replaceAll("'", "'\\''")}/`);
    expect(commands.some((line) => line.startsWith("'squeue' '--noheader'"))).toBe(true);

    const local = json<TrainJson>(run("train", "scale", "linear", "--data", "points", "--set", "factor=2", "--no-cache", "--json"));
    expect(local.run.steps.every((s) => s.placement?.startsWith("local:"))).toBe(true);
    expect(remote.models[0]?.stateDigest).toBe(local.models[0]?.stateDigest);
    expect(remote.run.steps.map((s) => s.outputs)).toEqual(local.run.steps.map((s) => s.outputs));
  }, 180_000);

  /**
   * `run nap` over SSH in the background (its own process group when `detached`, as a terminal's
   * foreground job), until Slurm runs its job: the child, its output so far, its exit, the job id.
   */
  const napOverSsh = async (args: readonly string[], detached: boolean) => {
    const child = spawn(process.execPath, [cliPath, "run", "nap", ...args, "--executor", "slurm:remote"], {
      cwd: root,
      env: { ...process.env, CI: "true", SLURM_CONF: join(parent, "no-such-slurm.conf") },
      stdio: ["ignore", "pipe", "pipe"],
      detached,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let jobId = "";
    for (let i = 0; i < 300 && jobId === ""; i += 1) {
      jobId = cluster.command("squeue", "--noheader", "--states=RUNNING", "--name=nap", "--format=%i").stdout.trim();
      if (jobId === "") await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(jobId).toMatch(/^\d+$/);
    return { child, exited, jobId, stdout: () => stdout, stderr: () => stderr };
  };

  it("the login node out of reach while a job runs (every SSH connection dropped, then back): the run waits it out and succeeds", async () => {
    const nap = await napOverSsh(["--set", "seconds=12", "--no-cache", "--json"], false);
    ssh.drop();
    // Out of reach for longer than a few polls.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    ssh.restart();
    expect(await nap.exited, nap.stderr()).toBe(0);
    const run = json<TrainJson>({ code: 0, stdout: nap.stdout(), stderr: nap.stderr() }).run;
    expect(run.status).toBe("succeeded");
    expect(run.steps[0]?.placement).toBe(`slurm:remote:${nap.jobId}`);
  }, 120_000);

  it("Ctrl-C at a terminal (SIGINT to the whole process group) cancels the run and scancels its job over SSH", async () => {
    // Its own process group: the ssh clients get the SIGINT too, unless kept apart.
    const nap = await napOverSsh([], true);
    // Polls keep going over SSH while the job runs: the signal lands while one may be in flight.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(-(nap.child.pid ?? 0), "SIGINT");
    expect(await nap.exited).toBe(130);
    expect(nap.stderr()).toContain("cancelled");
    expect(ssh.commands()).toContain(`'scancel' '${nap.jobId}'`);
    expect(/JobState=(\S+)/.exec(cluster.command("scontrol", "-o", "show", "job", nap.jobId).stdout)?.[1]).toBe("CANCELLED");
    expect(runs()[0]?.status).toBe("cancelled");
  }, 120_000);
});
