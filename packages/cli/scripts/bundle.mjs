// Bundles the CLI (dist/main.js and every workspace package and library it imports) into one
// file, dist/maelstrom.mjs: Node then loads one module instead of hundreds, which takes the start
// of every command from ~400 ms to ~100 ms. Native and lazily loaded packages stay external.
// `import.meta.url` keeps meaning "this source file" (the runtime finds its runner scripts and the
// Python package next to itself): each use is rewritten relative to the bundle.
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = resolve(cliDir, "dist", "maelstrom.mjs");

await build({
  entryPoints: [resolve(cliDir, "dist", "main.js")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["better-sqlite3", "esbuild", "yaml"],
  logLevel: "warning",
  // Libraries bundled from CommonJS call require(); give the ES module bundle one.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  plugins: [
    {
      name: "own-import-meta-url",
      setup(b) {
        b.onLoad({ filter: /[\\/]packages[\\/][a-z-]+[\\/]dist[\\/].*\.js$/ }, async (args) => {
          const text = await readFile(args.path, "utf8");
          if (!text.includes("import.meta.url")) return undefined;
          const fromBundle = relative(dirname(outfile), args.path).split("\\").join("/");
          const own = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
          // Not inside a string literal (the runtime's esbuild banner for user code mentions it).
          const contents = text.replace(/import\.meta\.url/g, (match, offset) => {
            const before = text.slice(text.lastIndexOf("\n", offset) + 1, offset);
            return (before.match(/['"`]/g) ?? []).length % 2 === 1 ? match : own;
          });
          return { contents, loader: "js" };
        });
      },
    },
  ],
});
