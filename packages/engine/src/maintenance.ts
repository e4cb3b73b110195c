import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Digest, FsckProblem, FsckReport, GcReport } from "@maelstrom/store";
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
  const steps = await ctx.db.selectFrom("step_executions").select(["run_id", "step_id", "input_digest", "output_digest", "state_digest"]).execute();
  for (const s of steps) {
    add(s.input_digest, `input of step ${s.step_id} of run ${s.run_id}`);
    add(s.output_digest, `output of step ${s.step_id} of run ${s.run_id}`);
    add(s.state_digest, `model state from step ${s.step_id} of run ${s.run_id}`);
  }
  return refs;
}

export interface WorkspaceFsckReport extends FsckReport {
  /** Digests the database refers to that the store does not hold. */
  readonly missing: readonly FsckProblem[];
}

/** Verify every object (re-hash) and that everything the database refers to is present. */
export async function fsckWorkspace(ctx: EngineContext): Promise<WorkspaceFsckReport> {
  const report = await ctx.objects.fsck();
  const missing: FsckProblem[] = [];
  for (const [digest, what] of await referencedDigests(ctx)) {
    if (!(await ctx.objects.has(digest))) missing.push({ digest, path: ctx.objects.pathOf(digest), problem: `missing (${what})` });
  }
  return { ...report, missing };
}

/** Remove objects nothing refers to, and checkouts and scratch folders of them. */
export async function gcWorkspace(ctx: EngineContext, options: { readonly dryRun?: boolean } = {}): Promise<GcReport> {
  const live = await referencedDigests(ctx);
  const report = await ctx.objects.gc(live.keys(), options);
  if (options.dryRun !== true) {
    const liveHex = new Set([...live.keys()].map((d) => d.slice("sha256:".length)));
    for (const entry of await readdir(ctx.paths.trees).catch(() => [] as string[])) {
      if (!liveHex.has(entry)) await rm(join(ctx.paths.trees, entry), { recursive: true, force: true });
    }
  }
  return report;
}
