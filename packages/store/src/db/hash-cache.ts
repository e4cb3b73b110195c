import type BetterSqlite3 from "better-sqlite3";
import type { Digest, FileStat, HashCache } from "../objects/index.js";

/** File digests remembered across commands, so unchanged files (same size, mtime, inode) are not re-hashed. */
export class SqliteHashCache implements HashCache {
  readonly #lookup: BetterSqlite3.Statement<[string], { size: number; mtime_ms: number; ino: number; digest: string }>;
  readonly #record: BetterSqlite3.Statement<[string, number, number, number, string]>;

  constructor(sqlite: BetterSqlite3.Database) {
    this.#lookup = sqlite.prepare("select size, mtime_ms, ino, digest from file_hashes where path = ?");
    this.#record = sqlite.prepare(
      "insert into file_hashes (path, size, mtime_ms, ino, digest) values (?, ?, ?, ?, ?) on conflict(path) do update set size = excluded.size, mtime_ms = excluded.mtime_ms, ino = excluded.ino, digest = excluded.digest",
    );
  }

  lookup(path: string, stat: FileStat): Digest | undefined {
    const row = this.#lookup.get(path);
    if (row === undefined) return undefined;
    return Number(row.size) === stat.size && row.mtime_ms === stat.mtimeMs && Number(row.ino) === stat.ino ? (row.digest as Digest) : undefined;
  }

  record(path: string, stat: FileStat, digest: Digest): void {
    this.#record.run(path, stat.size, stat.mtimeMs, stat.ino, digest);
  }
}
