// Graph optimisations, each against the same work with it switched off, same run:
// - fusion (`--fuse`): a chain of node transforms passing a 16 MiB bundle, in one process without
//   writing the bundles between them, against the same chain with each bundle stored (warm workers both);
// - pruning (`--target`): a graph with branches the target does not need, against `--no-prune`.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { commandOf, factsMarkdown, machineFacts, median, ratio, scratch, seconds, table, maelstrom, updateResults, writeFiles } from "./lib.mjs";

const ROUNDS = Number(process.env.BENCH_OPT_ROUNDS ?? 3);
const CHAIN = 6;
const BRANCHES = 12;
async function main() {
  const facts = machineFacts();
  const ws = scratch("optimisations");
  const branches = Array.from({ length: BRANCHES }, (_, i) => `  - { id: other${i}, ref: busy, inputs: { data: source }, parameters: { k: ${i + 1} } }`);
  writeFiles(ws, {
    "a/big/maelstrom.yaml": "kind: dataset\nname: big\nruntime: node\nentry: get.ts\n",
    "a/big/get.ts": `import { Bundle } from "@maelstrom/sdk";\nexport function get(): Bundle { return Bundle.fromTable({ x: Float64Array.from({ length: 2 ** 21 }, (_, i) => i) }); }\n`,
    "a/add/maelstrom.yaml": "kind: transform\nname: add\nruntime: node\nentry: t.ts\nparameters:\n  k: { type: int, default: 1 }\n",
    "a/add/t.ts": `import { Bundle, type MetaVariables } from "@maelstrom/sdk";\nexport function apply(b: Bundle, meta: MetaVariables): Bundle { const k = meta.get<number>("k"); return Bundle.fromTable({ x: (b.variable("x").data as Float64Array).map((v) => v + k) }); }\n`,
    "a/mean/maelstrom.yaml": "kind: model\nname: mean\nruntime: node\nentry: m.ts\n",
    "a/mean/m.ts": `import { Bundle } from "@maelstrom/sdk";\nexport function train(b: Bundle): [number, Bundle] { const x = b.variable("x").data as Float64Array; const m = x.reduce((a, v) => a + v, 0) / x.length; return [m, Bundle.fromVariables({ mean: { dims: [], data: [m] } })]; }\nexport function apply(m: number, b: Bundle): Bundle { return b; }\n`,
    "a/busy/maelstrom.yaml": "kind: transform\nname: busy\nruntime: node\nentry: t.ts\nparameters:\n  k: { type: int, default: 1 }\n",
    "a/busy/t.ts": `import type { Bundle } from "@maelstrom/sdk";\n// 300 ms of CPU standing for a costly step.\nexport function apply(b: Bundle): Bundle { const end = Date.now() + 300; while (Date.now() < end) {} return b; }\n`,
    "a/tiny/maelstrom.yaml": "kind: dataset\nname: tiny\nruntime: node\nentry: get.ts\n",
    "a/tiny/get.ts": `import { Bundle } from "@maelstrom/sdk";\nexport function get(): Bundle { return Bundle.fromTable({ x: Float64Array.from([1, 2, 3]) }); }\n`,
    "a/branches/maelstrom.yaml": `kind: pipeline\nname: branches\nsteps:\n  - { id: source, ref: tiny }\n  - { id: wanted, ref: busy, inputs: { data: source } }\n${branches.join("\n")}\n`,
  });
  maelstrom(ws, "init");
  for (const name of ["big", "add", "mean", "busy", "tiny", "branches"]) maelstrom(ws, "add", join("a", name));
  const chain = ["big", ...Array.from({ length: CHAIN - 2 }, () => "add"), "mean"];
  const sets = chain.slice(1, -1).map((_, i) => ["--set", `add${i === 0 ? "" : `-${i + 1}`}.k=${i + 1}`]).flat();
  // Warm-up: builds each artifact once, so that the rounds compare like with like.
  maelstrom(ws, "train", ...chain, ...sets);
  maelstrom(ws, "run", "branches", "--target", "wanted");

  const rounds = { fused: [], stored: [], pruned: [], unpruned: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    rounds.stored.push(maelstrom(ws, "train", ...chain, ...sets, "--no-cache").elapsed);
    rounds.fused.push(maelstrom(ws, "train", ...chain, ...sets, "--no-cache", "--fuse").elapsed);
    rounds.unpruned.push(maelstrom(ws, "run", "branches", "--target", "wanted", "--no-prune", "--no-cache").elapsed);
    rounds.pruned.push(maelstrom(ws, "run", "branches", "--target", "wanted", "--no-cache").elapsed);
    console.log(`round ${round + 1}/${ROUNDS}: ${Object.entries(rounds).map(([k, v]) => `${k} ${(v.at(-1) / 1000).toFixed(2)} s`).join(", ")}`);
  }
  const m = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]));
  const body = [
    "## 9. Graph optimisations: fusion and pruning, each against itself switched off",
    "",
    factsMarkdown(facts, commandOf("optimisations.mjs")),
    `- Fusion: \`maelstrom train big ${"add ".repeat(CHAIN - 2)}mean --no-cache\` (a dataset of 2^21 float64 = 16 MiB, ${CHAIN - 2} node transforms adding a constant, a model taking the mean), with and without \`--fuse\`; warm workers in both.`,
    `  Without fusion every intermediate bundle is written as Zarr, hashed into the store, checked out and read by the next step; fused, the chain is one call sequence in one process and only the model state and metrics are stored.`,
    `- Pruning: a graph of a tiny source and ${BRANCHES + 1} transforms of 300 ms CPU each reading it; \`maelstrom run branches --target wanted --no-cache\` runs the source and \`wanted\`, \`--no-prune\` runs all ${BRANCHES + 2} steps (2 CPUs).`,
    `- Median of ${ROUNDS} rounds (wall time of the CLI command), after one warm-up run of each.`,
    "",
    table(
      ["Optimisation", "On", "Off", "Speed-up"],
      [
        [`Fusion of a ${CHAIN}-step chain (16 MiB between steps)`, seconds(m.fused), seconds(m.stored), ratio(m.stored / m.fused)],
        [`Pruning ${BRANCHES} unneeded 300 ms branches`, seconds(m.pruned), seconds(m.unpruned), ratio(m.unpruned / m.pruned)],
      ],
    ),
    "",
    `All rounds (s): fused ${rounds.fused.map((v) => (v / 1000).toFixed(2)).join(" / ")}; stored ${rounds.stored.map((v) => (v / 1000).toFixed(2)).join(" / ")}; pruned ${rounds.pruned.map((v) => (v / 1000).toFixed(2)).join(" / ")}; not pruned ${rounds.unpruned.map((v) => (v / 1000).toFixed(2)).join(" / ")}.`,
  ].join("\n");
  console.log(`\n${body}\n`);
  updateResults("optimisations", body);
  rmSync(ws, { recursive: true, force: true });
}

await main();
