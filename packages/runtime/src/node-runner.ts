/**
 * The node step runner: the entry point of every node step's child process.
 * argv[2] is a StepSpec JSON file. Events go to fd 3, the user's prints to stdout/stderr.
 * Kept free of heavy imports: its start-up time is paid once per step.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deserialize, serialize } from "node:v8";
import { Bundle, isBundle, readBundle, writeBundle, type FailedEvent, type StepEvent, type StepSpec } from "@maelstrom/core";
import { MetaVariables, type Bundles } from "@maelstrom/sdk";
import { describeValue, errorLocation, scalarMetrics } from "./runner-support.js";

const started = performance.now();

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

async function main(): Promise<void> {
  const specFile = process.argv[2];
  if (specFile === undefined) throw new Error("usage: node-runner SPEC.json");
  const spec = JSON.parse(readFileSync(specFile, "utf8")) as StepSpec;

  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(spec.module).href)) as Record<string, unknown>;
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
  const usage = process.resourceUsage();
  emit({
    type: "done",
    metrics,
    resources: {
      wallMs: performance.now() - started,
      userCpuMs: usage.userCPUTime / 1000,
      systemCpuMs: usage.systemCPUTime / 1000,
      maxRssBytes: usage.maxRSS * 1024,
    },
  });
  process.exit(0);
}

main().catch((error: unknown) => fail("contract", error));
