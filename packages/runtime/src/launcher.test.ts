import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WorkerPool, type StepProcessResult } from "@maelstrom/runtime";
import { testFolder } from "./test-support.js";

const { fresh } = testFolder("launcher");

/** The parent of a live process, from /proc. */
const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);

describe("command steps through a pool's launcher", () => {
  const shell = (dir: string, command: string, extra: { timeoutMs?: number; signal?: AbortSignal; onStart?: (pid: string) => void } = {}) => ({
    runner: { kind: "shell", command } as const,
    logFile: join(dir, "step.log"),
    cwd: dir,
    env: { GREETING: "hello there" },
    timeoutMs: extra.timeoutMs ?? null,
    ...(extra.signal === undefined ? {} : { signal: extra.signal }),
    ...(extra.onStart === undefined ? {} : { onStart: extra.onStart }),
  });

  it("starts them off the engine's process, with their cwd, environment, log and exit code", async () => {
    await using pool = new WorkerPool();
    const dir = fresh("basics");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "input.txt"), "from the cwd\n");
    let parent = -1;
    const result = await pool.run(
      shell(dir, 'cat input.txt; echo "$GREETING"; echo to-stderr >&2; sleep 0.2', {
        onStart: (pid) => {
          parent = parentOf(Number(pid));
        },
      }),
    );
    expect(result.outcome).toBe("succeeded");
    expect(result.done?.resources.wallMs).toBeGreaterThan(150);
    expect(parent).not.toBe(process.pid);
    expect(readFileSync(join(dir, "step.log"), "utf8")).toBe("from the cwd\nhello there\nto-stderr\n");
    const failed = await pool.run(shell(dir, "exit 3"));
    expect([failed.outcome, failed.exitCode, failed.done]).toEqual(["failed", 3, null]);
  });

  it("stops a command group on its time limit and on cancel", async () => {
    await using pool = new WorkerPool();
    const dir = fresh("stop");
    mkdirSync(dir, { recursive: true });
    const timedOut: StepProcessResult = await pool.run(shell(dir, "sleep 30 & sleep 30", { timeoutMs: 300 }));
    expect(timedOut.outcome).toBe("timeout");
    const abort = new AbortController();
    const running = pool.run(shell(dir, "sleep 30", { signal: abort.signal, onStart: () => setTimeout(() => abort.abort(), 100) }));
    expect((await running).outcome).toBe("cancelled");
  });
});
