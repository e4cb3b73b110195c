import { InputError } from "@maelstrom/errors";
import { describe, expect, it } from "vitest";
import { parseDuration, parseSize } from "./sizes.js";

describe("parseSize", () => {
  it.each([
    ["4GiB", 4 * 1024 ** 3],
    ["512MiB", 512 * 1024 ** 2],
    ["1KiB", 1024],
    ["2TiB", 2 * 1024 ** 4],
    ["1.5G", 1_500_000_000],
    ["1.5GB", 1_500_000_000],
    ["100M", 100_000_000],
    ["100MB", 100_000_000],
    ["10K", 10_000],
    ["10kb", 10_000],
    ["2048", 2048],
    ["2048B", 2048],
    ["4 GiB", 4 * 1024 ** 3],
    ["4gib", 4 * 1024 ** 3],
    [" 1T ", 1e12],
    ["0.5KiB", 512],
    [".5KiB", 512],
    ["0", 0],
  ])("%s -> %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(["", "lots", "4 GiBs", "-1G", "4XB", "1e3", "G", "4G B", "1.2.3M"])("rejects %j with the expected forms", (text) => {
    expect(() => parseSize(text)).toThrow(InputError);
    expect(() => parseSize(text)).toThrow(`invalid size '${text}': expected a size like 4GiB, 512MiB, 1.5G, 100M or a number of bytes`);
  });

  it("rejects sizes beyond what a number holds exactly", () => {
    expect(() => parseSize("100000PiB")).toThrow(/too large/);
  });
});

describe("parseDuration", () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  it.each([
    ["30m", 30 * m],
    ["2h", 2 * h],
    ["90s", 90 * s],
    ["1h30m", h + 30 * m],
    ["1h 30m", h + 30 * m],
    ["1.5h", 1.5 * h],
    ["500ms", 500],
    ["2d", 2 * d],
    ["1w", 7 * d],
    ["45min", 45 * m],
    ["3 hours", 3 * h],
    ["1H30M", h + 30 * m],
    ["0s", 0],
    // Slurm --time forms
    ["1-00:00:00", d],
    ["2-12:30:15", 2 * d + 12 * h + 30 * m + 15 * s],
    ["1-12", d + 12 * h],
    ["1-12:30", d + 12 * h + 30 * m],
    ["00:30:00", 30 * m],
    ["48:00:00", 48 * h],
    ["90:30", 90 * m + 30 * s],
  ])("%s -> %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "30", "abc", "1h30x", "-5m", "m", "00:60:00", "1-24:00:00", "10:75", "1:2:3:4", "1h-2m", "30m,"])(
    "rejects %j with the expected forms",
    (text) => {
      expect(() => parseDuration(text)).toThrow(InputError);
      expect(() => parseDuration(text)).toThrow(`invalid duration '${text}': expected a duration like 90s, 30m, 2h, 1h30m, 1-00:00:00`);
    },
  );
});
