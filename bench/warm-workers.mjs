// Benchmark 6: warm workers against a process per step.
// 200 trivial TS steps (a transform bundled with esbuild as the engine builds it, `apply` returns
// its input) and 200 trivial Python steps (`def apply(bundle, meta): return bundle`) on a 3-row
// bundle, each step once through runStepProcess (a new process per step, as the engine runs steps
// today) and once through a WorkerPool (warm workers; one pool for the whole benchmark, as the
// engine would use one per run), in the same run. Blocks of 25 steps of the four kinds take turns,
// in an order rotated each block, so that load from other processes falls on all of them alike.
// Per step: from the call to its result, spec file and outputs included. Then the shell path:
// `/bin/sh -c true` through runStepProcess against a bare spawnSync loop, the floor of a process per step.
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bundle, readBundle, writeBundle } from "@maelstrom/core";
import { WorkerPool, buildNodeModule, runStepProcess } from "@maelstrom/runtime";
import { machineFacts, median, ms, now, ratio, recordSection, scratch, table } from "./lib.mjs";

// BENCH_STEPS / BENCH_SHELL_STEPS only shorten a trial run; the benchmark and RESULTS.md use 200 and 1000.
const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const SHELL_STEPS = Number(process.env.BENCH_SHELL_STEPS ?? 1000);
const BLOCK = 25;
const SHELL_BLOCK = 100;
const PYTHON = process.env.MAELSTROM_PYTHON || "/usr/bin/python3";

const TS_SOURCE = `import type { Bundle, MetaVariables } from "@maelstrom/sdk";

export function apply(bundle: Bundle, _meta: MetaVariables): Bundle {
  return bundle;
}
`;
const PY_SOURCE = "def apply(bundle, meta):\n    return bundle\n";

/** The two runtimes' code folders: the TS transform bundled as the engine bundles it, the Python one as is. */
async function writeCode(dir) {
  const ts = join(dir, "ts");
  const py = join(dir, "py");
  mkdirSync(ts, { recursive: true });
  mkdirSync(py, { recursive: true });
  writeFileSync(join(ts, "transform.ts"), TS_SOURCE);
  writeFileSync(join(py, "transform.py"), PY_SOURCE);
  const built = join(ts, "transform.mjs");
  await buildNodeModule({ artifact: "bench-noop-ts", sourceDir: ts, entry: "transform.ts", outFile: built, nodePaths: [] });
  return {
    ts: { runner: { kind: "node" }, module: built, cwd: ts },
    py: { runner: { kind: "python", interpreter: PYTHON }, module: join(py, "transform.py"), cwd: py },
  };
}

/** One kind of step (runtime × how it runs): its timings and the processes it ran in. */
function kind(label, code, run) {
  return { label, code, run, times: [], pids: new Set(), count: 0 };
}

/** Runs the next step of `k` and records its time; a failed step ends the benchmark with its log. */
async function step(dir, input, k) {
  const i = k.count++;
  const name = `${k.label.replace(/\W+/g, "-")}-${i}`;
  const options = {
    runner: k.code.runner,
    spec: { call: "transform", artifact: "bench-noop", module: k.code.module, parameters: {}, inputs: { data: input }, outputs: { data: join(dir, "out", name) }, state: null },
    specFile: join(dir, "specs", `${name}.json`),
    logFile: join(dir, "logs", `${name}.log`),
    cwd: k.code.cwd,
    env: { MAELSTROM_ARTIFACT_DIR: k.code.cwd, MAELSTROM_WORKSPACE: dir },
    timeoutMs: null,
    onStart: (pid) => k.pids.add(pid),
  };
  const started = now();
  const result = await k.run(options);
  k.times.push(now() - started);
  if (result.outcome !== "succeeded") {
    const log = spawnSync("tail", ["-n", "20", options.logFile], { encoding: "utf8" }).stdout;
    throw new Error(`${name}: ${result.outcome} (exit ${result.exitCode}): ${result.failure?.message ?? ""}\n${log}`);
  }
  return options.spec.outputs.data;
}

/** Blocks of `block` runs of each of `groups`, in an order rotated each block. */
async function rotating(total, block, groups) {
  for (let b = 0; b * block < total; b++) {
    for (let g = 0; g < groups.length; g++) {
      const group = groups[(b + g) % groups.length];
      for (let i = b * block; i < Math.min(total, (b + 1) * block); i++) await group();
    }
  }
}

/**
 * 1000 × `true`: a bare spawnSync loop, and runStepProcess's shell runner (with its log file,
 * process group, guard); and, timed alone, what the runner must do that the bare loop does not:
 * create the step's log file.
 */
async function shellSteps(dir) {
  const times = { bare: [], step: [], log: [] };
  let n = 0;
  await rotating(SHELL_STEPS, SHELL_BLOCK, [
    async () => {
      const started = now();
      spawnSync("/bin/sh", ["-c", "true"]);
      times.bare.push(now() - started);
    },
    async () => {
      const started = now();
      closeSync(openSync(join(dir, "logs", `alone-${n++}.log`), "a"));
      times.log.push(now() - started);
    },
    async () => {
      const started = now();
      const result = await runStepProcess({ runner: { kind: "shell", command: "true" }, logFile: join(dir, "logs", `shell-${n++}.log`), cwd: dir, timeoutMs: null });
      times.step.push(now() - started);
      if (result.outcome !== "succeeded") throw new Error(`shell step: ${result.outcome} (exit ${result.exitCode})`);
    },
  ]);
  return times;
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
const perStep = (values) => sum(values) / values.length;

async function main() {
  const facts = machineFacts();
  const dir = scratch("warm-workers");
  for (const sub of ["specs", "logs", "out"]) mkdirSync(join(dir, sub));
  const python = spawnSync(PYTHON, ["-c", "import sys, numpy; print(sys.version.split()[0], numpy.__version__)"], { encoding: "utf8" });
  if (python.status !== 0) throw new Error(`${PYTHON} cannot import numpy: ${python.stderr}`);
  const [pythonVersion, numpyVersion] = python.stdout.trim().split(" ");
  console.log(`warm-workers: ${STEPS} TS and ${STEPS} Python steps, one-shot and warm, in ${dir} (Python: ${PYTHON})`);

  const code = await writeCode(dir);
  const source = Bundle.fromTable({ station: ["A", "B", "C"], temp: [1.5, 2.5, 3.5] });
  const input = join(dir, "input");
  await writeBundle(source, input);
  const pool = new WorkerPool();
  const kinds = {
    tsOnce: kind("TS, runStepProcess", code.ts, runStepProcess),
    tsPool: kind("TS, WorkerPool", code.ts, (options) => pool.run(options)),
    pyOnce: kind("Python, runStepProcess", code.py, runStepProcess),
    pyPool: kind("Python, WorkerPool", code.py, (options) => pool.run(options)),
  };
  const last = {};
  const started = now();
  try {
    await rotating(
      STEPS,
      BLOCK,
      Object.entries(kinds).map(([key, k]) => async () => {
        last[key] = await step(dir, input, k);
      }),
    );
  } finally {
    await pool.close();
  }
  const stepsMs = now() - started;
  // Every kind wrote the input back (identity steps): checked on the last output of each.
  for (const [key, out] of Object.entries(last)) {
    const back = await readBundle(out);
    if (JSON.stringify(Array.from(back.variable("temp").data)) !== JSON.stringify([1.5, 2.5, 3.5])) throw new Error(`${key}: the output differs from the input`);
  }
  console.log(`  steps done in ${(stepsMs / 1000).toFixed(1)} s; shell steps next`);
  const shell = await shellSteps(dir);

  const row = (k) => [k.label, ms(perStep(k.times), 2), ms(median(k.times), 2), ms(Math.min(...k.times), 2), ms(k.times[0], 1), String(k.pids.size)];
  const speedup = (once, warm) => `**${ratio(perStep(once.times) / perStep(warm.times))}** (medians: ${ratio(median(once.times) / median(warm.times))})`;
  const summary = table(
    ["Measure", "Value"],
    [
      ["Steps of each kind (identity transform of a 3-row bundle, same run)", `${STEPS} TS + ${STEPS} Python, each through runStepProcess and through one WorkerPool`],
      ["**TS step, speed-up** = runStepProcess ms/step ÷ WorkerPool ms/step", speedup(kinds.tsOnce, kinds.tsPool)],
      ["**Python step, speed-up**", speedup(kinds.pyOnce, kinds.pyPool)],
      ["TS: ms/step, runStepProcess → WorkerPool", `${ms(perStep(kinds.tsOnce.times), 2)} → ${ms(perStep(kinds.tsPool.times), 2)}`],
      ["Python: ms/step, runStepProcess → WorkerPool", `${ms(perStep(kinds.pyOnce.times), 2)} → ${ms(perStep(kinds.pyPool.times), 2)}`],
      ["Interpreter", `${PYTHON} (Python ${pythonVersion}, numpy ${numpyVersion}); node ${process.version}`],
    ],
  );
  const detail = table(["Per step (call to result)", "mean (= total / steps)", "median", "fastest", "first step", "processes"], Object.values(kinds).map(row));
  const shellTable = table(
    [`\`/bin/sh -c true\`, ${SHELL_STEPS} of each, blocks of ${SHELL_BLOCK} taking turns`, "mean", "median", "fastest"],
    [
      ["bare `spawnSync('/bin/sh', ['-c', 'true'])` loop (peer)", ms(perStep(shell.bare), 3), ms(median(shell.bare), 3), ms(Math.min(...shell.bare), 3)],
      ['`runStepProcess({ runner: { kind: "shell", command: "true" }, … })` (log file, process group, guard)', ms(perStep(shell.step), 3), ms(median(shell.step), 3), ms(Math.min(...shell.step), 3)],
      ["**overhead of runStepProcess per shell step** (runStepProcess − bare loop)", `**${ms(perStep(shell.step) - perStep(shell.bare), 3)}**`, ms(median(shell.step) - median(shell.bare), 3), ""],
      ["- of which creating the step's log file (`openSync(new file, \"a\")` + `closeSync`, timed alone in the same blocks)", ms(perStep(shell.log), 3), ms(median(shell.log), 3), ms(Math.min(...shell.log), 3)],
    ],
  );
  console.log(`\n### Warm workers\n\n${summary}\n\n${detail}\n\n${shellTable}\n`);
  recordSection("warm-workers", {
    facts,
    script: "warm-workers.mjs",
    method: [
      `- Method: ${STEPS} steps of each of four kinds in one process: a TS transform (\`apply\` returns its input; bundled once with \`buildNodeModule\`, as the engine builds it)`,
      "  and a Python one (`def apply(bundle, meta): return bundle`), each run through `runStepProcess` (a new process per step) and through one `WorkerPool`",
      `  (warm workers; a worker is retired after 100 steps). Blocks of ${BLOCK} steps of the four kinds take turns in an order rotated each block.`,
      "  A step's time runs from the call to its result: spec file, process or worker hand-over, reading the 3-row input bundle, writing the output bundle, the done event.",
      "  The last output of each kind is checked against the input. The first pool step of each runtime includes starting its worker (column \"first step\").",
      "  The shell rows time the lean shell path of `runStepProcess` (no spec file, no event pipe; a log file, a process group, the guard) against",
      "  a bare `spawnSync` loop, the cost of any process per step; blocks of the three rows take turns as above.",
    ],
    parts: [summary, detail, shellTable],
  });
  rmSync(dir, { recursive: true, force: true });
}

await main();
