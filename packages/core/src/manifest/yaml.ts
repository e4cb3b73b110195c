import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let loaded: typeof Yaml | undefined;

/**
 * The yaml library, loaded on first use: step processes import core for bundles and never parse a
 * manifest, and loading yaml costs them tens of milliseconds each (bench/RESULTS.md).
 */
export function yaml(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return loaded;
}
