// Slurm: a 1000-point sweep of a trivial command step submitted with `--executor slurm` (its steps go
// out as job arrays) against 1000 single `sbatch --parsable` calls of the same job, as a per-job
// submitter does it; and the scheduler queries per minute the engine makes while 1000 jobs wait,
// against while 10 wait. On a private single-node cluster (the tests' harness) whose node is
// drained, so every job stays pending. Needs root and Debian's slurm-wlm + munge; skips otherwise.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, REPO_DIR, commandOf, factsMarkdown, machineFacts, maelstrom, now, ratio, scratch, seconds, table, updateResults, writeFiles } from "./lib.mjs";

const POINTS = Number(process.env.BENCH_SLURM_POINTS ?? 1000);
const FEW = Number(process.env.BENCH_SLURM_FEW ?? 10);
/** How long the queries are counted, after a warm-up in which the engine's poll interval backs off to its maximum. */
const WINDOW_MS = Number(process.env.BENCH_SLURM_WINDOW_S ?? 60) * 1000;
const WARMUP_MS = 15_000;
const TOOLS = ["sbatch", "squeue", "scontrol", "scancel"];

const hasSnakemake = spawnSync("snakemake", ["--version"], { encoding: "utf8" }).status === 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function missing() {
  if (process.getuid?.() !== 0) return "the private Slurm cluster runs slurmd as root, and this benchmark does not run as root";
  for (const tool of ["slurmctld", "slurmd", "sbatch", "munged"]) {
    if (![`/usr/sbin/${tool}`, `/usr/bin/${tool}`].some((path) => existsSync(path))) return `${tool} is not installed (Debian: apt-get install slurm-wlm munge)`;
  }
  const harness = join(REPO_DIR, "packages", "cli", "dist", "slurm-test-cluster.js");
  if (!existsSync(harness)) return `${harness} is missing: build first with \`npm run build\``;
  return null;
}

/** A `TOOL` first on PATH that runs the real one and appends `TOOL START_NS END_NS` to `log` (a line per call). */
function writeShims(dir, log) {
  mkdirSync(dir, { recursive: true });
  for (const tool of TOOLS) {
    const real = spawnSync("/bin/sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(dir, tool), `#!/bin/sh\nstart=$(date +%s%N)\n'${real}' "$@"\ncode=$?\necho "${tool} $start $(date +%s%N)" >> '${log}'\nexit $code\n`);
    chmodSync(join(dir, tool), 0o755);
  }
}

/** The calls the shims logged: tool, start and end (ms since the epoch). */
function callLog(log) {
  const lines = existsSync(log) ? readFileSync(log, "utf8").split("\n") : [];
  return lines.flatMap((line) => {
    const [tool, start, end] = line.split(" ");
    return tool === undefined || end === undefined ? [] : [{ tool, start: Number(start) / 1e6, end: Number(end) / 1e6 }];
  });
}

/** How many times each Slurm tool was called, from the shims' log. */
function calls(log) {
  const logged = callLog(log);
  return Object.fromEntries(TOOLS.map((tool) => [tool, logged.filter((call) => call.tool === tool).length]));
}

const difference = (after, before) => Object.fromEntries(TOOLS.map((tool) => [tool, after[tool] - before[tool]]));

async function main() {
  const why = missing();
  if (why !== null) {
    console.log(`SKIPPED bench/slurm.mjs: ${why}`);
    return;
  }
  const { startTestCluster } = await import(join(REPO_DIR, "packages", "cli", "dist", "slurm-test-cluster.js"));
  const facts = machineFacts();
  const dir = scratch("slurm");
  const log = join(dir, "calls.log");
  const shims = join(dir, "shims");
  writeShims(shims, log);
  const ws = join(dir, "ws");
  writeFiles(ws, {
    "artifacts/tick/maelstrom.yaml": "kind: dataset\nname: tick\nruntime: shell\ncommand: echo {params.n} > {outputs.data}/n.txt\nparameters:\n  n: { type: int, default: 0 }\n",
  });
  maelstrom(ws, "init");
  maelstrom(ws, "add", join("artifacts", "tick"));

  const cluster = await startTestCluster();
  const engines = [];
  try {
    const env = { ...process.env, ...cluster.env, CI: "true" };
    maelstrom(ws, "cluster", "add", "bench", "--partition", cluster.partition);
    // Drained: the node takes no job, so every job stays PENDING for as long as the benchmark looks.
    const node = cluster.command("sinfo", "--noheader", "--format=%n").stdout.trim();
    const drained = cluster.command("scontrol", "update", `nodename=${node}`, "state=drain", "reason=bench");
    if (drained.code !== 0) throw new Error(`scontrol update nodename=${node} state=drain failed: ${drained.stderr}`);
    const pending = () => cluster.command("squeue", "--noheader", "--array", "--states=PENDING", "--format=%i").stdout.split("\n").filter(Boolean).length;
    const untilPending = async (count, limitMs) => {
      const started = now();
      for (let n = pending(); n < count; n = pending()) {
        if (now() - started > limitMs) throw new Error(`${count} jobs were not all pending within ${limitMs / 1000} s (${pending()} are)`);
        await sleep(100);
      }
    };

    /** A sweep on Slurm in the background: time until all its jobs are pending, the calls it made, queries per minute while they wait, then Ctrl-C. */
    const sweep = async (points) => {
      rmSync(log, { force: true });
      const values = Array.from({ length: points }, (_, i) => i).join(",");
      const startedAt = Date.now();
      const started = now();
      const child = spawn(process.execPath, [CLI, "run", "tick", "--sweep", `n=${values}`, "--executor", "slurm", "--no-cache"], {
        cwd: ws,
        env: { ...env, PATH: `${shims}:${process.env.PATH}` },
        stdio: ["ignore", "ignore", "pipe"],
      });
      engines.push(child);
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk.toString()));
      const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
      await untilPending(points, 600_000);
      const queuedMs = now() - started;
      const submitted = calls(log);
      const sbatches = callLog(log).filter((call) => call.tool === "sbatch");
      const submission = {
        firstMs: Math.min(...sbatches.map((call) => call.start)) - startedAt,
        lastMs: Math.max(...sbatches.map((call) => call.end)) - startedAt,
        inSbatchMs: sbatches.reduce((sum, call) => sum + call.end - call.start, 0),
      };
      await sleep(WARMUP_MS);
      const before = calls(log);
      await sleep(WINDOW_MS);
      const during = difference(calls(log), before);
      const cancelStarted = now();
      child.kill("SIGINT");
      const code = await exited;
      const cancelMs = now() - cancelStarted;
      const left = pending();
      if (code !== 130) throw new Error(`the engine exited ${code} after Ctrl-C, not 130:\n${stderr.slice(-2000)}`);
      if (left !== 0) throw new Error(`${left} jobs are still pending after Ctrl-C`);
      const ended = calls(log);
      return {
        queuedMs,
        sbatch: submitted.sbatch,
        submission,
        perMinute: ((during.squeue + during.scontrol) * 60_000) / WINDOW_MS,
        during,
        cancel: { ms: cancelMs, scancel: ended.scancel - before.scancel },
      };
    };

    console.log(`a ${POINTS}-point sweep with --executor slurm…`);
    const many = await sweep(POINTS);
    console.log(`a ${FEW}-point sweep with --executor slurm…`);
    const few = await sweep(FEW);

    // The peer: one sbatch per job, each waiting for its job id, as a per-job submitter (Snakemake's
    // cluster executor) does; from a shell loop, the cheapest way to make those calls. The script is
    // the job.sh Maelstrom wrote for one step of the sweep.
    const runsDir = join(ws, ".maelstrom", "runs");
    const stepDir = readdirSync(runsDir)
      .map((run) => join(runsDir, run, "tick[n=0]"))
      .find((step) => existsSync(join(step, "job.sh")));
    if (stepDir === undefined) throw new Error(`no job.sh of step tick[n=0] in ${runsDir}`);
    const script = join(stepDir, "job.sh");
    const loop = `i=0; while [ $i -lt ${POINTS} ]; do sbatch --parsable --chdir='${stepDir}' --output='${dir}/peer.log' --error='${dir}/peer.log' --open-mode=append < '${script}' > /dev/null || exit 1; i=$((i + 1)); done`;
    console.log(`${POINTS} single sbatch calls…`);
    const peerStarted = now();
    const peer = spawnSync("/bin/sh", ["-c", loop], { env, encoding: "utf8" });
    if (peer.status !== 0) throw new Error(`the sbatch loop failed: ${peer.stderr.slice(-2000)}`);
    await untilPending(POINTS, 600_000);
    const peerMs = now() - peerStarted;
    cluster.command("scancel", `--partition=${cluster.partition}`);

    // A per-job submitter as it is used: Snakemake's cluster mode, one sbatch per job (when installed).
    let snakemakeMs = null;
    if (hasSnakemake) {
      console.log(`Snakemake --cluster sbatch, ${POINTS} jobs…`);
      const snake = join(dir, "snakemake");
      writeFiles(snake, { Snakefile: `rule all:\n    input: expand("s{i}", i=range(${POINTS}))\nrule step:\n    output: "s{i}"\n    shell: "echo {wildcards.i} > {output}"\n` });
      const snakeStarted = now();
      const child = spawn("snakemake", ["--cluster", `sbatch --parsable --partition=${cluster.partition} --output=${join(snake, "slurm.log")}`, "--jobs", String(POINTS), "--nolock", "--quiet"], {
        cwd: snake,
        env,
        stdio: "ignore",
      });
      engines.push(child);
      await untilPending(POINTS, 1_800_000);
      snakemakeMs = now() - snakeStarted;
      child.kill("SIGKILL");
      cluster.command("scancel", `--partition=${cluster.partition}`);
    }

    const speedUp = peerMs / many.queuedMs;
    const sbatchSpeedUp = peerMs / many.submission.inSbatchMs;
    const constant = many.perMinute <= few.perMinute * 1.5 + 1;
    const body = [
      "## 10. Slurm: submitting a 1000-point sweep, and scheduler queries while jobs wait",
      "",
      factsMarkdown(facts, commandOf("slurm.mjs")),
      `- Cluster: the tests' private single-node Slurm (\`packages/cli/src/slurm-test-cluster.ts\`, Debian ${cluster.command("sbatch", "--version").stdout.trim()}, MaxArraySize=1001), its node drained (\`scontrol update nodename=… state=drain\`) so every job stays PENDING.`,
      `- Method: a command step (\`echo {params.n} > {outputs.data}/n.txt\`) swept over ${POINTS} values, \`maelstrom run tick --sweep n=0,…,${POINTS - 1} --executor slurm --no-cache\` in a fresh workspace;`,
      "  wall time from starting the command (Node start, plan, each step's preparation and job.sh, submission) until `squeue --array --states=PENDING` lists all jobs.",
      `  Slurm commands counted by a shim first on PATH (appends its name to a log, then execs the real one). Peer: ${POINTS} \`sbatch --parsable\` calls of the same job.sh, one after the other from a shell loop`,
      "  (one call per job, as a per-job submitter like Snakemake's cluster executor makes them, minus its own overhead), until squeue lists all of them;",
      `  and Snakemake's cluster mode itself (a wildcard rule of ${POINTS} jobs, \`snakemake --cluster 'sbatch --parsable …' --jobs ${POINTS}\`), until squeue lists all of them.`,
      `  Queries: \`squeue\` + \`scontrol\` calls of the waiting engine in ${WINDOW_MS / 1000} s, counted from ${WARMUP_MS / 1000} s after all its jobs were pending (its poll interval backs off from 0.5 s to 5 s), with ${POINTS} and with ${FEW} jobs waiting; then Ctrl-C.`,
      "",
      table(
        ["Measure", "Value"],
        [
          [`\`sbatch\` calls for the ${POINTS}-point sweep`, `**${many.sbatch}**`],
          [`Sweep on Slurm: start → all ${POINTS} pending`, seconds(many.queuedMs)],
          [`Peer: ${POINTS} single \`sbatch\` → all pending`, seconds(peerMs)],
          ["Speed-up (peer / sweep)", `**${ratio(speedUp)}** (target ≥ 20x: ${speedUp >= 20 ? "met" : "**MISSED**"})`],
          [
            "Where the sweep's time went",
            `first \`sbatch\` at ${seconds(many.submission.firstMs)}, last one returned at ${seconds(many.submission.lastMs)} after the start; ${seconds(many.submission.inSbatchMs)} inside \`sbatch\` (the rest: Node start, plan, each step's preparation)`,
          ],
          ["Time inside `sbatch`: peer / sweep", ratio(sbatchSpeedUp)],
          ...(snakemakeMs === null
            ? [["Snakemake `--cluster sbatch`", "not installed"]]
            : [
                [`Snakemake ${spawnSync("snakemake", ["--version"], { encoding: "utf8" }).stdout.trim()} \`--cluster 'sbatch --parsable …' --jobs ${POINTS}\`, ${POINTS} jobs → all pending`, seconds(snakemakeMs)],
                ["Speed-up (Snakemake / sweep)", ratio(snakemakeMs / many.queuedMs)],
              ]),
          [`Scheduler queries per minute, ${POINTS} jobs pending`, `${many.perMinute.toFixed(1)} (squeue ${many.during.squeue}, scontrol ${many.during.scontrol} in ${WINDOW_MS / 1000} s)`],
          [`Scheduler queries per minute, ${FEW} jobs pending`, `${few.perMinute.toFixed(1)} (squeue ${few.during.squeue}, scontrol ${few.during.scontrol} in ${WINDOW_MS / 1000} s)`],
          ["Queries constant in the number of jobs", constant ? "yes" : "**NO**"],
          [`Ctrl-C with ${POINTS} jobs pending: \`scancel\` calls, time until the engine exited`, `${many.cancel.scancel}, ${seconds(many.cancel.ms)}`],
          [`\`sbatch\` calls for the ${FEW}-point sweep; start → all pending`, `${few.sbatch}; ${seconds(few.queuedMs)}`],
        ],
      ),
    ].join("\n");
    console.log(`\n${body}\n`);
    updateResults("slurm", body);
  } finally {
    for (const child of engines) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    cluster.command("scancel", `--partition=${cluster.partition}`);
    cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
