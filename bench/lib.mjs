// Shared helpers of the benchmarks: timing, spawning, page-cache control, tables, RESULTS.md.
// Plain Node ES module; the benchmarks use the built packages (run `npx tsc -b` first).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    "One alone: `node bench/step-overhead.mjs`, `node bench/register.mjs`, `node bench/bundle-io.mjs`, `node bench/python-step-overhead.mjs`, `node bench/python-handover.mjs`.",
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
