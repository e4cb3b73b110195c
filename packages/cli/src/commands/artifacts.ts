import type { Command } from "commander";
import type { ArtifactVersion } from "@maelstrom/engine";
import { bytes, shortDigest, table, when } from "../format.js";
import { print, printJson, withEngine } from "../context.js";

function describeArtifact(a: ArtifactVersion): string {
  const m = a.manifest;
  const lines = [
    `${a.kind} ${a.name}`,
    `  digest:      ${a.digest}`,
    `  tags:        ${a.tags.join(", ") || "-"}`,
    `  description: ${a.description || "-"}`,
    `  runtime:     ${m.runtime ?? "-"}  entry: ${m.entry ?? "-"}${m.python === null ? "" : `  python: ${m.python}`}`,
    `  files:       ${a.fileCount} (${bytes(a.totalBytes)}) from ${a.sourcePath}`,
    `  registered:  ${when(a.createdAt)}`,
    `  resources:   cpus ${m.resources.cpus}, memory ${bytes(m.resources.memoryBytes)}, gpus ${m.resources.gpus}, time ${m.resources.timeoutMs === null ? "unlimited" : `${m.resources.timeoutMs / 1000}s`}`,
  ];
  const params = Object.entries(m.parameters);
  if (params.length > 0) {
    lines.push("  parameters:");
    for (const [name, spec] of params) {
      const bounds = [spec.min === undefined ? "" : `min ${spec.min}`, spec.max === undefined ? "" : `max ${spec.max}`].filter(Boolean).join(", ");
      const choices = spec.choices === undefined ? "" : ` one of ${spec.choices.map(String).join(", ")}`;
      lines.push(
        `    ${name}: ${spec.type}${spec.default === undefined ? "" : ` = ${String(spec.default)}`}${bounds ? ` (${bounds})` : ""}${choices}${spec.description ? ` — ${spec.description}` : ""}`,
      );
    }
  }
  for (const [label, named] of [["inputs:     ", m.inputs], ["outputs:    ", m.outputs]] as const) {
    const described = Object.entries(named).map(([name, contract]) => {
      const vars = Object.entries(contract.variables).map(([k, v]) => `${k}: ${v}`).join(", ");
      return name === "data" ? vars || "any" : `${name} (${vars || "any"})`;
    });
    if (described.length > 0) lines.push(`  ${label} ${described.join("; ")}`);
  }
  if (m.command !== null) lines.push(`  command:     ${m.command}`);
  if (m.steps.length > 0) {
    const graph = m.steps.some((s) => s.id !== null);
    const wiring = (s: (typeof m.steps)[number]): string =>
      s.inputs === null ? "" : ` ← ${Object.entries(s.inputs).map(([name, src]) => `${name === "data" ? "" : `${name}=`}${src.step}${src.output === "data" ? "" : `.${src.output}`}`).join(", ")}`;
    if (graph) lines.push("  steps:", ...m.steps.map((s) => `    ${s.id ?? ""}: ${s.ref}${wiring(s)}`));
    else lines.push(`  steps:       ${m.steps.map((s) => s.ref).join(" → ")}`);
  }
  return lines.join("\n");
}

export function registerArtifactCommands(program: Command): void {
  program
    .command("add")
    .description("register a folder (code + maelstrom.yaml) as an immutable artifact version and move NAME:TAG to it")
    .argument("<dir>", "artifact folder")
    .option("-t, --tag <tag>", "tag to point at this version", "latest")
    .option("--json", "print the artifact as JSON")
    .action(async (dir: string, options: { tag: string; json?: boolean }, command: Command) => {
      const { artifact, created } = await withEngine(command, (engine) => engine.addArtifact(dir, { tag: options.tag }));
      if (options.json === true) printJson({ ...artifact, created });
      else
        print(
          `${created ? "registered" : "unchanged"} ${artifact.kind} ${artifact.name}:${options.tag} ${artifact.digest} (${artifact.fileCount} files, ${bytes(artifact.totalBytes)})`,
        );
    });

  program
    .command("artifacts")
    .description("list registered artifact versions, newest first")
    .option("--json", "print as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const artifacts = await withEngine(command, (engine) => engine.listArtifacts());
      if (options.json === true) return printJson(artifacts);
      if (artifacts.length === 0) return print("no artifacts yet; register one with: maelstrom add DIR");
      print(
        table(
          ["NAME", "KIND", "RUNTIME", "TAGS", "DIGEST", "REGISTERED"],
          artifacts.map((a) => [a.name, a.kind, a.runtime ?? "-", a.tags.join(",") || "-", shortDigest(a.digest), when(a.createdAt)]),
        ),
      );
    });

  program
    .command("show")
    .description("show an artifact version: manifest, parameters, files, tags")
    .argument("<ref>", "name, name:tag or name@sha256:<prefix>")
    .option("--json", "print as JSON")
    .action(async (ref: string, options: { json?: boolean }, command: Command) => {
      const artifact = await withEngine(command, (engine) => engine.resolveArtifact(ref));
      if (options.json === true) printJson(artifact);
      else print(describeArtifact(artifact));
    });
}
