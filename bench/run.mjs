// `npm run bench`: every benchmark in turn, each in a process of its own (so that one's 1 GiB
// buffers and page-cache state do not carry into the next). Each writes its section of
// bench/RESULTS.md. Needs the built packages: `npx tsc -b`.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, REPO_DIR, WORK_DIR, now } from "./lib.mjs";

const BENCHMARKS = ["step-overhead.mjs", "register.mjs", "bundle-io.mjs", "python-step-overhead.mjs", "python-handover.mjs", "warm-workers.mjs", "graph.mjs", "sweep.mjs", "optimisations.mjs", "slurm.mjs"];

for (const pkg of ["core", "store", "runtime", "engine"]) {
  if (!existsSync(join(REPO_DIR, "packages", pkg, "dist", "index.js"))) {
    console.error(`packages/${pkg}/dist is missing: build first with \`npx tsc -b\``);
    process.exit(1);
  }
}
mkdirSync(WORK_DIR, { recursive: true });

function run(script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, script)], {
      cwd: REPO_DIR,
      stdio: "inherit",
      env: { ...process.env, MAELSTROM_BENCH_COMMAND: "npm run bench" },
    });
    child.on("close", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const started = now();
const failed = [];
for (const script of BENCHMARKS) {
  console.log(`\n=== bench/${script}`);
  const t = now();
  const code = await run(script);
  console.log(`=== bench/${script}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${((now() - t) / 1000).toFixed(0)} s`);
  if (code !== 0) failed.push(script);
}
console.log(`\nAll benchmarks: ${((now() - started) / 1000).toFixed(0)} s. Figures: bench/RESULTS.md`);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
