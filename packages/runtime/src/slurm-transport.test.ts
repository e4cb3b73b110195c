import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { InputError } from "@maelstrom/errors";
import { slurmTransport, sshCommand } from "./slurm-transport.js";

describe("the ssh command line of the SSH transport", () => {
  const nasty = ["sbatch", "--chdir=/w/it's a dir", "--output=/w/$(touch /tmp/pwned)/`id`.log", 'a "quoted" word', "semi;colon && |pipe", "new\nline", "", "*"];

  it("is key-based, with the port, key, known hosts and shared connection given, and the command after --", () => {
    const argv = sshCommand(
      { kind: "ssh", host: "login.example.org", port: 2222, user: "ada", identity: "/keys/id 100%", knownHosts: "/keys/known hosts" },
      ["squeue", "--jobs=1,2"],
      "/tmp/maelstrom-ssh-x/control",
    );
    expect(argv).toEqual([
      "ssh",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "ServerAliveCountMax=3",
      "-p",
      "2222",
      "-i",
      "/keys/id 100%%",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      'UserKnownHostsFile="/keys/known hosts"',
      "-o",
      "ControlMaster=auto",
      "-o",
      "ControlPath=/tmp/maelstrom-ssh-x/control",
      "-o",
      "ControlPersist=60",
      "--",
      "ada@login.example.org",
      "'squeue' '--jobs=1,2'",
    ]);
    // Without settings, ssh's own defaults (and ~/.ssh/config) decide port, user and key.
    expect(sshCommand({ kind: "ssh", host: "login" }, ["true"], null)).toEqual([
      "ssh",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "ServerAliveCountMax=3",
      "--",
      "login",
      "'true'",
    ]);
  });

  it("quotes every word so that the remote shell hands Slurm the argv verbatim: spaces, quotes, $(…), backticks, newlines", () => {
    const line = sshCommand({ kind: "ssh", host: "login" }, ["printf", "%s\\0", ...nasty], null).at(-1) ?? "";
    expect(line).toBe(`'printf' '%s\\0' ${nasty.map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ")}`);
    // The login shell parses the line as sshd gives it: `$SHELL -c LINE`.
    const parsed = spawnSync("/bin/sh", ["-c", line], { encoding: "utf8" });
    expect(parsed.status).toBe(0);
    expect(parsed.stdout.split("\0").slice(0, -1)).toEqual(nasty);
  });

  it("is local for old clusters.json files and refuses a transport it does not know", () => {
    expect(slurmTransport("old", undefined)).toBeDefined();
    expect(() => slurmTransport("odd", { kind: "rest" } as never)).toThrow(InputError);
    expect(() => slurmTransport("odd", { kind: "rest" } as never)).toThrow(`cluster 'odd': transport {"kind":"rest"} is not known; expected "local" or { "kind": "ssh", "host": … }`);
  });
});
