import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { WorkspaceError } from "@maelstrom/errors";

/** Where a workspace keeps everything. One place that knows the layout of `.maelstrom/`. */
export interface WorkspacePaths {
  readonly root: string;
  readonly meta: string;
  readonly database: string;
  readonly objects: string;
  /** Registered trees (artifacts, bundles, model states) checked out for reading, by digest. */
  readonly trees: string;
  /** Built node modules, by artifact digest and toolchain. */
  readonly builds: string;
  /** Per-run working folders: spec files, logs, outputs before they are committed. */
  readonly runs: string;
}

const META_DIR = ".maelstrom";

/** The folders a new workspace gets (DESIGN.md): raw data is pulled, derived data is made. */
const LAYOUT = ["data/raw", "data/features", "src", "lib", "models"];

export function workspacePaths(root: string): WorkspacePaths {
  const meta = join(root, META_DIR);
  return {
    root,
    meta,
    database: join(meta, "maelstrom.db"),
    objects: join(meta, "objects"),
    trees: join(meta, "trees"),
    builds: join(meta, "cache", "build"),
    runs: join(meta, "runs"),
  };
}

function isWorkspace(dir: string): boolean {
  const meta = join(dir, META_DIR);
  return existsSync(meta) && statSync(meta).isDirectory();
}

/**
 * The workspace to use: `explicit` (from --workspace or MAELSTROM_WORKSPACE) when given,
 * else the nearest folder from `start` upwards that holds `.maelstrom/`.
 */
export function findWorkspace(start: string, explicit?: string): string {
  if (explicit !== undefined) {
    const dir = resolve(explicit);
    if (!isWorkspace(dir)) {
      throw new WorkspaceError(`no Maelstrom workspace at ${dir} (there is no ${META_DIR}/ folder); create one with: maelstrom init ${explicit}`, {
        details: { workspace: dir },
      });
    }
    return dir;
  }
  let dir = resolve(start);
  for (;;) {
    if (isWorkspace(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new WorkspaceError(
    `no Maelstrom workspace in ${resolve(start)} or any folder above it; create one with 'maelstrom init' or pass --workspace DIR`,
    { details: { start: resolve(start) } },
  );
}

/** Create a workspace (idempotent): `.maelstrom/` and the project layout. Returns its root. */
export async function initWorkspace(dir: string): Promise<{ root: string; created: boolean }> {
  const root = resolve(dir);
  const created = !isWorkspace(root);
  const paths = workspacePaths(root);
  for (const folder of [paths.objects, paths.trees, paths.builds, paths.runs, ...LAYOUT.map((d) => join(root, d))]) {
    await mkdir(folder, { recursive: true });
  }
  const readme = join(root, "data", "raw", "README.md");
  if (!existsSync(readme)) {
    await writeFile(readme, "Raw data pulled from archives. Treat as read-only; derived data goes to data/features.\n");
  }
  return { root, created };
}
