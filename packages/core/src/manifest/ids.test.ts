import { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { newRunId } from "./ids.js";

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function decodeTime(id: string): number {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return [...id.slice(0, 10)].reduce((time, char) => time * 32 + alphabet.indexOf(char), 0);
}

describe("newRunId", () => {
  it("is 26 Crockford base32 characters carrying the millisecond timestamp", () => {
    const now = Date.UTC(2024, 0, 15, 12, 30);
    const id = newRunId(now);
    expect(id).toMatch(CROCKFORD);
    expect(decodeTime(id)).toBe(now);
    expect(decodeTime(newRunId())).toBeGreaterThanOrEqual(now);
  });

  it("sorts by time", () => {
    const ids = [newRunId(3_000), newRunId(1_000), newRunId(2_000), newRunId(2 ** 48 - 1), newRunId(0)];
    expect([...ids].sort().map(decodeTime)).toEqual([0, 1_000, 2_000, 3_000, 2 ** 48 - 1]);
  });

  it("increases strictly within one millisecond", () => {
    const now = Date.UTC(2025, 5, 1);
    const ids = Array.from({ length: 1000 }, () => newRunId(now));
    expect(ids.every((id) => decodeTime(id) === now)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
  });

  it("gives 10k unique ids in generation order", () => {
    const ids = Array.from({ length: 10_000 }, () => newRunId());
    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => CROCKFORD.test(id))).toBe(true);
  });

  it.each([-1, 1.5, 2 ** 48, Number.NaN])("rejects time %d", (now) => {
    expect(() => newRunId(now)).toThrow(InputError);
  });
});
