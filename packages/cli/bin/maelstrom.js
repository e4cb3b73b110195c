#!/usr/bin/env node
// The one-file bundle (scripts/bundle.mjs) starts faster; a stale or missing one (the TypeScript
// was rebuilt after it) falls back to the compiled modules.
import { statSync } from "node:fs";

const mtime = (file) => statSync(new URL(file, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
await import(mtime("../dist/maelstrom.mjs") >= mtime("../dist/main.js") ? "../dist/maelstrom.mjs" : "../dist/main.js");
