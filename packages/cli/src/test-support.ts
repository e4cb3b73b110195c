/**
 * Test support: temporary workspaces with small real artifacts, and the real CLI run as a child
 * process, exactly as a user runs it. Used by the tests beside this file only.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cliPath = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "maelstrom.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `maelstrom-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Run the CLI to completion in `cwd`. */
export function cli(cwd: string, ...args: string[]): CliResult {
  return cliWithEnv(cwd, {}, ...args);
}

/** Run the CLI with extra environment variables. */
export function cliWithEnv(cwd: string, env: Readonly<Record<string, string>>, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: "utf8", env: { ...process.env, CI: "true", ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Start the CLI without waiting (for kill and Ctrl-C tests). */
export function cliProcess(cwd: string, ...args: string[]): ChildProcess {
  return cliProcessWithEnv(cwd, {}, ...args);
}

/** Start the CLI with extra environment variables without waiting. */
export function cliProcessWithEnv(cwd: string, env: Readonly<Record<string, string>>, ...args: string[]): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, CI: "true", ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

export function writeFiles(dir: string, files: Readonly<Record<string, string>>): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** A 1-d regression data set: y = 2x + 1 + small deterministic noise. */
export function dataCsv(rows = 40): string {
  const lines = ["x,y,station"];
  for (let i = 0; i < rows; i += 1) lines.push(`${i / 4},${2 * (i / 4) + 1 + ((i * 7) % 5) / 100},st${i % 3}`);
  return `${lines.join("\n")}\n`;
}

/**
 * A workspace with three artifacts: dataset `points`, transform `scale` (multiplies x by
 * `factor`), model `linear` (least squares; `mode` makes it misbehave on purpose).
 */
export function fixtureWorkspace(): { root: string; artifacts: string } {
  const root = tempDir("ws");
  const artifacts = join(root, "artifacts");
  writeFiles(artifacts, {
    "points/maelstrom.yaml": "kind: dataset\nname: points\nruntime: node\nentry: get.ts\nparameters:\n  rows: { type: int, default: 40, min: 2 }\n",
    "points/get.ts": `import { Bundle } from "@maelstrom/sdk";
import type { MetaVariables } from "@maelstrom/sdk";
export function get(meta: MetaVariables): Bundle {
  const n = meta.get<number>("rows");
  const x = Float64Array.from({ length: n }, (_, i) => i / 4);
  const y = x.map((v, i) => 2 * v + 1 + ((i * 7) % 5) / 100);
  return Bundle.fromTable({ x, y, station: Array.from({ length: n }, (_, i) => "st" + (i % 3)) });
}
`,
    "scale/maelstrom.yaml":
      "kind: transform\nname: scale\nruntime: node\nentry: scale.ts\nparameters:\n  factor: { type: float, default: 1, min: 0 }\ninputs:\n  variables: { x: float64 }\n",
    "scale/scale.ts": `import { Bundle, type MetaVariables } from "@maelstrom/sdk";
export function apply(bundle: Bundle, meta: MetaVariables): Bundle {
  const x = bundle.variable("x").data as Float64Array;
  console.log("scaling", x.length, "rows");
  return bundle.with({ x: { dims: ["row"], data: x.map((v) => v * meta.get<number>("factor")) } });
}
`,
    "linear/maelstrom.yaml": `kind: model
name: linear
runtime: node
entry: model.ts
parameters:
  mode: { type: string, default: ok, choices: [ok, throw, exit, kill, sleep, not-bundle, bad-state, random, nan] }
  ridge: { type: float, default: 0, min: 0 }
inputs:
  variables: { x: float64, y: float64 }
outputs:
  variables: { y: float64 }
resources: { time: 20s }
`,
    "linear/model.ts": `import { Bundle, logMetric, type MetaVariables } from "@maelstrom/sdk";
interface State { slope: number; intercept: number }
function fail(mode: string): void {
  if (mode === "throw") throw new Error("the fit diverged");
  if (mode === "exit") process.exit(3);
  if (mode === "kill") process.kill(process.pid, "SIGKILL");
  if (mode === "sleep") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}
export function train(bundle: Bundle, meta: MetaVariables): [unknown, unknown] {
  const mode = meta.get<string>("mode");
  fail(mode);
  const x = bundle.variable("x").data as Float64Array;
  const y = bundle.variable("y").data as Float64Array;
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i += 1) { sxy += (x[i]! - mx) * (y[i]! - my); sxx += (x[i]! - mx) ** 2; }
  const slope = sxy / (sxx + meta.get<number>("ridge"));
  const state: State = { slope, intercept: my - slope * mx };
  let sse = 0;
  for (let i = 0; i < n; i += 1) { const r = y[i]! - (state.intercept + slope * x[i]!); sse += r * r; logMetric("residual", r, i); }
  if (mode === "not-bundle") return [state, "not metrics"];
  if (mode === "random") state.slope += Math.random();
  if (mode === "nan") logMetric("loss", NaN, 0);
  if (mode === "nan") return [state, Bundle.fromVariables({ rmse: { dims: [], data: [NaN] } })];
  if (mode === "bad-state") return [{ f: () => 1 }, Bundle.fromVariables({ rmse: { dims: [], data: [0] } })];
  return [state, Bundle.fromVariables({ rmse: { dims: [], data: [Math.sqrt(sse / n)] } })];
}
export function apply(state: State, bundle: Bundle): Bundle {
  const x = bundle.variable("x").data as Float64Array;
  return Bundle.fromTable({ x, y: x.map((v) => state.intercept + state.slope * v) });
}
`,
  });
  const init = cli(root, "init");
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  return { root, artifacts };
}

/** Register the three fixture artifacts. */
export function addFixtures(root: string): void {
  for (const name of ["points", "scale", "linear"]) {
    const result = cli(root, "add", join("artifacts", name));
    if (result.code !== 0) throw new Error(`add ${name} failed: ${result.stderr}`);
  }
}

export function json<T>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`command failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
