import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { isDigest, type Digest, type FsckProblem, type FsckReport, type GcReport } from "@maelstrom/store";
import type { EngineContext } from "./context.js";

/** Every digest the metadata database refers to: what gc keeps and what fsck expects to find. */
async function referencedDigests(ctx: EngineContext): Promise<Map<Digest, string>> {
  const refs = new Map<Digest, string>();
  const add = (digest: string | null, what: string): void => {
    if (digest !== null && digest !== "") refs.set(digest as Digest, what);
  };
  for (const a of await ctx.db.selectFrom("artifacts").select(["digest", "name"]).execute()) add(a.digest, `artifact ${a.name}`);
  for (const m of await ctx.db.selectFrom("model_versions").select(["name", "version", "state_digest"]).execute()) {
    add(m.state_digest, `weights of model ${m.name}/${m.version}`);
  }
  const json = (text: string | null): Record<string, string> => (text === null ? {} : (JSON.parse(text) as Record<string, string>));
  const steps = await ctx.db.selectFrom("step_executions").select(["run_id", "step_id", "input_digest", "output_digest", "state_digest", "inputs", "outputs"]).execute();
  for (const s of steps) {
    add(s.input_digest, `input of step ${s.step_id} of run ${s.run_id}`);
    add(s.output_digest, `output of step ${s.step_id} of run ${s.run_id}`);
    add(s.state_digest, `model state from step ${s.step_id} of run ${s.run_id}`);
    for (const [name, digest] of Object.entries(json(s.inputs))) add(digest, `input ${name} of step ${s.step_id} of run ${s.run_id}`);
    for (const [name, digest] of Object.entries(json(s.outputs))) add(digest, `output ${name} of step ${s.step_id} of run ${s.run_id}`);
  }
  // The step cache answers later runs from these: they stay while the entry exists.
  for (const c of await ctx.db.selectFrom("step_cache").select(["key", "step_id", "outputs", "state_digest"]).execute()) {
    for (const [name, digest] of Object.entries(json(c.outputs))) add(digest, `cached output ${name} of step ${c.step_id}`);
    add(c.state_digest, `cached model state of step ${c.step_id}`);
  }
  return refs;
}

export interface WorkspaceFsckReport extends FsckReport {
  /** Digests the database refers to that the store does not hold. */
  readonly missing: readonly FsckProblem[];
}

/**
 * A checkout must be exactly its tree: every file a hard link to its object, nothing else. Steps
 * run in checkouts, so a step that wrote into its working folder shows up here.
 */
async function checkoutProblems(ctx: EngineContext): Promise<FsckProblem[]> {
  const problems: FsckProblem[] = [];
  for (const hex of await readdir(ctx.paths.trees).catch(() => [] as string[])) {
    // "<hex>.tmp-…" is a checkout another process is making right now.
    if (!/^[0-9a-f]{64}$/.test(hex)) continue;
    const dir = join(ctx.paths.trees, hex);
    const digest = `sha256:${hex}` as Digest;
    const problem = (text: string): void => void problems.push({ digest, path: dir, problem: `checkout ${text}; remove the folder (maelstrom gc does) and it is recreated` });
    if (!isDigest(digest) || !(await ctx.objects.has(digest))) {
      problem("of a tree the store does not hold");
      continue;
    }
    let tree;
    try {
      tree = await ctx.objects.readTree(digest);
    } catch {
      continue; // not a tree: objects.fsck reports damaged objects
    }
    const expected = new Map(tree.entries.map((e) => [e.path, e]));
    const present = await listFiles(dir);
    const extra = present.filter((p) => !expected.has(p));
    if (extra.length > 0) problem(`has files that are not part of it: ${extra.slice(0, 5).join(", ")}`);
    for (const entry of tree.entries) {
      const file = join(dir, entry.path);
      const [copy, object] = await Promise.all([stat(file).catch(() => null), stat(ctx.objects.pathOf(entry.digest)).catch(() => null)]);
      // Executable files are copies, not links: compare their size only.
      if (copy === null) problem(`lacks ${entry.path}`);
      else if (copy.size !== entry.size || (!entry.executable && object !== null && copy.ino !== object.ino)) problem(`has a changed ${entry.path}`);
    }
  }
  return problems;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else files.push(rel);
  }
  return files;
}

/** Verify every object (re-hash), every checkout, and that everything the database refers to is present. */
export async function fsckWorkspace(ctx: EngineContext): Promise<WorkspaceFsckReport> {
  const report = await ctx.objects.fsck();
  const missing: FsckProblem[] = [];
  for (const [digest, what] of await referencedDigests(ctx)) {
    if (!(await ctx.objects.has(digest))) missing.push({ digest, path: ctx.objects.pathOf(digest), problem: `missing (${what})` });
  }
  return { ...report, problems: [...report.problems, ...(await checkoutProblems(ctx))], missing };
}

export interface GcOptions {
  readonly dryRun?: boolean;
  /** Objects written more recently than this are kept: a run in progress may not have recorded them yet. */
  readonly graceMs?: number;
}

/** Remove objects nothing refers to, and checkouts that are stale or were changed. */
export async function gcWorkspace(ctx: EngineContext, options: GcOptions = {}): Promise<GcReport> {
  const live = await referencedDigests(ctx);
  const report = await ctx.objects.gc(live.keys(), { dryRun: options.dryRun === true, gracePeriodMs: options.graceMs ?? 3_600_000 });
  if (options.dryRun !== true) {
    const changed = new Set((await checkoutProblems(ctx)).map((p) => p.path));
    for (const entry of await readdir(ctx.paths.trees).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(entry)) continue;
      const dir = join(ctx.paths.trees, entry);
      if (changed.has(dir) || !(await ctx.objects.has(`sha256:${entry}` as Digest))) await rm(dir, { recursive: true, force: true });
    }
  }
  return report;
}
