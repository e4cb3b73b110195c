import { InputError } from "@maelstrom/errors";

const KIB = 1024;
const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ["", 1],
  ["b", 1],
  // Binary units, as written by free(1), Kubernetes and the IEC.
  ["kib", KIB],
  ["mib", KIB ** 2],
  ["gib", KIB ** 3],
  ["tib", KIB ** 4],
  ["pib", KIB ** 5],
  // Decimal units, as written on disks and by the SI.
  ["k", 1e3],
  ["kb", 1e3],
  ["m", 1e6],
  ["mb", 1e6],
  ["g", 1e9],
  ["gb", 1e9],
  ["t", 1e12],
  ["tb", 1e12],
  ["p", 1e15],
  ["pb", 1e15],
]);

const SIZE_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;
const SIZE_EXAMPLES = "a size like 4GiB, 512MiB, 1.5G, 100M or a number of bytes";

/**
 * Bytes in a size: "4GiB", "512MiB" (binary: KiB, MiB, GiB, TiB, PiB), "1.5G", "100MB" (decimal:
 * K/KB, M/MB, G/GB, T/TB, P/PB), "2048" or "2048B" (bytes). Units are case-insensitive.
 * Fractions of a byte are rounded to the nearest byte.
 */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  const factor = match === null ? undefined : SIZE_UNITS.get((match[2] ?? "").toLowerCase());
  if (match === null || factor === undefined) {
    throw new InputError(`invalid size '${text}': expected ${SIZE_EXAMPLES}`, {
      details: { value: text, expected: SIZE_EXAMPLES },
    });
  }
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) {
    throw new InputError(`invalid size '${text}': too large, expected at most ${Number.MAX_SAFE_INTEGER} bytes`, {
      details: { value: text, expected: SIZE_EXAMPLES },
    });
  }
  return bytes;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const DURATION_UNITS: ReadonlyMap<string, number> = new Map([
  ...unitNames(["ms", "msec", "millisecond", "milliseconds"], 1),
  ...unitNames(["s", "sec", "secs", "second", "seconds"], SECOND),
  ...unitNames(["m", "min", "mins", "minute", "minutes"], MINUTE),
  ...unitNames(["h", "hr", "hrs", "hour", "hours"], HOUR),
  ...unitNames(["d", "day", "days"], DAY),
  ...unitNames(["w", "week", "weeks"], 7 * DAY),
]);

function unitNames(names: readonly string[], ms: number): [string, number][] {
  return names.map((name) => [name, ms]);
}

const DURATION_EXAMPLES = "a duration like 90s, 30m, 2h, 1h30m, 1-00:00:00 (d-hh:mm:ss) or 00:30:00 (hh:mm:ss)";
const UNIT_PART = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*/giy;
// Slurm's --time forms: mm:ss, hh:mm:ss, d-hh, d-hh:mm, d-hh:mm:ss.
const CLOCK_PATTERN = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/;

/**
 * Milliseconds in a duration: unit form ("90s", "30m", "2h", "1h30m", "1.5h", "500ms", "1d 12h")
 * or Slurm's clock form ("mm:ss", "hh:mm:ss", "d-hh", "d-hh:mm", "d-hh:mm:ss"). A bare number is
 * rejected: Slurm reads it as minutes, most tools as seconds.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const ms = /^\d/.test(trimmed) && /[-:]/.test(trimmed) ? parseClock(trimmed) : parseUnits(trimmed);
  if (ms === undefined || !Number.isSafeInteger(ms)) {
    throw new InputError(`invalid duration '${text}': expected ${DURATION_EXAMPLES}`, {
      details: { value: text, expected: DURATION_EXAMPLES },
    });
  }
  return ms;
}

function parseUnits(text: string): number | undefined {
  if (text === "") return undefined;
  UNIT_PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = UNIT_PART.exec(text); match !== null; match = UNIT_PART.exec(text)) {
    const factor = DURATION_UNITS.get((match[2] ?? "").toLowerCase());
    if (factor === undefined) return undefined;
    total += Number(match[1]) * factor;
    end = UNIT_PART.lastIndex;
  }
  return end === text.length ? Math.round(total) : undefined;
}

function parseClock(text: string): number | undefined {
  const match = CLOCK_PATTERN.exec(text);
  if (match === null) return undefined;
  const [, days, first, second, third] = match;
  const n = (part: string | undefined): number => (part === undefined ? 0 : Number(part));
  if (days !== undefined) {
    // d-hh[:mm[:ss]]
    if (n(first) >= 24 || n(second) >= 60 || n(third) >= 60) return undefined;
    return n(days) * DAY + n(first) * HOUR + n(second) * MINUTE + n(third) * SECOND;
  }
  if (second === undefined) return undefined; // a bare number: ambiguous unit
  if (third === undefined) {
    // mm:ss
    if (n(second) >= 60) return undefined;
    return n(first) * MINUTE + n(second) * SECOND;
  }
  // hh:mm:ss
  if (n(second) >= 60 || n(third) >= 60) return undefined;
  return n(first) * HOUR + n(second) * MINUTE + n(third) * SECOND;
}
