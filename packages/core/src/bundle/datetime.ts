/**
 * datetime64[ns] helpers: integer nanoseconds since 1970-01-01T00:00:00 UTC in a bigint, with
 * numpy's NaT (the smallest int64) for "no value". Calendar arithmetic is done on integers
 * (proleptic Gregorian, Howard Hinnant's civil-day algorithms) so that parsing is exact to the
 * nanosecond and never depends on the local time zone.
 */

export const NAT = -(2n ** 63n);
const MAX_NS = 2n ** 63n - 1n;
const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_SECOND;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses "YYYY-MM-DD" or an ISO timestamp "YYYY-MM-DDTHH:MM[:SS[.fffffffff]][Z|±HH:MM]" (a space may
 * replace the T). Without a zone the time is taken as UTC, like numpy's naive datetime64.
 * Returns undefined for anything else, for impossible dates, and outside datetime64[ns]'s range.
 */
export function parseIsoDatetime(text: string): bigint | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  const ns = BigInt(seconds) * NS_PER_SECOND + (frac === undefined ? 0n : BigInt(frac.padEnd(9, "0")));
  // NAT itself is reserved for "no value".
  if (ns <= NAT || ns > MAX_NS) return undefined;
  return ns;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** ISO form: "2012-01-01" at midnight, else "2012-01-01T06:30:00[.fff[fff[fff]]]" (UTC); "NaT" for NaT. */
export function formatDatetime(ns: bigint): string {
  if (ns === NAT) return "NaT";
  let days = ns / NS_PER_DAY;
  let rest = ns % NS_PER_DAY;
  if (rest < 0n) {
    rest += NS_PER_DAY;
    days -= 1n;
  }
  const [year, month, day] = civilFromDays(Number(days));
  const date = `${year < 0 ? "-" : ""}${pad(Math.abs(year), 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  if (rest === 0n) return date;
  const secondsOfDay = Number(rest / NS_PER_SECOND);
  const fraction = Number(rest % NS_PER_SECOND);
  const time = `${pad(Math.floor(secondsOfDay / 3600), 2)}:${pad(Math.floor(secondsOfDay / 60) % 60, 2)}:${pad(secondsOfDay % 60, 2)}`;
  if (fraction === 0) return `${date}T${time}`;
  let digits = pad(fraction, 9);
  while (digits.endsWith("000")) digits = digits.slice(0, -3);
  return `${date}T${time}.${digits}`;
}
