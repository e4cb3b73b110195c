import { readdir, readlink, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { InputError, NotFoundError } from "@maelstrom/errors";
import { errnoOf } from "./io.js";
import { comparePaths } from "./tree.js";

/** Return true to leave a path out of the tree; directories that are ignored are not entered. */
export type IgnoreFn = (relativePath: string, isDirectory: boolean) => boolean;

export interface WalkedFile {
  /** Posix path relative to the tree root. */
  readonly relativePath: string;
  /** Where to read it (a symlink's own path; opening it follows the link). */
  readonly absolutePath: string;
  /** Reached through a symlink: must be copied, never moved (moving would move the link, not the file). */
  readonly viaSymlink: boolean;
}

function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Lists the regular files under `dir`, sorted by relative path (byte order). Skips nothing unless
 * `ignore` says so. Symlinks are followed when they resolve inside the tree; a symlink that leaves
 * the tree, dangles, or loops is an InputError naming it. Sockets, FIFOs and devices are refused.
 */
export async function walkTree(dir: string, ignore?: IgnoreFn): Promise<WalkedFile[]> {
  let rootStat;
  try {
    rootStat = await stat(dir);
  } catch (cause) {
    if (errnoOf(cause) === "ENOENT") throw new NotFoundError(`directory ${dir} does not exist`, { details: { path: dir }, cause });
    throw cause;
  }
  if (!rootStat.isDirectory()) throw new InputError(`${dir} is not a directory; expected a directory to store as a tree`, { details: { path: dir } });
  const realRoot = await realpath(dir);
  const files: WalkedFile[] = [];

  // `realDir` is absoluteDir with symlinks resolved; `ancestors` are the real paths of the directories being walked.
  const visit = async (absoluteDir: string, relativeDir: string, realDir: string, ancestors: ReadonlySet<string>, viaSymlink: boolean): Promise<void> => {
    const dirents = await readdir(absoluteDir, { withFileTypes: true });
    for (const dirent of dirents) {
      const relativePath = relativeDir === "" ? dirent.name : `${relativeDir}/${dirent.name}`;
      const absolutePath = join(absoluteDir, dirent.name);
      if (dirent.isSymbolicLink()) {
        await visitLink(absolutePath, relativePath, ancestors);
      } else if (dirent.isDirectory()) {
        if (ignore?.(relativePath, true) === true) continue;
        const real = join(realDir, dirent.name);
        await visit(absolutePath, relativePath, real, new Set([...ancestors, real]), viaSymlink);
      } else if (dirent.isFile()) {
        if (ignore?.(relativePath, false) === true) continue;
        files.push({ relativePath, absolutePath, viaSymlink });
      } else {
        if (ignore?.(relativePath, false) === true) continue;
        throw new InputError(`${absolutePath} is not a regular file, directory or symlink (socket, FIFO or device); ignore it or remove it from the tree`, {
          details: { path: absolutePath, relativePath },
        });
      }
    }
  };

  const visitLink = async (absolutePath: string, relativePath: string, ancestors: ReadonlySet<string>): Promise<void> => {
    // Ask `ignore` first: an ignored link (say, inside a virtualenv) may point anywhere.
    const targetStat = await stat(absolutePath).catch(() => undefined);
    if (ignore?.(relativePath, targetStat?.isDirectory() ?? false) === true) return;
    const linkText = await readlink(absolutePath).catch(() => "?");
    const details = { path: absolutePath, relativePath, target: linkText };
    let real: string;
    try {
      real = await realpath(absolutePath);
    } catch (cause) {
      const code = errnoOf(cause);
      if (code === "ELOOP") throw new InputError(`symlink ${absolutePath} (-> ${linkText}) loops`, { details, cause });
      throw new InputError(`symlink ${absolutePath} (-> ${linkText}) is dangling: its target does not exist`, { details, cause });
    }
    if (targetStat === undefined) throw new InputError(`symlink ${absolutePath} (-> ${linkText}) is dangling: its target does not exist`, { details });
    if (!isInside(realRoot, real)) {
      throw new InputError(`symlink ${absolutePath} (-> ${linkText}) points outside the tree ${realRoot}; copy the target into the tree, or ignore the link`, { details });
    }
    if (targetStat.isDirectory()) {
      if (ancestors.has(real)) throw new InputError(`symlink ${absolutePath} (-> ${linkText}) points to a directory that contains it, which would recurse forever`, { details });
      // Descend under the link's own name. Files found there are also reachable by their real path, so they are copied, never moved.
      await visit(absolutePath, relativePath, real, new Set([...ancestors, real]), true);
    } else if (targetStat.isFile()) {
      files.push({ relativePath, absolutePath, viaSymlink: true });
    } else {
      throw new InputError(`symlink ${absolutePath} (-> ${linkText}) points to a socket, FIFO or device; only files and directories can be stored`, { details });
    }
  };

  await visit(dir, "", realRoot, new Set([realRoot]), false);
  files.sort((a, b) => comparePaths(a.relativePath, b.relativePath));
  return files;
}
