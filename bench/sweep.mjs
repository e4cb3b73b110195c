// A 100-point sweep over a model that shares one expensive transform: the transform must run once.
// Peer: the same trainings one by one without the step cache (what a tool that recomputes every
// branch does), measured for a few points and compared per point.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { commandOf, factsMarkdown, machineFacts, ratio, scratch, seconds, table, maelstrom, updateResults, writeFiles } from "./lib.mjs";

const POINTS = Number(process.env.BENCH_SWEEP_POINTS ?? 100);
const PEER_POINTS = Number(process.env.BENCH_SWEEP_PEER_POINTS ?? 5);
const TRANSFORM_MS = 2000;
async function main() {
  const facts = machineFacts();
  const ws = scratch("sweep");
  writeFiles(ws, {
    "a/data/maelstrom.yaml": "kind: dataset\nname: data\nruntime: node\nentry: get.ts\n",
    "a/data/get.ts": `import { Bundle } from "@maelstrom/sdk";\nexport function get(): Bundle { const x = Float64Array.from({ length: 1000 }, (_, i) => i); return Bundle.fromTable({ x, y: x.map((v) => 3 * v + 1) }); }\n`,
    "a/expensive/maelstrom.yaml": "kind: transform\nname: expensive\nruntime: node\nentry: t.ts\n",
    "a/expensive/t.ts": `import { Bundle } from "@maelstrom/sdk";\n// Stands for a costly regridding: ${TRANSFORM_MS} ms of CPU, then a deterministic result.\nexport function apply(b: Bundle): Bundle { const end = Date.now() + ${TRANSFORM_MS}; let n = 0; while (Date.now() < end) n += 1; void n; return b; }\n`,
    "a/model/maelstrom.yaml": "kind: model\nname: model\nruntime: node\nentry: m.ts\nparameters:\n  k: { type: int, default: 1, min: 1 }\n",
    "a/model/m.ts": `import { Bundle, type MetaVariables } from "@maelstrom/sdk";\nexport function train(b: Bundle, meta: MetaVariables): [number, Bundle] { const k = meta.get<number>("k"); return [k, Bundle.fromVariables({ score: { dims: [], data: [Math.abs(k - 42)] } })]; }\nexport function apply(k: number, b: Bundle): Bundle { return b; }\n`,
  });
  maelstrom(ws, "init");
  for (const name of ["data", "expensive", "model"]) maelstrom(ws, "add", join("a", name));
  const values = Array.from({ length: POINTS }, (_, i) => i + 1).join(",");

  const sweep = maelstrom(ws, "train", "data", "expensive", "model", "--sweep", `k=${values}`, "--select", "score:min", "--json");
  const run = JSON.parse(sweep.stdout).run;
  const executed = run.steps.filter((s) => s.cachedFrom === null);
  const transformRuns = executed.filter((s) => s.stepId === "expensive").length;
  const modelRuns = executed.filter((s) => s.stepId.startsWith("model[")).length;
  const selected = JSON.parse(sweep.stdout).models[0]?.record.parameters.k;

  // Peer: each point as its own training without the cache, as a recompute-everything tool does.
  const peer = [];
  for (let k = 1; k <= PEER_POINTS; k += 1) peer.push(maelstrom(ws, "train", "data", "expensive", "model", "--set", `k=${k}`, "--no-cache").elapsed);
  const peerPerPoint = peer.reduce((a, b) => a + b, 0) / peer.length;
  const perPoint = sweep.elapsed / POINTS;

  const body = [
    "## 8. A 100-point sweep sharing one expensive transform",
    "",
    factsMarkdown(facts, commandOf("sweep.mjs")),
    `- Method: dataset → transform (${TRANSFORM_MS / 1000} s of CPU, stands for a regridding) → model with an int parameter k;`,
    `  \`maelstrom train data expensive model --sweep k=1..${POINTS} --select score:min\` in a fresh workspace (cold cache), wall time of the command.`,
    `  Peer: the same training for ${PEER_POINTS} single values of k with \`--no-cache\` (each recomputes the transform, as a tool without a step cache does), mean per point.`,
    "",
    table(
      ["Measure", "Value"],
      [
        ["Branches (sweep points)", String(POINTS)],
        ["Transform executions in the sweep", `**${transformRuns}** (target: 1)`],
        ["Model trainings in the sweep", String(modelRuns)],
        ["Selected k (score = abs(k − 42), min)", String(selected)],
        ["Sweep wall time", seconds(sweep.elapsed)],
        ["Sweep per point", seconds(perPoint)],
        [`Peer: one training per point without the cache (mean of ${PEER_POINTS})`, seconds(peerPerPoint)],
        ["Speed-up per point", ratio(peerPerPoint / perPoint)],
      ],
    ),
  ].join("\n");
  console.log(`\n${body}\n`);
  updateResults("sweep", body);
  rmSync(ws, { recursive: true, force: true });
}

await main();
