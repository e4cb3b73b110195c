// Execution graphs: 1000 trivial command steps (`touch`) as a chain and as a wide graph, cold and
// fully cached, in Maelstrom, GNU make -j2 and Snakemake (Debian 7.21) side by side, same run.
// Each system gets the graph in its native form; every step creates one file. Times are wall
// clock of the whole command, as a user types it (process start included).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, commandOf, factsMarkdown, machineFacts, maelstrom, median, ratio, scratch, seconds, table, timedCommand, updateResults } from "./lib.mjs";

const STEPS = Number(process.env.BENCH_GRAPH_STEPS ?? 1000);
const ROUNDS = Number(process.env.BENCH_GRAPH_ROUNDS ?? 3);
const JOBS = 2;
const hasSnakemake = spawnSync("snakemake", ["--version"], { encoding: "utf8" }).status === 0;

/** The chain: step i reads step i-1's output. The wide graph: STEPS independent steps. */
function setUp(dir, shape) {
  const ids = Array.from({ length: STEPS }, (_, i) => `s${i}`);
  // GNU make: one target per step, a file.
  const make = join(dir, "make");
  mkdirSync(make, { recursive: true });
  const rules = ids.map((id, i) => (shape === "chain" && i > 0 ? `${id}: s${i - 1}\n\ttouch ${id}\n` : `${id}:\n\ttouch ${id}\n`));
  writeFileSync(join(make, "Makefile"), `all: ${shape === "chain" ? ids.at(-1) : ids.join(" ")}\n${rules.join("")}`);
  // Snakemake: one rule with a wildcard, as a Snakemake user writes a graph of many similar steps.
  const snake = join(dir, "snakemake");
  mkdirSync(snake, { recursive: true });
  const snakefile =
    shape === "chain"
      ? `import sys\nsys.setrecursionlimit(100000)\nrule all:\n    input: "s${STEPS - 1}"\nrule first:\n    output: "s0"\n    shell: "touch {output}"\nrule link:\n    input: lambda w: f"s{int(w.i) - 1}"\n    output: "s{i,[1-9][0-9]*}"\n    shell: "touch {output}"\n`
      : `rule all:\n    input: expand("s{i}", i=range(${STEPS}))\nrule step:\n    output: "s{i}"\n    shell: "touch {output}"\n`;
  writeFileSync(join(snake, "Snakefile"), snakefile);
  // Maelstrom: a command artifact and a pipeline in DAG form.
  const ws = join(dir, "maelstrom");
  mkdirSync(join(ws, "artifacts", "first"), { recursive: true });
  mkdirSync(join(ws, "artifacts", "link"), { recursive: true });
  mkdirSync(join(ws, "artifacts", "graph"), { recursive: true });
  writeFileSync(join(ws, "artifacts", "first", "maelstrom.yaml"), "kind: dataset\nname: first\nruntime: shell\ncommand: touch {outputs.data}/s{params.n}\nparameters:\n  n: { type: int, default: 0 }\n");
  writeFileSync(
    join(ws, "artifacts", "link", "maelstrom.yaml"),
    "kind: transform\nname: link\nruntime: shell\ncommand: test -d {inputs.data} && touch {outputs.data}/s{params.n}\nparameters:\n  n: { type: int, default: 0 }\n",
  );
  const steps = ids.map((id, i) =>
    shape === "chain" && i > 0 ? `  - { id: ${id}, ref: link, parameters: { n: ${i} }, inputs: { data: s${i - 1} } }` : `  - { id: ${id}, ref: first, parameters: { n: ${i} } }`,
  );
  writeFileSync(join(ws, "artifacts", "graph", "maelstrom.yaml"), `kind: pipeline\nname: graph\nsteps:\n${steps.join("\n")}\n`);
  maelstrom(ws, "init");
  for (const name of ["first", "link", "graph"]) maelstrom(ws, "add", join("artifacts", name));
  return { make, snake, ws };
}

const systems = {
  make: (dirs) => ["make", ["-s", `-j${JOBS}`], dirs.make],
  snakemake: (dirs) => ["snakemake", ["--cores", String(JOBS), "--quiet", "--nolock"], dirs.snake],
  maelstrom: (dirs) => [process.execPath, [CLI, "run", "graph", "--cpus", String(JOBS)], dirs.ws],
};

/** Cold: a fresh copy of the graph; no-op: the same command again with everything done/cached. */
function measure(shape, round, base) {
  const results = {};
  const dirs = setUp(join(base, `${shape}-${round}`), shape);
  for (const [name, spec] of Object.entries(systems)) {
    if (name === "snakemake" && !hasSnakemake) continue;
    const [command, args, cwd] = spec(dirs);
    const cold = timedCommand(command, args, cwd).elapsed;
    const noop = timedCommand(command, args, cwd).elapsed;
    results[name] = { cold, noop };
  }
  rmSync(join(base, `${shape}-${round}`), { recursive: true, force: true });
  return results;
}

async function main() {
  const facts = machineFacts();
  const base = scratch("graph");
  const rows = [];
  const summary = [];
  for (const shape of ["chain", "wide"]) {
    const rounds = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      rounds.push(measure(shape, round, base));
      console.log(`${shape} round ${round + 1}/${ROUNDS}: ${JSON.stringify(rounds.at(-1), (k, v) => (typeof v === "number" ? Math.round(v) : v))}`);
    }
    const med = (system, kind) => (rounds[0][system] === undefined ? NaN : median(rounds.map((r) => r[system][kind])));
    for (const kind of ["cold", "noop"]) {
      const m = med("maelstrom", kind);
      const mk = med("make", kind);
      const sn = med("snakemake", kind);
      rows.push([`${STEPS}-step ${shape}, ${kind === "cold" ? "cold" : "no-op rerun (all done/cached)"}`, seconds(m), seconds(mk), hasSnakemake ? seconds(sn) : "not installed", ratio(m / mk), hasSnakemake ? ratio(sn / m) : "-"]);
      if (kind === "cold") {
        summary.push(`- ${shape}, cold: Maelstrom/make = ${ratio(m / mk)} (target ≤ 1.5x: **${m / mk <= 1.5 ? "met" : "MISSED"}**), Snakemake/Maelstrom = ${hasSnakemake ? ratio(sn / m) : "-"} (target ≥ 10x: **${sn / m >= 10 ? "met" : "MISSED"}**)`);
      } else {
        summary.push(`- ${shape}, no-op: Maelstrom ${seconds(m)} (target < 0.3 s: **${m < 300 ? "met" : "MISSED"}**), Snakemake/Maelstrom = ${hasSnakemake ? ratio(sn / m) : "-"} (target ≥ 10x: **${sn / m >= 10 ? "met" : "MISSED"}**)`);
      }
    }
  }
  const body = [
    "## 7. Execution graphs: 1000 trivial command steps, Maelstrom vs GNU make -j2 vs Snakemake",
    "",
    factsMarkdown(facts, commandOf("graph.mjs")),
    `- Method: the same graph in each system's native form, every step \`touch\`es one file: a ${STEPS}-step chain (step i needs step i-1) and a ${STEPS}-step wide graph (independent steps).`,
    `  GNU make ${spawnSync("make", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}: one target per step, \`make -s -j${JOBS}\`.`,
    `  Snakemake ${hasSnakemake ? spawnSync("snakemake", ["--version"], { encoding: "utf8" }).stdout.trim() : "(not installed)"}: one wildcard rule (the chain's Snakefile raises Python's recursion limit, which Snakemake's DAG building hits at 1000 steps), \`snakemake --cores ${JOBS} --quiet --nolock\`.`,
    `  Maelstrom: a \`runtime: shell\` artifact and a DAG pipeline of ${STEPS} steps, \`maelstrom run graph --cpus ${JOBS}\` (the CLI, as a user runs it: Node start, plan, cache lookups, a process per step, outputs committed to the store, run recorded).`,
    `  Cold = a fresh folder/workspace; no-op = the same command right after (make and Snakemake find everything up to date; Maelstrom finds every step in its cache). Wall time of the whole command; median of ${ROUNDS} rounds.`,
    "",
    table(["Graph", "Maelstrom", "make -j2", "Snakemake", "Maelstrom / make", "Snakemake / Maelstrom"], rows),
    "",
    ...summary,
  ].join("\n");
  console.log(`\n${body}\n`);
  updateResults("graph", body);
  rmSync(base, { recursive: true, force: true });
}

await main();
