import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ConflictError, InputError, IntegrityError, NotFoundError } from "@maelstrom/errors";
import { digestFromHex, hexOf, isDigest, sha256Digest } from "./digest.js";
import type { Digest } from "./digest.js";
import type { HashCache } from "./hash-cache.js";
import { acquireChunk, CHUNK_SIZE, errnoOf, mapLimit, pumpFile, readFull, releaseChunk } from "./io.js";
import { decodeTree, encodeTree, looksLikeTree, TREE_PREFIX, treeDigest } from "./tree.js";
import type { TreeEntry, TreeManifest } from "./tree.js";
import { walkTree } from "./walk.js";
import type { IgnoreFn, WalkedFile } from "./walk.js";

export interface PutTreeResult {
  readonly digest: Digest;
  readonly fileCount: number;
  /** Sum of the files' sizes (the manifest itself not counted). */
  readonly totalBytes: number;
}

export interface FsckProblem {
  /** The digest the object is stored under ("" for files that are not objects, e.g. temp files). */
  readonly digest: string;
  readonly path: string;
  readonly problem: string;
}

export interface FsckReport {
  readonly checkedObjects: number;
  readonly checkedBytes: number;
  readonly problems: readonly FsckProblem[];
}

export interface GcReport {
  readonly removedObjects: number;
  /** Bytes of removed objects plus removed stale temp files. */
  readonly freedBytes: number;
  readonly keptObjects: number;
}

export interface ObjectStoreOptions {
  readonly hashCache?: HashCache;
}

export interface PutFileOptions {
  /** Rename the file into the store instead of copying it (files the engine owns). The source path is gone afterwards. */
  readonly move?: boolean;
}

export interface TreeOptions {
  /** Return true to leave a path out; an ignored directory is not entered. Nothing is skipped by default. */
  readonly ignore?: IgnoreFn;
}

export interface PutTreeOptions extends TreeOptions {
  /** Move the files into the store (directories are left behind, emptied of files). */
  readonly move?: boolean;
}

export interface GcOptions {
  /** Report what would be removed without removing anything. */
  readonly dryRun?: boolean;
  /**
   * Keep unreachable objects written or re-put within this many milliseconds (default 0: none).
   * Pass e.g. one hour when writers may run concurrently: a tree being stored is unreachable
   * until its manifest is written and recorded by the caller.
   */
  readonly gracePeriodMs?: number;
}

interface Ingested {
  readonly digest: Digest;
  readonly size: number;
  readonly executable: boolean;
}

type IngestMode = "hash" | "copy" | "move";

/** Files in flight at once while storing or hashing a tree. */
const TREE_CONCURRENCY = 4;
const MATERIALIZE_CONCURRENCY = 8;
/** A file modified this recently is not put in the hash cache: a later edit could keep the same mtime tick. */
const RACY_WINDOW_MS = 2_000;
/** gc removes temp files older than this; younger ones may belong to a write in progress. */
const STALE_TEMP_MS = 60 * 60 * 1_000;
/** fsck reports temp files untouched for this long (a live write keeps updating its temp file's mtime). */
const FSCK_TEMP_AGE_MS = 60 * 1_000;
/** gc re-hashes root objects up to this size that do not look like trees (see #readIfTree). */
const GC_VERIFY_LIMIT = 8 * 1024 * 1024;
const LINK_FALLBACK_CODES = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP"]);
const FANOUT_PATTERN = /^[0-9a-f]{2}$/;
const OBJECT_NAME_PATTERN = /^[0-9a-f]{62}$/;

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return false;
    throw error;
  }
}

/**
 * Content-addressed object store (DESIGN.md decision 4): `root/sha256/ab/cdef…`, one file per
 * object, named by the sha256 of its bytes. Directories are stored as tree manifests, themselves
 * objects. Every write goes to `root/tmp/` and is renamed into place, so a final path never holds a
 * partial object; objects are read-only (0o444).
 */
export class ObjectStore {
  readonly root: string;
  readonly #hashCache: HashCache | undefined;
  #tmpReady: Promise<void> | undefined;
  readonly #fanouts = new Set<string>();

  constructor(root: string, options: ObjectStoreOptions = {}) {
    this.root = resolve(root);
    this.#hashCache = options.hashCache;
  }

  pathOf(digest: Digest): string {
    const hex = this.#hex(digest);
    return join(this.root, "sha256", hex.slice(0, 2), hex.slice(2));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.pathOf(digest))).isFile();
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return false;
      throw error;
    }
  }

  async putBytes(data: Uint8Array): Promise<Digest> {
    const digest = sha256Digest(data);
    if (!(await this.#touch(digest))) await this.#writeObject(digest, data);
    return digest;
  }

  /**
   * Stores a file in one read: the bytes are hashed and written to a temp file in the same pass.
   * With a hash-cache hit for an object already stored, the file is not read at all.
   * `move` renames the file into place (falling back to a copy across filesystems, for symlinks,
   * and for files with other hard links); the source path no longer exists afterwards.
   */
  async putFile(path: string, options: PutFileOptions = {}): Promise<{ digest: Digest; size: number }> {
    const absolutePath = resolve(path);
    let mode: IngestMode = options.move === true ? "move" : "copy";
    let unlinkAfter = false;
    if (mode === "move" && (await lstat(absolutePath).catch(() => undefined))?.isSymbolicLink() === true) {
      // Renaming a symlink would store the link, not the file: copy the target, then drop the link.
      mode = "copy";
      unlinkAfter = true;
    }
    const { digest, size } = await this.#ingest(absolutePath, mode);
    if (unlinkAfter) await unlink(absolutePath);
    return { digest, size };
  }

  /** The digest putFile would give, without storing; consults and feeds the hash cache. */
  async hashFile(path: string): Promise<Digest> {
    return (await this.#ingest(resolve(path), "hash")).digest;
  }

  async putTree(dir: string, options: PutTreeOptions = {}): Promise<PutTreeResult> {
    const files = await walkTree(resolve(dir), options.ignore);
    const results = new Array<Ingested>(files.length);
    const ingestAll = async (indices: readonly number[], mode: IngestMode): Promise<void> => {
      await mapLimit(indices, TREE_CONCURRENCY, async (index) => {
        results[index] = await this.#ingest((files[index] as WalkedFile).absolutePath, mode);
      });
    };
    const all = files.map((_, index) => index);
    if (options.move === true) {
      // Files reached through a symlink are copied first: moving their real path first would break the link.
      await ingestAll(all.filter((i) => (files[i] as WalkedFile).viaSymlink), "copy");
      await ingestAll(all.filter((i) => !(files[i] as WalkedFile).viaSymlink), "move");
    } else {
      await ingestAll(all, "copy");
    }
    const manifest = this.#manifestOf(files, results);
    const digest = await this.putBytes(encodeTree(manifest));
    return { digest, fileCount: files.length, totalBytes: manifest.entries.reduce((sum, e) => sum + e.size, 0) };
  }

  /** The digest putTree would give, without storing anything. */
  async hashTree(dir: string, options: TreeOptions = {}): Promise<PutTreeResult> {
    const files = await walkTree(resolve(dir), options.ignore);
    const results = await mapLimit(files, TREE_CONCURRENCY, (file) => this.#ingest(file.absolutePath, "hash"));
    const manifest = this.#manifestOf(files, results);
    return { digest: treeDigest(manifest), fileCount: files.length, totalBytes: manifest.entries.reduce((sum, e) => sum + e.size, 0) };
  }

  /** The object's bytes, verified against the digest (IntegrityError if the stored file was damaged). */
  async readBytes(digest: Digest): Promise<Buffer> {
    const path = this.pathOf(digest);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (cause) {
      if (errnoOf(cause) === "ENOENT") {
        throw new NotFoundError(`object ${digest} is not in the object store ${this.root}`, { details: { digest, path }, cause });
      }
      throw cause;
    }
    const actual = sha256Digest(data);
    if (actual !== digest) {
      throw new IntegrityError(`object ${digest} is corrupt: its content hashes to ${actual} (${path}); run fsck`, {
        details: { digest, path, actual },
      });
    }
    return data;
  }

  async readTree(digest: Digest): Promise<TreeManifest> {
    const data = await this.readBytes(digest);
    if (!looksLikeTree(data)) {
      throw new InputError(`object ${digest} is a file, not a tree manifest`, { details: { digest } });
    }
    return decodeTree(data, digest);
  }

  /**
   * Recreates a stored tree at `dest`, which must not exist. Files are hard links to the objects
   * (copies across filesystems, and for executable files, whose mode a shared inode cannot carry),
   * so they are read-only: never write through them, or the object is damaged (fsck would tell).
   * The tree is assembled in `dest.tmp-<random>` and renamed, so a half-made tree is never visible.
   */
  async materializeTree(digest: Digest, dest: string): Promise<void> {
    const manifest = await this.readTree(digest);
    const target = resolve(dest);
    if (await exists(target)) {
      throw new ConflictError(`${target} already exists; materializeTree needs a destination that does not exist yet`, { details: { path: target, digest } });
    }
    await mkdir(dirname(target), { recursive: true });
    const staging = `${target}.tmp-${randomBytes(6).toString("hex")}`;
    await mkdir(staging);
    try {
      const directories = new Set<string>();
      for (const entry of manifest.entries) {
        const slash = entry.path.lastIndexOf("/");
        if (slash > 0) directories.add(entry.path.slice(0, slash));
      }
      for (const directory of directories) await mkdir(join(staging, ...directory.split("/")), { recursive: true });
      await mapLimit(manifest.entries, MATERIALIZE_CONCURRENCY, (entry) => this.#place(entry, join(staging, ...entry.path.split("/"))));
      try {
        await rename(staging, target);
      } catch (cause) {
        const code = errnoOf(cause);
        if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
          throw new ConflictError(`${target} appeared while tree ${digest} was being materialized there`, { details: { path: target, digest }, cause });
        }
        throw cause;
      }
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** Pure: the digest putTree gives for these entries (any order; they are validated and sorted). */
  treeDigestOf(manifest: TreeManifest): Digest {
    return treeDigest(manifest);
  }

  /**
   * Re-hashes every object and checks it matches its name, parses every tree manifest and checks
   * the objects it references exist, and lists temp files left by interrupted writes.
   * Reports problems; never throws for corruption (the caller decides what that means).
   */
  async fsck(): Promise<FsckReport> {
    const problems: FsckProblem[] = [];
    const objects = await this.#listObjects(problems);
    const present = new Set<string>(objects.map((object) => object.digest));
    const references: { tree: Digest; treePath: string; entry: TreeEntry }[] = [];
    let checkedObjects = 0;
    let checkedBytes = 0;
    await mapLimit(objects, Math.min(4, availableParallelism()), async ({ digest, path }) => {
      let handle: FileHandle;
      try {
        handle = await open(path, "r");
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") problems.push({ digest, path, problem: `unreadable: ${messageOf(error)}` });
        return;
      }
      try {
        const { hex, size } = await pumpFile(handle);
        checkedObjects += 1;
        checkedBytes += size;
        const actual = digestFromHex(hex);
        if (actual !== digest) {
          problems.push({ digest, path, problem: `content hashes to ${actual}` });
          return;
        }
        if (size < TREE_PREFIX.length) return;
        const head = Buffer.alloc(TREE_PREFIX.length);
        await readFull(handle, head, 0);
        if (!head.equals(TREE_PREFIX)) return;
        try {
          const manifest = decodeTree(await readFile(path), digest);
          for (const entry of manifest.entries) references.push({ tree: digest, treePath: path, entry });
        } catch (error) {
          problems.push({ digest, path, problem: messageOf(error) });
        }
      } catch (error) {
        problems.push({ digest, path, problem: `unreadable: ${messageOf(error)}` });
      } finally {
        await handle.close();
      }
    });
    for (const { tree, treePath, entry } of references) {
      if (!present.has(entry.digest)) {
        problems.push({ digest: tree, path: treePath, problem: `tree entry ${JSON.stringify(entry.path)} references missing object ${entry.digest}` });
      }
    }
    const cutoff = Date.now() - FSCK_TEMP_AGE_MS;
    for (const temp of await this.#listTemps()) {
      if (temp.mtimeMs < cutoff) problems.push({ digest: "", path: temp.path, problem: "temp file left behind by an interrupted write (gc removes it after an hour)" });
    }
    problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { checkedObjects, checkedBytes, problems };
  }

  /**
   * Keeps the roots and, for roots that are trees, everything they reference (recursively, so a
   * tree entry that is itself a tree is walked); removes every other object, and temp files older
   * than an hour. Marking finishes before anything is removed; if a reachable tree (or a root up to
   * 8 MiB, which might have been a tree) is damaged, gc throws IntegrityError and removes nothing.
   * Roots that are absent are ignored.
   */
  async gc(liveRoots: Iterable<Digest>, options: GcOptions = {}): Promise<GcReport> {
    const dryRun = options.dryRun === true;
    const gracePeriodMs = options.gracePeriodMs ?? 0;
    const live = new Set<string>();
    const roots = new Set<string>();
    const queue: Digest[] = [];
    for (const root of liveRoots) {
      this.#hex(root);
      roots.add(root);
      queue.push(root);
    }
    for (let digest = queue.pop(); digest !== undefined; digest = queue.pop()) {
      if (live.has(digest)) continue;
      live.add(digest);
      const path = this.pathOf(digest);
      let manifest: TreeManifest;
      try {
        const bytes = await this.#readIfTree(digest, path, roots.has(digest));
        if (bytes === undefined) continue;
        if (sha256Digest(bytes) !== digest) throw new Error(`its content hashes to ${sha256Digest(bytes)}`);
        manifest = decodeTree(bytes, digest);
      } catch (cause) {
        throw new IntegrityError(`gc stopped before removing anything: object ${digest} (${path}) is damaged (${messageOf(cause)}), so what it references is unknown; run fsck`, {
          details: { digest, path },
          cause,
        });
      }
      for (const entry of manifest.entries) {
        if (live.has(entry.digest)) continue;
        // Too small to be a tree manifest: keep it without opening it.
        if (entry.size < TREE_PREFIX.length) live.add(entry.digest);
        else queue.push(entry.digest);
      }
    }

    const now = Date.now();
    let removedObjects = 0;
    let freedBytes = 0;
    let keptObjects = 0;
    await mapLimit(await this.#listObjects(), 8, async ({ digest, path }) => {
      if (live.has(digest)) {
        keptObjects += 1;
        return;
      }
      let info: Stats;
      try {
        info = await lstat(path);
      } catch (error) {
        if (errnoOf(error) === "ENOENT") return;
        throw error;
      }
      if (gracePeriodMs > 0 && now - info.mtimeMs < gracePeriodMs) {
        keptObjects += 1;
        return;
      }
      if (!dryRun) {
        try {
          await unlink(path);
        } catch (error) {
          if (errnoOf(error) === "ENOENT") return;
          throw error;
        }
      }
      removedObjects += 1;
      freedBytes += info.size;
    });
    for (const temp of await this.#listTemps()) {
      if (now - temp.mtimeMs < STALE_TEMP_MS) continue;
      if (!dryRun) await rm(temp.path, { force: true });
      freedBytes += temp.size;
    }
    return { removedObjects, freedBytes, keptObjects };
  }

  // ---- internals ----

  #hex(digest: Digest): string {
    if (typeof digest !== "string" || !isDigest(digest)) {
      throw new InputError(`${JSON.stringify(digest)} is not a digest; expected "sha256:" followed by 64 lowercase hex digits`, {
        details: { digest: String(digest) },
      });
    }
    return hexOf(digest);
  }

  #manifestOf(files: readonly WalkedFile[], results: readonly Ingested[]): TreeManifest {
    return {
      entries: files.map((file, index) => {
        const { digest, size, executable } = results[index] as Ingested;
        return { path: file.relativePath, digest, size, executable };
      }),
    };
  }

  /**
   * Refreshes the object's mtime and says whether it exists. The mtime marks it as recently put,
   * which a gc with a grace period respects even when the put was a dedup hit.
   */
  async #touch(digest: Digest): Promise<boolean> {
    const path = this.pathOf(digest);
    const now = new Date();
    try {
      await utimes(path, now, now);
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT") return false;
      // Someone else's object in a shared store: it exists, we just cannot touch it.
      if (code === "EPERM" || code === "EACCES") return exists(path);
      throw error;
    }
  }

  async #tempPath(): Promise<string> {
    const dir = join(this.root, "tmp");
    this.#tmpReady ??= mkdir(dir, { recursive: true }).then(
      () => undefined,
      (error: unknown) => {
        this.#tmpReady = undefined;
        throw error;
      },
    );
    await this.#tmpReady;
    return join(dir, randomBytes(12).toString("hex"));
  }

  async #ensureFanout(finalPath: string): Promise<void> {
    const dir = dirname(finalPath);
    if (this.#fanouts.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.#fanouts.add(dir);
  }

  /** Writes an object the caller has just found absent (via #touch). */
  async #writeObject(digest: Digest, data: Uint8Array): Promise<void> {
    const temp = await this.#tempPath();
    try {
      // Created read-only; the descriptor opened at creation can still write.
      await writeFile(temp, data, { flag: "wx", mode: 0o444 });
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // Absent a moment ago; a concurrent writer of the same bytes would only rename identical content over it.
    await this.#commit(temp, digest, false);
  }

  /** Renames a complete temp file onto the object path, or discards it if the object already exists (dedup). */
  async #commit(temp: string, digest: Digest, checkExisting = true): Promise<void> {
    const finalPath = this.pathOf(digest);
    try {
      if (checkExisting && (await this.#touch(digest))) {
        await rm(temp, { force: true });
        return;
      }
      await this.#ensureFanout(finalPath);
      try {
        await rename(temp, finalPath);
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") throw error;
        // The fan-out directory vanished under us (removed by hand?): recreate it once.
        this.#fanouts.delete(dirname(finalPath));
        await this.#ensureFanout(finalPath);
        await rename(temp, finalPath);
      }
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async #ingest(absolutePath: string, mode: IngestMode): Promise<Ingested> {
    // With a cache, one stat by path settles the common case (unchanged and stored) without opening the file.
    if (this.#hashCache !== undefined) {
      const info = await stat(absolutePath).catch(() => undefined); // errors are reported by open() below
      if (info?.isFile() === true) {
        const hit = await this.#cacheHit(absolutePath, info, mode);
        if (hit !== undefined) return hit;
      }
    }
    let handle: FileHandle;
    try {
      handle = await open(absolutePath, "r");
    } catch (cause) {
      const code = errnoOf(cause);
      if (code === "ENOENT") throw new NotFoundError(`file ${absolutePath} does not exist`, { details: { path: absolutePath }, cause });
      if (code === "EISDIR") throw new InputError(`${absolutePath} is a directory; expected a file (use putTree for directories)`, { details: { path: absolutePath }, cause });
      throw cause;
    }
    try {
      const before = await handle.stat();
      if (!before.isFile()) throw new InputError(`${absolutePath} is not a regular file`, { details: { path: absolutePath } });
      let stored: { digest: Digest; size: number };
      if (mode === "hash") {
        const { hex, size } = await pumpFile(handle);
        stored = { digest: digestFromHex(hex), size };
      } else if (mode === "copy") {
        stored = await this.#copyIn(handle);
      } else {
        stored = await this.#moveIn(handle, absolutePath, before);
      }
      if (mode !== "move") this.#remember(absolutePath, before, stored);
      return { ...stored, executable: (before.mode & 0o100) !== 0 };
    } finally {
      await handle.close();
    }
  }

  /**
   * The cached digest when the file is unchanged and, unless only hashing, the object is stored.
   * A cached digest never names a new object: absent objects are written from freshly hashed bytes.
   */
  async #cacheHit(absolutePath: string, info: Stats, mode: IngestMode): Promise<Ingested | undefined> {
    const cached = this.#hashCache?.lookup(absolutePath, { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
    if (cached === undefined) return undefined;
    const hit = { digest: cached, size: info.size, executable: (info.mode & 0o100) !== 0 };
    if (mode === "hash") return hit;
    if (!(await this.#touch(cached))) return undefined;
    if (mode === "move") await unlink(absolutePath);
    return hit;
  }

  /**
   * Feeds the hash cache, keyed by the stat taken before reading. Skipped for files modified within
   * the racy window: a later edit could land in the same mtime tick and go unnoticed. Outside that
   * window, any write during or after our read moves mtime away from the recorded value, so the
   * entry can no longer match; no second stat is needed.
   */
  #remember(absolutePath: string, before: Stats, stored: { digest: Digest; size: number }): void {
    if (this.#hashCache === undefined || stored.size !== before.size) return;
    if (Date.now() - before.mtimeMs < RACY_WINDOW_MS) return;
    this.#hashCache.record(absolutePath, { size: before.size, mtimeMs: before.mtimeMs, ino: before.ino }, stored.digest);
  }

  /**
   * Copies an open file into the store, reading it once. A file smaller than one chunk is hashed in
   * memory and written only if the object is new; a larger one streams through a single pass that
   * hashes and writes the same buffers, so the object is exactly the bytes that were hashed.
   * (Measured on 1 GiB, see README.md: this beats hashing first and then fs.copyFile.)
   */
  async #copyIn(handle: FileHandle): Promise<{ digest: Digest; size: number }> {
    const first = acquireChunk();
    let length: number;
    try {
      length = await readFull(handle, first, 0);
    } catch (error) {
      releaseChunk(first);
      throw error;
    }
    if (length < CHUNK_SIZE) {
      try {
        const data = first.subarray(0, length);
        const digest = sha256Digest(data);
        if (!(await this.#touch(digest))) await this.#writeObject(digest, data);
        return { digest, size: length };
      } finally {
        releaseChunk(first);
      }
    }
    return this.#streamIn(handle, first);
  }

  /** The single-pass copy: hash and write the same bytes. `first` holds the first full chunk if already read. */
  async #streamIn(handle: FileHandle, first: Buffer | undefined): Promise<{ digest: Digest; size: number }> {
    const release = (): void => {
      if (first !== undefined) releaseChunk(first);
    };
    const temp = await this.#tempPath().catch((error: unknown) => {
      release();
      throw error;
    });
    let sink: FileHandle;
    try {
      sink = await open(temp, "wx", 0o444);
    } catch (error) {
      release();
      throw error;
    }
    let hex: string;
    let size: number;
    try {
      try {
        ({ hex, size } = await pumpFile(handle, sink, first));
      } finally {
        await sink.close();
      }
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const digest = digestFromHex(hex);
    await this.#commit(temp, digest);
    return { digest, size };
  }

  /** Hashes an engine-owned file (one read) and renames it into place; copies when renaming is impossible or unsafe. */
  async #moveIn(handle: FileHandle, absolutePath: string, before: Stats): Promise<{ digest: Digest; size: number }> {
    const { hex, size } = await pumpFile(handle);
    const digest = digestFromHex(hex);
    const current = await lstat(absolutePath).catch(() => undefined);
    if (!sameFile(before, await handle.stat()) || size !== before.size || current === undefined || current.ino !== before.ino) {
      throw new InputError(`${absolutePath} changed while it was being stored; finish writing it before storing it`, { details: { path: absolutePath } });
    }
    if (await this.#touch(digest)) {
      await unlink(absolutePath);
      return { digest, size };
    }
    // Another hard link could still modify the inode after it became an object: copy instead.
    if (before.nlink === 1) {
      const finalPath = this.pathOf(digest);
      await this.#ensureFanout(finalPath);
      let renamed = false;
      try {
        await handle.chmod(0o444);
        await rename(absolutePath, finalPath);
        renamed = true;
        // The file keeps its old mtime; refresh it so a gc grace period counts from now.
        await this.#touch(digest);
      } catch (error) {
        await handle.chmod(before.mode & 0o7777).catch(() => undefined);
        const code = errnoOf(error);
        if (code !== "EXDEV" && code !== "EPERM") throw error;
      }
      if (renamed) return { digest, size };
    }
    const copied = await this.#copyIn(handle);
    if (copied.digest !== digest) {
      throw new InputError(`${absolutePath} changed while it was being stored; finish writing it before storing it`, { details: { path: absolutePath } });
    }
    await unlink(absolutePath);
    return copied;
  }

  async #place(entry: TreeEntry, to: string): Promise<void> {
    const from = this.pathOf(entry.digest);
    try {
      if (!entry.executable) {
        try {
          await link(from, to);
          return;
        } catch (error) {
          if (!LINK_FALLBACK_CODES.has(errnoOf(error) ?? "")) throw error;
        }
      }
      await copyFile(from, to, constants.COPYFILE_EXCL);
      await chmod(to, entry.executable ? 0o555 : 0o444);
    } catch (cause) {
      if (errnoOf(cause) === "ENOENT" && !(await exists(from))) {
        throw new NotFoundError(`object ${entry.digest} (tree entry ${JSON.stringify(entry.path)}) is missing from the object store ${this.root}`, {
          details: { digest: entry.digest, path: entry.path },
          cause,
        });
      }
      throw cause;
    }
  }

  /**
   * A tree object's bytes, or undefined when the object is absent or is not a tree. With `verify`,
   * an object that does not look like a tree is re-hashed when small enough: a tree whose first
   * bytes were damaged would otherwise pass for a file, and gc would drop what it references.
   */
  async #readIfTree(digest: Digest, path: string, verify: boolean): Promise<Buffer | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined;
      throw error;
    }
    try {
      const head = Buffer.alloc(TREE_PREFIX.length);
      const length = await readFull(handle, head, 0);
      if (length === head.length && head.equals(TREE_PREFIX)) return await readFile(path);
      if (verify && (await handle.stat()).size <= GC_VERIFY_LIMIT) {
        const actual = digestFromHex((await pumpFile(handle)).hex);
        if (actual !== digest) throw new Error(`its content hashes to ${actual}`);
      }
      return undefined;
    } finally {
      await handle.close();
    }
  }

  async #listObjects(problems?: FsckProblem[]): Promise<{ digest: Digest; path: string }[]> {
    const base = join(this.root, "sha256");
    let fanouts;
    try {
      fanouts = await readdir(base, { withFileTypes: true });
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return [];
      throw error;
    }
    const objects: { digest: Digest; path: string }[] = [];
    for (const fanout of fanouts) {
      const fanoutPath = join(base, fanout.name);
      if (!fanout.isDirectory() || !FANOUT_PATTERN.test(fanout.name)) {
        problems?.push({ digest: "", path: fanoutPath, problem: "unexpected entry in the object store" });
        continue;
      }
      for (const entry of await readdir(fanoutPath, { withFileTypes: true })) {
        const path = join(fanoutPath, entry.name);
        if (entry.isFile() && OBJECT_NAME_PATTERN.test(entry.name)) objects.push({ digest: digestFromHex(fanout.name + entry.name), path });
        else problems?.push({ digest: "", path, problem: "unexpected entry in the object store (not named by a digest)" });
      }
    }
    objects.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    return objects;
  }

  async #listTemps(): Promise<{ path: string; size: number; mtimeMs: number }[]> {
    const dir = join(this.root, "tmp");
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return [];
      throw error;
    }
    const temps: { path: string; size: number; mtimeMs: number }[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const info = await lstat(path).catch(() => undefined);
      if (info?.isFile() === true) temps.push({ path, size: info.size, mtimeMs: info.mtimeMs });
    }
    return temps;
  }
}
