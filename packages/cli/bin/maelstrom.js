#!/usr/bin/env node
// The one-file bundle (scripts/bundle.mjs) starts faster; a stale one (any package was compiled
// again after it, e.g. by `npx tsc -b` alone) or a missing one falls back to the compiled modules.
import { statSync } from "node:fs";

const PACKAGES = ["errors", "core", "sdk", "store", "runtime", "engine", "client", "cli"];
const mtime = (file) => statSync(new URL(file, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const compiled = Math.max(...PACKAGES.map((name) => mtime(`../../${name}/dist/.tsbuildinfo`)), mtime("../dist/main.js"));
await import(mtime("../dist/maelstrom.mjs") >= compiled ? "../dist/maelstrom.mjs" : "../dist/main.js");
