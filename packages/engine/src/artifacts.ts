import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import {
  MANIFEST_FILE,
  formatArtifactRef,
  loadManifest,
  parseArtifactRef,
  type ArtifactKind,
  type Manifest,
  type RuntimeName,
} from "@maelstrom/core";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { fromJsonColumn, toJsonColumn, type ArtifactTable, type Digest } from "@maelstrom/store";
import type { EngineContext } from "./context.js";
import type { PipelineItem } from "./plan.js";
import type { ArtifactVersion } from "./records.js";

/** Never part of an artifact: dependencies, VCS data, caches, a workspace inside the folder. */
const IGNORED_NAMES = new Set(["node_modules", ".git", ".maelstrom", "__pycache__", ".DS_Store", ".venv", ".ipynb_checkpoints"]);

function ignoreInArtifact(relativePath: string): boolean {
  const base = relativePath.slice(relativePath.lastIndexOf("/") + 1);
  return IGNORED_NAMES.has(base) || base.endsWith(".pyc");
}

export interface AddResult {
  readonly artifact: ArtifactVersion;
  /** False when identical content was registered before (a no-op apart from the tag). */
  readonly created: boolean;
}

/** Register the folder as an immutable, content-addressed artifact version and move `name:tag`. */
export async function addArtifact(ctx: EngineContext, dir: string, tag = "latest"): Promise<AddResult> {
  const source = resolve(dir);
  if (!existsSync(source) || !statSync(source).isDirectory()) {
    throw new NotFoundError(`artifact folder ${dir} does not exist (expected a folder with a ${MANIFEST_FILE})`, { details: { path: source } });
  }
  const manifest = await loadManifest(source);
  // The tag must be usable in a reference later: check it the way references are parsed.
  parseArtifactRef(`${manifest.name}:${tag}`);
  const tree = await ctx.objects.putTree(source, { ignore: ignoreInArtifact });
  const now = Date.now();
  const known = await ctx.db.selectFrom("artifacts").select("digest").where("digest", "=", tree.digest).executeTakeFirst();
  const created = known === undefined;
  await ctx.db.transaction().execute(async (trx) => {
    // Writes only (no read first), so concurrent adds wait for the lock instead of failing.
    await trx
      .insertInto("artifacts")
      .values({
          digest: tree.digest,
          name: manifest.name,
          kind: manifest.kind,
          runtime: manifest.runtime,
          description: manifest.description,
          manifest: toJsonColumn(manifest),
          source_path: source,
          file_count: tree.fileCount,
          total_bytes: tree.totalBytes,
        created_at: now,
      })
      // The same content again: the parsed manifest is refreshed, so a newer Maelstrom's reading of it (new fields) applies.
      .onConflict((oc) => oc.column("digest").doUpdateSet({ manifest: toJsonColumn(manifest) }))
      .executeTakeFirst();
    await trx
      .insertInto("artifact_tags")
      .values({ name: manifest.name, tag, digest: tree.digest, updated_at: now })
      .onConflict((oc) => oc.columns(["name", "tag"]).doUpdateSet({ digest: tree.digest, updated_at: now }))
      .execute();
  });
  return { artifact: await artifactByDigest(ctx, tree.digest), created };
}

async function toVersion(ctx: EngineContext, row: ArtifactTable): Promise<ArtifactVersion> {
  const tags = await ctx.db.selectFrom("artifact_tags").select("tag").where("digest", "=", row.digest).orderBy("tag").execute();
  return {
    digest: row.digest as Digest,
    name: row.name,
    kind: row.kind as ArtifactKind,
    runtime: row.runtime as RuntimeName | null,
    description: row.description,
    manifest: fromJsonColumn<Manifest>(row.manifest),
    sourcePath: row.source_path,
    fileCount: row.file_count,
    totalBytes: Number(row.total_bytes),
    createdAt: Number(row.created_at),
    tags: tags.map((t) => t.tag),
  };
}

async function artifactByDigest(ctx: EngineContext, digest: string): Promise<ArtifactVersion> {
  const row = await ctx.db.selectFrom("artifacts").selectAll().where("digest", "=", digest).executeTakeFirstOrThrow();
  return toVersion(ctx, row);
}

/** Every registered version, newest first. */
export async function listArtifacts(ctx: EngineContext): Promise<ArtifactVersion[]> {
  const rows = await ctx.db.selectFrom("artifacts").selectAll().orderBy("created_at", "desc").orderBy("name").execute();
  return Promise.all(rows.map((row) => toVersion(ctx, row)));
}

/** `name`, `name:tag` or `name@sha256:<prefix>` to a registered version. */
export async function resolveArtifact(ctx: EngineContext, text: string): Promise<ArtifactVersion> {
  const ref = parseArtifactRef(text);
  let digest: string | undefined;
  if ("tag" in ref) {
    const row = await ctx.db.selectFrom("artifact_tags").select("digest").where("name", "=", ref.name).where("tag", "=", ref.tag).executeTakeFirst();
    digest = row?.digest;
  } else {
    const rows = await ctx.db
      .selectFrom("artifacts")
      .select("digest")
      .where("name", "=", ref.name)
      .where("digest", "like", `sha256:${ref.digestPrefix.replace(/^sha256:/, "")}%`)
      .execute();
    if (rows.length > 1) {
      throw new NotFoundError(`artifact reference ${text} is ambiguous: ${rows.length} versions start with that prefix; give more digits`, {
        details: { ref: text },
      });
    }
    digest = rows[0]?.digest;
  }
  if (digest === undefined) {
    const known = await ctx.db.selectFrom("artifact_tags").select(["name", "tag"]).where("name", "=", ref.name).execute();
    const hint =
      known.length > 0
        ? `; ${ref.name} has the tags: ${known.map((k) => k.tag).join(", ")}`
        : "; register it first with: maelstrom add DIR (maelstrom artifacts lists what is registered)";
    throw new NotFoundError(`unknown artifact ${formatArtifactRef(ref)}${hint}`, { details: { ref: text } });
  }
  return artifactByDigest(ctx, digest);
}

/** A command-line step argument is a folder to register on the fly, or a reference. */
export function looksLikePath(text: string): boolean {
  return text.startsWith(".") || isAbsolute(text) || text.endsWith("/") || existsSync(join(text, MANIFEST_FILE));
}

export async function resolveArtifactArgument(ctx: EngineContext, text: string): Promise<ArtifactVersion> {
  if (looksLikePath(text)) return (await addArtifact(ctx, text)).artifact;
  return resolveArtifact(ctx, text);
}

/**
 * Pipeline artifacts stand for their steps: expand them (recursively) into the artifacts they
 * reference, each with the parameter values the pipeline fixed.
 */
export async function expandPipelines(ctx: EngineContext, artifacts: readonly ArtifactVersion[], seen: readonly string[] = []): Promise<PipelineItem[]> {
  const items: PipelineItem[] = [];
  for (const artifact of artifacts) {
    if (artifact.kind !== "pipeline") {
      items.push({ artifact, overrides: {}, executor: null });
      continue;
    }
    if (seen.includes(artifact.digest)) {
      throw new InputError(`pipeline ${artifact.name} includes itself (${[...seen, artifact.digest].length} levels deep)`, { details: { pipeline: artifact.name } });
    }
    if (artifact.manifest.steps.some((s) => s.id !== null)) {
      throw new InputError(`pipeline ${artifact.name} is a graph (its steps have ids and inputs) and cannot be one link of a chain; give it on its own: maelstrom train ${artifact.name}`, {
        code: "GRAPH_INVALID",
        details: { pipeline: artifact.name },
      });
    }
    for (const step of artifact.manifest.steps) {
      const resolved = await resolveArtifact(ctx, step.ref);
      // A step's values go to its artifact (where an undeclared name is an error at planning); for
      // a nested pipeline, to those of its steps that declare them.
      for (const item of await expandPipelines(ctx, [resolved], [...seen, artifact.digest])) {
        const nested = resolved.kind === "pipeline";
        const values = Object.entries(step.parameters).filter(([name]) => !nested || name in item.artifact.manifest.parameters);
        // A nested pipeline's own choice for a step is more specific than the outer one's for the whole pipeline.
        items.push({ artifact: item.artifact, overrides: { ...item.overrides, ...Object.fromEntries(values) }, executor: item.executor ?? step.executor });
      }
    }
  }
  return items;
}
