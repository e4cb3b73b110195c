import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "../index.js";
import type { Digest } from "../index.js";

const root = mkdtempSync(join(tmpdir(), "maelstrom-db-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the metadata database (SQLite)", () => {
  it("migrates a new database, and reopening an existing one is a no-op that keeps the data", async () => {
    const file = join(root, "m.db");
    const first = await openSqliteDatabase(file);
    await first.db
      .insertInto("sessions")
      .values({ id: "01ABC", experiment: "e", created_at: 1, closed_at: null })
      .execute();
    await first.db.destroy();
    const second = await openSqliteDatabase(file);
    const rows = await second.db.selectFrom("sessions").selectAll().execute();
    expect(rows).toEqual([{ id: "01ABC", experiment: "e", created_at: 1, closed_at: null }]);
    await second.db.destroy();
  });

  it("remembers file digests only while size, mtime and inode are unchanged", async () => {
    const { db, hashCache } = await openSqliteDatabase(join(root, "h.db"));
    const digest = `sha256:${"0".repeat(64)}` as Digest;
    const stat = { size: 10, mtimeMs: 1700000000123.5, ino: 42 };
    expect(hashCache.lookup("/a", stat)).toBeUndefined();
    hashCache.record("/a", stat, digest);
    expect(hashCache.lookup("/a", stat)).toBe(digest);
    expect(hashCache.lookup("/a", { ...stat, size: 11 })).toBeUndefined();
    expect(hashCache.lookup("/a", { ...stat, mtimeMs: stat.mtimeMs + 1 })).toBeUndefined();
    expect(hashCache.lookup("/a", { ...stat, ino: 43 })).toBeUndefined();
    await db.destroy();
  });

  it("names the file when it cannot be opened", async () => {
    await expect(openSqliteDatabase(join(root, "no", "such", "dir", "x.db"))).rejects.toThrow(/cannot open the metadata database .*x\.db/);
  });
});
