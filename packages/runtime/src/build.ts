import { rename, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build, version as esbuildVersion, type Message, type Plugin } from "esbuild";
import { StepFailedError } from "@maelstrom/errors";

const sdkEntry = fileURLToPath(import.meta.resolve("@maelstrom/sdk"));

/** Identity of the build toolchain; part of the build cache key. */
export const nodeBuildIdentity = `esbuild@${esbuildVersion};sdk=${sdkEntry}`;

export interface NodeBuildOptions {
  readonly artifact: string;
  /** The artifact's files (a checked-out registered version). */
  readonly sourceDir: string;
  readonly entry: string;
  readonly outFile: string;
  /** node_modules folders to resolve the user's npm imports from. */
  readonly nodePaths: readonly string[];
}

/**
 * Bundle a node artifact's entry (TS or JS) into one ES module, so that a step starts without a
 * TypeScript loader. `@maelstrom/sdk` stays external and resolves to this installation's sdk,
 * so the step and the runner share one Bundle class.
 */
export async function buildNodeModule(options: NodeBuildOptions): Promise<void> {
  const sdkPlugin: Plugin = {
    name: "maelstrom-sdk",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^@maelstrom\/sdk$/ }, () => ({ path: sdkEntry, external: true }));
    },
  };
  const temp = `${options.outFile}.tmp-${process.pid}`;
  try {
    await build({
      absWorkingDir: options.sourceDir,
      entryPoints: [options.entry],
      outfile: temp,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      sourcesContent: false,
      nodePaths: [...options.nodePaths],
      plugins: [sdkPlugin],
      logLevel: "silent",
      // CommonJS dependencies inside an ES module need a real `require`; a global, so that user
      // code may still declare its own `require`.
      banner: { js: "import { createRequire as __maelstromRequire } from 'node:module'; globalThis.require ??= __maelstromRequire(import.meta.url);" },
    });
  } catch (error) {
    await rm(temp, { force: true });
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const lines = errors.map((message) => {
      const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: ` : "";
      return `${where}${message.text}`;
    });
    const first = lines[0] ?? (error as Error).message;
    throw new StepFailedError(`cannot load the code of ${options.artifact}: ${first}${lines.length > 1 ? ` (and ${lines.length - 1} more)` : ""}`, {
      details: { artifact: options.artifact, entry: options.entry, errors: lines },
      cause: error,
    });
  }
  await rename(temp, options.outFile);
}
