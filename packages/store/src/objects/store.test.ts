import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, lstatSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, IntegrityError, NotFoundError } from "@maelstrom/errors";
import { isDigest } from "./digest.js";
import { MemoryHashCache } from "./hash-cache.js";
import { CHUNK_SIZE } from "./io.js";
import { ObjectStore } from "./store.js";
import { objectFiles, scratch, sha256Of, tempFiles } from "./test-helpers.js";
import type { Scratch } from "./test-helpers.js";

let s: Scratch;
let store: ObjectStore;
beforeEach(() => {
  s = scratch();
  store = new ObjectStore(s.path(".maelstrom", "objects"));
});
afterEach(() => s.cleanup());

/** A time well outside the store's "too fresh to cache" window. */
const OLD = new Date("2020-01-02T03:04:05Z");

describe("isDigest", () => {
  it("accepts sha256: plus 64 lowercase hex digits only", () => {
    expect(isDigest(`sha256:${"a".repeat(64)}`)).toBe(true);
    expect(isDigest(`sha256:${"A".repeat(64)}`)).toBe(false);
    expect(isDigest(`sha256:${"a".repeat(63)}`)).toBe(false);
    expect(isDigest("a".repeat(64))).toBe(false);
    expect(isDigest(`sha512:${"a".repeat(64)}`)).toBe(false);
  });
});

describe("blobs", () => {
  it("does not create the root until something is written", () => {
    expect(existsSync(store.root)).toBe(false);
  });

  it("names bytes by their sha256 and stores them once", async () => {
    const data = Buffer.from("daily maximum temperature\n");
    const first = await store.putBytes(data);
    const second = await store.putBytes(Buffer.from(data));
    expect(first).toBe(sha256Of(data));
    expect(second).toBe(first);
    expect(objectFiles(store.root)).toHaveLength(1);
    expect(tempFiles(store.root)).toEqual([]);
    expect(await store.has(first)).toBe(true);
    expect(await store.readBytes(first)).toEqual(data);
  });

  it("lays objects out as root/sha256/ab/cdef… and makes them read-only", async () => {
    const digest = await store.putBytes(Buffer.from("x"));
    const hex = digest.slice("sha256:".length);
    expect(store.pathOf(digest)).toBe(s.path(".maelstrom", "objects", "sha256", hex.slice(0, 2), hex.slice(2)));
    expect(statSync(store.pathOf(digest)).mode & 0o777).toBe(0o444);
  });

  it("stores the empty file", async () => {
    const digest = await store.putBytes(new Uint8Array(0));
    expect(digest).toBe(sha256Of(""));
    expect((await store.readBytes(digest)).length).toBe(0);
  });

  it("rejects malformed digests with InputError", async () => {
    expect(() => store.pathOf("sha256:xyz" as `sha256:${string}`)).toThrow(InputError);
    await expect(store.has("md5:abc" as `sha256:${string}`)).rejects.toThrow(InputError);
  });

  it("readBytes of an absent object is a NotFoundError naming the digest", async () => {
    const digest = sha256Of("never stored") as `sha256:${string}`;
    expect(await store.has(digest)).toBe(false);
    await expect(store.readBytes(digest)).rejects.toThrow(NotFoundError);
    await expect(store.readBytes(digest)).rejects.toThrow(digest);
  });

  it("readBytes refuses a damaged object with IntegrityError", async () => {
    const digest = await store.putBytes(Buffer.from("pristine"));
    const path = store.pathOf(digest);
    chmodSync(path, 0o644);
    writeFileSync(path, "tampered");
    await expect(store.readBytes(digest)).rejects.toThrow(IntegrityError);
  });
});

describe("putFile", () => {
  it("stores a small file under the sha256 of its bytes", async () => {
    const file = s.path("obs.csv");
    writeFileSync(file, "date,temp_max\n2012-01-01,12.8\n");
    const { digest, size } = await store.putFile(file);
    expect(digest).toBe(sha256Of(readFileSync(file)));
    expect(size).toBe(statSync(file).size);
    expect(readFileSync(store.pathOf(digest))).toEqual(readFileSync(file));
    expect(existsSync(file)).toBe(true);
  });

  it("streams a multi-chunk file in one pass with the right digest", async () => {
    const file = s.path("big.bin");
    const data = randomBytes(2 * CHUNK_SIZE + 12_345);
    writeFileSync(file, data);
    const { digest, size } = await store.putFile(file);
    expect(digest).toBe(sha256Of(data));
    expect(size).toBe(data.length);
    expect(readFileSync(store.pathOf(digest)).equals(data)).toBe(true);
    expect(statSync(store.pathOf(digest)).mode & 0o777).toBe(0o444);
    expect(tempFiles(store.root)).toEqual([]);
  });

  it("streams a file of many chunks (a few MiB) byte for byte", async () => {
    const data = randomBytes(12 * CHUNK_SIZE + 3);
    writeFileSync(s.path("many-a.bin"), data);
    writeFileSync(s.path("many-b.bin"), data);
    const a = await store.putFile(s.path("many-a.bin"));
    expect(a).toEqual({ digest: sha256Of(data), size: data.length });
    expect(readFileSync(store.pathOf(a.digest)).equals(data)).toBe(true);
    expect(statSync(store.pathOf(a.digest)).mode & 0o777).toBe(0o444);
    const b = await store.putFile(s.path("many-b.bin"));
    expect(b.digest).toBe(a.digest);
    expect(objectFiles(store.root)).toHaveLength(1);
    expect(tempFiles(store.root)).toEqual([]);
  });

  it("handles a file of exactly one chunk", async () => {
    const file = s.path("chunk.bin");
    const data = randomBytes(CHUNK_SIZE);
    writeFileSync(file, data);
    expect((await store.putFile(file)).digest).toBe(sha256Of(data));
    expect(await store.hashFile(file)).toBe(sha256Of(data));
  });

  it("deduplicates identical files, small and large", async () => {
    const big = randomBytes(CHUNK_SIZE + 1);
    writeFileSync(s.path("a.bin"), big);
    writeFileSync(s.path("b.bin"), big);
    writeFileSync(s.path("c.txt"), "same");
    writeFileSync(s.path("d.txt"), "same");
    const a = await store.putFile(s.path("a.bin"));
    const b = await store.putFile(s.path("b.bin"));
    const c = await store.putFile(s.path("c.txt"));
    const d = await store.putFile(s.path("d.txt"));
    expect(b.digest).toBe(a.digest);
    expect(d.digest).toBe(c.digest);
    expect(objectFiles(store.root)).toHaveLength(2);
    expect(tempFiles(store.root)).toEqual([]);
  });

  it("move renames the file into place", async () => {
    const file = s.path("output.bin");
    const data = randomBytes(1000);
    writeFileSync(file, data);
    const { digest } = await store.putFile(file, { move: true });
    expect(digest).toBe(sha256Of(data));
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(store.pathOf(digest)).equals(data)).toBe(true);
    expect(statSync(store.pathOf(digest)).mode & 0o777).toBe(0o444);
  });

  it("move of a large file renames it (same inode) and renews its mtime", async () => {
    const file = s.path("weights.bin");
    const data = randomBytes(3 * CHUNK_SIZE + 5);
    writeFileSync(file, data);
    utimesSync(file, OLD, OLD);
    const inode = statSync(file).ino;
    const { digest, size } = await store.putFile(file, { move: true });
    expect(digest).toBe(sha256Of(data));
    expect(size).toBe(data.length);
    const object = statSync(store.pathOf(digest));
    expect(object.ino).toBe(inode);
    expect(object.mode & 0o777).toBe(0o444);
    expect(object.mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(existsSync(file)).toBe(false);
  });

  it("move of content already stored just removes the source", async () => {
    const existing = await store.putBytes(Buffer.from("weights"));
    const file = s.path("weights.bin");
    writeFileSync(file, "weights");
    expect((await store.putFile(file, { move: true })).digest).toBe(existing);
    expect(existsSync(file)).toBe(false);
    expect(objectFiles(store.root)).toHaveLength(1);
  });

  it("move copies (not renames) a file that has another hard link", async () => {
    const file = s.path("out.bin");
    writeFileSync(file, "shared inode");
    linkSync(file, s.path("elsewhere.bin"));
    const { digest } = await store.putFile(file, { move: true });
    expect(existsSync(file)).toBe(false);
    expect(statSync(store.pathOf(digest)).ino).not.toBe(statSync(s.path("elsewhere.bin")).ino);
    expect(statSync(s.path("elsewhere.bin")).mode & 0o200).toBe(0o200);
  });

  it("move of a symlink stores its target's bytes and removes the link, not the target", async () => {
    const target = s.path("target.txt");
    writeFileSync(target, "linked content");
    symlinkSync(target, s.path("link.txt"));
    const { digest } = await store.putFile(s.path("link.txt"), { move: true });
    expect(digest).toBe(sha256Of("linked content"));
    expect(lstatSync(store.pathOf(digest)).isFile()).toBe(true);
    expect(existsSync(s.path("link.txt"))).toBe(false);
    expect(readFileSync(target, "utf8")).toBe("linked content");
  });

  it("names the missing file in a NotFoundError and refuses directories", async () => {
    await expect(store.putFile(s.path("nope.csv"))).rejects.toThrow(NotFoundError);
    await expect(store.putFile(s.path("nope.csv"))).rejects.toThrow(s.path("nope.csv"));
    await expect(store.putFile(s.dir)).rejects.toThrow(InputError);
  });

  it("hashFile gives putFile's digest without storing", async () => {
    const file = s.path("f.txt");
    writeFileSync(file, "hello");
    expect(await store.hashFile(file)).toBe(sha256Of("hello"));
    expect(objectFiles(store.root)).toEqual([]);
  });
});

describe("hash cache", () => {
  it("a cache hit skips reading: same size and restored mtime return the cached digest", async () => {
    const cache = new MemoryHashCache();
    const cached = new ObjectStore(store.root, { hashCache: cache });
    const file = s.path("params.json");
    writeFileSync(file, '{"trees":50}');
    utimesSync(file, OLD, OLD);
    const original = await cached.hashFile(file);
    expect(original).toBe(sha256Of('{"trees":50}'));
    expect(cache.size).toBe(1);

    // Same size, same inode, mtime put back: the store cannot tell and must not read the file.
    writeFileSync(file, '{"trees":99}');
    utimesSync(file, OLD, OLD);
    expect(await cached.hashFile(file)).toBe(original);

    // A store without the cache reads the bytes and sees the change.
    expect(await store.hashFile(file)).toBe(sha256Of('{"trees":99}'));

    // Any change to size or mtime invalidates the entry.
    utimesSync(file, new Date("2021-01-01T00:00:00Z"), new Date("2021-01-01T00:00:00Z"));
    expect(await cached.hashFile(file)).toBe(sha256Of('{"trees":99}'));
  });

  it("putFile with a cache hit for a stored object does not read the file", async () => {
    const cache = new MemoryHashCache();
    const cached = new ObjectStore(store.root, { hashCache: cache });
    const file = s.path("model.bin");
    writeFileSync(file, "AAAA");
    utimesSync(file, OLD, OLD);
    const first = await cached.putFile(file);
    writeFileSync(file, "BBBB");
    utimesSync(file, OLD, OLD);
    const second = await cached.putFile(file);
    expect(second.digest).toBe(first.digest);
    expect(readFileSync(cached.pathOf(first.digest), "utf8")).toBe("AAAA");
    expect(objectFiles(store.root)).toHaveLength(1);
  });

  it("never names a new object by a cached digest: an absent object is written from the real bytes", async () => {
    const cache = new MemoryHashCache();
    const cached = new ObjectStore(store.root, { hashCache: cache });
    const file = s.path("data.txt");
    writeFileSync(file, "1111");
    utimesSync(file, OLD, OLD);
    await cached.hashFile(file); // cached, but nothing stored
    writeFileSync(file, "2222");
    utimesSync(file, OLD, OLD);
    const { digest } = await cached.putFile(file);
    expect(digest).toBe(sha256Of("2222"));
    expect(readFileSync(cached.pathOf(digest), "utf8")).toBe("2222");
  });

  it("does not cache a file modified within the last seconds (its mtime tick may repeat)", async () => {
    const cache = new MemoryHashCache();
    const cached = new ObjectStore(store.root, { hashCache: cache });
    const file = s.path("fresh.txt");
    writeFileSync(file, "fresh");
    await cached.hashFile(file);
    expect(cache.size).toBe(0);
  });
});
