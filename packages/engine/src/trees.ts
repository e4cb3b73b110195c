import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "@maelstrom/store";
import type { EngineContext } from "./context.js";

/**
 * A read-only checkout of a stored tree (artifact code, bundle, model state), shared by every
 * step that reads it. Objects are hard-linked, so a checkout costs no copy.
 */
export async function checkout(ctx: EngineContext, digest: Digest): Promise<string> {
  const dir = join(ctx.paths.trees, digest.slice("sha256:".length));
  if (existsSync(dir)) return dir;
  await mkdir(ctx.paths.trees, { recursive: true });
  try {
    await ctx.objects.materializeTree(digest, dir);
  } catch (error) {
    // Another process may have checked out the same tree a moment earlier.
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

/** A fresh scratch folder inside the workspace (same filesystem, so outputs can be moved into the store). */
export async function scratchDir(ctx: EngineContext, prefix: string): Promise<{ dir: string; [Symbol.asyncDispose]: () => Promise<void> }> {
  const base = join(ctx.paths.meta, "tmp");
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, `${prefix}-`));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}
