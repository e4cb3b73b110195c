// Shared helpers of the benchmarks: timing, spawning, page-cache control, tables, RESULTS.md.
// Plain Node ES module; the benchmarks use the built packages (run `npx tsc -b` first).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, freemem, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(BENCH_DIR);
/** Scratch data (gitignored). Each benchmark works in a folder of its own and removes it at the end. */
export const WORK_DIR = join(BENCH_DIR, ".work");
const RESULTS_FILE = join(BENCH_DIR, "RESULTS.md");
const SECTIONS = [
  { id: "step-overhead", title: "1. Engine overhead per step" },
  { id: "register", title: "2. Registering a 1 GiB artifact" },
  { id: "bundle-io", title: "3. Bundle write then read, 1 GiB float32" },
  { id: "python-step-overhead", title: "4. Engine overhead per Python step" },
  { id: "python-handover", title: "5. Hand-over of a 1 GiB float32 bundle between Python and TypeScript" },
  { id: "warm-workers", title: "6. Warm workers against a process per step" },
  { id: "graph", title: "7. Execution graphs: 1000 trivial command steps, Maelstrom vs GNU make -j2 vs Snakemake" },
  { id: "sweep", title: "8. A 100-point sweep sharing one expensive transform" },
  { id: "optimisations", title: "9. Graph optimisations: fusion and pruning, each against itself switched off" },
  { id: "slurm", title: "10. Slurm: submitting a 1000-point sweep, and scheduler queries while jobs wait" },
];

export const now = () => performance.now();

/** A fresh, empty scratch folder for one benchmark. */
export function scratch(name) {
  const dir = join(WORK_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function ms(value, digits = 1) {
  return `${value.toFixed(digits)} ms`;
}

export function seconds(valueMs) {
  return `${(valueMs / 1000).toFixed(2)} s`;
}

/** MiB/s (binary) for `bytes` moved in `valueMs`. */
export function rate(bytes, valueMs) {
  return `${(bytes / 2 ** 20 / (valueMs / 1000)).toFixed(0)} MiB/s`;
}

export function ratio(value) {
  return `${value.toFixed(2)}x`;
}

/** Markdown table. */
export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * Runs a command to its end and returns its wall time in ms, from spawn to close. stdin is a pipe
 * held open until the child exits (the node step runner treats end of stdin as "engine died").
 * `fd3` adds a pipe on fd 3, as the engine gives a step (the runner writes its events there).
 */
export function timeSpawn(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const stdio = ["pipe", options.stdout ?? "ignore", "pipe"];
    if (options.fd3 === true) stdio.push("pipe");
    const started = now();
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_DIR, env: options.env ?? process.env, stdio });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdio[3]?.resume();
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const wall = now() - started;
      child.stdin.destroy();
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}: ${stderr.trim()}`));
      else resolve(wall);
    });
  });
}

let dropState;

/**
 * Writes dirty pages back (`sync`), then empties the page cache if this process may
 * (root, /proc/sys/vm/drop_caches writable). Returns whether the cache was dropped.
 */
export function dropCaches() {
  spawnSync("sync");
  if (dropState === false) return false;
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3\n");
    dropState = true;
  } catch {
    dropState = false;
  }
  return dropState;
}

/** `sync` only: no dirty pages from an earlier measurement are written back during the next one. */
export function syncDisks() {
  spawnSync("sync");
}

function cpuModel() {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

function cpuFlags() {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("flags")) ?? "";
    return ["sha_ni", "avx2", "avx512f"].filter((f) => line.split(/\s+/).includes(f));
  } catch {
    return [];
  }
}

function diskOf(path) {
  const df = spawnSync("df", ["-hT", path], { encoding: "utf8" }).stdout?.trim().split("\n")[1]?.split(/\s+/) ?? [];
  return df.length >= 2 ? `${df[0]} (${df[1]})` : "unknown";
}

export function machineFacts() {
  return {
    date: spawnSync("date", ["-u"], { encoding: "utf8" }).stdout.trim(),
    nproc: spawnSync("nproc", { encoding: "utf8" }).stdout.trim() || String(availableParallelism()),
    node: process.version,
    cpu: cpuModel(),
    cpuFlags: cpuFlags(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    kernel: release(),
    disk: diskOf(WORK_DIR),
    load: loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

/** The command that ran this benchmark, as a user would type it. */
export function commandOf(script) {
  return process.env.MAELSTROM_BENCH_COMMAND ?? `node bench/${script}`;
}

export function factsMarkdown(facts, command) {
  return [
    `- Run: ${facts.date} (\`date -u\`), command: \`${command}\` (in ${REPO_DIR})`,
    `- Machine: nproc ${facts.nproc}, CPU ${facts.cpu} (flags: ${facts.cpuFlags.join(", ") || "none of sha_ni/avx2/avx512f"}), ` +
      `RAM ${facts.memory}, Linux ${facts.kernel}, node ${facts.node}, scratch disk ${facts.disk}`,
    `- Load average (1/5/15 min) when the benchmark started: ${facts.load} (other processes share the machine; see the medians)`,
  ].join("\n");
}

/**
 * Replaces this benchmark's section of bench/RESULTS.md (between its markers), keeping the other
 * benchmarks' sections as they were, so each benchmark can be run alone.
 */
export function updateResults(id, body) {
  const existing = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, "utf8") : "";
  const sectionOf = (sid) => {
    const match = new RegExp(`<!-- BEGIN ${sid} -->\\n([\\s\\S]*?)<!-- END ${sid} -->`).exec(existing);
    return match?.[1];
  };
  const parts = [
    "# Maelstrom benchmarks",
    "",
    "All of them: `npm run bench` (runs `bench/run.mjs`, which runs each benchmark in its own process, in turn).",
    "One alone: `node bench/step-overhead.mjs`, `node bench/register.mjs`, `node bench/bundle-io.mjs`, `node bench/python-step-overhead.mjs`, `node bench/python-handover.mjs`, `node bench/warm-workers.mjs`, `node bench/graph.mjs`, `node bench/sweep.mjs`, `node bench/optimisations.mjs`, `node bench/slurm.mjs` (as root, with Slurm installed).",
    "They need the built packages (`npx tsc -b`); the Python ones use MAELSTROM_PYTHON, else /usr/bin/python3, with numpy.",
    "Scratch data goes to `bench/.work/` (gitignored) and is removed afterwards.",
    "Every figure is compared with a peer or a physical limit measured in the same run; each section says when and where it ran.",
    "This file is written by the benchmarks; edit the scripts, not this file.",
    "",
  ];
  for (const section of SECTIONS) {
    const content = section.id === id ? `${body.trim()}\n` : (sectionOf(section.id) ?? `## ${section.title}\n\nNot run yet.\n`);
    parts.push(`<!-- BEGIN ${section.id} -->`, content.trimEnd(), `<!-- END ${section.id} -->`, "");
  }
  writeFileSync(RESULTS_FILE, `${parts.join("\n").trimEnd()}\n`);
}

/** Every sample in seconds, sorted, for a table cell: shows the noise behind a median. */
export function spread(valuesMs) {
  return [...valuesMs].sort((a, b) => a - b).map((v) => (v / 1000).toFixed(2)).join(" / ");
}

let collect;

/**
 * `sync`, then a full garbage collection, right before a measured command: buffers left over from
 * an earlier measurement are freed now, not in the middle of the next one. (On this kind of VM,
 * memory freed and left unused for ~2 s goes back to the host and is slow to touch again, so the
 * measured command should follow at once.)
 */
export function settle() {
  syncDisks();
  if (collect === undefined) {
    v8.setFlagsFromString("--expose-gc");
    collect = vm.runInNewContext("gc");
  }
  collect();
}

/**
 * Writes this benchmark's section of RESULTS.md: its heading, the machine facts, the method lines,
 * then each part (table or paragraph) followed by an empty line.
 */
export function recordSection(id, { facts, script, method, parts }) {
  const title = SECTIONS.find((s) => s.id === id).title;
  updateResults(id, [`## ${title}`, "", factsMarkdown(facts, commandOf(script)), ...method, "", ...parts.flatMap((part) => [part, ""])].join("\n"));
}

// --- Benchmarks 3 and 5: one 1 GiB float32 variable -------------------------------------------

// BENCH_GIB only shrinks a trial run (e.g. 0.0625: 64 MiB); the benchmarks and RESULTS.md use 1.
const GIB = Number(process.env.BENCH_GIB ?? 1);
const GIB_SHAPE = [Math.round(1024 * GIB), 512, 512];
/** The variable both benchmarks move: float32 on dims [time, lat, lon] = [1024, 512, 512], 1 GiB. */
export const TEMPERATURE = { shape: GIB_SHAPE, dims: ["time", "lat", "lon"], count: GIB_SHAPE[0] * GIB_SHAPE[1] * GIB_SHAPE[2], bytes: GIB_SHAPE[0] * GIB_SHAPE[1] * GIB_SHAPE[2] * 4 };

/** A deterministic pattern, so any element can be checked without keeping a copy. */
export function valueAt(i) {
  return (i % 65_521) * 0.25 - 1000;
}

/** `count` float32 values of the pattern. */
function makeData(count) {
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = valueAt(i);
  return data;
}

/** The same bytes as a plain file (fsynced), for `cp`. */
function writeRaw(file, data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const fd = openSync(file, "w");
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, Math.min(bytes.length - offset, 2 ** 30));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The values (float32, the pattern) on `dims` of `shape`; a bundle of them as the variable
 * "temperature"; and the same bytes in `dir`/raw.bin (fsynced), for `cp` to copy to `dir`/copy.bin.
 */
export async function temperatureData(dir, { shape, dims, title }) {
  const { Bundle } = await import("@maelstrom/core");
  const data = makeData(shape.reduce((a, b) => a * b, 1));
  const bundle = Bundle.fromVariables({ temperature: { dims, shape, data, attrs: { units: "degC" } } }, { attrs: { title } });
  const raw = join(dir, "raw.bin");
  const copy = join(dir, "copy.bin");
  writeRaw(raw, data);
  return { data, bundle, raw, copy };
}

/**
 * Checks the variable "temperature" read back: dtype float32, `shape` and `dims`, the pattern at
 * the indices `points`, then every byte equal to `original` (else throws `differs`).
 */
export function checkTemperature(bundle, original, { shape, dims, points = [], differs }) {
  const v = bundle.variable("temperature");
  if (v.dtype !== "float32" || v.shape.join(",") !== shape.join(",") || v.dims.join(",") !== dims.join(",")) {
    throw new Error(`read back ${v.dtype} ${v.dims} ${v.shape}`);
  }
  for (const i of points.filter((p) => p < v.data.length)) {
    if (v.data[i] !== Math.fround(valueAt(i))) throw new Error(`element ${i} is ${v.data[i]}, expected ${Math.fround(valueAt(i))}`);
  }
  const a = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  const b = Buffer.from(original.buffer, original.byteOffset, original.byteLength);
  if (!a.equals(b)) throw new Error(differs);
}

/**
 * Round 0 (an uncounted warm-up) then rounds 1..`rounds`: each reads `raw` (so it is in the page
 * cache), then runs the groups `groupsOf(keep, round)` gives, in an order rotated each round.
 * `keep(list, value)` records a value from round 1 on.
 */
export async function rotatingRounds(rounds, raw, groupsOf) {
  for (let round = 0; round <= rounds; round++) {
    console.log(round === 0 ? "  warm-up round" : `  round ${round}/${rounds}`);
    const keep = (list, value) => {
      if (round > 0) list.push(value);
    };
    await timeSpawn("cat", [raw]);
    const groups = groupsOf(keep, round);
    for (let k = 0; k < groups.length; k++) await groups[(round + k) % groups.length]();
  }
}

/** Element-wise sums of two lists of the same length (each round's write + read). */
export function sums(a, b) {
  return a.map((x, i) => x + b[i]);
}

/** A table row for 1 GiB moved: median time, throughput, every round. */
export function bytesRow(bytes, label, values) {
  return [label, seconds(median(values)), rate(bytes, median(values)), spread(values)];
}

// --- Benchmarks 1 and 4: trivial steps in a train run ------------------------------------------

/** `name`: a transform returning its input and a model returning a one-value metric, in `runtime`; plus a 3-row CSV. */
export function writeStepArtifacts(dir, { runtime, transform, model }) {
  const paths = {};
  for (const [kind, spec] of Object.entries({ transform, model })) {
    paths[kind] = join(dir, kind);
    mkdirSync(paths[kind], { recursive: true });
    writeFileSync(join(paths[kind], "maelstrom.yaml"), `kind: ${kind}\nname: ${spec.name}\nruntime: ${runtime}\nentry: ${spec.entry}\n`);
    writeFileSync(join(paths[kind], spec.entry), spec.source);
  }
  const csv = join(dir, "data.csv");
  writeFileSync(csv, "station,temp\nA,1.5\nB,2.5\nC,3.5\n");
  return { ...paths, csv };
}

/** One train run of `steps` steps (transforms, then the model); every step's start and its process wall time from the engine's events. */
async function timedTrain(engine, { steps, transform, model, csv, workers = false }) {
  const starts = [];
  const finishes = [];
  const hooks = {
    onEvent(event) {
      if (event.type === "step-started") starts.push(now());
      else if (event.type === "step-finished") finishes.push({ at: now(), processMs: event.wallMs });
    },
  };
  const started = now();
  // Every step executes (identity transforms would otherwise be answered by the step cache), each in
  // a fresh process unless `workers` (the engine's default: warm worker processes).
  const outcome = await engine.train({ steps: [...Array(steps - 1).fill(transform), model], data: csv, useCache: false, workers }, hooks);
  const totalMs = now() - started;
  // A step lasts from its start to the next step's start: the process plus the engine's work around it.
  const durations = finishes.map((finish, i) => ({ durationMs: (starts[i + 1] ?? finish.at) - starts[i], processMs: finish.processMs }));
  return { totalMs, steps: durations, runId: outcome.run.id };
}

/**
 * A fresh workspace `ws` with both artifacts added, then two train runs in the same engine (the
 * first pays the one-off work; the second is the steady state). `files` from writeStepArtifacts.
 */
export async function trainTwice(ws, files, { steps, transform, model }) {
  const { Engine } = await import("@maelstrom/engine");
  const engine = await Engine.open({ workspace: ws, create: true });
  try {
    await engine.addArtifact(files.transform);
    await engine.addArtifact(files.model);
    const first = await timedTrain(engine, { steps, transform, model, csv: files.csv });
    console.log(`  first train:  ${(first.totalMs / 1000).toFixed(2)} s`);
    const second = await timedTrain(engine, { steps, transform, model, csv: files.csv });
    console.log(`  second train: ${(second.totalMs / 1000).toFixed(2)} s`);
    const warm = await timedTrain(engine, { steps, transform, model, csv: files.csv, workers: true });
    console.log(`  warm workers: ${(warm.totalMs / 1000).toFixed(2)} s`);
    return { first, second, warm };
  } finally {
    await engine.close();
  }
}

/** The steady-state train's transform steps: durations, process times, the engine side between them. */
export function stepStats(second, steps) {
  const transforms = second.steps.slice(0, -1);
  const durations = transforms.map((s) => s.durationMs);
  return {
    durations,
    processes: transforms.map((s) => s.processMs),
    engineSide: transforms.map((s) => s.durationMs - s.processMs),
    stepMs: median(durations),
    runLevelMs: second.totalMs / steps - mean(second.steps.map((s) => s.durationMs)),
  };
}

/** A breakdown measurement that may fail (it reuses engine internals): then a warning and `fallback`. */
export async function optional(what, fn, fallback) {
  try {
    return await fn();
  } catch (error) {
    console.warn(`  (breakdown: ${what} not measured: ${error.message})`);
    return fallback;
  }
}

/**
 * putTree(move) of one step's output (an identical bundle each step, so a dedup hit, as in the run);
 * for comparison putTree(copy) of the same files. Rounds interleave the two.
 */
async function putTreeCost(dir, ws, outputDir, rounds) {
  const { ObjectStore } = await import("@maelstrom/store");
  const store = new ObjectStore(join(ws, ".maelstrom", "objects"));
  const times = { move: [], copy: [] };
  const timed = async (list, fn) => {
    const started = now();
    await fn();
    list.push(now() - started);
  };
  for (let i = 0; i < rounds; i++) {
    const files = join(dir, "put", String(i));
    cpSync(outputDir, files, { recursive: true, dereference: true });
    await timed(times.copy, () => store.putTree(files));
    await timed(times.move, () => store.putTree(files, { move: true }));
    rmSync(files, { recursive: true, force: true });
  }
  return times;
}

/**
 * The three writes executeStep makes per step (running, placement, succeeded), on the run's own
 * database, for the step at `position`; `environment`: the succeeded write also records the step's
 * environment (as for a Python step), and the result carries it.
 */
async function dbWritesCost(ws, runId, { position, rounds, environment }) {
  const { openSqliteDatabase } = await import("@maelstrom/store");
  const { db } = await openSqliteDatabase(join(ws, ".maelstrom", "maelstrom.db"));
  const row = await db.selectFrom("step_executions").selectAll().where("run_id", "=", runId).where("position", "=", position).executeTakeFirstOrThrow();
  const times = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const stepRow = db.updateTable("step_executions").where("run_id", "=", runId).where("step_id", "=", row.step_id);
      const started = now();
      await stepRow
        .set((eb) => ({ status: "running", attempt: eb("attempt", "+", 1), started_at: Date.now(), input_digest: row.input_digest, log_path: row.log_path }))
        .execute();
      await stepRow.set({ placement: row.placement }).execute();
      const succeeded = { status: "succeeded", output_digest: row.output_digest, state_digest: null, resources: row.resources };
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("step_executions")
          .set({ ...succeeded, ...(environment ? { environment: row.environment } : {}), ended_at: Date.now() })
          .where("run_id", "=", runId)
          .where("step_id", "=", row.step_id)
          .execute();
      });
      times.push(now() - started);
    }
  } finally {
    await db.destroy();
  }
  return { times, outputDigest: row.output_digest, ...(environment ? { environment: row.environment } : {}) };
}

/**
 * The engine's own work per step, timed alone on the run's workspace: the step's DB writes, then
 * putTree of its output bundle. Each may fail (then empty, with a warning).
 */
export async function engineSideCosts(dir, ws, runId, { position, storeRounds, dbRounds, environment = false }) {
  const db = await optional("DB writes", () => dbWritesCost(ws, runId, { position, rounds: dbRounds, environment }), {
    times: [],
    outputDigest: null,
    ...(environment ? { environment: null } : {}),
  });
  const putTree = await optional(
    "putTree",
    async () => {
      if (db.outputDigest === null) throw new Error("no output digest (the DB read failed)");
      const { Engine } = await import("@maelstrom/engine");
      const check = await Engine.open({ workspace: ws });
      let outputDir;
      try {
        outputDir = (await check.locateBundle(db.outputDigest)).dir;
      } finally {
        await check.close();
      }
      return putTreeCost(dir, ws, outputDir, storeRounds);
    },
    { move: [], copy: [] },
  );
  return { db, putTree };
}

/** Row makers of a breakdown table whose shares are of the median step `stepMs`. */
export function breakdownRows(stepMs) {
  const cell = (values) => median(values).toFixed(1);
  const fastest = (values) => Math.min(...values).toFixed(1);
  const pct = (value) => `${((100 * value) / stepMs).toFixed(0)}%`;
  const line = (label, values, share = true) =>
    values === undefined || values.length === 0 ? [label, "n/a", "n/a", ""] : [label, cell(values), fastest(values), share ? pct(median(values)) : ""];
  return { cell, fastest, pct, line };
}

/** The last rows of a breakdown: the engine side between step processes and what it is made of, then the run-level work. */
export function engineSideRows(line, { engineSide, putTree, db, runLevelMs, storeRounds, dbRounds }, { rest, runLevel }) {
  const restMs = median(engineSide) - median(putTree.move.length > 0 ? putTree.move : [NaN]) - median(db.times.length > 0 ? db.times : [NaN]);
  return [
    line("- engine side, between the processes (duration − process)", engineSide),
    line(`  - putTree(move) of the step's output bundle alone (dedup hit, ${storeRounds} runs)`, putTree.move),
    line("    (putTree in copy mode of the same files, for comparison)", putTree.copy, false),
    line(`  - the step's 3 DB writes alone (${dbRounds} runs)`, db.times),
    [`  - rest: ${rest} (engine side − the two above)`, Number.isNaN(restMs) ? "n/a" : restMs.toFixed(1), "", ""],
    [runLevel, runLevelMs.toFixed(1), "", ""],
  ];
}

/** The `maelstrom` command as a user runs it (the built CLI). */
export const CLI = join(REPO_DIR, "packages", "cli", "bin", "maelstrom.js");

/** Runs a command to its end in `cwd`; its wall time in ms and its stdout. Throws with its stderr when it fails. */
export function timedCommand(command, args, cwd) {
  const started = now();
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, CI: "true" }, maxBuffer: 64 * 2 ** 20 });
  const elapsed = now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr.slice(-2000)}`);
  return { elapsed, stdout: result.stdout };
}

/** `maelstrom ARGS...` in `cwd`, timed. */
export function maelstrom(cwd, ...args) {
  return timedCommand(process.execPath, [CLI, ...args], cwd);
}

/** Writes files (path relative to `dir` -> text), creating their folders. */
export function writeFiles(dir, files) {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}
