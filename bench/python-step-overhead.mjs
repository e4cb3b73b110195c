// Benchmark 4: engine overhead per Python step.
// A train run of 100 trivial Python steps (99 identity transforms `def apply(bundle, meta): return
// bundle`, then a model whose train returns ({}, {"ok": 1.0})) on a 3-row CSV, timed end to end;
// per step against the interpreter's own start-up measured in the same run: a bare
// `python3 -c pass` and `python3 -c "import numpy"` (the runner cannot run without numpy).
// Target: under 10 ms of engine time per step beyond interpreter start (steady state: the second
// run). Then where the time goes: the runner process alone, what its imports cost (process
// variants and `python3 -X importtime`), the runner's phases timed inside the process (spec,
// module, read_bundle, the user call, write_bundle, environment(), events), the engine's work
// between two step processes (output putTree, DB writes); and two prototypes of a fix, applied by
// a wrapper script at run time (Maelstrom's code is not changed), timed in the same rounds.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { EVENT_FD_ENV } from "@maelstrom/core";
import { REPO_DIR, breakdownRows, engineSideCosts, engineSideRows, machineFacts, median, ms, now, optional, ratio, recordSection, scratch, stepStats, table, timeSpawn, trainTwice, writeStepArtifacts } from "./lib.mjs";

// BENCH_STEPS only shortens a trial run of this script; the benchmark and RESULTS.md use 100.
const STEPS = Number(process.env.BENCH_STEPS ?? 100);
const TARGET_MS = 10;
/** The interpreter: the engine takes it from MAELSTROM_PYTHON (read when a run is planned), the peers use the same. */
const PYTHON = process.env.MAELSTROM_PYTHON || "/usr/bin/python3";
process.env.MAELSTROM_PYTHON = PYTHON;
const PYTHON_DIR = join(REPO_DIR, "python");
/** The transform step whose spec, database row and output the breakdown reuses (position, 0-based). */
const MIDDLE = Math.floor(STEPS / 2);
const PEER_SPAWNS = 30; // of each peer; half before the trains, half after, interleaved
const PROCESS_ROUNDS = 15;
const IMPORTTIME_RUNS = 5;
const STORE_ROUNDS = 20;
const DB_ROUNDS = 50;
const TRANSFORM = "bench-py-noop-transform";
const MODEL = "bench-py-noop-model";

function writeArtifacts(dir) {
  return writeStepArtifacts(dir, {
    runtime: "python",
    transform: { name: TRANSFORM, entry: "transform.py", source: "def apply(bundle, meta):\n    return bundle\n" },
    model: { name: MODEL, entry: "model.py", source: 'def train(bundle, meta):\n    return {}, {"ok": 1.0}\n\n\ndef apply(model, bundle):\n    return bundle\n' },
  });
}

/**
 * Runs the runner in this process with its phases timed, then exits as the runner does. Modes:
 * "probe" as Maelstrom runs it; "fix1" environment() no longer looks up distributions (with
 * importlib.metadata) for modules that have no file (numpy's `cython_runtime`); "fix2" the same,
 * and `asyncio` imported only when a step returns an awaitable. Usage: wrapper.py MODE SPEC OUT.
 */
const WRAPPER = String.raw`import os, sys, time, json, types, importlib
T = time.perf_counter
t0 = T()
mode, spec, out = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "fix2":
    class _LazyAsyncio(types.ModuleType):
        def __getattr__(self, name):
            del sys.modules["asyncio"]
            return getattr(importlib.import_module("asyncio"), name)
    sys.modules["asyncio"] = _LazyAsyncio("asyncio")
import maelstrom.runner as r
from maelstrom import events
import maelstrom
t1 = T()
phases = {"imports": (t1 - t0) * 1000}
if mode in ("fix1", "fix2"):
    original = r._version_of
    def _version_of(name, module=None):
        if module is not None and getattr(module, "__file__", None) is None and getattr(module, "__path__", None) is None and getattr(module, "__version__", None) is None:
            return None
        return original(name, module)
    r._version_of = _version_of
def timed(name, fn):
    def wrapper(*args, **kwargs):
        started = T()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0) + (T() - started) * 1000
    return wrapper
for name in ("_read_spec", "_watch_engine", "_load_module", "_call", "environment", "_save_model"):
    setattr(r, name, timed(name, getattr(r, name)))
maelstrom.read_bundle = timed("read_bundle", maelstrom.read_bundle)
maelstrom.write_bundle = timed("write_bundle", maelstrom.write_bundle)
events.emit = timed("emit", events.emit)
def _exit(code):
    phases["main"] = (T() - t1) * 1000
    phases["numpyImported"] = "numpy" in sys.modules
    with open(out, "w") as f:
        json.dump(phases, f)
    sys.stdout.flush()
    os._exit(code)
r._exit = _exit
r.main([spec])
`;

/**
 * Prototype 3, a fork server: one interpreter imports the runner (numpy included) and warms
 * environment()'s distribution cache once, then forks a child per step that runs the unchanged
 * main(spec). Reads spec paths on stdin, answers each with the child's exit code on stdout.
 */
const FORK_SERVER = String.raw`import os, sys
import maelstrom.runner as r
r.environment(None)
sys.stdout.write("ready\n")
sys.stdout.flush()
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        r.main([line.strip()])
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n")
    sys.stdout.flush()
`;

/** Starts the fork server; `step(spec)` resolves with the round trip in ms (request to the child's exit). */
async function startForkServer(dir, env, cwd) {
  const script = join(dir, "fork-server.py");
  writeFileSync(script, FORK_SERVER);
  const child = spawn(PYTHON, ["-u", script], { cwd, env, stdio: ["pipe", "pipe", "pipe", "pipe"] });
  child.stdio[3].resume();
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const ready = await next();
  if (ready !== "ready") throw new Error(`fork server: ${ready} ${stderr}`);
  return {
    async step(spec) {
      const answer = next();
      const started = now();
      child.stdin.write(`${spec}\n`);
      const code = await answer;
      const elapsed = now() - started;
      if (code !== "0") throw new Error(`fork server child exited with ${code}: ${stderr.slice(-500)}`);
      return elapsed;
    },
    close() {
      child.stdin.end();
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on("close", resolve)));
    },
  };
}

const peerEnv = { ...process.env, PYTHONPATH: PYTHON_DIR };
/** numpy imported, then the exit the runner makes (os._exit: no interpreter teardown, which costs a few ms once numpy is loaded). */
const NUMPY_EXIT = "import numpy, os; os._exit(0)";

/** The two peers, alternating. */
async function peers(count, into) {
  for (let i = 0; i < count; i++) {
    into.bare.push(await timeSpawn(PYTHON, ["-c", "pass"], { env: peerEnv }));
    into.numpy.push(await timeSpawn(PYTHON, ["-c", "import numpy"], { env: peerEnv }));
    into.numpyExit.push(await timeSpawn(PYTHON, ["-c", NUMPY_EXIT], { env: peerEnv }));
  }
}

/** A step's spec from the run, rewritten to a fresh output folder per use. */
function specFactory(dir, ws, runId) {
  const stepId = `${TRANSFORM}-${MIDDLE + 1}`;
  const spec = JSON.parse(readFileSync(join(ws, ".maelstrom", "runs", runId, stepId, "spec.json"), "utf8"));
  let next = 0;
  return {
    spec,
    fresh() {
      const i = next++;
      const file = join(dir, "specs", `spec-${i}.json`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...spec, outputs: { data: join(dir, "outputs", String(i)) } }));
      return file;
    },
  };
}

/** The step process alone and its pieces; rounds interleave the variants. */
async function processBreakdown(dir, specs) {
  const wrapper = join(dir, "wrapper.py");
  writeFileSync(wrapper, WRAPPER);
  // As the engine starts a step (step-process.ts): PYTHONPATH, events on fd 3, the engine's pid, cwd the code checkout.
  const env = { ...process.env, PYTHONPATH: PYTHON_DIR, [EVENT_FD_ENV]: "3", MAELSTROM_ENGINE_PID: String(process.pid) };
  const cwd = dirname(specs.spec.module);
  const phases = { probe: [], fix1: [], fix2: [] };
  let nextOut = 0;
  const wrapped = async (mode) => {
    const out = join(dir, `phases-${nextOut++}.json`);
    const wall = await timeSpawn(PYTHON, ["-u", wrapper, mode, specs.fresh(), out], { fd3: true, env, cwd });
    phases[mode].push(JSON.parse(readFileSync(out, "utf8")));
    return wall;
  };
  const variants = {
    bare: () => timeSpawn(PYTHON, ["-c", "pass"], { env: peerEnv }),
    numpy: () => timeSpawn(PYTHON, ["-c", "import numpy"], { env: peerEnv }),
    numpyExit: () => timeSpawn(PYTHON, ["-c", NUMPY_EXIT], { env: peerEnv }),
    pkg: () => timeSpawn(PYTHON, ["-c", "import maelstrom, os; os._exit(0)"], { env: peerEnv }),
    runnerImport: () => timeSpawn(PYTHON, ["-c", "import maelstrom.runner, os; os._exit(0)"], { env: peerEnv }),
    runner: () => timeSpawn(PYTHON, ["-u", "-m", "maelstrom.runner", specs.fresh()], { fd3: true, env, cwd }),
    probe: () => wrapped("probe"),
    fix1: () => wrapped("fix1"),
    fix2: () => wrapped("fix2"),
    forkServer: () => server.step(specs.fresh()),
  };
  const server = await startForkServer(dir, env, cwd);
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  try {
    for (let round = 0; round < PROCESS_ROUNDS; round++) {
      for (const [name, run] of Object.entries(variants)) times[name].push(await run());
    }
  } finally {
    await server.close();
  }
  return { times, phases };
}

/** `python3 -X importtime -u -m maelstrom.runner spec`: the imports of a real step, in ms, per top-level module (medians over runs). */
async function importTimes(dir, specs) {
  const env = { ...process.env, PYTHONPATH: PYTHON_DIR, [EVENT_FD_ENV]: "3", MAELSTROM_ENGINE_PID: String(process.pid) };
  const cwd = dirname(specs.spec.module);
  const runs = [];
  for (let i = 0; i < IMPORTTIME_RUNS; i++) {
    const stderr = await new Promise((resolve, reject) => {
      const child = spawn(PYTHON, ["-X", "importtime", "-u", "-m", "maelstrom.runner", specs.fresh()], { cwd, env, stdio: ["pipe", "ignore", "pipe", "pipe"] });
      let text = "";
      child.stderr.on("data", (chunk) => (text += chunk));
      child.stdio[3].resume();
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`importtime run exited with ${code}: ${text.slice(-500)}`))));
    });
    const entries = {};
    for (const line of stderr.split("\n")) {
      const match = /^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$/.exec(line);
      if (match === null) continue;
      const [, , cumulative, indent, name] = match;
      // Top-level imports (one space of indent), and numpy wherever it sits in the tree.
      if (indent.length === 1 || name === "numpy") entries[name] = (entries[name] ?? 0) + Number(cumulative) / 1000;
    }
    runs.push(entries);
  }
  const names = new Set(runs.flatMap((r) => Object.keys(r)));
  const medians = Object.fromEntries([...names].map((n) => [n, median(runs.map((r) => r[n] ?? 0))]));
  return medians;
}

async function main() {
  const facts = machineFacts();
  const dir = scratch("python-step-overhead");
  const ws = join(dir, "workspace");
  const files = writeArtifacts(dir);
  const version = await new Promise((resolve) => {
    const child = spawn(PYTHON, ["-c", "import sys, numpy; print(sys.version.split()[0], numpy.__version__)"], { stdio: ["ignore", "pipe", "ignore"] });
    let text = "";
    child.stdout.on("data", (c) => (text += c));
    child.on("close", () => resolve(text.trim().split(" ")));
  });
  console.log(`python-step-overhead: ${STEPS} trivial Python steps per train run (${PYTHON}, Python ${version[0]}, numpy ${version[1]}), workspace ${ws}`);

  const peer = { bare: [], numpy: [], numpyExit: [] };
  await peers(PEER_SPAWNS / 2, peer);
  const { first, second } = await trainTwice(ws, files, { steps: STEPS, transform: TRANSFORM, model: MODEL });
  await peers(PEER_SPAWNS / 2, peer);
  const bareMs = median(peer.bare);
  const numpyMs = median(peer.numpy);

  const numpyExitMs = median(peer.numpyExit);
  const perStep = second.totalMs / STEPS;
  const overBare = perStep - bareMs;
  const overNumpy = perStep - numpyMs;

  console.log("  breakdown: the runner alone, its imports and phases, putTree, DB writes …");
  const specs = await optional("step spec", async () => specFactory(dir, ws, second.runId), null);
  const proc = specs === null ? { times: {}, phases: { probe: [], fix1: [], fix2: [] } } : await optional("step process alone", () => processBreakdown(dir, specs), { times: {}, phases: { probe: [], fix1: [], fix2: [] } });
  const imports = specs === null ? {} : await optional("importtime", () => importTimes(dir, specs), {});
  const { db, putTree } = await engineSideCosts(dir, ws, second.runId, { position: MIDDLE, storeRounds: STORE_ROUNDS, dbRounds: DB_ROUNDS, environment: true });

  const { durations, processes, engineSide, stepMs, runLevelMs } = stepStats(second, STEPS);
  const metBare = overBare < TARGET_MS;
  const metNumpy = overNumpy < TARGET_MS;
  const verdict = (met) => `target < ${TARGET_MS} ms: **${met ? "MET" : "MISSED"}**`;

  const summary = table(
    ["Measure", "Value"],
    [
      ["Steps per train run", `${STEPS} (${STEPS - 1} identity transforms + 1 model train), interpreter ${PYTHON} (Python ${version[0]}, numpy ${version[1]})`],
      ["First train (probes the interpreter, imports the CSV)", `${(first.totalMs / 1000).toFixed(2)} s = ${ms(first.totalMs / STEPS)}/step`],
      ["Second train, steady state", `${(second.totalMs / 1000).toFixed(2)} s = ${ms(perStep)}/step`],
      [`Interpreter start, bare: \`${PYTHON} -c pass\` (peer, median of ${PEER_SPAWNS}, same run)`, `${ms(bareMs)} (fastest ${ms(Math.min(...peer.bare))})`],
      [`Interpreter start with numpy: \`${PYTHON} -c "import numpy"\` (peer, median of ${PEER_SPAWNS}, same run)`, `${ms(numpyMs)} (fastest ${ms(Math.min(...peer.numpy))})`],
      [`**Engine overhead per step beyond bare interpreter start** (second train / ${STEPS} − bare python)`, `**${ms(overBare)}** (${verdict(metBare)})`],
      [`Interpreter start with numpy, ending as the runner ends: \`${PYTHON} -c "${NUMPY_EXIT}"\` (peer, median of ${PEER_SPAWNS})`, `${ms(numpyExitMs)} (fastest ${ms(Math.min(...peer.numpyExit))})`],
      [`**Engine overhead per step beyond interpreter + numpy import** (second train / ${STEPS} − python with numpy)`, `**${ms(overNumpy)}** (${verdict(metNumpy)})`],
      ["Same, against the numpy peer that exits with os._exit as the runner does (no interpreter teardown)", `${ms(perStep - numpyExitMs)} (${verdict(perStep - numpyExitMs < TARGET_MS).replaceAll("*", "")})`],
      ["Same two, from medians (median step − median peer), robust to stalls caused by other processes", `${ms(stepMs - bareMs)} / ${ms(stepMs - numpyMs)}`],
      ["Same two, from the fastest samples (fastest step − fastest peer), closest to an idle machine", `${ms(Math.min(...durations) - Math.min(...peer.bare))} / ${ms(Math.min(...durations) - Math.min(...peer.numpy))}`],
      ["Per-step time / bare python, / python with numpy", `${ratio(perStep / bareMs)} / ${ratio(perStep / numpyMs)}`],
      ["First − second train (difference of two ~15 s runs: mostly noise from other processes)", ms(first.totalMs - second.totalMs, 0)],
    ],
  );

  const { cell, fastest, pct, line } = breakdownRows(stepMs);
  const diff = (label, a, b, share = false) => {
    if (a === undefined || b === undefined || a.length === 0 || b.length === 0) return [label, "n/a", "", ""];
    const value = median(a) - median(b);
    return [label, value.toFixed(1), "", share ? pct(value) : ""];
  };
  const t = proc.times;
  const phase = (mode, name) => proc.phases[mode].map((p) => p[name] ?? 0);
  const phaseLine = (label, name, mode = "probe") => line(label, phase(mode, name), false);
  const importMs = (name) => (imports[name] === undefined ? "n/a" : imports[name].toFixed(1));
  const topImports = Object.entries(imports)
    .filter(([name]) => name !== "numpy")
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  const breakdown = table(
    [`Per step, steady state (over the ${STEPS - 1} transform steps, or N runs alone)`, "median ms", "fastest ms", "share of a step (median)"],
    [
      line("Step duration (one step start to the next)", durations),
      line("- step process, spawn to exit, as the engine timed it", processes),
      line(`  - of which a bare \`python3 -c pass\` (peer, ${PEER_SPAWNS} runs)`, peer.bare),
      ["  - of which numpy's import (peers: python with numpy ending with os._exit − bare python)", (numpyExitMs - bareMs).toFixed(1), "", pct(numpyExitMs - bareMs)],
      ["  - of which the rest of the runner's start-up and work (process − that numpy peer)", (median(processes) - numpyExitMs).toFixed(1), "", pct(median(processes) - numpyExitMs)],
      line(`- the same step process alone, outside the engine (\`python3 -u -m maelstrom.runner spec.json\`, ${PROCESS_ROUNDS} runs)`, t.runner, false),
      line("  - `python3 -c pass`, in these same interleaved rounds", t.bare, false),
      line("  - `python3 -c \"import numpy\"`", t.numpy, false),
      line(`  - \`python3 -c "${NUMPY_EXIT}"\``, t.numpyExit, false),
      line("  - `python3 -c \"import maelstrom, os; os._exit(0)\"` (the package: numpy, then Bundle, Zarr, events, meta)", t.pkg, false),
      line("  - `python3 -c \"import maelstrom.runner, os; os._exit(0)\"` (the package and the runner's own imports)", t.runnerImport, false),
      diff("    - the package beyond numpy (the two os._exit rows above: import maelstrom − import numpy)", t.pkg, t.numpyExit),
      diff("    - the runner module's own imports (import maelstrom.runner − import maelstrom)", t.runnerImport, t.pkg),
      diff("    - the runner's work after its imports (runner − import maelstrom.runner)", t.runner, t.runnerImport),
      [`  - inside the runner, timed in the process (wrapper script, ${PROCESS_ROUNDS} runs): all imports`, cell(phase("probe", "imports")), fastest(phase("probe", "imports")), ""],
      phaseLine("    - main(), from after the imports to the exit call", "main"),
      line("      - read the spec, start the watchdog thread", proc.phases.probe.map((p) => (p._read_spec ?? 0) + (p._watch_engine ?? 0)), false),
      phaseLine("      - load the step's module (transform.py)", "_load_module"),
      phaseLine("      - read_bundle of the input (3-row table: 2 variables)", "read_bundle"),
      phaseLine("      - the user's apply(bundle, meta)", "_call"),
      phaseLine("      - write_bundle of the output (creates 9 files, 3 folders)", "write_bundle"),
      phaseLine("      - environment(): versions of the imported packages for provenance", "environment"),
      phaseLine("      - emit the done event (fd 3)", "emit"),
      [`  - \`-X importtime\` of a real step (${IMPORTTIME_RUNS} runs, cumulative ms): numpy`, importMs("numpy"), "", ""],
      ...topImports.map(([name, value]) => [`    - top-level import \`${name}\`${name === "maelstrom" ? " (numpy included)" : name === "importlib.metadata" ? " (imported by environment())" : name === "site" ? " (interpreter start-up, also in the peers)" : ""}`, value.toFixed(1), "", ""]),
      line("  - prototype fix 1: environment() skips modules without a file (numpy's `cython_runtime`), so no importlib.metadata", t.fix1, false),
      phaseLine("    - its environment()", "environment", "fix1"),
      line("  - prototype fix 2: same, and `asyncio` imported only for an async step function", t.fix2, false),
      phaseLine("    - its imports, timed in the process", "imports", "fix2"),
      line("  - the unchanged runner through the same wrapper script (phase timing, for comparison with the prototypes)", t.probe, false),
      line("  - prototype fix 3: a fork server (one interpreter with the runner and numpy imported forks a child per step; request to the child's exit)", t.forkServer, false),
      ...engineSideRows(line, { engineSide, putTree, db, runLevelMs, storeRounds: STORE_ROUNDS, dbRounds: DB_ROUNDS }, {
        rest: "mkdir/rm, checkouts, spec and log files, spawn, fd-3 events, GC",
        runLevel: `Run-level work per step (resolve refs, interpreter choice, CSV import, plan, model registration, stalls): total/${STEPS} − mean step duration`,
      }),
    ],
  );

  const envNote = db.environment === null ? "" : ` The environment each step records: \`${typeof db.environment === "string" ? db.environment : JSON.stringify(db.environment)}\`.`;
  console.log(`\n### Engine overhead per Python step\n\n${summary}\n\n${breakdown}\n`);
  recordSection("python-step-overhead", {
    facts,
    script: "python-step-overhead.mjs",
    method: [
      `- Method: a fresh workspace; a Python transform (\`def apply(bundle, meta): return bundle\`) and a Python model (\`train\` returns \`({}, {"ok": 1.0})\`, pickled),`,
      `  a 3-row CSV as data; \`engine.train({ steps: [${STEPS - 1} × transform, model], data })\` timed around the call, twice in the same engine; the target uses the second.`,
      `  Interpreter: MAELSTROM_PYTHON=${PYTHON}; the engine starts each step as \`${PYTHON} -u -m maelstrom.runner spec.json\` with PYTHONPATH=python/.`,
      `  "Interpreter start" has two readings, both reported: the bare interpreter (\`python3 -c pass\`), and the interpreter plus \`import numpy\`,`,
      "  which the runner needs for every step (it moves all data through numpy) and which no change to Maelstrom's own code can avoid in a fresh process.",
      `  Peers: each spawned ${PEER_SPAWNS} times (half before, half after the trains, alternating), median. Step durations from the engine's step-started / step-finished events.`,
      "  The breakdown times pieces alone: the runner on a copy of a step's spec, interpreters that only import parts of it, the same runner through a",
      "  wrapper script that times its phases in the process, `-X importtime` of a real step, putTree and the step's DB writes on the same workspace.",
      "  The \"prototype fix\" rows are what the suggested changes would give, not what Maelstrom runs: fixes 1 and 2 run the unchanged runner through that wrapper",
      "  with a function replaced at run time (fix 1: `_version_of` returns None for a module with no `__file__`, `__path__` or `__version__`; fix 2: also a stand-in",
      "  `asyncio` module that imports the real one on first use); fix 3 is a fork server defined here: one interpreter that imported `maelstrom.runner` and called",
      "  `environment()` once forks a child per step, which runs the unchanged `main(spec)`; timed from the request on its stdin to the child's exit code on its stdout." +
        envNote,
    ],
    parts: [summary, "Where the time goes:", breakdown],
  });
  rmSync(dir, { recursive: true, force: true });
}

await main();
