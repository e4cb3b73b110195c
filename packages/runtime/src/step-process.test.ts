import { mkdirSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Bundle } from "@maelstrom/core";
import { runStepProcess } from "@maelstrom/runtime";
import { bundleAt, goneWithin, nodeModule, python, pythonModule, stepCase, testFolder, valuesOf } from "./test-support.js";

const { fresh } = testFolder("step-process");

/** The same two-input, two-output transform in each language, and one that returns the wrong names. */
const runners = [
  {
    name: "node",
    runner: { kind: "node" } as const,
    module: (good: boolean) =>
      nodeModule(
        fresh("node"),
        `import { Bundle } from "SDK";
export function apply(bundles, meta) {
  const x = bundles.left.variable("x").data;
  const y = bundles.right.variable("y").data;
  const sum = Bundle.fromTable({ s: Float64Array.from(x, (v, i) => v + y[i]) });
  return ${good ? `{ sum, names: Bundle.fromTable({ n: Object.keys(bundles).sort() }) }` : "{ sum, extra: sum }"};
}
`,
      ),
    contract: "apply of demo returned an object with sum, extra (missing: names; extra: extra), expected an object with exactly the outputs sum, names, one Bundle each",
  },
  {
    name: "python",
    runner: { kind: "python", interpreter: python ?? "/usr/bin/python3" } as const,
    module: (good: boolean) =>
      pythonModule(
        fresh("python"),
        `import maelstrom

def apply(bundles, meta):
    total = maelstrom.Bundle({"s": bundles["left"].to_numpy("x") + bundles["right"].to_numpy("y")})
    return ${good ? `{"sum": total, "names": maelstrom.Bundle({"n": sorted(bundles)})}` : `{"sum": total, "extra": total}`}
`,
      ),
    contract: "apply of demo returned a dict with sum, extra (missing: names; extra: extra), expected a dict with exactly the outputs sum, names, one Bundle each",
  },
];

describe.each(runners)("named inputs and outputs ($name)", ({ name, runner, module, contract }) => {
  const skip = name === "python" && python === undefined;

  async function twoInTwoOut(good: boolean): Promise<{ result: Awaited<ReturnType<typeof runStepProcess>>; sum: string; names: string }> {
    const left = await bundleAt(fresh("left"), Bundle.fromTable({ x: [1, 2, 3] }));
    const right = await bundleAt(fresh("right"), Bundle.fromTable({ y: [10, 20, 30] }));
    const out = fresh("out");
    const outputs = { sum: join(out, "sum"), names: join(out, "names") };
    const step = stepCase(fresh, runner, { call: "transform", module: module(good), inputs: { left, right }, outputs });
    return { result: await runStepProcess(step.options), ...outputs };
  }

  it.skipIf(skip)("gives the function an object of bundles and writes each returned bundle to its output", async () => {
    const { result, sum, names } = await twoInTwoOut(true);
    expect(result.outcome, JSON.stringify(result.failure)).toBe("succeeded");
    expect(await valuesOf(sum, "s")).toEqual([11, 22, 33]);
    expect(await valuesOf(names, "n")).toEqual(["left", "right"]);
  });

  it.skipIf(skip)("fails with a contract error that names the missing, extra and expected outputs", async () => {
    const { result } = await twoInTwoOut(false);
    expect(result.outcome).toBe("failed");
    expect(result.failure?.reason).toBe("contract");
    expect(result.failure?.message).toBe(contract);
  });
});

describe("shell steps", () => {
  function shell(command: string, extra: { timeoutMs?: number; signal?: AbortSignal; env?: Record<string, string> } = {}) {
    const cwd = fresh("shell");
    mkdirSync(cwd);
    const logFile = join(cwd, "step.log");
    const starts: string[] = [];
    const run = runStepProcess({ runner: { kind: "shell", command }, logFile, cwd, timeoutMs: null, onStart: (pid) => starts.push(pid), ...extra });
    return { run, cwd, starts, log: () => readFileSync(logFile, "utf8") };
  }

  it("runs the command in cwd with the step's environment; exit 0 is a success with a done event made up", async () => {
    const step = shell('echo "$GREETING from $(pwd)"; echo to-stderr >&2', { env: { GREETING: "hello" } });
    const result = await step.run;
    expect(result).toMatchObject({ outcome: "succeeded", exitCode: 0, signal: null, failure: null });
    expect(result.done).toEqual({ type: "done", metrics: {}, resources: { wallMs: result.wallMs, userCpuMs: 0, systemCpuMs: 0, maxRssBytes: 0 } });
    expect(step.log()).toBe(`hello from ${realpathSync(step.cwd)}\nto-stderr\n`);
    expect(step.starts).toHaveLength(1);
    expect(readdirSync(step.cwd)).toEqual(["step.log"]);
  });

  it("a non-zero exit is a failure with its exit code", async () => {
    const step = shell("echo last words; exit 3");
    expect(await step.run).toMatchObject({ outcome: "failed", exitCode: 3, done: null, failure: null });
    expect(step.log()).toBe("last words\n");
  });

  it("the time limit and a cancel stop the whole process group", async () => {
    const timedOut = shell("sleep 30 & echo $! > child.pid; wait", { timeoutMs: 300 });
    expect((await timedOut.run).outcome).toBe("timeout");
    const controller = new AbortController();
    const cancelled = shell("sleep 30 & echo $! > child.pid; wait", { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    expect((await cancelled.run).outcome).toBe("cancelled");
    for (const step of [timedOut, cancelled]) expect(await goneWithin(Number(readFileSync(join(step.cwd, "child.pid"), "utf8")))).toBe(true);
  });
});
