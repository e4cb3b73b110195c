import BetterSqlite3 from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { WorkspaceError } from "@maelstrom/errors";
import { migrationProvider } from "./migrations.js";
import type { HashCache } from "../objects/index.js";
import { SqliteHashCache } from "./hash-cache.js";
import type { Database } from "./schema.js";

export type MetadataDb = Kysely<Database>;

/** Open (creating if needed) the SQLite metadata database and bring it to the latest schema. */
export async function openSqliteDatabase(file: string): Promise<{ db: MetadataDb; hashCache: HashCache }> {
  let sqlite: BetterSqlite3.Database | undefined;
  try {
    sqlite = new BetterSqlite3(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    // Several CLI processes may share a workspace; wait for a lock instead of failing.
    sqlite.pragma("busy_timeout = 10000");
  } catch (error) {
    sqlite?.close();
    throw new WorkspaceError(`cannot open the metadata database ${file}: ${(error as Error).message}`, { code: "WORKSPACE_INVALID", cause: error });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new WorkspaceError(`cannot migrate the metadata database ${file}: ${(error as Error).message}`, { code: "WORKSPACE_INVALID", cause: error });
  }
  return { db, hashCache: new SqliteHashCache(sqlite) };
}
