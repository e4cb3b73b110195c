/**
 * The node step runner: the entry point of every node step's child process.
 * `node-runner SPEC.json` runs one step: a StepSpec JSON file. Events go to fd 3, the user's prints
 * to stdout/stderr. `node-runner --worker` is a warm worker (WorkerPool): one spec file path per line
 * on stdin, each step run as in the one-shot mode; a failed step ends the worker.
 * A spec with `next` is a fused chain: its calls run one after the other in this process, each
 * handing its output Bundle to the next in memory; only the last call's result is written.
 * Kept free of heavy imports: its start-up time is paid once per step (one-shot) or per worker.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { deserialize, serialize } from "node:v8";
import {
  Bundle,
  isBundle,
  readBundle,
  setCallIndex,
  withCallIndex,
  writeBundle,
  type FailedEvent,
  type FusedCall,
  type StepEvent,
  type StepSpec,
} from "@maelstrom/core";
import { MetaVariables, type Bundles } from "@maelstrom/sdk";
import { describeValue, errorLocation, scalarMetrics } from "./runner-support.js";
import type { WorkerStepSpec } from "./worker-pool.js";

const processStarted = performance.now();

function emit(event: StepEvent): void {
  writeFileSync(3, `${JSON.stringify(event)}\n`);
}

class ContractError extends Error {}

/** One call this process makes: the spec's own, or a step fused after it (StepSpec.next). */
type Call = StepSpec | FusedCall;

/** The call of a fused chain that runs now, null for a step without `next`. */
type Running = { readonly index: number; readonly artifact: string } | null;
let fused: Running = null;

/** Marks a call of a chain as running (null: none): its failure and its events (the SDK's too) carry its index. */
function enterCall(call: Running): void {
  fused = call;
  setCallIndex(call?.index);
}

function fail(reason: FailedEvent["reason"], error: unknown): never {
  const stack = error instanceof Error ? (error.stack ?? null) : null;
  const thrown = error instanceof Error ? error.message : `non-error value thrown: ${describeValue(error)}`;
  // In a chain, the user's own message does not say whose code threw (contract messages name it already).
  const message = fused !== null && reason !== "contract" ? `${fused.artifact}: ${thrown}` : thrown;
  // The traceback goes to the step log too, where the user looks for it.
  process.stderr.write(`${stack ?? message}\n`);
  emit(withCallIndex({ type: "failed", reason, message, location: errorLocation(stack), stack }));
  process.exit(1);
}

type StepFunction = (...args: unknown[]) => unknown;

function exported(module: Record<string, unknown>, name: string, artifact: string, signature: string): StepFunction {
  const fn = module[name];
  if (typeof fn !== "function") {
    const has = Object.keys(module).filter((key) => key !== "default");
    throw new ContractError(
      `the entry of ${artifact} does not export a function '${name}' (expected ${signature}); it exports: ${has.join(", ") || "nothing"}`,
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

async function saveModel(module: Record<string, unknown>, model: unknown, dir: string, artifact: string): Promise<void> {
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
      `the model state returned by train of ${artifact} cannot be serialised (${(error as Error).message}); return plain data (objects, arrays, typed arrays) or export save(model, dir) and load(dir)`,
    );
  }
  writeFileSync(join(dir, "model.v8"), bytes);
}

async function loadModel(module: Record<string, unknown>, dir: string): Promise<unknown> {
  if (typeof module["load"] === "function") return await (module["load"] as StepFunction)(dir);
  return deserialize(readFileSync(join(dir, "model.v8")));
}

/** What one call returned: its result, how messages name the function, and a train's model. */
interface Returned {
  readonly value: unknown;
  readonly what: string;
  readonly trained: { readonly model: unknown } | null;
}

/** Calls the function `call` names in `module` with `input` (nothing for get). Throws a ContractError when the module does not fit. */
async function invoke(call: Call, module: Record<string, unknown>, input: Bundle | Bundles): Promise<Returned> {
  const { artifact } = call;
  const meta = new MetaVariables(call.parameters, artifact);
  switch (call.call) {
    case "get": {
      const get = exported(module, "get", artifact, "get(meta): Bundle");
      return { value: await get(meta), what: `get of ${artifact}`, trained: null };
    }
    case "transform": {
      const apply = exported(module, "apply", artifact, "apply(bundle, meta): Bundle");
      return { value: await apply(input, meta), what: `apply of ${artifact}`, trained: null };
    }
    case "train": {
      const train = exported(module, "train", artifact, "train(bundle, meta): [model, Bundle]");
      exported(module, "apply", artifact, "apply(model, bundle): Bundle");
      const result = await train(input, meta);
      if (!Array.isArray(result) || result.length !== 2) {
        throw new ContractError(`train of ${artifact} returned ${describeValue(result)}, expected [model, Bundle]`);
      }
      return { value: result[1], what: `train of ${artifact}`, trained: { model: result[0] } };
    }
    case "predict": {
      const apply = exported(module, "apply", artifact, "apply(model, bundle): Bundle");
      if (call.state === null) throw new Error("predict needs a state directory");
      const model = await loadModel(module, call.state);
      return { value: await apply(model, input), what: `apply of ${artifact}`, trained: null };
    }
  }
}

/**
 * Fails (contract) for a chain no runner can run: every call but the last hands one Bundle on, so
 * only the last may train; a fused call takes the previous call's output, so none of them is a get.
 */
function checkChain(calls: readonly Call[]): void {
  for (const [index, call] of calls.entries()) {
    const wrong =
      index > 0 && call.call === "get"
        ? "a get, but a fused call takes the previous call's output"
        : index < calls.length - 1 && call.call === "train"
          ? "a train before the end, but only the last call of a chain may train (its model and metrics are the chain's result)"
          : null;
    if (wrong === null) continue;
    enterCall({ index, artifact: call.artifact });
    fail("contract", new ContractError(`the step spec fuses ${call.artifact} as call ${index} of a chain of ${calls.length}: it is ${wrong}`));
  }
}

/** Sets `env` in process.env; returns what restores the variables it changed. */
function setEnv(env: Readonly<Record<string, string>>): () => void {
  const previous = Object.keys(env).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** A fused call runs where its own step would: in its artifact folder, with its variables until the returned function restores them. */
function enterFusedCall(call: FusedCall): () => void {
  process.chdir(call.cwd);
  return setEnv(call.env);
}

/**
 * Runs one step as `spec` says, up to its written outputs, and returns its metrics: the spec's own
 * call and then, fused, each of `spec.next`, every call's module loaded from `moduleUrl(module,
 * index)`. A failure ends the process (fail).
 */
async function runStep(spec: StepSpec, moduleUrl: (module: string, index: number) => string): Promise<Record<string, number>> {
  const calls: readonly Call[] = [spec, ...(spec.next ?? [])];
  const chained = calls.length > 1;
  if (chained) checkChain(calls);
  let input: Bundle | Bundles = {};
  let metrics: Record<string, number> = {};
  let outputs: [string, Bundle][] = [];
  for (const [index, call] of calls.entries()) {
    const last = index === calls.length - 1;
    if (chained) enterCall({ index, artifact: call.artifact });
    const restore = "cwd" in call ? enterFusedCall(call) : null;
    let module: Record<string, unknown>;
    try {
      module = (await import(moduleUrl(call.module, index))) as Record<string, unknown>;
    } catch (error) {
      fail("load", error);
    }
    if (index === 0) input = await readInputs(spec.inputs);
    try {
      const returned = await invoke(call, module, input);
      if (!last) {
        // Handed on in memory, as the next step would have read it from the bundle written here.
        input = expectBundle(returned.value, returned.what, null);
      } else {
        outputs = outputBundles(returned.value, spec.outputs, returned.what, returned.trained === null ? expectBundle : metricsBundle);
        if (returned.trained !== null) {
          metrics = Object.assign({}, ...outputs.map(([, bundle]) => scalarMetrics(bundle)));
          if (call.state === null) throw new Error("train needs a state directory");
          await saveModel(module, returned.trained.model, call.state, call.artifact);
        }
      }
    } catch (error) {
      fail(error instanceof ContractError ? "contract" : "user", error);
    }
    restore?.();
  }
  await Promise.all(outputs.map(([dir, bundle]) => writeBundle(bundle, dir)));
  if (chained) enterCall(null);
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
  const restoreEnv = setEnv(step.env);
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
    restoreEnv();
  };
}

/** Warm worker: the steps whose spec files come on stdin, one after the other, until stdin ends. */
async function worker(): Promise<void> {
  let loads = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line === "") continue;
    const started = performance.now();
    const before = process.resourceUsage();
    const spec = JSON.parse(readFileSync(line, "utf8")) as WorkerStepSpec;
    const leave = enterStep(spec.worker);
    // A fresh instance of the module for every step (and every call of a chain), as a one-shot
    // process would load it: no module-level state carries over. (Instances are never freed; the
    // pool retires a worker after a number of steps.)
    const metrics = await runStep(spec, (module) => `${pathToFileURL(module).href}?step=${++loads}`);
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
  // Each call of a chain gets its own instance of its module, as it would in a process of its own.
  const url = (module: string, index: number): string => `${pathToFileURL(module).href}${index === 0 ? "" : `?call=${index}`}`;
  emitDone(await runStep(spec, url), processStarted, null);
  process.exit(0);
}

main().catch((error: unknown) => fail("contract", error));
