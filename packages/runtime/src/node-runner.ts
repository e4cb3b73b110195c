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
import { MetaVariables } from "@maelstrom/sdk";
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

function expectBundle(value: unknown, what: string): Bundle {
  if (!isBundle(value)) {
    throw new ContractError(`${what} returned ${describeValue(value)}, expected a Bundle (build one with Bundle.fromTable or Bundle.fromVariables)`);
  }
  return value;
}

function metricsBundle(value: unknown, spec: StepSpec): Bundle {
  if (isBundle(value)) return value;
  // A plain { name: number } object is accepted as a convenience.
  if (typeof value === "object" && value !== null && Object.values(value).every((v) => typeof v === "number")) {
    const variables = Object.fromEntries(Object.entries(value).map(([name, v]) => [name, { dims: [], data: [v as number] }]));
    return Bundle.fromVariables(variables);
  }
  throw new ContractError(
    `train of ${spec.artifact} returned [model, ${describeValue(value)}], expected [model, Bundle] (metrics as a Bundle, e.g. Bundle.fromVariables({ accuracy: { dims: [], data: [0.9] } }))`,
  );
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
  const input = spec.input === null ? null : await readBundle(spec.input);
  let metrics: Record<string, number> = {};
  let output: Bundle;
  try {
    switch (spec.call) {
      case "get": {
        const get = exported(module, "get", spec, "get(meta): Bundle");
        output = expectBundle(await get(meta), `get of ${spec.artifact}`);
        break;
      }
      case "transform": {
        const apply = exported(module, "apply", spec, "apply(bundle, meta): Bundle");
        output = expectBundle(await apply(input, meta), `apply of ${spec.artifact}`);
        break;
      }
      case "train": {
        const train = exported(module, "train", spec, "train(bundle, meta): [model, Bundle]");
        exported(module, "apply", spec, "apply(model, bundle): Bundle");
        const result = await train(input, meta);
        if (!Array.isArray(result) || result.length !== 2) {
          throw new ContractError(`train of ${spec.artifact} returned ${describeValue(result)}, expected [model, Bundle]`);
        }
        output = metricsBundle(result[1], spec);
        metrics = scalarMetrics(output);
        if (spec.state === null) throw new Error("train needs a state directory");
        await saveModel(module, result[0], spec.state, spec);
        break;
      }
      case "predict": {
        const apply = exported(module, "apply", spec, "apply(model, bundle): Bundle");
        if (spec.state === null) throw new Error("predict needs a state directory");
        const model = await loadModel(module, spec.state);
        output = expectBundle(await apply(model, input), `apply of ${spec.artifact}`);
        break;
      }
    }
  } catch (error) {
    fail(error instanceof ContractError ? "contract" : "user", error);
  }
  await writeBundle(output, spec.output);
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
