import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHUNK_SIZE, mapLimit, pumpFile } from "./io.js";
import { scratch, sha256Of } from "./test-helpers.js";
import type { Scratch } from "./test-helpers.js";

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.cleanup());

describe("pumpFile", () => {
  it.each([0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 7])("hashes and copies %i bytes in one pass", async (size) => {
    const data = randomBytes(size);
    writeFileSync(s.path("in"), data);
    const input = await open(s.path("in"), "r");
    const output = await open(s.path("out"), "wx");
    try {
      const { hex, size: pumped } = await pumpFile(input, output);
      expect(`sha256:${hex}`).toBe(sha256Of(data));
      expect(pumped).toBe(size);
    } finally {
      await input.close();
      await output.close();
    }
    expect(readFileSync(s.path("out")).equals(data)).toBe(true);
  });
});

describe("mapLimit", () => {
  it("keeps input order and never exceeds the limit", async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, n * 2));
      inFlight -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).toBe(3);
  });

  it("throws the first error only after the running items settle, and starts no more", async () => {
    const finished: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      await new Promise((resolve) => setTimeout(resolve, n === 0 ? 1 : 20));
      if (n === 0) throw new Error("boom");
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow("boom");
    expect(finished).toEqual([1]);
  });
});
