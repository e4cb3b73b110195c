/**
 * Stopping a step's process group on its time limit or a cancel. Shared by one-shot step processes
 * and warm workers.
 */
const KILL_GRACE_MS = 2000;

/** Why the engine stopped a step. */
type Stopped = "timeout" | "cancelled";

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** What stops a step: its time limit (null: none) and its caller's signal. */
export interface StepLimits {
  readonly timeoutMs: number | null;
  readonly signal?: AbortSignal;
}

/** A step's watch over the process group it runs in; `release` once the step has ended. */
export interface GroupWatch {
  /** Why the group was stopped, or null while it was not. */
  readonly stopped: () => Stopped | null;
  /** Stops the group now (a pool that closes). */
  readonly stop: (why: Stopped) => void;
  readonly release: () => void;
}

/** Stops the process group `pid` (SIGTERM, then SIGKILL after a grace period) when `limits` say so. */
export function watchGroup(pid: number, limits: StepLimits): GroupWatch {
  let stopped: Stopped | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: Stopped): void => {
    if (stopped !== null) return;
    stopped = why;
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_GRACE_MS);
  };
  const timer = limits.timeoutMs === null ? undefined : setTimeout(() => stop("timeout"), limits.timeoutMs);
  const onAbort = (): void => stop("cancelled");
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  if (limits.signal?.aborted) onAbort();
  return {
    stopped: () => stopped,
    stop,
    release: () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      limits.signal?.removeEventListener("abort", onAbort);
    },
  };
}
