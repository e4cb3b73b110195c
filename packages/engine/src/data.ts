import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { MANIFEST_FILE, bundleFromCsv, readBundle, writeBundle } from "@maelstrom/core";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { isDigest, type Digest } from "@maelstrom/store";
import { addArtifact, looksLikePath, resolveArtifact } from "./artifacts.js";
import type { EngineContext } from "./context.js";
import type { ArtifactVersion, DataOrigin } from "./records.js";
import { scratchDir } from "./trees.js";

/** What `--data` named: a dataset artifact to run, or a bundle already in the store. */
export type ResolvedData =
  | { readonly type: "dataset"; readonly artifact: ArtifactVersion; readonly ref: string }
  | { readonly type: "bundle"; readonly digest: Digest; readonly origin: DataOrigin };

/** Store a bundle folder (Zarr) after checking that it reads as a bundle. */
async function importZarr(ctx: EngineContext, dir: string): Promise<Digest> {
  await readBundle(dir);
  return (await ctx.objects.putTree(dir)).digest;
}

/** Import a CSV file as a table bundle; returns its digest. */
async function importCsv(ctx: EngineContext, file: string): Promise<Digest> {
  const bundle = bundleFromCsv(await readFile(file, "utf8"), { source: file });
  await using scratch = await scratchDir(ctx, "import");
  const dir = join(scratch.dir, "bundle");
  await writeBundle(bundle, dir);
  return (await ctx.objects.putTree(dir, { move: true })).digest;
}

/** `--data REF|PATH`: a dataset artifact (ref or folder), a stored bundle digest, a CSV file or a Zarr folder. */
export async function resolveData(ctx: EngineContext, text: string): Promise<ResolvedData> {
  if (text.startsWith("sha256:") && !isDigest(text)) {
    throw new InputError(`${text} is not a valid bundle digest: expected sha256: followed by 64 lowercase hex digits (maelstrom runs show RUN lists output digests)`, {
      code: "REFERENCE_INVALID",
      details: { data: text },
    });
  }
  if (isDigest(text)) {
    if (!(await ctx.objects.has(text))) throw new NotFoundError(`no bundle ${text} in this workspace's store`, { details: { data: text } });
    return { type: "bundle", digest: text, origin: { type: "bundle", digest: text } };
  }
  if (looksLikePath(text) || existsSync(text) || /\.(csv|zarr)$/i.test(text)) {
    const path = resolve(text);
    if (!existsSync(path)) {
      throw new NotFoundError(`data path ${text} does not exist (expected a dataset artifact folder, a .csv file or a Zarr bundle folder)`, {
        details: { data: text },
      });
    }
    if (statSync(path).isDirectory()) {
      if (existsSync(join(path, MANIFEST_FILE))) {
        const { artifact } = await addArtifact(ctx, path);
        return datasetOrError(artifact, text);
      }
      if (existsSync(join(path, ".zgroup"))) {
        return { type: "bundle", digest: await importZarr(ctx, path), origin: { type: "path", path, format: "zarr" } };
      }
      throw new InputError(`data folder ${text} is neither an artifact (no ${MANIFEST_FILE}) nor a Zarr bundle (no .zgroup)`, { details: { data: text } });
    }
    if (extname(path).toLowerCase() === ".csv") {
      return { type: "bundle", digest: await importCsv(ctx, path), origin: { type: "path", path, format: "csv" } };
    }
    throw new InputError(`data file ${text} is not a .csv file; supported data: a dataset artifact, a .csv file, a Zarr bundle folder, a bundle digest`, {
      details: { data: text },
    });
  }
  return datasetOrError(await resolveArtifact(ctx, text), text);
}

/** `--data` as given to the engine: text (see resolveData) or a registered artifact version. */
export async function resolveDataArgument(ctx: EngineContext, data: string | ArtifactVersion): Promise<ResolvedData> {
  return typeof data === "string" ? resolveData(ctx, data) : datasetOrError(data, `${data.name}@${data.digest}`);
}

function datasetOrError(artifact: ArtifactVersion, ref: string): ResolvedData {
  if (artifact.kind !== "dataset") {
    throw new InputError(`--data ${ref} is a ${artifact.kind} artifact; expected a dataset artifact, a .csv file, a Zarr bundle folder or a bundle digest`, {
      details: { data: ref, kind: artifact.kind },
    });
  }
  return { type: "dataset", artifact, ref };
}
