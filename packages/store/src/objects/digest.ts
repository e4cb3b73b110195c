import { createHash } from "node:crypto";

/** A content address: the algorithm, a colon, 64 lowercase hex digits. The prefix leaves room for another algorithm later. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(text: string): text is Digest {
  return DIGEST_PATTERN.test(text);
}

export function digestFromHex(hex: string): Digest {
  return `sha256:${hex}`;
}

/** The 64 hex digits of a digest (callers have validated it with isDigest). */
export function hexOf(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export function sha256Digest(data: Uint8Array): Digest {
  return digestFromHex(createHash("sha256").update(data).digest("hex"));
}
