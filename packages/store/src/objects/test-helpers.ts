import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** sha256 computed independently of the store, in the form the store writes. */
export function sha256Of(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export interface Scratch {
  readonly dir: string;
  path(...parts: string[]): string;
  cleanup(): void;
}

export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "maelstrom-objects-"));
  return {
    dir,
    path: (...parts) => join(dir, ...parts),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every object file under a store root, as "ab/cdef…" names. */
export function objectFiles(root: string): string[] {
  const base = join(root, "sha256");
  let fanouts: string[];
  try {
    fanouts = readdirSync(base);
  } catch {
    return [];
  }
  return fanouts.flatMap((fanout) => readdirSync(join(base, fanout)).map((name) => `${fanout}/${name}`)).sort();
}

export function tempFiles(root: string): string[] {
  try {
    return readdirSync(join(root, "tmp"));
  } catch {
    return [];
  }
}
