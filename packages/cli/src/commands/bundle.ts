import type { Command } from "commander";
import { summarizeBundle, type Bundle } from "@maelstrom/core";
import { print, printJson, withEngine } from "../context.js";
import { bytes, table } from "../format.js";

/** Variables, dims, dtypes, sizes and a preview of each. */
export function bundlePreview(bundle: Bundle): string {
  const summary = summarizeBundle(bundle);
  const dims = Object.entries(summary.dims).map(([d, n]) => `${d}=${n}`).join(", ");
  return [
    `bundle: ${summary.variables.length} variables, dims ${dims || "-"}, ${bytes(summary.bytes)}`,
    table(
      ["VARIABLE", "ROLE", "DIMS", "SHAPE", "DTYPE", "SIZE", "PREVIEW"],
      summary.variables.map((v) => [v.name, v.role, v.dims.join(",") || "()", v.shape.join("×") || "()", v.dtype, bytes(v.bytes), v.preview]),
    ),
  ].join("\n");
}

export function registerBundleCommands(program: Command): void {
  const bundle = program.command("bundle").description("inspect and import bundles (the data passed between steps)");
  bundle
    .command("show")
    .description("print a bundle's variables, dims, dtypes, size and a preview")
    .argument("<bundle>", "bundle digest (sha256:…), Zarr folder or .csv file")
    .option("--json", "print as JSON")
    .action(async (target: string, options: { json?: boolean }, command: Command) => {
      await withEngine(command, async (engine) => {
        const { digest, dir } = await engine.locateBundle(target);
        const loaded = await engine.readBundle(digest);
        if (options.json === true) printJson({ digest, path: dir, ...summarizeBundle(loaded) });
        else print(`${digest}\n${bundlePreview(loaded)}`);
      });
    });
  bundle
    .command("import")
    .description("store a .csv file or a Zarr folder as a bundle and print its digest")
    .argument("<path>", ".csv file or Zarr folder")
    .action(async (path: string, _options: unknown, command: Command) => {
      const { digest } = await withEngine(command, (engine) => engine.locateBundle(path));
      print(digest);
    });
}
