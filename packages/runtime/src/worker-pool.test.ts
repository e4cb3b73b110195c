import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Bundle } from "@maelstrom/core";
import { ConflictError } from "@maelstrom/errors";
import { WorkerPool, type StepProcessResult } from "@maelstrom/runtime";
import { bundleAt, goneWithin, nodeModule, python, pythonModule, stepCase, testFolder, valuesOf } from "./test-support.js";

const { fresh } = testFolder("worker-pool");
/** This folder: where `@maelstrom/runtime` resolves for a script run with node -e. */
const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * The same transform in each language, in a folder of its own with a helper module next to it:
 * it prints what a step should see (module-level call count, cwd, an environment variable that
 * only one step sets, the helper's label), then succeeds, throws or hangs as `mode` says.
 */
const languages = [
  {
    name: "node",
    runner: { kind: "node" } as const,
    write(dir: string, label: string): string {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "helper.mjs"), `export const LABEL = ${JSON.stringify(label)};\n`);
      return nodeModule(
        dir,
        `import { Bundle } from "SDK";
import { LABEL } from "./helper.mjs";
let calls = 0;
export async function apply(bundle, meta) {
  calls += 1;
  const name = meta.get("name");
  console.log(\`step \${name} calls=\${calls} cwd=\${process.cwd()} only=\${process.env.ONLY_FIRST ?? "-"} label=\${LABEL}\`);
  process.stderr.write(\`err \${name}\\n\`);
  if (meta.get("mode") === "throw") throw new Error(\`boom in \${name}\`);
  if (meta.get("mode") === "hang") await new Promise((resolve) => setTimeout(resolve, 60000));
  return Bundle.fromTable({ x: Float64Array.from(bundle.variable("x").data, (v) => v * 3) });
}
`,
      );
    },
  },
  {
    name: "python",
    runner: { kind: "python", interpreter: python ?? "/usr/bin/python3" } as const,
    write(dir: string, label: string): string {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "helper.py"), `LABEL = ${JSON.stringify(label)}\n`);
      return pythonModule(
        dir,
        `import os, sys, time
import maelstrom
from helper import LABEL

calls = 0

def apply(bundle, meta):
    global calls
    calls += 1
    name = meta.get("name")
    print(f"step {name} calls={calls} cwd={os.getcwd()} only={os.environ.get('ONLY_FIRST', '-')} label={LABEL}")
    print(f"err {name}", file=sys.stderr)
    if meta.get("mode") == "throw":
        raise RuntimeError(f"boom in {name}")
    if meta.get("mode") == "hang":
        time.sleep(60)
    return maelstrom.Bundle({"x": bundle.to_numpy("x") * 3})
`,
      );
    },
  },
];

interface Ran {
  readonly result: StepProcessResult;
  readonly pid: number | undefined;
  readonly log: string;
  readonly out: string;
  readonly cwd: string;
}

describe.each(languages)("WorkerPool ($name)", ({ name: language, runner, write }) => {
  const skip = language === "python" && python === undefined;
  const pool = new WorkerPool();
  afterAll(() => pool.close());

  async function step(
    name: string,
    mode: "ok" | "throw" | "hang",
    { dir = fresh(name), ...extra }: { timeoutMs?: number; signal?: AbortSignal; env?: Record<string, string>; dir?: string } = {},
    on: WorkerPool = pool,
  ): Promise<Ran> {
    const module = write(dir, `label-${name}`);
    const input = await bundleAt(fresh("in"), Bundle.fromTable({ x: [1, 2] }));
    const pids: number[] = [];
    const { options, log } = stepCase(fresh, runner, { call: "transform", module, inputs: { data: input }, parameters: { name, mode } }, { onStart: (pid) => pids.push(Number(pid)), ...extra });
    const result = await on.run(options);
    expect(pids).toHaveLength(1);
    return { result, pid: pids[0], log: log(), out: options.spec.outputs["data"] ?? "", cwd: realpathSync(dir) };
  }

  const expectedLog = (ran: Ran, name: string, only = "-"): string => `step ${name} calls=1 cwd=${ran.cwd} only=${only} label=label-${name}\nerr ${name}\n`;

  it.skipIf(skip)("runs steps one after the other in one process, each with its own cwd, environment, log and fresh code", async () => {
    const a = await step("a", "ok", { env: { ONLY_FIRST: "yes" } });
    const b = await step("b", "ok");
    const c = await step("c", "ok");
    // The same module file again: a fresh instance of it (calls=1), as a new process would load it.
    const again = await step("a", "ok", { dir: a.cwd });
    for (const ran of [a, b, c, again]) {
      expect(ran.result).toMatchObject({ outcome: "succeeded", exitCode: 0, signal: null, failure: null });
      expect(ran.result.done?.resources.wallMs).toBeGreaterThan(0);
      expect(await valuesOf(ran.out, "x")).toEqual([3, 6]);
    }
    expect(new Set([a.pid, b.pid, c.pid, again.pid]).size).toBe(1);
    expect(a.log).toBe(expectedLog(a, "a", "yes"));
    expect(b.log).toBe(expectedLog(b, "b"));
    expect(c.log).toBe(expectedLog(c, "c"));
    expect(again.log).toBe(expectedLog(again, "a"));
  });

  it.skipIf(skip)("a failing step ends its worker; the next step runs in a fresh one", async () => {
    const before = await step("d", "ok");
    const failed = await step("e", "throw");
    const after = await step("f", "ok");
    expect(failed.pid).toBe(before.pid);
    expect(failed.result).toMatchObject({ outcome: "failed", exitCode: 1, done: null });
    expect(failed.result.failure).toMatchObject({ reason: "user" });
    expect(failed.result.failure?.message).toContain("boom in e");
    expect(failed.log).toContain(expectedLog(failed, "e"));
    expect(failed.log).toContain("boom in e");
    expect(await goneWithin(failed.pid ?? 0)).toBe(true);
    expect(after.pid).not.toBe(failed.pid);
    expect(after.result.outcome).toBe("succeeded");
    expect(after.log).toBe(expectedLog(after, "f"));
  });

  it.skipIf(skip)("a time limit or a cancel kills the worker", async () => {
    const timedOut = await step("g", "hang", { timeoutMs: 1500 });
    expect(timedOut.result.outcome).toBe("timeout");
    expect(timedOut.log).toBe(expectedLog(timedOut, "g"));
    expect(await goneWithin(timedOut.pid ?? 0)).toBe(true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const cancelled = await step("h", "hang", { signal: controller.signal });
    expect(cancelled.result.outcome).toBe("cancelled");
    expect(await goneWithin(cancelled.pid ?? 0)).toBe(true);
    expect(cancelled.pid).not.toBe(timedOut.pid);
    const after = await step("i", "ok");
    expect(after.result.outcome).toBe("succeeded");
    expect([timedOut.pid, cancelled.pid]).not.toContain(after.pid);
  });

  it.skipIf(skip)("a killed engine takes its workers down", async () => {
    const dir = fresh("engine");
    const input = await bundleAt(fresh("in"), Bundle.fromTable({ x: [1] }));
    const { options } = stepCase(fresh, runner, { call: "transform", module: write(dir, "label"), inputs: { data: input }, parameters: { name: "l", mode: "hang" } });
    // An engine of its own: a pool whose step hangs, killed with SIGKILL (no chance to clean up).
    const script = `import { WorkerPool } from "@maelstrom/runtime";
new WorkerPool().run({ ...JSON.parse(process.argv[1]), onStart: (pid) => console.log(pid) });`;
    const engine = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(options)], { cwd: here, stdio: ["ignore", "pipe", "inherit"] });
    const [line] = (await once(createInterface({ input: engine.stdout }), "line")) as [string];
    engine.kill("SIGKILL");
    expect(await goneWithin(Number(line), 5000)).toBe(true);
  });

  it.skipIf(skip)("close ends the workers, and a closed pool runs no more steps", async () => {
    const own = new WorkerPool();
    const ran = await step("j", "ok", {}, own);
    await own.close();
    expect(await goneWithin(ran.pid ?? 0)).toBe(true);
    await expect(step("k", "ok", {}, own)).rejects.toBeInstanceOf(ConflictError);
  });
});
