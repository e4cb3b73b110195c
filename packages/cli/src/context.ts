import type { Command } from "commander";
import { Engine } from "@maelstrom/engine";

interface GlobalOptions {
  readonly workspace?: string;
  readonly debug?: boolean;
}

/** Options of the root program, wherever the command sits. */
function globals(command: Command): GlobalOptions {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** The workspace --workspace or MAELSTROM_WORKSPACE names, if any. */
export function workspaceOption(command: Command): string | undefined {
  return globals(command).workspace ?? process.env["MAELSTROM_WORKSPACE"];
}

/** Open the workspace named by --workspace / MAELSTROM_WORKSPACE, or the nearest one, for one command. */
export async function withEngine<T>(command: Command, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const workspace = workspaceOption(command);
  const engine = await Engine.open(workspace === undefined ? {} : { workspace });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Ctrl-C cancels the run (its steps are killed, it is marked cancelled); a second Ctrl-C exits at once. */
export function cancelOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\ncancelling… (Ctrl-C again to exit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigint);
    },
  };
}
