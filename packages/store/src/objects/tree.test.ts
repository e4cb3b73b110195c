import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, InputError, NotFoundError } from "@maelstrom/errors";
import type { Digest } from "./digest.js";
import { ObjectStore } from "./store.js";
import { objectFiles, scratch, sha256Of } from "./test-helpers.js";
import type { Scratch } from "./test-helpers.js";

let s: Scratch;
let store: ObjectStore;
beforeEach(() => {
  s = scratch();
  store = new ObjectStore(s.path("ws", ".maelstrom", "objects"));
});
afterEach(() => s.cleanup());

function writeTree(root: string, files: Record<string, string>, order: readonly string[] = Object.keys(files)): void {
  for (const rel of order) {
    const abs = join(root, ...rel.split("/"));
    mkdirSync(join(abs, ".."), { recursive: true });
    writeFileSync(abs, files[rel] ?? "");
  }
}

/** path -> { content, executable } of every file under dir (following nothing: materialized trees hold no links). */
function snapshot(dir: string): Record<string, { content: string; executable: boolean }> {
  const out: Record<string, { content: string; executable: boolean }> = {};
  const visit = (abs: string, rel: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const childAbs = join(abs, entry.name);
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) visit(childAbs, childRel);
      else out[childRel] = { content: readFileSync(childAbs).toString("base64"), executable: (statSync(childAbs).mode & 0o100) !== 0 };
    }
  };
  visit(dir, "");
  return out;
}

const ARTIFACT = {
  "maelstrom.yaml": "kind: model\nname: seattle-weather-classifier\n",
  "model.ts": "export function train() {}\n",
  "lib/util.ts": "export const x = 1;\n",
  "lib/deep/more/data.csv": "a,b\n1,2\n",
  "README.md": "# model\n",
};

describe("tree digests", () => {
  it("is the sha256 of the canonical manifest JSON", async () => {
    writeTree(s.path("a"), { "b.txt": "bee", "a.txt": "ay" });
    const { digest, fileCount, totalBytes } = await store.putTree(s.path("a"));
    const canonical =
      '{"maelstrom":"tree/1","entries":[' +
      `{"path":"a.txt","digest":"${sha256Of("ay")}","size":2,"executable":false},` +
      `{"path":"b.txt","digest":"${sha256Of("bee")}","size":3,"executable":false}]}`;
    expect(digest).toBe(sha256Of(canonical));
    expect(readFileSync(store.pathOf(digest), "utf8")).toBe(canonical);
    expect(fileCount).toBe(2);
    expect(totalBytes).toBe(5);
  });

  it("is stable across runs and independent of creation order", async () => {
    const keys = Object.keys(ARTIFACT);
    writeTree(s.path("one"), ARTIFACT, keys);
    writeTree(s.path("two"), ARTIFACT, [...keys].reverse());
    const one = await store.putTree(s.path("one"));
    const again = await new ObjectStore(s.path("other-store")).putTree(s.path("one"));
    const two = await store.hashTree(s.path("two"));
    expect(again.digest).toBe(one.digest);
    expect(two.digest).toBe(one.digest);
  });

  it("changes when one byte of one file changes", async () => {
    writeTree(s.path("t"), ARTIFACT);
    const before = await store.hashTree(s.path("t"));
    writeFileSync(s.path("t", "lib", "deep", "more", "data.csv"), "a,b\n1,3\n");
    const after = await store.hashTree(s.path("t"));
    expect(after.digest).not.toBe(before.digest);
  });

  it("hashTree gives putTree's digest and stores nothing", async () => {
    writeTree(s.path("t"), ARTIFACT);
    const hashed = await store.hashTree(s.path("t"));
    expect(objectFiles(store.root)).toEqual([]);
    const put = await store.putTree(s.path("t"));
    expect(put).toEqual(hashed);
    expect(objectFiles(store.root)).toHaveLength(Object.keys(ARTIFACT).length + 1);
  });

  it("records the executable bit, and it is part of the digest", async () => {
    writeTree(s.path("t"), { "run.sh": "#!/bin/sh\necho hi\n", "data.txt": "d" });
    const plain = await store.putTree(s.path("t"));
    chmodSync(s.path("t", "run.sh"), 0o755);
    const withExec = await store.putTree(s.path("t"));
    expect(withExec.digest).not.toBe(plain.digest);
    const manifest = await store.readTree(withExec.digest);
    expect(manifest.entries.map((e) => [e.path, e.executable])).toEqual([
      ["data.txt", false],
      ["run.sh", true],
    ]);
  });

  it("sorts entries by path in byte order and leaves out empty directories", async () => {
    writeTree(s.path("t"), { "a/b": "1", "a-b": "2", "B": "3", "\u00e9": "4", "a0": "5" });
    mkdirSync(s.path("t", "empty", "deeper"), { recursive: true });
    const { digest } = await store.putTree(s.path("t"));
    const paths = (await store.readTree(digest)).entries.map((e) => e.path);
    expect(paths).toEqual(["B", "a-b", "a/b", "a0", "\u00e9"]);
  });

  it("treeDigestOf is pure, order-independent and matches putTree", async () => {
    writeTree(s.path("t"), ARTIFACT);
    const { digest } = await store.putTree(s.path("t"));
    const manifest = await store.readTree(digest);
    expect(store.treeDigestOf(manifest)).toBe(digest);
    expect(store.treeDigestOf({ entries: [...manifest.entries].reverse() })).toBe(digest);
    const entry = manifest.entries[0];
    if (entry === undefined) throw new Error("no entries");
    for (const path of ["../x", "/abs", "a//b", "a/./b", ""]) {
      expect(() => store.treeDigestOf({ entries: [{ ...entry, path }] })).toThrow(InputError);
    }
    expect(() => store.treeDigestOf({ entries: [entry, entry] })).toThrow(InputError);
    expect(() => store.treeDigestOf({ entries: [{ ...entry, path: "a" }, { ...entry, path: "a/b" }] })).toThrow(InputError);
  });

  it("hashes an empty directory to the empty tree", async () => {
    mkdirSync(s.path("empty"));
    const { digest, fileCount } = await store.putTree(s.path("empty"));
    expect(digest).toBe(sha256Of('{"maelstrom":"tree/1","entries":[]}'));
    expect(fileCount).toBe(0);
  });

  it("readTree of a file object is an InputError", async () => {
    const blob = await store.putBytes(Buffer.from("not a tree"));
    await expect(store.readTree(blob)).rejects.toThrow(InputError);
  });

  it("walks with concurrency over many files", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`d${i % 7}/f${i}.txt`] = `content ${i % 50}`;
    writeTree(s.path("t"), files);
    const { fileCount, digest } = await store.putTree(s.path("t"));
    expect(fileCount).toBe(200);
    expect(objectFiles(store.root)).toHaveLength(51);
    expect((await store.hashTree(s.path("t"))).digest).toBe(digest);
  });
});

describe("ignore", () => {
  it("skips what the caller ignores; ignored directories are not entered", async () => {
    writeTree(s.path("t"), { "keep.py": "k", ".git/HEAD": "ref", "__pycache__/x.pyc": "c", "sub/tmp.log": "l" });
    symlinkSync("/etc/hostname", s.path("t", ".git", "escape"));
    const seen: string[] = [];
    const ignore = (rel: string, isDirectory: boolean): boolean => {
      seen.push(`${rel}${isDirectory ? "/" : ""}`);
      return rel === ".git" || rel === "__pycache__" || rel.endsWith(".log");
    };
    const { digest } = await store.putTree(s.path("t"), { ignore });
    expect((await store.readTree(digest)).entries.map((e) => e.path)).toEqual(["keep.py"]);
    expect(seen).toContain(".git/");
    expect(seen).not.toContain(".git/HEAD");
  });
});

describe("what a tree may contain", () => {
  it("refuses a FIFO (naming it) unless it is ignored", async () => {
    writeTree(s.path("t"), { "a.txt": "a" });
    execFileSync("mkfifo", [s.path("t", "pipe")]);
    await expect(store.hashTree(s.path("t"))).rejects.toThrow(InputError);
    await expect(store.putTree(s.path("t"))).rejects.toThrow(s.path("t", "pipe"));
    const { fileCount } = await store.putTree(s.path("t"), { ignore: (rel) => rel === "pipe" });
    expect(fileCount).toBe(1);
  });

  it("names a missing directory (NotFoundError) and refuses a file (InputError)", async () => {
    await expect(store.putTree(s.path("missing"))).rejects.toThrow(NotFoundError);
    await expect(store.putTree(s.path("missing"))).rejects.toThrow(s.path("missing"));
    writeFileSync(s.path("file.txt"), "x");
    await expect(store.hashTree(s.path("file.txt"))).rejects.toThrow(InputError);
  });
});

describe("symlinks", () => {
  it("follows a symlink to a file inside the tree", async () => {
    writeTree(s.path("t"), { "data/real.csv": "x,y\n" });
    symlinkSync("data/real.csv", s.path("t", "latest.csv"));
    const { digest } = await store.putTree(s.path("t"));
    const entries = (await store.readTree(digest)).entries;
    expect(entries.map((e) => e.path)).toEqual(["data/real.csv", "latest.csv"]);
    expect(entries[0]?.digest).toBe(entries[1]?.digest);
  });

  it("follows a symlinked directory inside the tree", async () => {
    writeTree(s.path("t"), { "runs/3/metrics.json": "{}" });
    symlinkSync("runs/3", s.path("t", "best"));
    const { digest } = await store.putTree(s.path("t"));
    expect((await store.readTree(digest)).entries.map((e) => e.path)).toEqual(["best/metrics.json", "runs/3/metrics.json"]);
  });

  it("rejects a symlink escaping the tree, naming it", async () => {
    writeTree(s.path("t"), { "ok.txt": "ok" });
    writeFileSync(s.path("secret.txt"), "outside");
    symlinkSync("../secret.txt", s.path("t", "escape.txt"));
    const error = await store.putTree(s.path("t")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(s.path("t", "escape.txt"));
    expect((error as Error).message).toContain("outside the tree");
    await expect(store.hashTree(s.path("t"))).rejects.toThrow(InputError);
  });

  it("rejects a dangling symlink and a symlink loop, naming them", async () => {
    mkdirSync(s.path("t"));
    symlinkSync("missing.txt", s.path("t", "dangling"));
    await expect(store.hashTree(s.path("t"))).rejects.toThrow(s.path("t", "dangling"));
    mkdirSync(s.path("u", "sub"), { recursive: true });
    symlinkSync("..", s.path("u", "sub", "up"));
    await expect(store.hashTree(s.path("u"))).rejects.toThrow(InputError);
    await expect(store.hashTree(s.path("u"))).rejects.toThrow(s.path("u", "sub", "up"));
  });

  it("putTree with move copies files reached through links before moving their targets", async () => {
    writeTree(s.path("t"), { "runs/3/metrics.json": "{\"rmse\":1.5}", "weights.bin": "w" });
    symlinkSync("runs/3", s.path("t", "best"));
    symlinkSync("weights.bin", s.path("t", "latest.bin"));
    const expected = await store.hashTree(s.path("t"));
    const put = await store.putTree(s.path("t"), { move: true });
    expect(put.digest).toBe(expected.digest);
    expect(existsSync(s.path("t", "weights.bin"))).toBe(false);
    expect(existsSync(s.path("t", "runs", "3", "metrics.json"))).toBe(false);
    await store.materializeTree(put.digest, s.path("out"));
    expect(readFileSync(s.path("out", "best", "metrics.json"), "utf8")).toBe("{\"rmse\":1.5}");
  });
});

describe("materializeTree", () => {
  it("reproduces the tree byte for byte, with executable bits", async () => {
    writeTree(s.path("src"), { ...ARTIFACT, "bin/run.sh": "#!/bin/sh\nexit 0\n", "bin/empty": "" });
    chmodSync(s.path("src", "bin", "run.sh"), 0o755);
    const { digest } = await store.putTree(s.path("src"));
    await store.materializeTree(digest, s.path("dest", "nested", "copy"));
    expect(snapshot(s.path("dest", "nested", "copy"))).toEqual(snapshot(s.path("src")));
    expect(readdirSync(s.path("dest", "nested"))).toEqual(["copy"]);
    // Hard links to the objects: the same inode, read-only.
    const data = statSync(s.path("dest", "nested", "copy", "lib", "deep", "more", "data.csv"));
    const entry = (await store.readTree(digest)).entries.find((e) => e.path === "lib/deep/more/data.csv");
    expect(data.ino).toBe(statSync(store.pathOf(entry?.digest as Digest)).ino);
    expect(data.mode & 0o777).toBe(0o444);
    expect(statSync(s.path("dest", "nested", "copy", "bin", "run.sh")).mode & 0o111).not.toBe(0);
    // What was materialized hashes back to the same tree.
    expect((await store.hashTree(s.path("dest", "nested", "copy"))).digest).toBe(digest);
  });

  it("materializes the empty tree as an empty directory", async () => {
    mkdirSync(s.path("e"));
    const { digest } = await store.putTree(s.path("e"));
    await store.materializeTree(digest, s.path("out"));
    expect(readdirSync(s.path("out"))).toEqual([]);
  });

  it("refuses an existing destination and leaves nothing behind on failure", async () => {
    writeTree(s.path("src"), { "a.txt": "a", "b.txt": "b" });
    const { digest } = await store.putTree(s.path("src"));
    mkdirSync(s.path("taken"));
    await expect(store.materializeTree(digest, s.path("taken"))).rejects.toThrow(ConflictError);

    const entry = (await store.readTree(digest)).entries[1];
    chmodSync(store.pathOf(entry?.digest as Digest), 0o644);
    rmSync(store.pathOf(entry?.digest as Digest));
    await expect(store.materializeTree(digest, s.path("out"))).rejects.toThrow(entry?.digest as string);
    expect(readdirSync(s.dir).filter((name) => name.startsWith("out"))).toEqual([]);
  });
});
