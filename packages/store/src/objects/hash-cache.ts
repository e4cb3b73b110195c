import type { Digest } from "./digest.js";

/** The facts that decide whether a file may have changed since it was hashed. */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/**
 * Lets unchanged files skip re-hashing. Keyed by absolute path + size + mtime + inode, like git's
 * index: a file rewritten in place with the same size and its mtime restored is NOT detected.
 * The store never records a file whose mtime is within the last few seconds (see ObjectStore), so
 * an edit within the filesystem's timestamp granularity cannot hide behind a cache entry.
 */
export interface HashCache {
  lookup(path: string, stat: FileStat): Digest | undefined;
  record(path: string, stat: FileStat, digest: Digest): void;
}

interface CacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly digest: Digest;
}

/** A HashCache for one process's lifetime. A persistent cache (e.g. in the metadata database) implements the same interface. */
export class MemoryHashCache implements HashCache {
  readonly #entries = new Map<string, CacheEntry>();

  lookup(path: string, stat: FileStat): Digest | undefined {
    const entry = this.#entries.get(path);
    if (entry === undefined) return undefined;
    if (entry.size !== stat.size || entry.mtimeMs !== stat.mtimeMs || entry.ino !== stat.ino) return undefined;
    return entry.digest;
  }

  record(path: string, stat: FileStat, digest: Digest): void {
    this.#entries.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, digest });
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
