/**
 * Test support for the runtime's tests: temporary folders, small step modules written as files, and
 * the options the engine would pass. The tests drive the built package (`@maelstrom/runtime`, from
 * dist/), because the step runners run from dist/ (the node runner is dist/node-runner.js).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, it } from "vitest";
import { readBundle, writeBundle, type Bundle, type StepEvent, type StepSpec } from "@maelstrom/core";
import type { StepProcessOptions, StepRunner } from "@maelstrom/runtime";

/** /usr/bin/python3 with numpy (Debian's); undefined without it, and the Python tests skip loudly. */
export const python = spawnSync("/usr/bin/python3", ["-c", "import numpy"], { stdio: "ignore" }).status === 0 ? "/usr/bin/python3" : undefined;

if (python === undefined) {
  console.warn("SKIPPED Python step tests: /usr/bin/python3 with numpy is needed (Debian: apt-get install python3-numpy)");
  // Under CI's MAELSTROM_REQUIRE_INTEGRATION=1 a skip is a failure.
  it.runIf(process.env["MAELSTROM_REQUIRE_INTEGRATION"] === "1")("the Python step tests can run", () => {
    throw new Error("MAELSTROM_REQUIRE_INTEGRATION=1 but /usr/bin/python3 cannot import numpy");
  });
}

/** The sdk as step code sees it: a module file outside the repository imports it by URL. */
const sdkUrl = import.meta.resolve("@maelstrom/sdk");

/** A fresh folder for one test file, removed after its tests. */
export function testFolder(name: string): { readonly fresh: (what: string) => string } {
  const root = mkdtempSync(join(tmpdir(), `maelstrom-${name}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let counter = 0;
  return { fresh: (what) => join(root, `${what}-${counter++}`) };
}

/** A node step module (ES module) in `dir`; `SDK` in `source` stands for the sdk's URL. */
export function nodeModule(dir: string, source: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "step.mjs");
  writeFileSync(file, source.replaceAll("SDK", sdkUrl));
  return file;
}

/** A Python step module in `dir`. */
export function pythonModule(dir: string, source: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "step.py");
  writeFileSync(file, source);
  return file;
}

/** Writes `bundle` to a fresh folder and returns it. */
export async function bundleAt(dir: string, bundle: Bundle): Promise<string> {
  await writeBundle(bundle, dir);
  return dir;
}

/** The values of one variable of the bundle in `dir`. */
export async function valuesOf(dir: string, variable: string): Promise<unknown[]> {
  return Array.from((await readBundle(dir)).variable(variable).data as ArrayLike<unknown>);
}

/** Whether process `pid` exists (a zombie counts as gone: its parent has not reaped it yet). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim();
  return stat !== "" && !stat.startsWith("Z");
}

/** Whether process `pid` is gone within `ms` (a signal takes a moment to land). */
export async function goneWithin(pid: number, ms = 3000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (!isAlive(pid)) return true;
  }
  return !isAlive(pid);
}

/** What one step run collected: the options given, its events and its log. */
export interface StepCase {
  readonly options: Extract<StepProcessOptions, { spec: StepSpec }>;
  readonly events: StepEvent[];
  readonly log: () => string;
}

/**
 * Options for a step of `module` with `call`, as the engine builds them: a spec file, a log file
 * and the checkout (here the module's folder) as cwd, in a fresh folder from `fresh`.
 */
export function stepCase(
  fresh: (what: string) => string,
  runner: Exclude<StepRunner, { kind: "shell" }>,
  spec: Pick<StepSpec, "call" | "module"> & Partial<StepSpec>,
  extra: Partial<Pick<StepProcessOptions, "timeoutMs" | "signal" | "env" | "onStart">> = {},
): StepCase {
  const dir = fresh("step");
  mkdirSync(dir, { recursive: true });
  const events: StepEvent[] = [];
  const logFile = join(dir, "step.log");
  const full: StepSpec = { artifact: "demo", parameters: {}, inputs: {}, outputs: { data: join(dir, "out") }, state: null, ...spec };
  const options: StepCase["options"] = {
    runner,
    spec: full,
    specFile: join(dir, "spec.json"),
    logFile,
    cwd: join(spec.module, ".."),
    timeoutMs: null,
    onEvent: (event) => events.push(event),
    ...extra,
  };
  return { options, events, log: () => readFileSync(logFile, "utf8") };
}
