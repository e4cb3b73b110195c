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

/** Tell the guard a step process group is alive (true) or has ended (false). */
export function guardStep(pgid: number, alive: boolean): void {
  ensureGuard()?.stdin?.write(`${alive ? "+" : "-"}${pgid}\n`);
}
