import { InputError, IntegrityError } from "@maelstrom/errors";
import { isDigest, sha256Digest } from "./digest.js";
import type { Digest } from "./digest.js";

/** One file of a tree. `path` is posix, relative, without "." / ".." / empty segments. */
export interface TreeEntry {
  readonly path: string;
  readonly digest: Digest;
  readonly size: number;
  readonly executable: boolean;
}

/** A directory as a Merkle manifest: its files, sorted by path (byte order). Empty directories are not recorded. */
export interface TreeManifest {
  readonly entries: readonly TreeEntry[];
}

const TREE_FORMAT = "tree/1";

/** Every stored tree manifest starts with these bytes; that is how fsck and gc tell trees from file objects. */
export const TREE_PREFIX = Buffer.from(`{"maelstrom":"${TREE_FORMAT}","entries":[`, "utf8");

/** Byte order of the UTF-8 encodings (JS string comparison is UTF-16 order, which differs above U+FFFF). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Why `path` is not a valid tree entry path, or undefined when it is. */
function invalidPathReason(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (path.startsWith("/")) return "is absolute";
  if (path.includes("\0")) return "contains a NUL byte";
  for (const segment of path.split("/")) {
    if (segment === "") return 'has an empty segment ("//" or a trailing "/")';
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
  }
  if (Buffer.from(path, "utf8").toString("utf8") !== path) return "is not valid UTF-8";
  return undefined;
}

type Fail = (message: string) => Error;

/** Checks entries and returns them sorted; `fail` builds the error (InputError for callers, IntegrityError for stored bytes). */
function checkEntries(entries: readonly unknown[], fail: Fail): TreeEntry[] {
  const checked: TreeEntry[] = [];
  for (const [index, raw] of entries.entries()) {
    if (typeof raw !== "object" || raw === null) throw fail(`entry ${index} is not an object`);
    const { path, digest, size, executable } = raw as Record<string, unknown>;
    if (typeof path !== "string") throw fail(`entry ${index} has no string "path"`);
    const reason = invalidPathReason(path);
    if (reason !== undefined) throw fail(`entry path ${JSON.stringify(path)} ${reason}; expected a relative posix path`);
    if (typeof digest !== "string" || !isDigest(digest)) {
      throw fail(`entry ${JSON.stringify(path)} has digest ${JSON.stringify(digest)}; expected "sha256:" + 64 lowercase hex digits`);
    }
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw fail(`entry ${JSON.stringify(path)} has size ${JSON.stringify(size)}; expected a non-negative integer`);
    }
    if (typeof executable !== "boolean") throw fail(`entry ${JSON.stringify(path)} has no boolean "executable"`);
    checked.push({ path, digest, size, executable });
  }
  checked.sort((a, b) => comparePaths(a.path, b.path));
  const files = new Set<string>();
  for (const entry of checked) {
    if (files.has(entry.path)) throw fail(`path ${JSON.stringify(entry.path)} appears twice`);
    files.add(entry.path);
  }
  // A path cannot be both a file and a directory of another entry ("a" and "a/b").
  for (const entry of checked) {
    let slash = entry.path.lastIndexOf("/");
    while (slash > 0) {
      const parent = entry.path.slice(0, slash);
      if (files.has(parent)) throw fail(`path ${JSON.stringify(parent)} is a file but also the directory of ${JSON.stringify(entry.path)}`);
      slash = parent.lastIndexOf("/");
    }
  }
  return checked;
}

/** Validates and sorts a manifest given by a caller; InputError on bad entries. */
function normalizeManifest(manifest: TreeManifest): TreeManifest {
  return { entries: checkEntries(manifest.entries, (message) => new InputError(`invalid tree manifest: ${message}`)) };
}

/**
 * The canonical bytes of a tree: `{"maelstrom":"tree/1","entries":[{"path":…,"digest":…,"size":…,"executable":…},…]}`,
 * keys in this order, no whitespace, entries sorted by path. The tree digest is the sha256 of these bytes.
 */
export function encodeTree(manifest: TreeManifest): Buffer {
  const { entries } = normalizeManifest(manifest);
  const body = {
    maelstrom: TREE_FORMAT,
    entries: entries.map((e) => ({ path: e.path, digest: e.digest, size: e.size, executable: e.executable })),
  };
  return Buffer.from(JSON.stringify(body), "utf8");
}

export function treeDigest(manifest: TreeManifest): Digest {
  return sha256Digest(encodeTree(manifest));
}

export function looksLikeTree(bytes: Uint8Array): boolean {
  return bytes.length >= TREE_PREFIX.length && Buffer.from(bytes.buffer, bytes.byteOffset, TREE_PREFIX.length).equals(TREE_PREFIX);
}

/** Parses stored tree bytes; IntegrityError (naming `digest`) when they are not a canonical tree manifest. */
export function decodeTree(bytes: Uint8Array, digest: string): TreeManifest {
  const fail: Fail = (message) => new IntegrityError(`unreadable tree manifest ${digest}: ${message}`, { details: { digest } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (cause) {
    throw new IntegrityError(`unreadable tree manifest ${digest}: not valid JSON`, { details: { digest }, cause });
  }
  if (typeof parsed !== "object" || parsed === null) throw fail("not a JSON object");
  const { maelstrom, entries } = parsed as Record<string, unknown>;
  if (maelstrom !== TREE_FORMAT) throw fail(`format is ${JSON.stringify(maelstrom)}, expected "${TREE_FORMAT}"`);
  if (!Array.isArray(entries)) throw fail('"entries" is not an array');
  const manifest: TreeManifest = { entries: checkEntries(entries, fail) };
  // Only the canonical encoding hashes to the tree digest, so anything else is damage, not a tree.
  if (!encodeTree(manifest).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) throw fail("bytes are not in canonical form");
  return manifest;
}
