import type { Command } from "commander";
import { parseSetArguments } from "@maelstrom/core";
import { InputError } from "@maelstrom/errors";
import type { ExecutionRequest, TrainOutcome, TrainRequest } from "@maelstrom/engine";
import { print, printJson, withEngine } from "../context.js";
import { duration, formatPlan, metricValue, sweepTable } from "../format.js";
import { withProgress } from "../progress.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Options every executing command shares: cache, parallelism, workers. */
export interface ExecutionFlags {
  readonly cache: boolean;
  readonly rerun: string[];
  readonly cpus?: string;
  readonly memory?: string;
  readonly workers: boolean;
  readonly fuse?: boolean;
  readonly executor?: string;
}

export function addExecutionOptions(command: Command): Command {
  return command
    .option("--no-cache", "run every step, even those whose results the step cache holds")
    .option("--rerun <step>", "run this step even if cached (repeatable)", collect, [])
    .option("--cpus <n>", "CPUs that steps running at once may declare in total (default: maelstrom config cpus, else all)")
    .option("--memory <size>", "memory that steps running at once may declare in total, e.g. 16GiB (default: maelstrom config memory, else all)")
    .option("--no-workers", "start a fresh process for every step instead of reusing warm worker processes")
    .option("--fuse", "run chains of same-runtime steps in one process, passing bundles in memory (the bundles between them are not stored or cached)")
    .option(
      "--executor <where>",
      "where steps run that neither their pipeline (executor:) nor a cluster's --when rule places: local (default; resume: as the run did), slurm (the only configured cluster) or slurm:NAME (see maelstrom cluster)",
    );
}

export function executionRequest(flags: ExecutionFlags): ExecutionRequest {
  return {
    useCache: flags.cache,
    rerunSteps: flags.rerun,
    workers: flags.workers,
    fuse: flags.fuse === true,
    ...(flags.cpus === undefined ? {} : { cpus: flags.cpus }),
    ...(flags.memory === undefined ? {} : { memory: flags.memory }),
    ...(flags.executor === undefined ? {} : { executor: flags.executor }),
  };
}

interface GraphFlags extends ExecutionFlags {
  readonly data?: string;
  readonly set: string[];
  readonly sweep: string[];
  readonly select?: string;
  readonly target: string[];
  readonly prune: boolean;
  readonly modelName?: string;
  readonly json?: boolean;
}

function addGraphOptions(command: Command, steps = "<steps...>"): Command {
  return addExecutionOptions(
    command
      .argument(steps, "artifacts in order (a chain: transforms then models), or one pipeline; references (name, name:tag) or folders")
      .option("-d, --data <data>", "dataset artifact (ref or folder), .csv file, Zarr bundle folder or bundle digest; a pipeline with its own datasets needs none")
      .option("-s, --set <name=value>", "parameter value; 'name' for every step declaring it, 'step.name' for one step (repeatable)", collect, [])
      .option("--sweep <name=v1,v2,...>", "try each value (repeatable: a grid); branches share the steps the parameter does not reach", collect, [])
      .option("--select <metric:max|min>", "with --sweep: register only the best branch's model")
      .option("--target <step>", "run only what this step needs (repeatable)", collect, [])
      .option("--no-prune", "keep steps that no --target needs")
      .option("-n, --model-name <name>", "register the model under this name (default: the model artifact's name)")
      .option("--json", "print the result as JSON"),
  );
}

/** `--sweep trees=10,50,100` → { trees: ["10", "50", "100"] }. */
function parseSweeps(args: readonly string[]): Record<string, string[]> {
  const sweeps: Record<string, string[]> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0 || eq === arg.length - 1) {
      throw new InputError(`--sweep ${arg}: expected NAME=V1,V2,... (or STEP.NAME=V1,V2,...)`, { code: "PARAMETER_INVALID", details: { sweep: arg } });
    }
    const name = arg.slice(0, eq);
    if (name in sweeps) throw new InputError(`--sweep ${name} is given twice; list all values in one: --sweep ${name}=V1,V2,...`, { code: "PARAMETER_INVALID" });
    sweeps[name] = arg.slice(eq + 1).split(",");
  }
  return sweeps;
}

function graphRequest(steps: string[], flags: GraphFlags): TrainRequest {
  return {
    ...executionRequest(flags),
    steps,
    data: flags.data ?? null,
    set: parseSetArguments(flags.set),
    ...(flags.sweep.length === 0 ? {} : { sweep: parseSweeps(flags.sweep) }),
    ...(flags.select === undefined ? {} : { select: flags.select }),
    targets: flags.target,
    prune: flags.prune,
    ...(flags.modelName === undefined ? {} : { modelName: flags.modelName }),
  };
}

function printOutcome(outcome: TrainOutcome): void {
  const { run, models } = outcome;
  const kind = run.kind;
  const took = run.startedAt !== null && run.endedAt !== null ? duration(run.endedAt - run.startedAt) : "-";
  const cached = run.steps.filter((s) => s.cachedFrom !== null).length;
  const ran = run.steps.length - cached;
  print(`${kind} run ${run.id} succeeded in ${took}: ${ran} ${ran === 1 ? "step" : "steps"} ran, ${cached} cached`);
  const sweep = run.result?.sweep;
  if (sweep !== undefined && sweep !== null) {
    print(sweepTable(sweep));
    if (sweep.selected !== null) print("* selected and registered");
  }
  for (const model of models) {
    print(`registered model ${model.ref}`);
    for (const [name, value] of Object.entries(model.record.metrics)) print(`  ${name.padEnd(12)} ${metricValue(value)}`);
  }
  const first = models[0];
  if (first !== undefined) print(`next: maelstrom models show ${first.ref} | maelstrom apply ${first.ref} [--data DATA] | maelstrom lineage ${first.ref}`);
  else print(`next: maelstrom runs show ${run.id} | maelstrom lineage ${run.id}`);
}

export function registerPipelineCommands(program: Command): void {
  for (const kind of ["train", "run"] as const) {
    const description =
      kind === "train"
        ? "train models: a chain ([dataset →] transforms → model) or a pipeline graph; registers the model versions"
        : "run a pipeline (any steps; models in it are trained and registered too)";
    addGraphOptions(program.command(kind).description(description)).action(async (steps: string[], flags: GraphFlags, command: Command) => {
      const request = graphRequest(steps, flags);
      await withEngine(command, async (engine) => {
        const outcome = await withProgress(flags.json, (hooks) => (kind === "train" ? engine.train(request, hooks) : engine.run(request, hooks)));
        if (flags.json === true) return printJson({ run: outcome.run, model: outcome.model, models: outcome.models });
        printOutcome(outcome);
      });
    });
  }

  addGraphOptions(
    program
      .command("plan")
      .description("show what a train/run would do without running it: the graph, which steps are cached, which run and why, and where each runs (steps on a Slurm cluster: its partition limits are checked, which asks the cluster)")
      .option("--apply <model>", "plan applying this model instead (the steps are its training graph)"),
    "[steps...]",
  ).action(async (steps: string[], flags: GraphFlags & { apply?: string }, command: Command) => {
    await withEngine(command, async (engine) => {
      if (flags.apply !== undefined && steps.length > 0) {
        throw new InputError(`plan --apply ${flags.apply} plans applying a model; it takes no steps (got ${steps.join(" ")})`, { details: {} });
      }
      if (flags.apply === undefined && steps.length === 0) {
        throw new InputError("plan needs the steps of a run (maelstrom plan STEP... [--data DATA]) or --apply MODEL", { details: {} });
      }
      const preview =
        flags.apply === undefined
          ? await engine.preview("run", graphRequest(steps, flags))
          : await engine.previewApply({ model: flags.apply, data: flags.data ?? null, set: parseSetArguments(flags.set), ...executionRequest(flags) });
      if (flags.json === true) {
        return printJson({
          kind: preview.plan.kind,
          steps: preview.plan.steps.map((s) => {
            const decision = preview.decisions.find((d) => d.id === s.id);
            return {
              id: s.id,
              artifact: s.artifact.name,
              call: s.call,
              inputs: s.inputs,
              parameters: s.parameters,
              status: decision?.action ?? "run",
              reason: decision?.reason ?? "",
              executor: decision?.executor ?? "local",
              executorReason: decision?.executorReason ?? "default",
            };
          }),
          pruned: preview.pruned,
        });
      }
      print(formatPlan(preview));
    });
  });

  addExecutionOptions(
    program
      .command("resume")
      .description(
        "continue a run that did not finish (killed, crashed, cancelled, failed): finished steps are kept, the rest run; Slurm jobs a killed maelstrom left queued or running are waited for, not submitted again",
      )
      .argument("<run>", "run id")
      .option("--json", "print the result as JSON"),
  ).action(async (id: string, flags: ExecutionFlags & { json?: boolean }, command: Command) => {
    await withEngine(command, async (engine) => {
      const outcome = await withProgress(flags.json, (hooks) => engine.resume(id, executionRequest(flags), hooks));
      if (flags.json === true) return printJson({ run: outcome.run, model: outcome.model, models: outcome.models });
      printOutcome(outcome);
    });
  });
}
