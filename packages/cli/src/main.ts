import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { exitCodeOf, MaelstromError, toErrorJson } from "@maelstrom/errors";
import { registerArtifactCommands } from "./commands/artifacts.js";
import { registerBundleCommands } from "./commands/bundle.js";
import { registerClusterCommands } from "./commands/clusters.js";
import { registerModelCommands } from "./commands/models.js";
import { registerPipelineCommands } from "./commands/pipelines.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerInitCommand, registerWorkspaceCommands } from "./commands/workspace.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("maelstrom")
  .version(version, "-V, --version", "print the Maelstrom version")
  .description("ML workflows for weather, climate, ocean and polar science: artifacts, pipelines, runs and a model database")
  .option("-w, --workspace <dir>", "workspace folder (default: $MAELSTROM_WORKSPACE, else the nearest folder with .maelstrom/ upwards)")
  .option("--debug", "print stack traces of errors")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program.addHelpText(
  "after",
  `
Exit codes: 0 ok, 1 internal error, 2 bad input, 3 not found, 4 a step failed,
5 conflict, 6 store integrity problem, 7 rerun not bit-identical, 130 cancelled.

Quick start:
  maelstrom init
  maelstrom add dataset/ && maelstrom add transform/ && maelstrom add model/
  maelstrom train my-transform my-model --data my-dataset
  maelstrom apply my-model --data my-dataset --out predictions.csv`,
);

// `maelstrom … | head` closes our stdout early; that is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

registerInitCommand(program);
registerArtifactCommands(program);
registerPipelineCommands(program);
registerRunCommands(program);
registerModelCommands(program);
registerBundleCommands(program);
registerClusterCommands(program);
registerWorkspaceCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed help or its message.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const debug = program.opts<{ debug?: boolean }>().debug === true || process.argv.includes("--debug");
    const message = error instanceof Error ? error.message : String(error);
    // With --json, scripts get the error as JSON too (on stderr, so stdout stays the result).
    if (process.argv.includes("--json")) process.stderr.write(`${JSON.stringify({ error: toErrorJson(error) })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ""}\n`);
    else if (!(error instanceof MaelstromError)) process.stderr.write("(this looks like a bug in Maelstrom; run with --debug for the stack trace)\n");
    process.exitCode = exitCodeOf(error);
  }
}
