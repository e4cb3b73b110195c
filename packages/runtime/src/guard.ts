import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const guardPath = fileURLToPath(new URL("./guard-process.js", import.meta.url));

let guard: ChildProcess | null = null;

/** The engine's step guard, started on first use; it never keeps the engine alive. */
function ensureGuard(): ChildProcess | null {
  if (guard !== null && guard.exitCode === null && guard.stdin?.writable === true) return guard;
  const child = spawn(process.execPath, [guardPath], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  guard = child;
  return child;
}

/** Ends not told to the guard yet ("-PGID" lines). */
let ended = "";

function flushEnded(): void {
  if (ended === "") return;
  ensureGuard()?.stdin?.write(ended);
  ended = "";
}

/**
 * Tell the guard a step process group is alive (true) or has ended (false). An end is told with
 * the next start, or on the next turn of the event loop: one write, and one wake-up of the guard,
 * per step instead of two (steps in a row may be as short as a `touch`). A start is told at once.
 */
export function guardStep(pgid: number, alive: boolean): void {
  if (!alive) {
    if (ended === "") setImmediate(flushEnded);
    ended += `-${pgid}\n`;
    return;
  }
  ensureGuard()?.stdin?.write(`${ended}+${pgid}\n`);
  ended = "";
}
