import { randomBytes } from "node:crypto";
import { InputError } from "@maelstrom/errors";

// Crockford's base32: no I, L, O, U, so ids survive being read aloud or typed by hand.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_DIGITS = 10; // 48 bits
const RANDOM_DIGITS = 16; // 80 bits
const MAX_TIME = 2 ** 48 - 1;

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A run id in the ULID layout: 10 characters of millisecond timestamp then 16 random characters,
 * Crockford base32, 26 in all. Ids sort by creation time. Within one millisecond in one process the
 * random part is incremented instead of redrawn, so ids stay strictly increasing (ULID's monotonic
 * mode); the same holds if the system clock steps back. An explicit `now` is honoured as given.
 */
export function newRunId(now?: number): string {
  let time = now ?? Date.now();
  if (!Number.isInteger(time) || time < 0 || time > MAX_TIME) {
    throw new InputError(`invalid run id time ${time}: expected an integer number of milliseconds in [0, 2^48)`, {
      details: { value: time, expected: "milliseconds since the epoch" },
    });
  }
  if (now === undefined && time < lastTime) time = lastTime;
  if (time === lastTime) {
    if (!increment(lastRandom)) {
      // 2^80 ids in one millisecond cannot happen; if it did, borrowing the next millisecond keeps order.
      time = Math.min(time + 1, MAX_TIME);
      lastRandom = randomDigits();
    }
  } else {
    lastRandom = randomDigits();
  }
  lastTime = time;
  return encodeTime(time) + lastRandom.map((digit) => ALPHABET[digit]).join("");
}

function encodeTime(time: number): string {
  let rest = time;
  let out = "";
  for (let i = 0; i < TIME_DIGITS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function randomDigits(): number[] {
  // 256 is a multiple of 32, so masking a random byte gives an unbiased digit.
  return [...randomBytes(RANDOM_DIGITS)].map((byte) => byte & 31);
}

/** Adds one to a base-32 number stored as digits, most significant first. False on overflow. */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    const digit = digits[i] ?? 0;
    if (digit < 31) {
      digits[i] = digit + 1;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}
