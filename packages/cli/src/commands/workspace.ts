import type { Command } from "commander";
import { parseDuration } from "@maelstrom/core";
import { IntegrityError } from "@maelstrom/errors";
import { initWorkspace } from "@maelstrom/engine";
import { bytes } from "../format.js";
import { print, printJson, withEngine, workspaceOption } from "../context.js";

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("create a workspace: .maelstrom/ (database and object store) and data/raw, data/features, src, lib, models")
    .argument("[dir]", "folder to create the workspace in (default: --workspace, else the current folder)")
    .option("--json", "print the result as JSON")
    .action(async (dir: string | undefined, options: { json?: boolean }, command: Command) => {
      const { root, created } = await initWorkspace(dir ?? workspaceOption(command) ?? ".");
      if (options.json === true) printJson({ root, created });
      else print(created ? `initialised a Maelstrom workspace in ${root}` : `${root} already is a Maelstrom workspace (layout checked)`);
    });

}

/** Settings and store maintenance: listed last in --help. */
export function registerWorkspaceCommands(program: Command): void {
  program
    .command("config")
    .description("show the workspace settings, or set one (config KEY VALUE), or remove one (config KEY --unset)")
    .argument("[key]", "setting: python (the interpreter for Python steps), cpus and memory (what steps running at once may declare in total)")
    .argument("[value]", "new value")
    .option("--unset", "remove the setting")
    .option("--json", "print the settings as JSON")
    .action(async (key: string | undefined, value: string | undefined, options: { unset?: boolean; json?: boolean }, command: Command) => {
      const config = await withEngine(command, (engine) =>
        key === undefined ? engine.readConfig() : value !== undefined || options.unset === true ? engine.setConfig(key, value ?? null) : engine.readConfig(),
      );
      if (options.json === true) return printJson(config);
      const entries = Object.entries(config).filter(([k]) => key === undefined || k === key);
      if (entries.length === 0) print(key === undefined ? "no settings" : `${key} is not set`);
      for (const [k, v] of entries) print(`${k} = ${String(v)}`);
    });

  program
    .command("fsck")
    .description("verify every stored object against its digest, every checkout against its tree, and that everything the database refers to is present")
    .option("--json", "print the report as JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const report = await withEngine(command, (engine) => engine.fsck());
      const problems = [...report.problems, ...report.missing];
      if (options.json === true) printJson(report);
      else {
        print(`checked ${report.checkedObjects} objects (${bytes(report.checkedBytes)})`);
        for (const p of problems) print(`PROBLEM ${p.digest} ${p.path}: ${p.problem}`);
        if (problems.length === 0) print("ok: no problems found");
      }
      if (problems.length > 0) {
        throw new IntegrityError(`fsck found ${problems.length} problem(s); the first: ${problems[0]?.digest} ${problems[0]?.problem}`, {
          details: { problems: problems.length },
        });
      }
    });

  program
    .command("gc")
    .description("remove stored objects that no artifact, run or model version refers to")
    .option("--dry-run", "only report what would be removed")
    .option("--grace <duration>", "keep objects written within this time (a run in progress may not have recorded them yet)", "1h")
    .option("--json", "print the report as JSON")
    .action(async (options: { dryRun?: boolean; grace: string; json?: boolean }, command: Command) => {
      const graceMs = options.grace === "0" ? 0 : parseDuration(options.grace);
      const report = await withEngine(command, (engine) => engine.gc({ dryRun: options.dryRun === true, graceMs }));
      if (options.json === true) printJson(report);
      else
        print(
          `${options.dryRun === true ? "would remove" : "removed"} ${report.removedObjects} objects (${bytes(report.freedBytes)}); kept ${report.keptObjects}`,
        );
    });
}
