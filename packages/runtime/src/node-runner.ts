/**
 * The node step runner: the entry point of every node step's child process.
 * `node-runner SPEC.json` runs one step: a StepSpec JSON file. Events go to fd 3, the user's prints
 * to stdout/stderr. `node-runner --worker` is a warm worker (WorkerPool): one spec file path per line
 * on stdin, each step run as in the one-shot mode; a failed step ends the worker.
 * Kept free of heavy imports: its start-up time is paid once per step (one-shot) or per worker.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { deserialize, serialize } from "node:v8";
import { Bundle, isBundle, readBundle, writeBundle, type FailedEvent, type StepEvent, type StepSpec } from "@maelstrom/core";
import { MetaVariables, type Bundles } from "@maelstrom/sdk";
import { describeValue, errorLocation, scalarMetrics } from "./runner-support.js";
import type { WorkerStepSpec } from "./worker-pool.js";

const processStarted = performance.now();

function emit(event: StepEvent): void {
  writeFileSync(3, `${JSON.stringify(event)}\n`);
}

class ContractError extends Error {}

function fail(reason: FailedEvent["reason"], error: unknown): never {
  const stack = error instanceof Error ? (error.stack ?? null) : null;
  const message = error instanceof Error ? error.message : `non-error value thrown: ${describeValue(error)}`;
  // The traceback goes to the step log too, where the user looks for it.
  process.stderr.write(`${stack ?? message}\n`);
  emit({ type: "failed", reason, message, location: errorLocation(stack), stack });
  process.exit(1);
}

type StepFunction = (...args: unknown[]) => unknown;

function exported(module: Record<string, unknown>, name: string, spec: StepSpec, signature: string): StepFunction {
  const fn = module[name];
  if (typeof fn !== "function") {
    const has = Object.keys(module).filter((key) => key !== "default");
    throw new ContractError(
      `the entry of ${spec.artifact} does not export a function '${name}' (expected ${signature}); it exports: ${has.join(", ") || "nothing"}`,
    );
  }
  return fn as StepFunction;
}

/** " as output 'name'" for a named output, nothing for the plain `data` one: the tail of "returned X". */
function asOutput(name: string | null): string {
  return name === null ? "" : ` as output '${name}'`;
}

function expectBundle(value: unknown, what: string, name: string | null): Bundle {
  if (!isBundle(value)) {
    throw new ContractError(
      `${what} returned ${describeValue(value)}${asOutput(name)}, expected a Bundle (build one with Bundle.fromTable or Bundle.fromVariables)`,
    );
  }
  return value;
}

function metricsBundle(value: unknown, what: string, name: string | null): Bundle {
  if (isBundle(value)) return value;
  // A plain { name: number } object is accepted as a convenience.
  if (typeof value === "object" && value !== null && Object.values(value).every((v) => typeof v === "number")) {
    const variables = Object.fromEntries(Object.entries(value).map(([key, v]) => [key, { dims: [], data: [v as number] }]));
    return Bundle.fromVariables(variables);
  }
  const [returned, expected] = name === null ? [`[model, ${describeValue(value)}]`, "[model, Bundle]"] : [`${describeValue(value)}${asOutput(name)}`, "a Bundle"];
  throw new ContractError(
    `${what} returned ${returned}, expected ${expected} (metrics as a Bundle, e.g. Bundle.fromVariables({ accuracy: { dims: [], data: [0.9] } }))`,
  );
}

/** The one convention of both runners: exactly the name `data` is a plain Bundle, any other set of names an object. */
function isPlain(names: readonly string[]): boolean {
  return names.length === 1 && names[0] === "data";
}

async function readInputs(inputs: StepSpec["inputs"]): Promise<Bundle | Bundles> {
  const data = inputs["data"];
  if (isPlain(Object.keys(inputs)) && data !== undefined) return readBundle(data);
  return Object.fromEntries(await Promise.all(Object.entries(inputs).map(async ([name, dir]) => [name, await readBundle(dir)] as const)));
}

/** [directory, bundle] of each output from what the step function returned, checked against the spec's output names. */
function outputBundles(
  value: unknown,
  outputs: StepSpec["outputs"],
  what: string,
  toBundle: (value: unknown, what: string, name: string | null) => Bundle,
): [string, Bundle][] {
  const names = Object.keys(outputs);
  if (isPlain(names)) return Object.values(outputs).map((dir) => [dir, toBundle(value, what, null)]);
  const expected = `expected an object with exactly the outputs ${names.join(", ") || "(none)"}, one Bundle each`;
  if (typeof value !== "object" || value === null || Array.isArray(value) || isBundle(value)) {
    throw new ContractError(`${what} returned ${describeValue(value)}, ${expected}`);
  }
  const has = Object.keys(value);
  const missing = names.filter((name) => !has.includes(name));
  const extra = has.filter((name) => !names.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    const wrong = [missing.length > 0 ? `missing: ${missing.join(", ")}` : "", extra.length > 0 ? `extra: ${extra.join(", ")}` : ""];
    throw new ContractError(`${what} returned an object with ${has.join(", ") || "no names"} (${wrong.filter(Boolean).join("; ")}), ${expected}`);
  }
  return Object.entries(outputs).map(([name, dir]) => [dir, toBundle((value as Record<string, unknown>)[name], what, name)]);
}

async function saveModel(module: Record<string, unknown>, model: unknown, dir: string, spec: StepSpec): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (typeof module["save"] === "function") {
    await (module["save"] as StepFunction)(model, dir);
    return;
  }
  let bytes: Buffer;
  try {
    bytes = serialize(model);
  } catch (error) {
    throw new ContractError(
      `the model state returned by train of ${spec.artifact} cannot be serialised (${(error as Error).message}); return plain data (objects, arrays, typed arrays) or export save(model, dir) and load(dir)`,
    );
  }
  writeFileSync(join(dir, "model.v8"), bytes);
}

async function loadModel(module: Record<string, unknown>, dir: string): Promise<unknown> {
  if (typeof module["load"] === "function") return await (module["load"] as StepFunction)(dir);
  return deserialize(readFileSync(join(dir, "model.v8")));
}

/** Runs one step as `spec` says, up to its written outputs; returns its metrics. A failure ends the process (fail). */
async function runStep(spec: StepSpec, moduleUrl: string): Promise<Record<string, number>> {
  let module: Record<string, unknown>;
  try {
    module = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    fail("load", error);
  }

  const meta = new MetaVariables(spec.parameters, spec.artifact);
  const input = await readInputs(spec.inputs);
  let metrics: Record<string, number> = {};
  let outputs: [string, Bundle][];
  try {
    switch (spec.call) {
      case "get": {
        const get = exported(module, "get", spec, "get(meta): Bundle");
        outputs = outputBundles(await get(meta), spec.outputs, `get of ${spec.artifact}`, expectBundle);
        break;
      }
      case "transform": {
        const apply = exported(module, "apply", spec, "apply(bundle, meta): Bundle");
        outputs = outputBundles(await apply(input, meta), spec.outputs, `apply of ${spec.artifact}`, expectBundle);
        break;
      }
      case "train": {
        const train = exported(module, "train", spec, "train(bundle, meta): [model, Bundle]");
        exported(module, "apply", spec, "apply(model, bundle): Bundle");
        const result = await train(input, meta);
        if (!Array.isArray(result) || result.length !== 2) {
          throw new ContractError(`train of ${spec.artifact} returned ${describeValue(result)}, expected [model, Bundle]`);
        }
        outputs = outputBundles(result[1], spec.outputs, `train of ${spec.artifact}`, metricsBundle);
        metrics = Object.assign({}, ...outputs.map(([, bundle]) => scalarMetrics(bundle)));
        if (spec.state === null) throw new Error("train needs a state directory");
        await saveModel(module, result[0], spec.state, spec);
        break;
      }
      case "predict": {
        const apply = exported(module, "apply", spec, "apply(model, bundle): Bundle");
        if (spec.state === null) throw new Error("predict needs a state directory");
        const model = await loadModel(module, spec.state);
        outputs = outputBundles(await apply(model, input), spec.outputs, `apply of ${spec.artifact}`, expectBundle);
        break;
      }
    }
  } catch (error) {
    fail(error instanceof ContractError ? "contract" : "user", error);
  }
  await Promise.all(outputs.map(([dir, bundle]) => writeBundle(bundle, dir)));
  return metrics;
}

/** The done event: resources since `started` (performance.now()) and, in a worker, CPU time since `before`. */
function emitDone(metrics: Record<string, number>, started: number, before: NodeJS.ResourceUsage | null): void {
  const usage = process.resourceUsage();
  emit({
    type: "done",
    metrics,
    resources: {
      wallMs: performance.now() - started,
      userCpuMs: (usage.userCPUTime - (before?.userCPUTime ?? 0)) / 1000,
      systemCpuMs: (usage.systemCPUTime - (before?.systemCPUTime ?? 0)) / 1000,
      // The process's peak: a worker's is that of all its steps so far (no per-step peak exists).
      maxRssBytes: usage.maxRSS * 1024,
    },
  });
}

type Write = typeof process.stdout.write;

/**
 * Gives a worker the surroundings a one-shot process of this step would have had: its cwd, its
 * environment variables, stdout and stderr appended to its log. Returns what undoes it.
 * process.stdout/stderr.write are swapped (node cannot re-point fds 1 and 2); the writes are
 * synchronous so that all output is in the log before the step's done event. Child processes the
 * user spawns with inherited stdio get the worker's own fds 1 and 2 instead, which the pool
 * appends to the log of the step that runs.
 */
function enterStep(step: WorkerStepSpec["worker"]): () => void {
  process.chdir(step.cwd);
  const previous = Object.keys(step.env).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, step.env);
  const logFd = openSync(step.logFile, "a");
  const writes = [process.stdout.write, process.stderr.write] as const;
  const toLog = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void) => {
    writeSync(logFd, typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8") : chunk);
    const done = typeof encoding === "function" ? encoding : callback;
    if (done !== undefined) process.nextTick(done);
    return true;
  }) as Write;
  process.stdout.write = toLog;
  process.stderr.write = toLog;
  return () => {
    [process.stdout.write, process.stderr.write] = writes;
    closeSync(logFd);
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Warm worker: the steps whose spec files come on stdin, one after the other, until stdin ends. */
async function worker(): Promise<void> {
  let steps = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line === "") continue;
    const started = performance.now();
    const before = process.resourceUsage();
    const spec = JSON.parse(readFileSync(line, "utf8")) as WorkerStepSpec;
    const leave = enterStep(spec.worker);
    // A fresh instance of the module for every step, as a one-shot process would load it: no
    // module-level state carries over. (Instances are never freed; the pool retires a worker after
    // a number of steps.)
    const metrics = await runStep(spec, `${pathToFileURL(spec.module).href}?step=${++steps}`);
    leave();
    emitDone(metrics, started, before);
  }
  // stdin ended: the pool is done with this worker, or the engine died.
  process.exit(0);
}

async function main(): Promise<void> {
  const argument = process.argv[2];
  if (argument === undefined) throw new Error("usage: node-runner SPEC.json | node-runner --worker");
  if (argument === "--worker") return worker();
  const spec = JSON.parse(readFileSync(argument, "utf8")) as StepSpec;
  emitDone(await runStep(spec, pathToFileURL(spec.module).href), processStarted, null);
  process.exit(0);
}

main().catch((error: unknown) => fail("contract", error));
