import type { Command } from "commander";
import { InputError } from "@maelstrom/errors";
import { renderLineage, type ModelVersion } from "@maelstrom/engine";
import { print, printJson, withEngine } from "../context.js";
import { bytes, duration, metricValue, shortDigest, table, when } from "../format.js";
import { slurmComputeLines } from "../slurm-format.js";

function describeModel(m: ModelVersion): string {
  const r = m.record;
  const lines = [
    `model ${m.ref}${m.aliases.length > 0 ? ` (@${m.aliases.join(", @")})` : ""}`,
    `  registered:   ${when(m.createdAt)} by run ${m.runId}`,
    `  code:         ${r.pipeline.at(-1)?.artifact ?? "?"}@${m.artifactDigest}`,
    `  weights:      ${m.stateDigest}`,
    `  parameters:   ${Object.entries(r.parameters).map(([k, v]) => `${k}=${String(v)}`).join(", ") || "-"}`,
    `  metrics:      ${Object.entries(r.metrics).map(([k, v]) => `${k}=${metricValue(v)}`).join(", ") || "-"}`,
    `  tags:         ${Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "-"}`,
    `  training data: ${r.trainingData.digest ?? "(ran fused, not stored)"} from ${JSON.stringify(r.trainingData.origin)}`,
    "  pipeline:",
    ...r.pipeline.map(
      (s) => `    ${s.stepId} (${s.call}) ${s.artifact}@${shortDigest(s.digest)} ${Object.entries(s.parameters).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`.trimEnd(),
    ),
    `  compute:      host ${r.resources.host}, ${r.resources.cpus} cpu(s) requested, peak memory ${bytes(r.resources.peakMemoryBytes)}, wall ${duration(r.resources.wallMs)}, cpu ${duration(r.resources.cpuMs)}`,
    ...(r.resources.slurm === undefined ? [] : slurmComputeLines(r.resources.slurm)),
    `  environment:  maelstrom ${r.environment.maelstrom}, node ${r.environment.node}, ${r.environment.os} ${r.environment.arch}, ${r.environment.buildTool}`,
    `  lockfile:     ${r.environment.lockfile === null ? "-" : `${r.environment.lockfile.path} ${r.environment.lockfile.digest}`}`,
  ];
  const python = r.environment.python;
  if (python !== null && python !== undefined) {
    const packages = Object.entries(python.packages).map(([name, version]) => `${name} ${version}`);
    lines.push(`  python:       ${python.python} (${python.executable})${packages.length > 0 ? `: ${packages.join(", ")}` : ""}`);
  }
  return lines.join("\n");
}

export function registerModelCommands(program: Command): void {
  const models = program.command("models").description("the model database: list, show, alias, tag");
  models
    .command("list", { isDefault: true })
    .description("list model versions, newest first")
    .argument("[name]", "only versions of this model")
    .option("--json", "print as JSON")
    .action(async (name: string | undefined, options: { json?: boolean }, command: Command) => {
      const list = await withEngine(command, (engine) => engine.listModels(name));
      if (options.json === true) return printJson(list);
      if (list.length === 0) return print("no models yet; train one with: maelstrom train TRANSFORM... MODEL --data DATA");
      print(
        table(
          ["MODEL", "ALIASES", "METRICS", "RUN", "REGISTERED"],
          list.map((m) => [
            m.ref,
            m.aliases.join(",") || "-",
            Object.entries(m.record.metrics).map(([k, v]) => `${k}=${metricValue(v)}`).join(" ") || "-",
            m.runId,
            when(m.createdAt),
          ]),
        ),
      );
    });
  models
    .command("show")
    .description("show how a model version was made: code, weights, parameters, data, metrics, compute, environment")
    .argument("<model>", "name/3, name@alias or name (latest)")
    .option("--json", "print as JSON")
    .action(async (ref: string, options: { json?: boolean }, command: Command) => {
      const model = await withEngine(command, (engine) => engine.getModel(ref));
      if (options.json === true) printJson(model);
      else print(describeModel(model));
    });
  models
    .command("alias")
    .description("point an alias (e.g. production) at a model version; apply it later as name@alias")
    .argument("<model>", "name/3")
    .argument("<alias>", "alias name")
    .action(async (ref: string, alias: string, _options: unknown, command: Command) => {
      const model = await withEngine(command, (engine) => engine.setModelAlias(ref, alias));
      print(`${model.name}@${alias} → ${model.ref}`);
    });
  models
    .command("tag")
    .description("set a tag key=value on a model version (key= removes it)")
    .argument("<model>", "name/3, name@alias")
    .argument("<tag>", "key=value")
    .action(async (ref: string, tag: string, _options: unknown, command: Command) => {
      const eq = tag.indexOf("=");
      if (eq <= 0) throw new InputError(`tag '${tag}' must look like key=value (key= removes the tag)`, { details: { tag } });
      const value = tag.slice(eq + 1);
      const model = await withEngine(command, (engine) => engine.setModelTag(ref, tag.slice(0, eq), value === "" ? null : value));
      print(`${model.ref} tags: ${Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "-"}`);
    });

  program
    .command("lineage")
    .description("the graph from a prediction or model back to the raw data and the code that made it")
    .argument("<ref>", "model (name/3, name@alias), run id, or bundle digest")
    .option("--json", "print nodes and edges as JSON")
    .action(async (ref: string, options: { json?: boolean }, command: Command) => {
      const lineage = await withEngine(command, (engine) => engine.lineage(ref));
      if (options.json === true) printJson(lineage);
      else print(renderLineage(lineage));
    });
}
