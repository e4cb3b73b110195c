import type { Command } from "commander";
import { parseSetArguments } from "@maelstrom/core";
import { InputError, NotReproducibleError } from "@maelstrom/errors";
import { existsSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { Engine, RunRecord } from "@maelstrom/engine";
import { print, printJson, withEngine } from "../context.js";
import { exportBundle } from "../export.js";
import { bytes, duration, metricValue, shortDigest, sweepTable, table, when } from "../format.js";
import { withProgress } from "../progress.js";
import { isActiveState, statusLine, stepSlurmLines } from "../slurm-format.js";
import { addExecutionOptions, executionRequest, type ExecutionFlags } from "./pipelines.js";
import { bundlePreview } from "./bundle.js";

const RUN_STATUSES: readonly RunRecord["status"][] = ["pending", "running", "succeeded", "failed", "cancelled"];

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function runSeconds(run: RunRecord): string {
  return run.startedAt !== null && run.endedAt !== null ? duration(run.endedAt - run.startedAt) : "-";
}

function describeRun(run: RunRecord): string {
  const lines = [
    `run ${run.id}: ${run.kind} ${run.status}${run.rerunOf === null ? "" : ` (rerun of ${run.rerunOf})`}`,
    `  created ${when(run.createdAt)}, took ${runSeconds(run)}, engine ${run.owner.host} pid ${run.owner.pid}`,
  ];
  const registered = (run.result?.models ?? []).map((m) => `${m.name}/${m.version}`);
  if (run.kind === "apply") lines.push(`  model: ${run.plan.model.name}/${run.plan.model.version ?? "?"}`);
  else if (registered.length > 0) lines.push(`  registered: ${registered.join(", ")}`);
  if (run.error !== null) lines.push(`  error: ${run.error.message}`);
  lines.push("", table(
    ["STEP", "CALL", "STATUS", "TRY", "WALL", "PEAK MEM", "PLACEMENT", "OUTPUT"],
    run.steps.map((s) => [
      s.stepId,
      s.call === "predict" ? "apply" : s.call,
      s.cachedFrom === null ? s.status : "cached",
      String(s.attempt),
      s.resources === null ? "-" : duration(s.resources.wallMs),
      s.resources === null ? "-" : bytes(s.resources.maxRssBytes),
      s.placement ?? "-",
      shortDigest(s.outputDigest),
    ]),
  ));
  const slurm = run.steps.flatMap(stepSlurmLines);
  if (slurm.length > 0) lines.push("", "slurm:", ...slurm);
  const sweep = run.result?.sweep;
  if (sweep !== undefined && sweep !== null) lines.push("", "sweep:", sweepTable(sweep));
  if (run.metrics.length > 0) {
    lines.push("", "metrics:");
    for (const m of run.metrics) lines.push(`  ${m.stepId} ${m.name}${m.step === null ? "" : `[${m.step}]`} = ${metricValue(m.value)}`);
  }
  return lines.join("\n");
}

async function printApplied(engine: Engine, digest: string): Promise<void> {
  print(bundlePreview(await engine.readBundle(digest)));
}

const FOLLOW_POLL_MS = 250;

/**
 * Print the steps' logs as they grow, step after step, until the run has ended; a batch job's
 * state changes ("[slurm] job 123 RUNNING on node01") in between, the state it ended in after its log.
 */
async function followLogs(engine: Engine, id: string, stepId: string | undefined): Promise<void> {
  const printed = new Map<string, number>();
  const statuses = new Map<string, string>();
  for (;;) {
    const run = await engine.getRun(id);
    const steps = stepId === undefined ? run.steps : run.steps.filter((s) => s.stepId === stepId);
    if (steps.length === 0) await engine.readLogs(run.id, stepId); // throws the "no step" error
    for (const step of steps) {
      if (step.startedAt === null) continue;
      if (!printed.has(step.stepId)) {
        if (stepId === undefined) process.stdout.write(`=== ${step.stepId} ===\n`);
        printed.set(step.stepId, 0);
      }
      const status = step.schedulerStatus;
      const line = status === null ? null : statusLine(status);
      const changed = line !== null && statuses.get(step.stepId) !== line;
      if (changed) statuses.set(step.stepId, line);
      if (changed && status !== null && isActiveState(status.state)) process.stdout.write(line);
      const from = printed.get(step.stepId) ?? 0;
      const size = existsSync(step.logPath) ? statSync(step.logPath).size : 0;
      if (size > from) {
        const handle = await open(step.logPath, "r");
        try {
          const { buffer, bytesRead } = await handle.read(Buffer.alloc(size - from), 0, size - from, from);
          process.stdout.write(buffer.subarray(0, bytesRead));
          printed.set(step.stepId, from + bytesRead);
        } finally {
          await handle.close();
        }
      }
      if (changed && status !== null && !isActiveState(status.state)) process.stdout.write(line);
    }
    if (run.status !== "running" && run.status !== "pending") return;
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}

export function registerRunCommands(program: Command): void {
  addExecutionOptions(
    program
      .command("apply")
      .description("apply a trained model to data: the steps it was trained with (their fixed parameters), then the model")
      .argument("<model>", "model version: name/3, name@alias or name (latest)")
      .option("-d, --data <data>", "dataset artifact (ref or folder), .csv file, Zarr bundle folder or bundle digest (default: the data it was trained on)")
      .option("-s, --set <name=value>", "parameter of the dataset step, e.g. another period (repeatable); trained steps keep theirs", collect, [])
      .option("-o, --out <path>", "also write the predictions: a .csv file (table bundles) or a Zarr folder")
      .option("--json", "print the run and the output digest as JSON"),
  ).action(async (model: string, options: ExecutionFlags & { data?: string; set: string[]; out?: string; json?: boolean }, command: Command) => {
      const set = parseSetArguments(options.set);
      await withEngine(command, async (engine) => {
        const outcome = await withProgress(options.json, (hooks) => engine.apply({ ...executionRequest(options), model, data: options.data ?? null, set }, hooks));
        let written: string | null = null;
        if (options.out !== undefined) {
          const format = await exportBundle(await engine.readBundle(outcome.outputDigest), options.out);
          written = `${options.out} (${format})`;
        }
        if (options.json === true) return printJson({ run: outcome.run, model: outcome.model.ref, output: outcome.outputDigest, written });
        print(`applied ${outcome.model.ref} in run ${outcome.run.id} (${runSeconds(outcome.run)}): output ${outcome.outputDigest}`);
        if (written !== null) print(`wrote ${written}`);
        await printApplied(engine, outcome.outputDigest);
      });
    });

  const runs = program.command("runs").description("list runs, or show one (runs show RUN)");
  runs
    .command("list", { isDefault: true })
    .description("list runs, newest first")
    .option("--limit <n>", "how many", "50")
    .option("--status <status>", "only runs with this status (pending, running, succeeded, failed, cancelled)")
    .option("--json", "print as JSON")
    .action(async (options: { limit: string; status?: RunRecord["status"]; json?: boolean }, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new InputError(`--limit ${options.limit}: expected a whole number of runs >= 1`, { details: { limit: options.limit } });
      }
      if (options.status !== undefined && !RUN_STATUSES.includes(options.status)) {
        throw new InputError(`--status ${options.status}: expected one of ${RUN_STATUSES.join(", ")}`, { details: { status: options.status } });
      }
      const list = await withEngine(command, (engine) =>
        engine.listRuns({ limit, ...(options.status === undefined ? {} : { status: options.status }) }),
      );
      if (options.json === true) return printJson(list);
      if (list.length === 0) return print("no runs yet; start one with: maelstrom train STEP... --data DATA");
      print(
        table(
          ["RUN", "KIND", "STATUS", "MODEL", "STEPS", "STARTED", "TOOK"],
          list.map((r) => [
            r.id,
            r.kind,
            r.status,
            r.kind === "apply" ? `${r.plan.model.name}/${r.plan.model.version ?? "?"}` : (r.result?.models ?? (r.result?.model ? [r.result.model] : [])).map((m) => `${m.name}/${m.version}`).join(", ") || "-",
            String(r.steps.length),
            when(r.startedAt ?? r.createdAt),
            runSeconds(r),
          ]),
        ),
      );
    });
  runs
    .command("show")
    .description("show a run: steps, status, placement, resources, metrics, error")
    .argument("<run>", "run id (or a unique prefix)")
    .option("--json", "print as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const run = await withEngine(command, (engine) => engine.getRun(id));
      if (options.json === true) printJson(run);
      else print(describeRun(run));
    });

  program
    .command("logs")
    .description("print the logs (stdout and stderr) of a run's steps")
    .argument("<run>", "run id (or a unique prefix)")
    .argument("[step]", "only this step")
    .option("-f, --follow", "keep printing new output until the run ends (a run of another maelstrom process)")
    .action(async (id: string, step: string | undefined, options: { follow?: boolean }, command: Command) => {
      if (options.follow === true) await withEngine(command, (engine) => followLogs(engine, id, step));
      else process.stdout.write(await withEngine(command, (engine) => engine.readLogs(id, step)));
    });

  program
    .command("rerun")
    .description("execute a run again from its record alone and report, per output, whether it is bit-identical")
    .argument("<run>", "run id (or a unique prefix)")
    .option("--json", "print the comparison as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const report = await withEngine(command, (engine) => withProgress(options.json, (hooks) => engine.rerun(id, hooks)));
      if (options.json === true) printJson(report);
      else {
        print(`rerun ${report.runId} of run ${report.originalRunId}:`);
        print(
          table(
            ["STEP", "OUTPUT", "ORIGINAL", "RERUN", "RESULT"],
            report.comparisons.map((c) => [c.stepId, c.output, shortDigest(c.original), shortDigest(c.rerun), c.identical ? "bit-identical" : "DIFFERENT"]),
          ),
        );
        print(report.identical ? "all outputs are bit-identical" : "some outputs differ");
      }
      if (!report.identical) {
        const differing = report.comparisons.filter((c) => !c.identical).map((c) => `${c.stepId} (${c.output})`);
        throw new NotReproducibleError(`rerun ${report.runId} of run ${report.originalRunId} differs in: ${differing.join(", ")}`, {
          details: { run: report.originalRunId, rerun: report.runId, differing },
        });
      }
    });
}
