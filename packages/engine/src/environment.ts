import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { arch, release, type } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeBuildIdentity } from "@maelstrom/runtime";
import type { Digest } from "@maelstrom/store";
import { thisHost } from "./context.js";
import type { RuntimeEnvironment } from "./records.js";

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
const maelstromVersion = packageJson.version;
const installDir = dirname(fileURLToPath(import.meta.url));

/** The nearest folder at or above `start` that holds `file`, walking up to the root. */
function findUp(start: string, file: string): string | null {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, file))) return join(dir, file);
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** node_modules folders above `starts`, nearest first, without duplicates: where step code resolves npm imports. */
function nodeModulePaths(starts: readonly string[]): string[] {
  const paths: string[] = [];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, "node_modules");
      if (existsSync(candidate) && !paths.includes(candidate)) paths.push(candidate);
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return paths;
}

const lockfileDigests = new Map<string, { readonly stamp: string; readonly digest: Digest }>();

/** A lockfile's digest, hashed again only when its size or mtime changed: every node step asks. */
function lockfileDigest(path: string): Digest {
  const { size, mtimeMs } = statSync(path);
  const stamp = `${size}:${mtimeMs}`;
  const known = lockfileDigests.get(path);
  if (known?.stamp === stamp) return known.digest;
  const digest = `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}` as Digest;
  lockfileDigests.set(path, { stamp, digest });
  return digest;
}

/** The npm lockfile that governs code at `codePath` (nearest above it, else this installation's). */
export function nearestLockfile(codePath: string): { readonly path: string; readonly digest: Digest } | null {
  const path = findUp(codePath, "package-lock.json") ?? findUp(installDir, "package-lock.json");
  return path === null ? null : { path, digest: lockfileDigest(path) };
}

/** The environment a step ran in, recorded with every model version (lockfile: nearest to the code). */
export function captureEnvironment(codePath: string): RuntimeEnvironment {
  return {
    maelstrom: maelstromVersion,
    node: process.version,
    os: `${type()} ${release()}`,
    arch: arch(),
    host: thisHost,
    lockfile: nearestLockfile(codePath),
    buildTool: nodeBuildIdentity.split(";")[0] ?? nodeBuildIdentity,
    python: null,
  };
}

/** Folders from which node steps resolve npm packages: near the code, the workspace, this installation. */
export function stepNodePaths(sourcePath: string, workspaceRoot: string): string[] {
  return nodeModulePaths([sourcePath, workspaceRoot, installDir]);
}
