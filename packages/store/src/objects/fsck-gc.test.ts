import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, IntegrityError } from "@maelstrom/errors";
import type { Digest } from "./digest.js";
import { ObjectStore } from "./store.js";
import { objectFiles, scratch, sha256Of, tempFiles } from "./test-helpers.js";
import type { Scratch } from "./test-helpers.js";

let s: Scratch;
let store: ObjectStore;
beforeEach(() => {
  s = scratch();
  store = new ObjectStore(s.path("objects"));
});
afterEach(() => s.cleanup());

const LONG_AGO = new Date(Date.now() - 2 * 60 * 60 * 1000);

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, ...rel.split("/"));
    mkdirSync(join(abs, ".."), { recursive: true });
    writeFileSync(abs, content);
  }
}

/** Flip one byte of a stored object the way a stray write would. */
function corrupt(path: string): void {
  chmodSync(path, 0o644);
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.from("Z"), 0, 1, 0);
  closeSync(fd);
}

describe("fsck", () => {
  it("reports nothing for a healthy store and counts what it checked", async () => {
    writeTree(s.path("t"), { "a.txt": "alpha", "b/c.txt": "gamma" });
    await store.putTree(s.path("t"));
    const report = await store.fsck();
    expect(report.problems).toEqual([]);
    expect(report.checkedObjects).toBe(3);
    expect(report.checkedBytes).toBe(objectFiles(store.root).reduce((sum, name) => sum + statSync(join(store.root, "sha256", name)).size, 0));
  });

  it("reports nothing for a store that does not exist yet", async () => {
    expect(await store.fsck()).toEqual({ checkedObjects: 0, checkedBytes: 0, problems: [] });
  });

  it("finds a corrupted object and names its digest and path", async () => {
    const good = await store.putBytes(Buffer.from("fine"));
    const bad = await store.putBytes(Buffer.from("about to be damaged"));
    corrupt(store.pathOf(bad));
    const report = await store.fsck();
    expect(report.checkedObjects).toBe(2);
    expect(report.problems).toHaveLength(1);
    const [problem] = report.problems;
    expect(problem?.digest).toBe(bad);
    expect(problem?.path).toBe(store.pathOf(bad));
    expect(problem?.problem).toBe(`content hashes to ${sha256Of(readFileSync(store.pathOf(bad)))}`);
    expect(report.problems.some((p) => p.digest === good)).toBe(false);
  });

  it("reports an unreadable tree manifest and a tree referencing a missing object", async () => {
    const broken = await store.putBytes(Buffer.from('{"maelstrom":"tree/1","entries":[{"path":"../x"}]}'));
    writeTree(s.path("t"), { "keep.txt": "keep", "lose.txt": "lose" });
    const tree = await store.putTree(s.path("t"));
    const lost = sha256Of("lose") as Digest;
    rmSync(store.pathOf(lost));
    const problems = (await store.fsck()).problems;
    expect(problems).toHaveLength(2);
    const unreadable = problems.find((p) => p.digest === broken);
    expect(unreadable?.problem).toMatch(/^unreadable tree manifest/);
    const missing = problems.find((p) => p.digest === tree.digest);
    expect(missing?.problem).toContain(lost);
    expect(missing?.problem).toContain("lose.txt");
  });

  it("reports temp files left behind, but not one being written right now", async () => {
    await store.putBytes(Buffer.from("x"));
    writeFileSync(join(store.root, "tmp", "stale"), "half");
    utimesSync(join(store.root, "tmp", "stale"), LONG_AGO, LONG_AGO);
    writeFileSync(join(store.root, "tmp", "live"), "in progress");
    const problems = (await store.fsck()).problems;
    expect(problems).toEqual([{ digest: "", path: join(store.root, "tmp", "stale"), problem: expect.stringContaining("temp file left behind") as string }]);
  });

  it("reports stray files in the object directories", async () => {
    const digest = await store.putBytes(Buffer.from("x"));
    writeFileSync(join(store.pathOf(digest), "..", "not-a-digest"), "?");
    const problems = (await store.fsck()).problems;
    expect(problems.map((p) => p.problem)).toEqual([expect.stringContaining("unexpected entry") as string]);
  });
});

describe("gc", () => {
  it("keeps roots and everything their trees reference; removes the rest", async () => {
    writeTree(s.path("t"), { "model.ts": "m", "lib/u.ts": "u" });
    const tree = await store.putTree(s.path("t"));
    const weights = await store.putBytes(Buffer.from("weights"));
    const garbage = await store.putBytes(Buffer.from("unreferenced"));
    const garbageTree = (await store.putTree(s.path("t"), { ignore: (rel) => rel === "lib" })).digest;
    const garbageTreeSize = statSync(store.pathOf(garbageTree)).size;
    const report = await store.gc([tree.digest, weights]);
    expect(report).toEqual({ removedObjects: 2, freedBytes: "unreferenced".length + garbageTreeSize, keptObjects: 4 });
    expect(await store.has(garbage)).toBe(false);
    expect(await store.has(garbageTree)).toBe(false);
    expect(await store.has(weights)).toBe(true);
    // The blob "m" is shared by both trees and stays.
    expect(await store.has(sha256Of("m") as Digest)).toBe(true);
    expect((await store.fsck()).problems).toEqual([]);
    await store.materializeTree(tree.digest, s.path("back"));
    expect(readFileSync(s.path("back", "lib", "u.ts"), "utf8")).toBe("u");
  });

  it("walks nested trees: an entry that is itself a stored tree keeps that tree's objects", async () => {
    writeTree(s.path("inner"), { "deep.bin": "deep content" });
    const inner = await store.putTree(s.path("inner"));
    rmSync(s.path("inner"), { recursive: true });
    // A directory holding the inner manifest as a file: its entry digest is the inner tree's digest.
    mkdirSync(s.path("outer"));
    writeFileSync(s.path("outer", "inner.tree"), readFileSync(store.pathOf(inner.digest)));
    const outer = await store.putTree(s.path("outer"));
    expect((await store.readTree(outer.digest)).entries[0]?.digest).toBe(inner.digest);
    const report = await store.gc([outer.digest]);
    expect(report.removedObjects).toBe(0);
    expect(await store.has(sha256Of("deep content") as Digest)).toBe(true);
  });

  it("dry run reports without deleting", async () => {
    const garbage = await store.putBytes(Buffer.from("garbage"));
    const report = await store.gc([], { dryRun: true });
    expect(report).toEqual({ removedObjects: 1, freedBytes: 7, keptObjects: 0 });
    expect(await store.has(garbage)).toBe(true);
    expect((await store.gc([])).removedObjects).toBe(1);
    expect(await store.has(garbage)).toBe(false);
  });

  it("keeps unreachable objects put within the grace period (a dedup hit renews them)", async () => {
    const old = await store.putBytes(Buffer.from("old"));
    const renewed = await store.putBytes(Buffer.from("renewed"));
    utimesSync(store.pathOf(old), LONG_AGO, LONG_AGO);
    utimesSync(store.pathOf(renewed), LONG_AGO, LONG_AGO);
    await store.putBytes(Buffer.from("renewed"));
    const report = await store.gc([], { gracePeriodMs: 60 * 60 * 1000 });
    expect(report).toEqual({ removedObjects: 1, freedBytes: 3, keptObjects: 1 });
    expect(await store.has(renewed)).toBe(true);
  });

  it("removes temp files older than an hour and keeps fresh ones", async () => {
    await store.putBytes(Buffer.from("x"));
    writeFileSync(join(store.root, "tmp", "stale"), "half written");
    utimesSync(join(store.root, "tmp", "stale"), LONG_AGO, LONG_AGO);
    writeFileSync(join(store.root, "tmp", "fresh"), "in progress");
    await store.gc([sha256Of("x") as Digest]);
    expect(tempFiles(store.root)).toEqual(["fresh"]);
  });

  it("removes nothing when a root tree is damaged, even where it no longer looks like a tree", async () => {
    writeTree(s.path("t"), { "a.txt": "a" });
    const tree = await store.putTree(s.path("t"));
    const garbage = await store.putBytes(Buffer.from("garbage"));
    const path = store.pathOf(tree.digest);
    chmodSync(path, 0o644);
    writeFileSync(path, readFileSync(path, "utf8").replace("a.txt", "b.txt"));
    await expect(store.gc([tree.digest])).rejects.toThrow(IntegrityError);
    await expect(store.gc([tree.digest])).rejects.toThrow(tree.digest);
    corrupt(path); // first byte gone: the manifest prefix no longer matches
    await expect(store.gc([tree.digest])).rejects.toThrow(IntegrityError);
    expect(await store.has(garbage)).toBe(true);
    expect(await store.has(sha256Of("a") as Digest)).toBe(true);
  });

  it("ignores absent roots and rejects malformed ones", async () => {
    const kept = await store.putBytes(Buffer.from("kept"));
    expect((await store.gc([kept, sha256Of("absent") as Digest])).keptObjects).toBe(1);
    await expect(store.gc(["nope" as Digest])).rejects.toThrow(InputError);
    expect(existsSync(store.pathOf(kept))).toBe(true);
  });
});
